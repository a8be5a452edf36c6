//! What the AWS driver can change on an existing resource: in place, only
//! by replacing it, or not at all (the plan then refuses, saying why and
//! what to do instead), so apply never meets a change it cannot make.

use serde_json::Value;

use super::driver::NOT_READY;
use super::kind::*;
use crate::plan::driver::{Observed, diff_props};
use crate::plan::{FieldChange, Resource};

/// Fields whose change replaces the resource.
fn replaced_by(kind: &str) -> &'static [&'static str] {
    match kind {
        VPC => &["cidr"],
        SUBNET => &["cidr", "zone"],
        SECURITY_GROUP => &["description"],
        DATABASE => &["engine"],
        IAM_ROLE => &["service"],
        EKS_CLUSTER => &["serviceCidr"],
        DATABASE_ACCESS => &["group", "cluster", "port"],
        _ => &[],
    }
}

/// Why a change of `field` is not made, and what to do instead.
fn refusal(kind: &str, field: &str) -> Option<(&'static str, &'static str)> {
    match (kind, field) {
        (EKS_CLUSTER, "version") => Some((
            "the Kubernetes version of the EKS cluster changes only through `liftoff upgrade --kubernetes`",
            "run `liftoff upgrade --kubernetes <the new version>`: it checks the platform supports it and no object uses an API it removes, then upgrades the control plane one minor at a time and the node groups after it; or set cluster.kubernetesVersion back",
        )),
        (EKS_CLUSTER, f) if !replaced_by(EKS_CLUSTER).contains(&f) => Some((
            "liftoff does not change this setting of an existing EKS cluster",
            "set it back in the spec, or change it in the EKS console and then in the spec",
        )),
        (EKS_NODEGROUP, "version") => Some((
            "the Kubernetes version of a node group changes only through `liftoff upgrade --kubernetes`",
            "run `liftoff upgrade --kubernetes <the new version>`, or set cluster.kubernetesVersion back",
        )),
        (EKS_NODEGROUP, "instanceTypes" | "diskGb") => Some((
            "the instance types and disk size of a managed node group made without a launch template (by an earlier liftoff) cannot change",
            "add a node group with the new settings under another name (it gets a launch template), install, then remove the old one from the spec and install again",
        )),
        (EKS_NODEGROUP, "min" | "max" | "desired" | "launchTemplate") => None,
        (EKS_NODEGROUP, _) => Some((
            "liftoff does not change this setting of an existing node group",
            "set it back in the spec, or add a node group with the new settings under another name",
        )),
        _ => None,
    }
}

/// The fields of `desired` that differ from `observed`, each marked as made
/// in place, by a replace, or refused.
pub fn diff(desired: &Resource, observed: &Observed) -> Vec<FieldChange> {
    diff_for(desired, observed, false)
}

/// A Kubernetes minor version (`"1.33"` → 33).
pub fn minor(version: &serde_json::Value) -> Option<u32> {
    version.as_str()?.split('.').nth(1)?.parse().ok()
}

/// A version change `upgrade --kubernetes` makes: forward only.
fn version_upgrade(field: &FieldChange) -> Result<(), (&'static str, &'static str)> {
    match (minor(&field.from), minor(&field.to)) {
        (Some(from), Some(to)) if to > from => Ok(()),
        _ => Err((
            "Kubernetes versions only go forward, and only to a version 1.N",
            "set cluster.kubernetesVersion to the version the cluster runs or a later one",
        )),
    }
}

/// Why a node group's instance types or disk cannot move to a new version
/// of its launch template, if they cannot: the group was made without one
/// (EKS cannot add one later), or the group has several instance types
/// (a template names one; several are the group's own, fixed at create).
fn template_change(
    field: &FieldChange,
    observed: &Observed,
) -> Option<(&'static str, &'static str)> {
    let templated = observed
        .outputs
        .get("launchTemplate")
        .is_some_and(|t| !t.is_null());
    if !templated {
        return refusal(EKS_NODEGROUP, &field.field);
    }
    let one = |v: &Value| v.as_array().is_some_and(|a| a.len() == 1);
    if field.field == "instanceTypes" && !(one(&field.from) && one(&field.to)) {
        return Some((
            "a node group with several instance types cannot change them (its launch template changes one instance type in place)",
            "give the node group one instance type, or add a node group with the new types under another name, install, then remove the old one",
        ));
    }
    None
}

/// [`diff`]; with `kubernetes_upgrade` (`liftoff upgrade --kubernetes`) a
/// forward version change of the cluster and its node groups is in place.
pub fn diff_for(
    desired: &Resource,
    observed: &Observed,
    kubernetes_upgrade: bool,
) -> Vec<FieldChange> {
    let kind = desired.kind.as_str();
    let mut fields: Vec<FieldChange> =
        diff_props(&desired.props, &observed.props, replaced_by(kind))
            .into_iter()
            .map(|f| {
                let version = f.field == "version" && matches!(kind, EKS_CLUSTER | EKS_NODEGROUP);
                if version && kubernetes_upgrade {
                    return match version_upgrade(&f) {
                        Ok(()) => f,
                        Err((reason, hint)) => f.refusing(reason, hint),
                    };
                }
                if kind == EKS_NODEGROUP && matches!(f.field.as_str(), "instanceTypes" | "diskGb") {
                    if let Some((reason, hint)) = template_change(&f, observed) {
                        return f.refusing(reason, hint);
                    }
                    return f;
                }
                match refusal(kind, &f.field) {
                    Some((reason, hint)) if !f.forces_replace => f.refusing(reason, hint),
                    _ => f,
                }
            })
            .collect();
    // Found before it was ready (an earlier run stopped while waiting): the
    // update waits for it.
    if observed.props.get(NOT_READY) == Some(&Value::Bool(false)) {
        fields.push(FieldChange::in_place(
            NOT_READY,
            Value::Bool(false),
            Value::Bool(true),
        ));
    }
    fields
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
    fn scaling_changes_in_place_instance_types_and_versions_are_refused() {
        let want = resource(
            EKS_NODEGROUP,
            json!({"min": 2, "instanceTypes": ["m6i.large"], "version": "1.33"}),
        );
        let have = observed(json!({"min": 1, "instanceTypes": ["m6i.xlarge"], "version": "1.32"}));
        let fields = diff(&want, &have);
        let refused: Vec<&str> = fields
            .iter()
            .filter(|f| f.refused.is_some())
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(refused, ["instanceTypes", "version"]);
        assert!(
            fields
                .iter()
                .any(|f| f.field == "min" && f.refused.is_none())
        );
    }

    #[test]
    fn a_group_with_a_launch_template_changes_one_instance_type_and_its_disk_in_place() {
        let want = resource(
            EKS_NODEGROUP,
            json!({"instanceTypes": ["m6i.2xlarge"], "diskGb": 100}),
        );
        let mut have = observed(json!({"instanceTypes": ["m6i.xlarge"], "diskGb": 50}));
        have.outputs = json!({"launchTemplate": {"id": "lt-1", "version": "1"}});
        let fields = diff(&want, &have);
        assert_eq!(fields.len(), 2);
        assert!(
            fields
                .iter()
                .all(|f| f.refused.is_none() && !f.forces_replace)
        );
        let several = resource(
            EKS_NODEGROUP,
            json!({"instanceTypes": ["m6i.xlarge", "m5.xlarge"], "diskGb": 50}),
        );
        let fields = diff(&several, &have);
        assert!(fields[0].refused.is_some(), "{fields:?}");
        // Without a template (an earlier liftoff's group): refused.
        have.outputs = json!({"launchTemplate": null});
        assert!(diff(&want, &have).iter().all(|f| f.refused.is_some()));
    }

    #[test]
    fn a_vpc_cidr_replaces_and_a_cluster_version_is_refused() {
        let f = diff(
            &resource(VPC, json!({"cidr": "10.1.0.0/16"})),
            &observed(json!({"cidr": "10.0.0.0/16"})),
        );
        assert!(f[0].forces_replace && f[0].refused.is_none());
        let f = diff(
            &resource(EKS_CLUSTER, json!({"version": "1.34"})),
            &observed(json!({"version": "1.33", "ready": false})),
        );
        assert!(f[0].refused.is_some());
        assert_eq!(f[1].field, NOT_READY);
    }
}
