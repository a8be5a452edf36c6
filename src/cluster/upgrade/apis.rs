//! API versions Kubernetes removed, by the minor version that removed
//! them (the Kubernetes deprecated API migration guide), so a Kubernetes
//! upgrade can first list the objects that would stop working: those of
//! the deployed release and those the chart renders for the new version.

use serde::Serialize;

/// `(removed in 1.N, apiVersion, kind)`.
const REMOVED: &[(u32, &str, &str)] = &[
    (16, "extensions/v1beta1", "Deployment"),
    (16, "extensions/v1beta1", "DaemonSet"),
    (16, "extensions/v1beta1", "ReplicaSet"),
    (16, "extensions/v1beta1", "NetworkPolicy"),
    (16, "extensions/v1beta1", "PodSecurityPolicy"),
    (16, "apps/v1beta1", "*"),
    (16, "apps/v1beta2", "*"),
    (22, "extensions/v1beta1", "Ingress"),
    (22, "networking.k8s.io/v1beta1", "Ingress"),
    (22, "networking.k8s.io/v1beta1", "IngressClass"),
    (22, "rbac.authorization.k8s.io/v1beta1", "*"),
    (22, "apiextensions.k8s.io/v1beta1", "*"),
    (22, "admissionregistration.k8s.io/v1beta1", "*"),
    (22, "apiregistration.k8s.io/v1beta1", "*"),
    (22, "authentication.k8s.io/v1beta1", "*"),
    (22, "authorization.k8s.io/v1beta1", "*"),
    (22, "certificates.k8s.io/v1beta1", "*"),
    (22, "coordination.k8s.io/v1beta1", "*"),
    (22, "scheduling.k8s.io/v1beta1", "*"),
    (22, "storage.k8s.io/v1beta1", "CSIDriver"),
    (22, "storage.k8s.io/v1beta1", "CSINode"),
    (22, "storage.k8s.io/v1beta1", "StorageClass"),
    (22, "storage.k8s.io/v1beta1", "VolumeAttachment"),
    (25, "batch/v1beta1", "CronJob"),
    (25, "discovery.k8s.io/v1beta1", "EndpointSlice"),
    (25, "events.k8s.io/v1beta1", "Event"),
    (25, "autoscaling/v2beta1", "HorizontalPodAutoscaler"),
    (25, "policy/v1beta1", "PodDisruptionBudget"),
    (25, "policy/v1beta1", "PodSecurityPolicy"),
    (25, "node.k8s.io/v1beta1", "RuntimeClass"),
    (26, "flowcontrol.apiserver.k8s.io/v1beta1", "*"),
    (26, "autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    (27, "storage.k8s.io/v1beta1", "CSIStorageCapacity"),
    (29, "flowcontrol.apiserver.k8s.io/v1beta2", "*"),
    (32, "flowcontrol.apiserver.k8s.io/v1beta3", "*"),
];

/// One object that uses an API version the target Kubernetes no longer serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovedUse {
    /// `Kind namespace/name`.
    pub object: String,
    pub api_version: String,
    /// The minor version that removed it.
    pub removed_in: String,
    /// Where it was found: `deployed release` or `new chart`.
    pub source: String,
}

impl std::fmt::Display for RemovedUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} uses {}, removed in Kubernetes {} ({})",
            self.object, self.api_version, self.removed_in, self.source
        )
    }
}

/// The minor that removed `api_version` for `kind`, when it is at most `target`.
pub fn removed_by(api_version: &str, kind: &str, target: u32) -> Option<u32> {
    REMOVED
        .iter()
        .find(|(minor, api, k)| {
            *minor <= target && *api == api_version && (*k == "*" || *k == kind)
        })
        .map(|(minor, _, _)| *minor)
}

/// The objects of `manifest` whose API version is removed by `target`.
pub fn removed_uses(manifest: &str, target: u32, source: &str) -> Vec<RemovedUse> {
    let mut out = Vec::new();
    for doc in super::diff::split_documents(manifest) {
        let Ok(v) = crate::spec::yaml::parse("manifest", &doc) else {
            continue;
        };
        let v = v.to_json();
        let (Some(api), Some(kind)) = (
            v.get("apiVersion").and_then(|x| x.as_str()),
            v.get("kind").and_then(|x| x.as_str()),
        ) else {
            continue;
        };
        if let Some(minor) = removed_by(api, kind, target) {
            let name = v
                .pointer("/metadata/name")
                .and_then(|x| x.as_str())
                .unwrap_or("?");
            let object = match v.pointer("/metadata/namespace").and_then(|x| x.as_str()) {
                Some(ns) => format!("{kind} {ns}/{name}"),
                None => format!("{kind} {name}"),
            };
            out.push(RemovedUse {
                object,
                api_version: api.into(),
                removed_in: format!("1.{minor}"),
                source: source.into(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_objects_on_removed_versions_up_to_the_target() {
        let m = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: p\n  namespace: n\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: ok\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata:\n  name: f\n";
        let found = removed_uses(m, 25, "deployed release");
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "PodDisruptionBudget n/p uses policy/v1beta1, removed in Kubernetes 1.25 (deployed release)"
        );
        assert_eq!(removed_uses(m, 32, "new chart").len(), 2);
        assert!(removed_uses(m, 24, "x").is_empty());
    }
}
