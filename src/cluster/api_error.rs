//! What the Kubernetes API said, told once: the API's own message (never
//! a Rust Debug dump of its Status), and a hint that follows the Status
//! reason (a namespace being deleted is not a missing right).

use std::fmt;

/// A kube error whose text is the API's message. For an API refusal the
/// message is all there is (no source, so a chain renderer prints it
/// once); for a transport error the causes follow as its source chain.
#[derive(Debug)]
pub struct KubeError(pub kube::Error);

impl fmt::Display for KubeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(&self.0))
    }
}

impl std::error::Error for KubeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            kube::Error::Api(_) => None,
            other => std::error::Error::source(other),
        }
    }
}

/// The API's message for a refusal (`secrets is forbidden: User "x"
/// cannot list …`), else the error's own text and its causes.
pub fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if !s.message.is_empty() => s.message.clone(),
        kube::Error::Api(s) => format!("{} (HTTP {})", s.reason, s.code),
        other => {
            let mut text = other.to_string();
            let mut cause = std::error::Error::source(other);
            while let Some(c) = cause {
                let next = c.to_string();
                if !text.contains(&next) {
                    text.push_str(": ");
                    text.push_str(&next);
                }
                cause = c.source();
            }
            text
        }
    }
}

/// Whether the API refused a write because the namespace is being deleted.
pub fn namespace_terminating(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 403
        && (s.message.contains("because it is being terminated")
            || s.details.as_ref().is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"))))
}

/// The hint for an API refusal, from its Status code and reason.
pub fn hint(e: &kube::Error, namespace: &str) -> Option<String> {
    let kube::Error::Api(s) = e else {
        return Some("check network access to the API server, then re-run".into());
    };
    Some(match (s.code, s.reason.as_str()) {
        _ if namespace_terminating(e) => format!(
            "namespace {namespace} is being deleted: wait until it is gone (`liftoff destroy` waits for it), then re-run"
        ),
        (403, _) if s.message.contains("exceeded quota") || s.message.contains("quota") => {
            "a ResourceQuota in the namespace refuses it: raise the quota or free room, then re-run".into()
        }
        (403, _) if s.message.contains("violates PodSecurity") => {
            "the namespace's pod security level refuses it: see the message for the field".into()
        }
        (401, _) => "the API server refused the credentials: check the kubeconfig's user or token (cloud tokens expire)".into(),
        (403, _) => "the Kubernetes identity lacks this right: `liftoff doctor` checks every right the install needs and names the missing ones".into(),
        (404, _) => "it does not exist (any more): re-run `liftoff plan` to see the cluster as it is now".into(),
        (409, "AlreadyExists") => "it was created by someone else meanwhile: re-run `liftoff plan`".into(),
        (409, _) => "another client changed it at the same time: re-run".into(),
        (422, _) | (400, _) => "the API server refused the object as invalid; its message names the field".into(),
        (429, _) | (500..=599, _) => "the API server is overloaded or failing: re-run in a moment".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(
            serde_json::from_value(serde_json::json!({
                "status": "Failure", "code": code, "reason": reason, "message": message, "metadata": {}
            }))
            .unwrap(),
        ))
    }

    #[test]
    fn the_message_is_told_once_without_a_debug_dump() {
        let e = api(
            403,
            "Forbidden",
            "secrets is forbidden: User \"dev\" cannot list resource \"secrets\"",
        );
        let text = KubeError(e).to_string();
        assert_eq!(
            text,
            "secrets is forbidden: User \"dev\" cannot list resource \"secrets\""
        );
        assert!(!text.contains("Status {"));
    }

    #[test]
    fn hints_follow_the_reason() {
        let terminating = api(
            403,
            "Forbidden",
            "secrets \"x\" is forbidden: unable to create new content in namespace a because it is being terminated",
        );
        assert!(hint(&terminating, "a").unwrap().contains("being deleted"));
        let denied = api(
            403,
            "Forbidden",
            "secrets is forbidden: User \"dev\" cannot create",
        );
        assert!(hint(&denied, "a").unwrap().contains("lacks this right"));
        assert!(
            hint(&api(422, "Invalid", "bad"), "a")
                .unwrap()
                .contains("invalid")
        );
    }
}
