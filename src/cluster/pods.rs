//! Why the platform's pods are not running, read from the API after a
//! failed install: unschedulable pods, image pull and crash loops.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;

/// One line per problem, e.g. `pod x: Pending: 0/3 nodes are available…`.
pub fn failure_reasons(pods: &[Pod]) -> Vec<String> {
    let mut out = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.as_deref().unwrap_or("?");
        let Some(status) = &pod.status else { continue };
        if status.phase.as_deref() == Some("Pending") {
            let unscheduled = status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False");
            if let Some(c) = unscheduled {
                out.push(format!(
                    "pod {name}: Pending: {}",
                    c.message
                        .as_deref()
                        .or(c.reason.as_deref())
                        .unwrap_or("not scheduled")
                ));
                continue;
            }
        }
        let containers = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        for c in containers {
            let Some(waiting) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
                continue;
            };
            let reason = waiting.reason.as_deref().unwrap_or_default();
            if matches!(
                reason,
                "ImagePullBackOff"
                    | "ErrImagePull"
                    | "CrashLoopBackOff"
                    | "CreateContainerConfigError"
                    | "InvalidImageName"
            ) {
                let mut line = format!("pod {name} container {}: {reason}", c.name);
                if let Some(m) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
                    line.push_str(&format!(": {m}"));
                }
                out.push(line);
            }
        }
    }
    out
}

/// Lists the namespace's pods and explains the failing ones. A failure to
/// list is itself reported as a line.
pub async fn explain(client: &kube::Client, namespace: &str) -> Vec<String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    match api.list(&ListParams::default()).await {
        Ok(list) => failure_reasons(&list.items),
        Err(e) => vec![format!("cannot list pods in {namespace}: {e}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn explains_pending_pull_and_crash() {
        let pods: Vec<Pod> = serde_json::from_value(json!([
            {"metadata": {"name": "a"}, "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient memory."}]}},
            {"metadata": {"name": "b"}, "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image x"}}}]}},
            {"metadata": {"name": "c"}, "status": {"phase": "Running", "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}},
            {"metadata": {"name": "d"}, "status": {"phase": "Running"}},
        ]))
        .unwrap();
        assert_eq!(
            failure_reasons(&pods),
            vec![
                "pod a: Pending: 0/3 nodes are available: 3 Insufficient memory.",
                "pod b container app: ImagePullBackOff: Back-off pulling image x",
                "pod c container app: CrashLoopBackOff",
            ]
        );
    }
}
