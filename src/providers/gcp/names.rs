//! Names GCP resources get from the installation, and the region, zones and
//! versions a spec implies.

use crate::spec::{DerivedName, Spec};

/// The region (default us-central1).
pub fn region(spec: &Spec) -> String {
    spec.cloud
        .region
        .clone()
        .unwrap_or_else(|| "us-central1".into())
}

/// The zones nodes run in: the spec's, else the region's first
/// `network.zoneCount` (a, b, c, …).
pub fn zones(spec: &Spec) -> Vec<String> {
    if !spec.cloud.zones.is_empty() {
        return spec.cloud.zones.clone();
    }
    let count = spec.network.as_ref().map_or(3, |n| n.zone_count).max(1);
    let region = region(spec);
    (0..count)
        .map(|i| format!("{region}-{}", (b'a' + i) as char))
        .collect()
}

/// The project (validation requires it on GCP).
pub fn project(spec: &Spec) -> String {
    spec.cloud.project.clone().unwrap_or_default()
}

/// The Cloud SQL instance name.
pub fn database(installation: &str) -> String {
    format!("{installation}-db")
}

/// The subnetwork liftoff creates.
pub fn subnetwork(installation: &str) -> String {
    format!("{installation}-nodes")
}

/// An existing network's subnetwork: `gcp.subnetwork`, else the first of
/// `network.privateSubnetIds`.
pub fn existing_subnetwork(spec: &Spec) -> Option<String> {
    spec.gcp
        .as_ref()
        .and_then(|g| g.subnetwork.clone())
        .or_else(|| spec.network.as_ref()?.private_subnet_ids.first().cloned())
}

/// Cloud SQL's name of a PostgreSQL version: `16` and `16.4` are `POSTGRES_16`.
pub fn postgres_version(engine_version: Option<&str>) -> String {
    let major = engine_version
        .and_then(|v| v.split('.').next())
        .filter(|m| !m.is_empty())
        .unwrap_or("16");
    format!("POSTGRES_{major}")
}

/// The names GCP limits.
pub fn derived(installation: &str) -> Vec<DerivedName> {
    vec![
        DerivedName {
            name: installation.to_string(),
            what: "GKE cluster name",
            limit: 40,
        },
        DerivedName {
            name: database(installation),
            what: "Cloud SQL instance name",
            limit: 98,
        },
        DerivedName {
            name: format!("{installation}-gke-webhooks"),
            what: "firewall rule name",
            limit: 63,
        },
    ]
}
