//! The desired configuration of each GCP kind, as one serde struct shared by
//! the graph that builds it ([`super::graph`]) and the driver that reads it.
//! Plans and the state file keep them as JSON (camelCase keys). Fields that
//! name another resource hold its address. Defaults live in the spec model.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::Resource;
use crate::plan::driver::DriverError;

/// The props of a resource as `T`: props that do not fit the kind (a plan
/// from another version) are an error, never defaults.
pub fn of<T: DeserializeOwned>(r: &Resource) -> Result<T, DriverError> {
    from_value(r.address.as_str(), &r.props)
}

/// `props` (of the resource at `address`) as `T`.
pub fn from_value<T: DeserializeOwned>(address: &str, props: &Value) -> Result<T, DriverError> {
    T::deserialize(props).map_err(|e| {
        DriverError::permanent(format!(
            "{address}: the desired configuration does not fit its kind"
        ))
        .with_source(e)
        .with_hint("make a new plan with this version of liftoff")
    })
}

/// The props as JSON, for the plan.
pub fn to_value(props: &impl Serialize) -> Value {
    serde_json::to_value(props).expect("props serialize")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    pub name: String,
}

/// A named secondary range of the subnetwork (GKE pods or services).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecondaryRange {
    pub name: String,
    pub cidr: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnetwork {
    pub name: String,
    pub network: String,
    pub region: String,
    pub cidr: String,
    pub pods: SecondaryRange,
    pub services: SecondaryRange,
    pub private_google_access: bool,
}

/// Lets the GKE control plane reach admission webhooks on the nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Firewall {
    pub name: String,
    pub network: String,
    pub source_ranges: Vec<String>,
    pub tcp_ports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Router {
    pub name: String,
    pub network: String,
    pub region: String,
}

/// A reserved static external address for Cloud NAT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NatAddress {
    pub name: String,
    pub region: String,
}

/// Cloud NAT inside the router, for the subnetwork (all its ranges).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nat {
    pub name: String,
    pub router: String,
    pub region: String,
    pub subnetwork: String,
    /// Addresses of [`NatAddress`] resources; empty: automatic allocation.
    pub addresses: Vec<String>,
}

/// The global range reserved for Private Services Access (Cloud SQL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicesRange {
    pub name: String,
    pub network: String,
    pub prefix_length: u8,
}

/// The Service Networking connection (a peering) over the reserved range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicesConnection {
    pub network: String,
    pub range: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqlInstance {
    pub name: String,
    pub region: String,
    /// Cloud SQL's version name, e.g. `POSTGRES_16`.
    pub version: String,
    pub tier: String,
    pub storage_gb: u32,
    /// REGIONAL (high availability) rather than ZONAL.
    pub regional: bool,
    pub deletion_protection: bool,
    pub backup_retention_days: u8,
    /// The network its private IP is in: an address, or an existing network's name.
    pub network: String,
    /// The reserved range's address, when liftoff made it.
    pub range: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Taint {
    pub key: String,
    pub value: String,
    /// NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE.
    pub effect: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    pub name: String,
    pub cluster: String,
    pub machine_type: String,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    pub disk_gb: u32,
    pub image_type: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// The Kubernetes minor version its nodes run (`cluster.kubernetesVersion`);
    /// absent in plans and state written before it was tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GkeCluster {
    pub name: String,
    /// A region (regional cluster) or a zone (zonal).
    pub location: String,
    /// The zones its nodes run in.
    pub node_zones: Vec<String>,
    /// An address, or an existing network's name.
    pub network: String,
    /// An address, or an existing subnetwork's name.
    pub subnetwork: String,
    pub pods_range: String,
    pub services_range: String,
    /// The control plane's private range (a /28).
    pub master_cidr: String,
    /// No public endpoint at all.
    pub private_endpoint: bool,
    /// Who may reach the endpoint (empty: no restriction besides Google's).
    pub authorized_networks: Vec<String>,
    /// RAPID, REGULAR, STABLE, or UNSPECIFIED (no channel, pinned version).
    pub release_channel: String,
    /// A pinned version (no channel), else the channel's default.
    pub version: Option<String>,
    /// The pool made with the cluster (GKE needs one); its own resource
    /// adopts it.
    pub first_pool: NodePool,
}
