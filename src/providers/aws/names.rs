//! Names AWS resources get from the installation name, their length limits,
//! the availability zones of a spec and how a VPC is cut into subnets.

use crate::spec::{DerivedName, Spec};

/// The RDS instance identifier (and DB subnet group name).
pub fn database(installation: &str) -> String {
    format!("{installation}-db")
}

/// The EKS cluster name.
pub fn cluster(installation: &str) -> String {
    installation.to_string()
}

/// The IAM role of the EKS control plane.
pub fn cluster_role(installation: &str) -> String {
    format!("{installation}-eks-cluster")
}

/// The IAM role of the nodes.
pub fn nodes_role(installation: &str) -> String {
    format!("{installation}-eks-nodes")
}

/// The launch template of a node group (EC2 allows 128 characters).
pub fn launch_template(installation: &str, group: &str) -> String {
    format!("{installation}-{group}")
}

/// The longest derived names with their limits (IAM: 64, RDS: 63, EKS: 100).
pub fn derived(installation: &str) -> Vec<DerivedName> {
    vec![
        DerivedName {
            name: nodes_role(installation),
            what: "IAM role name",
            limit: 64,
        },
        DerivedName {
            name: database(installation),
            what: "RDS instance identifier",
            limit: 63,
        },
        DerivedName {
            name: cluster(installation),
            what: "EKS cluster name",
            limit: 100,
        },
    ]
}

/// Prefix length of each subnet: the VPC is cut into equal parts, enough for
/// three tiers (public, private, database) in every zone.
pub fn subnet_prefix(vpc_prefix: u8, zones: u8) -> u8 {
    let parts = 3 * u32::from(zones.max(1));
    vpc_prefix + (32 - (parts - 1).leading_zeros()) as u8
}

/// Zone letters (`a`, `b`, …) and full zone names for the spec: the listed
/// zones, else the region's first `network.zoneCount`.
pub fn zones(spec: &Spec) -> Vec<(String, String)> {
    let region = spec.cloud.region.clone().unwrap_or_default();
    let count = spec.network.as_ref().map_or(3, |n| n.zone_count) as usize;
    let names: Vec<String> = if spec.cloud.zones.is_empty() {
        (0..count)
            .map(|i| format!("{region}{}", (b'a' + i as u8) as char))
            .collect()
    } else {
        spec.cloud.zones.clone()
    };
    names
        .into_iter()
        .map(|z| (z.chars().last().unwrap_or('a').to_string(), z))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_prefixes_fit_three_tiers() {
        assert_eq!(subnet_prefix(16, 3), 20); // 9 subnets -> 16 parts
        assert_eq!(subnet_prefix(16, 2), 19); // 6 -> 8
        assert_eq!(subnet_prefix(24, 6), 29); // 18 -> 32
    }
}
