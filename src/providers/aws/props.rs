//! The desired configuration of each AWS kind, as one serde struct shared
//! by the graph that builds it ([`super::graph`]) and the driver that reads
//! it. Plans and the state file keep them as JSON (camelCase keys). Fields
//! that name another resource hold its address (or, for an existing
//! network, the AWS id itself). Defaults live in the spec model, not here.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::Resource;
use crate::plan::driver::DriverError;

/// The props of a resource as `T`: a resource whose props do not fit its
/// kind is an error (a plan from another version, say), never defaults.
pub fn of<T: DeserializeOwned>(r: &Resource) -> Result<T, DriverError> {
    from_value(&r.address.to_string(), &r.props)
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
pub struct Vpc {
    pub name: String,
    pub cidr: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InternetGateway {
    pub name: String,
    pub vpc: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    pub name: String,
    pub vpc: String,
    pub cidr: String,
    pub zone: String,
    /// `public`, `private` or `database`.
    pub tier: String,
    /// Map public addresses on launch.
    pub public: bool,
    /// Load-balancer role tags, set at create.
    pub tags: BTreeMap<String, String>,
}

/// Where a route table sends `0.0.0.0/0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DefaultRoute {
    /// The internet gateway (public subnets).
    Gateway(String),
    /// A NAT gateway (private subnets).
    Nat(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTable {
    pub name: String,
    pub vpc: String,
    pub subnets: Vec<String>,
    pub default_route: Option<DefaultRoute>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Eip {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nat {
    pub name: String,
    pub subnet: String,
    pub eip: String,
}

/// A port rule: a number, or `all`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Port {
    Number(u16),
    Named(String),
}

/// Traffic a security group admits: from itself (`self`) or another group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    pub port: Port,
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    pub name: String,
    pub vpc: String,
    pub description: String,
    pub ingress: Vec<Ingress>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DbSubnetGroup {
    pub name: String,
    pub subnets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    pub identifier: String,
    pub engine: String,
    pub engine_version: Option<String>,
    pub instance_class: Option<String>,
    pub storage_gb: u32,
    pub multi_az: bool,
    pub encrypted: bool,
    pub deletion_protection: bool,
    pub backup_retention_days: u8,
    pub subnet_group: String,
    pub security_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamRole {
    pub name: String,
    /// The service trusted to assume it.
    pub service: String,
    /// AWS managed policies attached.
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EksCluster {
    pub name: String,
    pub version: Option<String>,
    pub role: String,
    pub subnets: Vec<String>,
    pub security_group: Option<String>,
    pub endpoint_private: bool,
    pub endpoint_public: bool,
    pub public_access_cidrs: Vec<String>,
    pub service_cidr: String,
    pub logging: Vec<String>,
}

/// The database's group admits the cluster's security group (see
/// `access.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseAccess {
    /// The database's security group (address).
    pub group: String,
    /// The EKS cluster (address) whose security group is admitted.
    pub cluster: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EksNodegroup {
    pub name: String,
    pub cluster: String,
    pub role: String,
    pub subnets: Vec<String>,
    pub version: Option<String>,
    pub instance_types: Vec<String>,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    pub disk_gb: u32,
    pub labels: BTreeMap<String, String>,
    /// As the spec gives them.
    pub taints: Vec<crate::spec::Taint>,
    /// The address of the group's launch template, which holds its
    /// instance type and disk (none in a plan or state from before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template: Option<String>,
}

/// The EC2 launch template a node group's nodes start from: the instance
/// type (when the group has exactly one; several are given to the node
/// group itself) and the root volume (`/dev/xvda`, gp3, encrypted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchTemplate {
    pub name: String,
    pub instance_type: Option<String>,
    pub disk_gb: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_and_ports_keep_their_json_shape() {
        let rt = RouteTable {
            name: "n".into(),
            vpc: "aws.vpc".into(),
            subnets: vec![],
            default_route: Some(DefaultRoute::Nat("aws.nat[a]".into())),
        };
        assert_eq!(to_value(&rt)["defaultRoute"], json!({"nat": "aws.nat[a]"}));
        let none = RouteTable {
            default_route: None,
            ..rt
        };
        assert_eq!(to_value(&none)["defaultRoute"], Value::Null);
        let i = Ingress {
            port: Port::Named("all".into()),
            from: "self".into(),
        };
        assert_eq!(to_value(&i), json!({"port": "all", "from": "self"}));
        let back: Ingress = serde_json::from_value(json!({"port": 5432, "from": "x"})).unwrap();
        assert_eq!(back.port, Port::Number(5432));
    }
}
