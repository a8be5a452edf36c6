//! The GCP resources of a spec (VPC network, subnetwork, Cloud NAT, Cloud
//! SQL, GKE and node pools), kept as data for the GCP driver to come: no
//! driver executes them yet.

use serde_json::json;

use crate::plan::Resource;
use crate::plan::graph::Builder;
use crate::spec::{DatabaseMode, Mode, NatMode, Spec};

// The kinds of GCP resources, each named once.
pub const NETWORK: &str = "gcp.network";
pub const SUBNETWORK: &str = "gcp.subnetwork";
pub const ROUTER: &str = "gcp.router";
pub const NAT: &str = "gcp.nat";
pub const SQL_INSTANCE: &str = "gcp.sql_instance";
pub const GKE_CLUSTER: &str = "gcp.gke_cluster";
pub const NODE_POOL: &str = "gcp.node_pool";

/// Every GCP resource the spec asks for, dependencies first.
pub fn desired(spec: &Spec) -> Vec<Resource> {
    let mut b = Builder::new();
    build(spec, &mut b);
    b.finish()
}

fn build(spec: &Spec, b: &mut Builder) {
    let name = &spec.metadata.name;
    if let Some(net) = spec.network.as_ref().filter(|n| n.mode == Mode::Create) {
        let network = b.add(NETWORK, NETWORK, json!({"name": name}), &[]);
        let subnet = b.add(
            SUBNETWORK,
            SUBNETWORK,
            json!({"name": format!("{name}-nodes"), "network": network, "region": spec.cloud.region, "cidr": net.cidr}),
            &[&network],
        );
        if net.nat != NatMode::None {
            let router = b.add(
                ROUTER,
                ROUTER,
                json!({"name": format!("{name}-router"), "network": network}),
                &[&network],
            );
            b.add(
                NAT,
                NAT,
                json!({"name": format!("{name}-nat"), "router": router, "subnetwork": subnet}),
                &[&router, &subnet],
            );
        }
    }
    if let Some(db) = spec
        .database
        .as_ref()
        .filter(|d| d.mode == DatabaseMode::Create)
    {
        b.add(
            SQL_INSTANCE,
            SQL_INSTANCE,
            json!({"name": super::database_name(name), "version": db.engine_version, "tier": db.instance_class, "storageGb": db.storage_gb, "regional": db.multi_zone, "deletionProtection": db.deletion_protection, "backupRetentionDays": db.backup_retention_days}),
            &[NETWORK],
        );
    }
    if spec.cluster.mode == Mode::Create {
        let cl = &spec.cluster;
        b.add(GKE_CLUSTER, GKE_CLUSTER, json!({"name": name, "version": cl.kubernetes_version, "network": NETWORK, "subnetwork": SUBNETWORK}), &[SUBNETWORK]);
        for g in &cl.node_groups {
            b.add(
                format!("gcp.node_pool[{}]", g.name),
                NODE_POOL,
                json!({"name": g.name, "cluster": GKE_CLUSTER, "machineTypes": g.instance_types, "min": g.min, "max": g.max, "desired": g.desired, "labels": g.labels, "taints": g.taints}),
                &[GKE_CLUSTER],
            );
        }
    }
}
