//! The cluster phase's desired resources: the namespace, the platform's
//! secrets, the Helm release and the wildcard DNS record. Pure; props never
//! hold secret values (a secret's `content: current` is checked by the
//! driver against the live object).

use serde_json::{Value, json};
use sha2::Digest;

use super::objects::SecretKind;
use crate::plan::{Address, Resource};
use crate::spec::Spec;

/// The prefix of the cluster phase's kinds (its driver's registration).
pub const PREFIX: &str = "cluster.";
// The kinds of the cluster phase, each named once.
pub const NAMESPACE: &str = "cluster.namespace";
pub const SECRET: &str = "cluster.secret";
pub const HELM_RELEASE: &str = "cluster.helm_release";
pub const DEPLOYMENT_NAMESPACE: &str = "cluster.deployment_namespace";
/// The wildcard record; its driver comes from the cloud that runs the DNS.
pub const DNS_RECORD: &str = "dns.record";

/// Whether `address` is one of the cluster phase's (the rest are the
/// cloud's).
pub fn is_cluster_address(address: &Address) -> bool {
    let a = address.as_str();
    a.starts_with("cluster.") || a.starts_with("dns.")
}

/// What the cluster phase's resources depend on besides the spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// The certificate chain ends in a private CA the platform must trust.
    pub private_ca: bool,
    /// The cloud manages the spec's DNS zone, so liftoff makes the wildcard
    /// record.
    pub dns_records: bool,
}

/// Which of the platform's secrets the spec needs ([`SecretKind::wanted`]).
pub fn secrets_wanted(spec: &Spec, facts: &Facts) -> Vec<SecretKind> {
    SecretKind::wanted(spec, facts.private_ca)
}

/// Desired props of a secret: never its values.
pub fn secret_props(kind: SecretKind, namespace: &str) -> Value {
    json!({
        "name": kind.name(),
        "namespace": namespace,
        "type": kind.secret_type(),
        "keys": kind.keys(),
        "helmAdoption": true,
        "content": "current",
    })
}

/// A digest of everything the chart values are rendered from (the spec's
/// platform, air gap and DNS sections: no secret values, only references).
pub fn values_digest(spec: &Spec, facts: &Facts) -> String {
    let basis = json!({
        "privateCa": facts.private_ca,
        "platform": spec.platform,
        "airgap": spec.airgap,
        "dns": spec.dns,
        "database": spec.database.as_ref().map(|d| json!({"mode": d.mode, "ssl": d.ssl})),
    });
    hex::encode(&sha2::Sha256::digest(basis.to_string())[..16])
}

/// Desired props of the Helm release.
pub fn release_props(spec: &Spec, facts: &Facts) -> Value {
    let p = &spec.platform;
    json!({
        "release": p.release_name,
        "namespace": p.namespace,
        "chart": {"repository": p.chart.repository, "name": p.chart.name, "version": p.chart.version},
        "valuesDigest": values_digest(spec, facts),
        "status": "deployed",
    })
}

/// The address of a namespace for Airflow deployments.
pub fn deployment_namespace_address(name: &str) -> Address {
    Address::new(format!("cluster.deployment_namespace[{name}]"))
}

/// The namespace name in a [`deployment_namespace_address`].
pub fn deployment_namespace_name(address: &Address) -> Option<&str> {
    address
        .as_str()
        .strip_prefix("cluster.deployment_namespace[")?
        .strip_suffix(']')
}

/// The wildcard record's name, `*.<baseDomain>`.
pub fn wildcard_name(spec: &Spec) -> String {
    format!("*.{}", spec.platform.base_domain.trim_end_matches('.'))
}

/// Every cluster-phase resource, dependencies first. `after` are addresses
/// of the cloud phase the cluster needs first (its node groups, database).
pub fn resources(spec: &Spec, after: &[Address], facts: &Facts) -> Vec<Resource> {
    let ns = &spec.platform.namespace;
    let mut out = Vec::new();
    let namespace = Address::new("cluster.namespace");
    out.push(Resource {
        address: namespace.clone(),
        kind: NAMESPACE.into(),
        props: json!({"name": ns}),
        deps: after.to_vec(),
        delete_after: Vec::new(),
    });
    let mut release_deps = vec![namespace.clone()];
    // The namespaces Airflow deployments may use: the chart puts its Roles
    // in them, so they exist before the release.
    for name in &spec.platform.deployment_namespaces {
        let address = deployment_namespace_address(name);
        release_deps.push(address.clone());
        out.push(Resource {
            address,
            kind: DEPLOYMENT_NAMESPACE.into(),
            props: json!({"name": name}),
            deps: after.to_vec(),
            delete_after: Vec::new(),
        });
    }
    for kind in secrets_wanted(spec, facts) {
        let address = Address::new(kind.address());
        release_deps.push(address.clone());
        out.push(Resource {
            address,
            kind: SECRET.into(),
            props: secret_props(kind, ns),
            deps: vec![namespace.clone()],
            delete_after: Vec::new(),
        });
    }
    let release = Address::new("cluster.helm_release");
    out.push(Resource {
        address: release.clone(),
        kind: HELM_RELEASE.into(),
        props: release_props(spec, facts),
        deps: release_deps,
        delete_after: Vec::new(),
    });
    if let Some(dns) = spec.dns.as_ref().filter(|_| facts.dns_records) {
        out.push(Resource {
            address: Address::new("dns.record.wildcard"),
            kind: DNS_RECORD.into(),
            props: json!({"zone": dns.zone, "name": wildcard_name(spec), "target": release.as_str()}),
            deps: vec![release],
            delete_after: Vec::new(),
        });
    }
    out
}
