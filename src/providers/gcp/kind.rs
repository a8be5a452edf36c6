//! The kinds of GCP resources, each named once: the graph builds them, the
//! driver dispatches on them.

pub const NETWORK: &str = "gcp.network";
pub const SUBNETWORK: &str = "gcp.subnetwork";
pub const FIREWALL: &str = "gcp.firewall";
pub const ROUTER: &str = "gcp.router";
pub const NAT_ADDRESS: &str = "gcp.nat_address";
pub const NAT: &str = "gcp.nat";
pub const SERVICES_RANGE: &str = "gcp.services_range";
pub const SERVICES_CONNECTION: &str = "gcp.services_connection";
pub const SQL_INSTANCE: &str = "gcp.sql_instance";
pub const GKE_CLUSTER: &str = "gcp.gke_cluster";
pub const NODE_POOL: &str = "gcp.node_pool";

/// The prefix every GCP kind and address starts with.
pub const PREFIX: &str = "gcp.";
