//! The GCP resources of a spec, dependencies first: a custom-mode VPC
//! network, its subnetwork (with the GKE pods and services ranges), the
//! webhook firewall rule, a Cloud Router with Cloud NAT (and its reserved
//! addresses), the Private Services Access range and connection, the Cloud
//! SQL instance, the GKE cluster and its node pools.

use super::kind::*;
use super::names;
use super::props::{self, *};
use crate::plan::Resource;
use crate::plan::graph::Builder;
use crate::spec::{DatabaseMode, Mode, NatMode, ReleaseChannel, Spec, TaintEffect};

/// The webhook ports the GKE control plane must reach on nodes.
pub const WEBHOOK_PORTS: [&str; 3] = ["6443", "8443", "9443"];

/// Every GCP resource the spec asks for, dependencies first.
pub fn desired(spec: &Spec) -> Vec<Resource> {
    let mut b = Builder::new();
    build(spec, &mut b);
    b.finish()
}

fn build(spec: &Spec, b: &mut Builder) {
    let name = &spec.metadata.name;
    let gcp = spec.gcp.clone().unwrap_or_default();
    let region = names::region(spec);
    let created = spec
        .network
        .as_ref()
        .filter(|n| n.mode == Mode::Create)
        .cloned();
    // What the cluster and database are placed in: our addresses, or the
    // existing network's names.
    let (network, subnetwork, range) = if let Some(net) = &created {
        let network = b.add(
            NETWORK,
            NETWORK,
            props::to_value(&Network { name: name.clone() }),
            &[],
        );
        let subnet = b.add(
            SUBNETWORK,
            SUBNETWORK,
            props::to_value(&Subnetwork {
                name: names::subnetwork(name),
                network: network.clone(),
                region: region.clone(),
                cidr: net.cidr.clone().unwrap_or_default(),
                pods: SecondaryRange {
                    name: gcp.pods_range_name.clone(),
                    cidr: gcp.pods_cidr.clone(),
                },
                services: SecondaryRange {
                    name: gcp.services_range_name.clone(),
                    cidr: gcp.services_cidr.clone(),
                },
                private_google_access: true,
            }),
            &[&network],
        );
        if spec.cluster.mode == Mode::Create {
            b.add(
                format!("{FIREWALL}[webhooks]"),
                FIREWALL,
                props::to_value(&Firewall {
                    name: format!("{name}-gke-webhooks"),
                    network: network.clone(),
                    source_ranges: vec![gcp.master_cidr.clone()],
                    tcp_ports: WEBHOOK_PORTS.iter().map(|p| p.to_string()).collect(),
                }),
                &[&network],
            );
        }
        if net.nat != NatMode::None {
            let router = b.add(
                ROUTER,
                ROUTER,
                props::to_value(&Router {
                    name: format!("{name}-router"),
                    network: network.clone(),
                    region: region.clone(),
                }),
                &[&network],
            );
            let mut addresses = Vec::new();
            for i in 0..gcp.nat_addresses {
                addresses.push(b.add(
                    format!("{NAT_ADDRESS}[{i}]"),
                    NAT_ADDRESS,
                    props::to_value(&NatAddress {
                        name: format!("{name}-nat-{i}"),
                        region: region.clone(),
                    }),
                    &[],
                ));
            }
            let mut deps: Vec<&str> = vec![&router, &subnet];
            deps.extend(addresses.iter().map(String::as_str));
            b.add(
                NAT,
                NAT,
                props::to_value(&Nat {
                    name: format!("{name}-nat"),
                    router: router.clone(),
                    region: region.clone(),
                    subnetwork: subnet.clone(),
                    addresses: addresses.clone(),
                }),
                &deps,
            );
        }
        let mut range = None;
        if spec
            .database
            .as_ref()
            .is_some_and(|d| d.mode == DatabaseMode::Create)
        {
            let r = b.add(
                SERVICES_RANGE,
                SERVICES_RANGE,
                props::to_value(&ServicesRange {
                    name: format!("{name}-services"),
                    network: network.clone(),
                    prefix_length: gcp.private_services_prefix,
                }),
                &[&network],
            );
            b.add(
                SERVICES_CONNECTION,
                SERVICES_CONNECTION,
                props::to_value(&ServicesConnection {
                    network: network.clone(),
                    range: r.clone(),
                }),
                &[&network, &r],
            );
            range = Some(r);
        }
        (network, subnet, range)
    } else {
        let net = spec.network.as_ref();
        (
            net.and_then(|n| n.vpc_id.clone()).unwrap_or_default(),
            names::existing_subnetwork(spec).unwrap_or_default(),
            None,
        )
    };
    let db_deps: Vec<&str> = match &range {
        Some(r) => vec![NETWORK, r.as_str(), SERVICES_CONNECTION],
        None => vec![],
    };
    if let Some(db) = spec
        .database
        .as_ref()
        .filter(|d| d.mode == DatabaseMode::Create)
    {
        b.add(
            SQL_INSTANCE,
            SQL_INSTANCE,
            props::to_value(&SqlInstance {
                name: names::database(name),
                region: region.clone(),
                version: names::postgres_version(db.engine_version.as_deref()),
                tier: db
                    .instance_class
                    .clone()
                    .unwrap_or_else(|| "db-custom-2-7680".into()),
                storage_gb: db.storage_gb,
                regional: db.multi_zone,
                deletion_protection: db.deletion_protection,
                backup_retention_days: db.backup_retention_days,
                network: network.clone(),
                range: range.clone(),
            }),
            &db_deps,
        );
    }
    if spec.cluster.mode == Mode::Create {
        let cl = &spec.cluster;
        let pools: Vec<NodePool> = cl
            .node_groups
            .iter()
            .map(|g| NodePool {
                name: g.name.clone(),
                cluster: GKE_CLUSTER.into(),
                machine_type: g.instance_types.first().cloned().unwrap_or_default(),
                min: g.min,
                max: g.max,
                desired: g.desired,
                disk_gb: g.disk_gb,
                image_type: "COS_CONTAINERD".into(),
                labels: g.labels.clone(),
                taints: g
                    .taints
                    .iter()
                    .map(|t| Taint {
                        key: t.key.clone(),
                        value: t.value.clone(),
                        effect: match t.effect {
                            TaintEffect::NoSchedule => "NO_SCHEDULE",
                            TaintEffect::PreferNoSchedule => "PREFER_NO_SCHEDULE",
                            TaintEffect::NoExecute => "NO_EXECUTE",
                        }
                        .into(),
                    })
                    .collect(),
                version: cl.kubernetes_version.clone(),
            })
            .collect();
        let zones = names::zones(spec);
        let (location, node_zones) = if gcp.zonal {
            (zones[0].clone(), vec![zones[0].clone()])
        } else {
            (region.clone(), zones)
        };
        let mut deps: Vec<&str> = Vec::new();
        if created.is_some() {
            deps.extend([NETWORK, SUBNETWORK, "gcp.firewall[webhooks]"]);
            if created.as_ref().is_some_and(|n| n.nat != NatMode::None) {
                deps.push(NAT);
            }
        }
        let Some(first_pool) = pools.first().cloned() else {
            return;
        };
        let cluster = b.add(
            GKE_CLUSTER,
            GKE_CLUSTER,
            props::to_value(&GkeCluster {
                name: name.clone(),
                location,
                node_zones,
                network: network.clone(),
                subnetwork: subnetwork.clone(),
                pods_range: gcp.pods_range_name.clone(),
                services_range: gcp.services_range_name.clone(),
                master_cidr: gcp.master_cidr.clone(),
                private_endpoint: cl.endpoint_access == crate::spec::EndpointAccess::Private,
                authorized_networks: cl.public_access_cidrs.clone(),
                release_channel: match gcp.release_channel {
                    ReleaseChannel::Rapid => "RAPID",
                    ReleaseChannel::Regular => "REGULAR",
                    ReleaseChannel::Stable => "STABLE",
                    ReleaseChannel::None => "UNSPECIFIED",
                }
                .into(),
                version: cl.kubernetes_version.clone(),
                first_pool,
            }),
            &deps,
        );
        for pool in pools {
            b.add(
                format!("{NODE_POOL}[{}]", pool.name),
                NODE_POOL,
                props::to_value(&pool),
                &[&cluster],
            );
        }
        if spec
            .database
            .as_ref()
            .is_some_and(|d| d.mode == DatabaseMode::Create)
        {
            // The database outlives the cluster on destroy.
            b.delete_after(SQL_INSTANCE, &[GKE_CLUSTER]);
        }
    }
}
