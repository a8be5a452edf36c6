//! What the GCP driver can change on an existing resource: node pool
//! autoscaling bounds, machine type and disk size, and the Cloud SQL
//! settings in place; the Kubernetes version of the cluster and its node
//! pools only under `liftoff upgrade --kubernetes` (forward, at most two
//! minor versions per run, each one GKE offers); a resource found not ready
//! yet is waited for; everything else is refused by the plan (saying what
//! to do), so apply never meets a change it cannot make.

use serde_json::Value;

use super::kind::*;
use crate::plan::driver::{Observed, diff_props};
use crate::plan::{FieldChange, Resource};

/// An observed-only prop of the GKE cluster, read under `upgrade
/// --kubernetes`: the minor versions the upgrade passes through that GKE
/// does not offer (in the cluster's release channel, or at all), and where
/// it looked (e.g. `the REGULAR channel`).
pub const UNAVAILABLE: &str = "unavailableVersions";

/// How many minor versions the control plane may move ahead of the nodes in
/// one run: GKE keeps nodes within two minor versions of the control plane.
pub const MAX_MINORS_PER_RUN: u32 = 2;

/// Whether `field` of `kind` changes in place.
fn in_place(kind: &str, field: &str) -> bool {
    matches!(
        (kind, field),
        (
            NODE_POOL,
            "min" | "max" | "desired" | "machineType" | "diskGb"
        ) | (
            SQL_INSTANCE,
            "tier" | "storageGb" | "regional" | "deletionProtection" | "backupRetentionDays"
        )
    )
}

/// A Kubernetes minor version (`"1.33"`, `"1.33.5-gke.1200"` → 33).
pub fn minor(version: &Value) -> Option<u32> {
    version.as_str()?.split('.').nth(1)?.parse().ok()
}

/// The fields of `desired` that differ from `observed` (outside an upgrade).
#[cfg(test)]
pub fn diff(desired: &Resource, observed: &Observed) -> Vec<FieldChange> {
    diff_for(desired, observed, false)
}

/// [`diff`]; with `kubernetes_upgrade` (`liftoff upgrade --kubernetes`) a
/// forward version change of the cluster and its node pools is in place.
pub fn diff_for(
    desired: &Resource,
    observed: &Observed,
    kubernetes_upgrade: bool,
) -> Vec<FieldChange> {
    let kind = desired.kind.as_str();
    let mut fields: Vec<FieldChange> = diff_props(&desired.props, &observed.props, &[])
        .into_iter()
        .filter(|f| !(kind == NODE_POOL && f.field == "desired"))
        .map(|f| {
            if f.field == "version" && matches!(kind, GKE_CLUSTER | NODE_POOL) {
                return match version_change(kind, &f, observed, kubernetes_upgrade) {
                    Ok(()) => f,
                    Err((reason, hint)) => f.refusing(reason, hint),
                };
            }
            if in_place(kind, &f.field) {
                f
            } else {
                let field = f.field.clone();
                f.refusing(
                    format!("liftoff does not change `{field}` of an existing {kind}"),
                    "set it back in the spec, or change it in Google Cloud and then in the spec",
                )
            }
        })
        .collect();
    if observed.props.get(super::sql::READY) == Some(&Value::Bool(false)) {
        fields.push(FieldChange::in_place(
            super::sql::READY,
            Value::Bool(false),
            Value::Bool(true),
        ));
    }
    fields
}

/// Whether a version change of the cluster or a node pool is made, or why not.
fn version_change(
    kind: &str,
    field: &FieldChange,
    observed: &Observed,
    kubernetes_upgrade: bool,
) -> Result<(), (String, String)> {
    let what = if kind == GKE_CLUSTER {
        "the GKE cluster"
    } else {
        "a node pool"
    };
    if !kubernetes_upgrade {
        return Err((
            format!("the Kubernetes version of {what} changes only through `liftoff upgrade --kubernetes`"),
            "run `liftoff upgrade --kubernetes <the new version>`: it checks the platform supports it and no object uses an API it removes, then upgrades the control plane one minor at a time and the node pools after it; or set cluster.kubernetesVersion back".into(),
        ));
    }
    let (Some(from), Some(to)) = (minor(&field.from), minor(&field.to)) else {
        return Err((
            "Kubernetes versions are written 1.N".into(),
            "set cluster.kubernetesVersion to a version such as \"1.34\"".into(),
        ));
    };
    if to <= from {
        return Err((
            format!("GKE runs 1.{from}, and Kubernetes versions only go forward"),
            format!("set cluster.kubernetesVersion to \"1.{from}\" or a later version"),
        ));
    }
    if kind == GKE_CLUSTER && to - from > MAX_MINORS_PER_RUN {
        return Err((
            format!(
                "1.{from} to 1.{to} is more than {MAX_MINORS_PER_RUN} minor versions: GKE keeps the nodes within two minor versions of the control plane"
            ),
            format!(
                "upgrade to \"1.{}\" first (`liftoff upgrade --kubernetes 1.{}`, which also upgrades the node pools), then on",
                from + MAX_MINORS_PER_RUN,
                from + MAX_MINORS_PER_RUN
            ),
        ));
    }
    if let Some(missing) = observed.props.get(UNAVAILABLE) {
        let versions: Vec<&str> = missing["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !versions.is_empty() {
            let offered: Vec<&str> = missing["offered"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            return Err((
                format!(
                    "GKE does not offer Kubernetes {} in {} (it offers {})",
                    versions.join(", "),
                    missing["where"].as_str().unwrap_or("this location"),
                    if offered.is_empty() {
                        "none".to_string()
                    } else {
                        offered.join(", ")
                    }
                ),
                "choose a version GKE offers there (`gcloud container get-server-config`); on a release channel, wait until the channel offers it or move to a faster channel in Google Cloud".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Address;
    use serde_json::json;

    fn resource(kind: &str, props: Value) -> Resource {
        Resource {
            address: Address::new(kind),
            kind: kind.into(),
            props,
            deps: vec![],
            delete_after: vec![],
        }
    }

    fn observed(props: Value) -> Observed {
        Observed {
            id: "x".into(),
            props,
            outputs: json!({}),
        }
    }

    #[test]
    fn a_version_change_is_refused_outside_an_upgrade_and_names_the_command() {
        let f = diff(
            &resource(GKE_CLUSTER, json!({"version": "1.34"})),
            &observed(json!({"version": "1.33.5-gke.1200"})),
        );
        let refusal = f[0].refused.clone().unwrap();
        let (reason, hint) = (refusal.reason, refusal.hint);
        assert!(reason.contains("liftoff upgrade --kubernetes"), "{reason}");
        assert!(hint.contains("liftoff upgrade --kubernetes"), "{hint}");
    }

    #[test]
    fn an_upgrade_goes_forward_by_at_most_two_minors_to_offered_versions() {
        let up = |want: &str, have: Value| {
            diff_for(
                &resource(GKE_CLUSTER, json!({"version": want})),
                &observed(have),
                true,
            )[0]
            .refused
            .clone()
            .map(|r| r.reason)
        };
        assert_eq!(up("1.35", json!({"version": "1.33.5-gke.1"})), None);
        assert!(up("1.32", json!({"version": "1.33.5-gke.1"})).is_some());
        let reason = up("1.36", json!({"version": "1.33.5-gke.1"})).unwrap();
        assert!(reason.contains("more than 2 minor versions"), "{reason}");
        let reason = up(
            "1.35",
            json!({"version": "1.33.5-gke.1", UNAVAILABLE: {"versions": ["1.35"], "offered": ["1.33", "1.34"], "where": "the STABLE channel"}}),
        )
        .unwrap();
        assert_eq!(
            reason,
            "GKE does not offer Kubernetes 1.35 in the STABLE channel (it offers 1.33, 1.34)"
        );
    }

    #[test]
    fn machine_type_and_disk_size_change_in_place_the_image_does_not() {
        let f = diff(
            &resource(
                NODE_POOL,
                json!({"machineType": "n2-standard-8", "diskGb": 200, "imageType": "COS_CONTAINERD"}),
            ),
            &observed(
                json!({"machineType": "n2-standard-4", "diskGb": 100, "imageType": "UBUNTU"}),
            ),
        );
        let refused: Vec<&str> = f
            .iter()
            .filter(|f| f.refused.is_some())
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(refused, ["imageType"]);
    }
}
