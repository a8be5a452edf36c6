//! The objects liftoff creates in the cluster before Helm runs: the
//! platform's namespace and the secrets its values reference by name. Each
//! carries Helm's adoption metadata so the release can take them over.
//!
//! This module only describes them, with every secret value replaced by
//! [`REDACTED`]: it is what `liftoff render --manifests` prints.

use serde_json::{Value, json};

use super::{BOOTSTRAP_SECRET, PRIVATE_CA_SECRET, REGISTRY_SECRET, SMTP_SECRET, TLS_SECRET};
use crate::spec::Spec;

/// Stands in for every secret value.
pub const REDACTED: &str = "(redacted)";

/// Helm adopts an existing object only with these.
fn metadata(spec: &Spec, name: &str, namespaced: bool) -> Value {
    let p = &spec.platform;
    let mut m = json!({
        "name": name,
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {
            "meta.helm.sh/release-name": p.release_name,
            "meta.helm.sh/release-namespace": p.namespace,
        },
    });
    if namespaced {
        m["namespace"] = json!(p.namespace);
    }
    m
}

fn secret(spec: &Spec, name: &str, kind: &str, keys: &[&str]) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(spec, name, true),
        "type": kind,
        "data": keys.iter().map(|k| (k.to_string(), json!(REDACTED))).collect::<serde_json::Map<_, _>>(),
    })
}

/// The namespace, then the secrets: TLS, the database bootstrap secret,
/// and SMTP, private CA and registry credentials when the spec uses them.
pub fn manifests(spec: &Spec, private_ca: bool) -> Vec<Value> {
    let mut out = vec![json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": metadata(spec, &spec.platform.namespace, false),
    })];
    out.push(secret(
        spec,
        TLS_SECRET,
        "kubernetes.io/tls",
        &["tls.crt", "tls.key"],
    ));
    out.push(secret(spec, BOOTSTRAP_SECRET, "Opaque", &["connection"]));
    if spec.platform.smtp.is_some() {
        out.push(secret(spec, SMTP_SECRET, "Opaque", &["connection"]));
    }
    if private_ca {
        out.push(secret(spec, PRIVATE_CA_SECRET, "Opaque", &["cert.pem"]));
    }
    if spec
        .airgap
        .as_ref()
        .and_then(|a| a.registry.as_ref())
        .is_some_and(|r| r.pull_secret.is_some())
    {
        out.push(secret(
            spec,
            REGISTRY_SECRET,
            "kubernetes.io/dockerconfigjson",
            &[".dockerconfigjson"],
        ));
    }
    out
}

/// The manifests as one multi-document YAML stream.
pub fn manifests_yaml(spec: &Spec, private_ca: bool) -> String {
    manifests(spec, private_ca)
        .iter()
        .map(|m| format!("---\n{}", crate::spec::to_yaml(m)))
        .collect()
}
