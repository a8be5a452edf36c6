//! The objects liftoff creates in the cluster before Helm runs: the
//! platform's namespace, the namespaces for Airflow deployments, and the secrets its values reference by name (each
//! secret with Helm's adoption metadata, so the release can take it over).
//!
//! What `liftoff render --manifests` prints: the very objects install
//! applies ([`crate::cluster::objects`]), every secret value replaced by
//! [`REDACTED`].

use serde_json::Value;

use crate::cluster::objects::{self, SecretKind};
use crate::spec::Spec;

/// Stands in for every secret value.
pub const REDACTED: &str = "(redacted)";

/// The namespace, the namespaces for Airflow deployments
/// (`platform.deploymentNamespaces`, created when missing), then the
/// secrets install applies for this spec ([`SecretKind::wanted`]), built by
/// the same functions install uses.
pub fn manifests(spec: &Spec, private_ca: bool) -> Vec<Value> {
    let p = &spec.platform;
    let mut out = vec![objects::namespace_manifest(
        &p.namespace,
        &spec.metadata.name,
    )];
    out.extend(
        p.deployment_namespaces
            .iter()
            .map(|name| objects::namespace_manifest(name, &spec.metadata.name)),
    );
    out.extend(
        SecretKind::wanted(spec, private_ca)
            .into_iter()
            .map(|kind| {
                objects::redacted_secret_manifest(kind, &p.namespace, &p.release_name, REDACTED)
            }),
    );
    out
}

/// The manifests as one multi-document YAML stream.
pub fn manifests_yaml(spec: &Spec, private_ca: bool) -> String {
    manifests(spec, private_ca)
        .iter()
        .map(|m| format!("---\n{}", crate::spec::to_yaml(m)))
        .collect()
}
