//! The Kubernetes objects liftoff applies itself: the namespace and the
//! platform's secrets (each secret with the metadata that lets Helm adopt
//! it). The one source of which secrets a spec needs, their names and
//! shapes, and of the Namespace: install applies these and
//! `liftoff render --manifests` prints them (values redacted).
//!
//! Manifests built by [`secret_manifest`] hold secret values: they go to the
//! API server and nowhere else (no Debug, no logging).

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};

use super::ClusterError;
use super::inputs::Inputs;
use crate::secret::Redacted;
use crate::spec::Spec;

/// One of the platform's secrets, by its address suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretKind {
    Tls,
    Bootstrap,
    Smtp,
    PrivateCa,
    Registry,
}

impl SecretKind {
    pub const ALL: [SecretKind; 5] = [
        SecretKind::Tls,
        SecretKind::Bootstrap,
        SecretKind::Smtp,
        SecretKind::PrivateCa,
        SecretKind::Registry,
    ];

    /// The address, e.g. `cluster.secret.tls`.
    pub fn address(self) -> &'static str {
        match self {
            SecretKind::Tls => "cluster.secret.tls",
            SecretKind::Bootstrap => "cluster.secret.bootstrap",
            SecretKind::Smtp => "cluster.secret.smtp",
            SecretKind::PrivateCa => "cluster.secret.private_ca",
            SecretKind::Registry => "cluster.secret.registry",
        }
    }

    /// The platform's secrets a spec needs, in apply order: TLS always; the
    /// database bootstrap secret when the spec has a database; SMTP when it
    /// sets one; the private root CA when the chain ends in one
    /// (`private_ca`); the registry pull secret for an air-gapped install
    /// with one.
    pub fn wanted(spec: &Spec, private_ca: bool) -> Vec<SecretKind> {
        let mut out = vec![SecretKind::Tls];
        if spec.database.is_some() {
            out.push(SecretKind::Bootstrap);
        }
        if spec.platform.smtp.is_some() {
            out.push(SecretKind::Smtp);
        }
        if private_ca {
            out.push(SecretKind::PrivateCa);
        }
        if spec.airgap.as_ref().is_some_and(|a| {
            a.enabled && a.registry.as_ref().is_some_and(|r| r.pull_secret.is_some())
        }) {
            out.push(SecretKind::Registry);
        }
        out
    }

    pub fn from_address(address: &str) -> Option<SecretKind> {
        Self::ALL.into_iter().find(|k| k.address() == address)
    }

    /// The Secret's name, which the chart's values refer to.
    pub const fn name(self) -> &'static str {
        match self {
            SecretKind::Tls => "astronomer-tls",
            SecretKind::Bootstrap => "astronomer-bootstrap",
            SecretKind::Smtp => "astronomer-smtp",
            SecretKind::PrivateCa => "private-root-ca",
            SecretKind::Registry => "astronomer-registry",
        }
    }

    pub fn secret_type(self) -> &'static str {
        match self {
            SecretKind::Tls => "kubernetes.io/tls",
            SecretKind::Registry => "kubernetes.io/dockerconfigjson",
            _ => "Opaque",
        }
    }

    /// The data keys, sorted.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            SecretKind::Tls => &["tls.crt", "tls.key"],
            SecretKind::Bootstrap | SecretKind::Smtp => &["connection"],
            SecretKind::PrivateCa => &["cert.pem"],
            SecretKind::Registry => &[".dockerconfigjson"],
        }
    }

    /// The data, from the inputs; an error names what is missing.
    pub fn data(self, inputs: &Inputs) -> Result<SecretData, ClusterError> {
        let missing = |what: &str| {
            ClusterError::Input(format!(
                "{} needs {what}, which this run was not given",
                self.name()
            ))
        };
        let public = |s: &str| Redacted::new(s.as_bytes().to_vec());
        let secret = |s: &Redacted<String>| Redacted::new(s.expose().as_bytes().to_vec());
        let pairs: Vec<(&str, Redacted<Vec<u8>>)> = match self {
            SecretKind::Tls => vec![
                (
                    "tls.crt",
                    public(
                        inputs
                            .tls_chain_pem
                            .as_deref()
                            .ok_or_else(|| missing("the TLS certificate chain"))?,
                    ),
                ),
                (
                    "tls.key",
                    secret(
                        inputs
                            .tls_key_pem
                            .as_ref()
                            .ok_or_else(|| missing("the TLS private key"))?,
                    ),
                ),
            ],
            SecretKind::Bootstrap => vec![(
                "connection",
                secret(
                    &inputs
                        .database
                        .as_ref()
                        .ok_or_else(|| missing("the database login"))?
                        .bootstrap_url(),
                ),
            )],
            SecretKind::Smtp => vec![(
                "connection",
                secret(
                    inputs
                        .smtp_url
                        .as_ref()
                        .ok_or_else(|| missing("the SMTP URL"))?,
                ),
            )],
            SecretKind::PrivateCa => vec![(
                "cert.pem",
                public(
                    inputs
                        .private_ca_pem
                        .as_deref()
                        .ok_or_else(|| missing("the private CA certificate"))?,
                ),
            )],
            SecretKind::Registry => vec![(
                ".dockerconfigjson",
                secret(
                    inputs
                        .registry_dockerconfig
                        .as_ref()
                        .ok_or_else(|| missing("the registry pull secret"))?,
                ),
            )],
        };
        Ok(SecretData(
            pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ))
    }
}

/// A secret's data, key by key, every value redacted.
#[derive(Debug, Clone)]
pub struct SecretData(pub BTreeMap<String, Redacted<Vec<u8>>>);

/// Labels and annotations that let `helm upgrade --install` adopt an object
/// liftoff created before it.
pub fn helm_metadata(release: &str, namespace: &str) -> Value {
    json!({
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {
            "meta.helm.sh/release-name": release,
            "meta.helm.sh/release-namespace": namespace,
        },
    })
}

/// The Secret to server-side apply. Holds the secret values.
pub fn secret_manifest(
    kind: SecretKind,
    data: &SecretData,
    namespace: &str,
    release: &str,
) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let data = data
        .0
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(b64.encode(v.expose()))))
        .collect();
    secret_object(kind, data, namespace, release)
}

/// The Secret as [`secret_manifest`] builds it, every value replaced by
/// `placeholder` (what `liftoff render --manifests` prints).
pub fn redacted_secret_manifest(
    kind: SecretKind,
    namespace: &str,
    release: &str,
    placeholder: &str,
) -> Value {
    let data = kind
        .keys()
        .iter()
        .map(|k| (k.to_string(), Value::String(placeholder.into())))
        .collect();
    secret_object(kind, data, namespace, release)
}

fn secret_object(
    kind: SecretKind,
    data: serde_json::Map<String, Value>,
    namespace: &str,
    release: &str,
) -> Value {
    let mut meta = helm_metadata(release, namespace);
    meta["name"] = kind.name().into();
    meta["namespace"] = namespace.into();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": kind.secret_type(),
        "data": data,
    })
}

/// The label on a namespace liftoff created, naming the installation.
pub const INSTALLATION_LABEL: &str = "liftoff.dev/installation";

/// The namespace to server-side apply: labelled with the installation that
/// created it. Helm does not manage it (the release is installed into it),
/// so it carries no Helm adoption metadata.
pub fn namespace_manifest(name: &str, installation: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {INSTALLATION_LABEL: installation}},
    })
}

/// Observed props of a live Secret, compared with the desired data without
/// ever putting a value into the result: `content` is `current` when every
/// key holds exactly the desired bytes, else `differs` (or `unknown` when
/// this run has no desired data to compare with).
pub fn observed_secret_props(
    live: &Secret,
    desired: Option<&SecretData>,
    release: &str,
    namespace: &str,
) -> Value {
    let live_data = live.data.clone().unwrap_or_default();
    let keys: Vec<&String> = live_data.keys().collect();
    let content = match desired {
        None => "unknown",
        Some(d)
            if d.0.len() == live_data.len()
                && d.0
                    .iter()
                    .all(|(k, v)| live_data.get(k).is_some_and(|l| l.0 == *v.expose())) =>
        {
            "current"
        }
        Some(_) => "differs",
    };
    let labels = live.metadata.labels.clone().unwrap_or_default();
    let annotations = live.metadata.annotations.clone().unwrap_or_default();
    let adoptable = labels
        .get("app.kubernetes.io/managed-by")
        .map(String::as_str)
        == Some("Helm")
        && annotations
            .get("meta.helm.sh/release-name")
            .map(String::as_str)
            == Some(release)
        && annotations
            .get("meta.helm.sh/release-namespace")
            .map(String::as_str)
            == Some(namespace);
    json!({
        "name": live.metadata.name,
        "namespace": live.metadata.namespace,
        "type": live.type_,
        "keys": keys,
        "helmAdoption": adoptable,
        "content": content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::inputs::DbLogin;

    fn inputs() -> Inputs {
        Inputs {
            database: Some(DbLogin {
                host: "db".into(),
                port: 5432,
                user: "u".into(),
                password: Redacted::new("pw".into()),
                ssl: false,
                private: false,
            }),
            ..Inputs::default()
        }
    }

    #[test]
    fn manifest_carries_helm_adoption_and_base64_data() {
        let d = SecretKind::Bootstrap.data(&inputs()).unwrap();
        let m = secret_manifest(SecretKind::Bootstrap, &d, "astro", "rel");
        assert_eq!(
            m["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "Helm"
        );
        assert_eq!(
            m["metadata"]["annotations"]["meta.helm.sh/release-name"],
            "rel"
        );
        assert_eq!(
            m["metadata"]["annotations"]["meta.helm.sh/release-namespace"],
            "astro"
        );
        assert_eq!(m["type"], "Opaque");
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(
            b64.decode(m["data"]["connection"].as_str().unwrap())
                .unwrap(),
            b"postgres://u:pw@db:5432"
        );
    }

    #[test]
    fn observed_props_compare_without_values() {
        let d = SecretKind::Bootstrap.data(&inputs()).unwrap();
        let live: Secret =
            serde_json::from_value(secret_manifest(SecretKind::Bootstrap, &d, "ns", "rel"))
                .unwrap();
        let p = observed_secret_props(&live, Some(&d), "rel", "ns");
        assert_eq!(p["content"], "current");
        assert_eq!(p["helmAdoption"], true);
        assert!(!p.to_string().contains("pw"));
        let mut other = inputs();
        other.database.as_mut().unwrap().password = Redacted::new("changed".into());
        let d2 = SecretKind::Bootstrap.data(&other).unwrap();
        assert_eq!(
            observed_secret_props(&live, Some(&d2), "rel", "ns")["content"],
            "differs"
        );
        assert_eq!(
            observed_secret_props(&live, Some(&d), "other", "ns")["helmAdoption"],
            false
        );
    }

    #[test]
    fn missing_material_is_named() {
        let e = SecretKind::Tls.data(&Inputs::default()).unwrap_err();
        assert!(
            e.to_string()
                .contains("astronomer-tls needs the TLS certificate chain")
        );
    }
}
