//! The GKE Standard cluster (regional or zonal, private nodes, private or
//! public endpoint with authorized networks, a release channel or a pinned
//! version, VPC-native on the subnetwork's secondary ranges) and its node
//! pools (COS image, autoscaling, labels and taints). The cluster carries
//! the ownership labels; node pools are owned through it. Operations are
//! polled with `get_operation` until done. Under `upgrade --kubernetes` the
//! control plane moves one minor version at a time, then each node pool;
//! a pool's machine type and disk size change in place.

use std::collections::HashMap;

use google_cloud_container_v1::model::{
    self as m, cluster::Status as ClusterStatus, node_pool::Status as PoolStatus,
};
use serde_json::{Value, json};

use super::driver::{Gcp, unknown};
use super::kind::*;
use super::ownership::{self, Labels};
use super::props::{self, GkeCluster, NodePool};
use super::support::*;
use super::{changes, error, operations};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Lookup, Observed};
use crate::providers::Ownership;
use crate::wait::{self, Poll};

/// An observed-only prop: `false` while the cluster or pool is not RUNNING.
pub const READY: &str = "ready";

fn cluster_path(g: &Gcp, location: &str, name: &str) -> String {
    format!(
        "projects/{}/locations/{location}/clusters/{name}",
        g.opts.project
    )
}

pub async fn get_cluster(g: &Gcp, path: &str) -> Result<Option<m::Cluster>, DriverError> {
    match g.c.container.get_cluster().set_name(path).send().await {
        Err(e) if error::is_not_found(&e) => Ok(None),
        Err(e) => Err(error::map("clusters.get", e)),
        Ok(c) => Ok(Some(c)),
    }
}

async fn get_pool(g: &Gcp, path: &str) -> Result<Option<m::NodePool>, DriverError> {
    match g.c.container.get_node_pool().set_name(path).send().await {
        Err(e) if error::is_not_found(&e) => Ok(None),
        Err(e) => Err(error::map("nodePools.get", e)),
        Ok(p) => Ok(Some(p)),
    }
}

fn cluster_outputs(path: &str, c: &m::Cluster) -> Value {
    json!({
        "id": path, "name": c.name, "location": c.location, "endpoint": c.endpoint,
        "version": c.current_master_version,
        "caCertificate": c.master_auth.as_ref().map(|a| a.cluster_ca_certificate.clone()),
    })
}

/// Whether `got` (1.33.5-gke.1) is the version asked for (1.33).
fn same_version(want: &str, got: &str) -> bool {
    got == want || got.starts_with(&format!("{want}."))
}

/// Whether the version GKE reports (`got`, of the control plane or a node
/// pool of `cluster`) differs from the one the spec asks for. On a release
/// channel GKE upgrades the cluster itself: a later version than the
/// spec's is the channel's doing, not a change to make (liftoff never
/// downgrades).
fn version_differs(cluster: &m::Cluster, want: &str, got: &str) -> bool {
    if got.is_empty() || same_version(want, got) {
        return false;
    }
    let on_channel = cluster
        .release_channel
        .as_ref()
        .is_some_and(|r| r.channel != m::release_channel::Channel::Unspecified);
    let (have, want) = (changes::minor(&json!(got)), changes::minor(&json!(want)));
    !(on_channel && have.is_some() && want.is_some() && have >= want)
}

/// The minor versions an upgrade from `from` to `to` passes through that
/// GKE does not offer in `location` (in the cluster's release channel, or
/// as control plane versions without one), with what it offers; `None`
/// when it offers them all.
async fn unavailable(
    g: &Gcp,
    location: &str,
    cluster: &m::Cluster,
    from: &str,
    to: &str,
) -> Result<Option<Value>, DriverError> {
    let (Some(from), Some(to)) = (changes::minor(&json!(from)), changes::minor(&json!(to))) else {
        return Ok(None);
    };
    if to <= from {
        return Ok(None);
    }
    let config =
        g.c.container
            .get_server_config()
            .set_name(format!("projects/{}/locations/{location}", g.opts.project))
            .send()
            .await
            .map_err(|e| error::map("getServerConfig", e))?;
    let channel = cluster
        .release_channel
        .as_ref()
        .map(|r| r.channel.clone())
        .filter(|c| *c != m::release_channel::Channel::Unspecified);
    let (versions, place) = match &channel {
        Some(ch) => (
            config
                .channels
                .iter()
                .find(|c| c.channel == *ch)
                .map(|c| c.valid_versions.clone())
                .unwrap_or_default(),
            format!(
                "the {} release channel in {location}",
                ch.name().unwrap_or("cluster's")
            ),
        ),
        None => (config.valid_master_versions.clone(), location.to_string()),
    };
    let mut offered: Vec<u32> = versions
        .iter()
        .filter_map(|v| changes::minor(&json!(v)))
        .collect();
    offered.sort_unstable();
    offered.dedup();
    let missing: Vec<String> = (from + 1..=to)
        .filter(|m| !offered.contains(m))
        .map(|m| format!("1.{m}"))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    Ok(Some(json!({
        "versions": missing,
        "offered": offered.iter().map(|m| format!("1.{m}")).collect::<Vec<_>>(),
        "where": place,
    })))
}

pub async fn read(g: &Gcp, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let mut props = base_props(l);
    match l.kind {
        GKE_CLUSTER => {
            let want: GkeCluster = lookup_props(l)?;
            let path = cluster_path(g, &want.location, &want.name);
            let Some(c) = get_cluster(g, &path).await? else {
                return Ok(None);
            };
            if !ownership::owns_labels(&g.opts.installation, l.address.as_str(), &c.resource_labels)
            {
                return Ok(None);
            }
            let channel = c
                .release_channel
                .as_ref()
                .and_then(|r| r.channel.name())
                .unwrap_or("UNSPECIFIED");
            props.insert("releaseChannel".into(), json!(channel));
            if let Some(v) = &want.version
                && version_differs(&c, v, &c.current_master_version)
            {
                props.insert("version".into(), json!(c.current_master_version));
                if g.opts.kubernetes_upgrade
                    && let Some(missing) =
                        unavailable(g, &want.location, &c, &c.current_master_version, v).await?
                {
                    props.insert(changes::UNAVAILABLE.into(), missing);
                }
            }
            let endpoints = c
                .control_plane_endpoints_config
                .as_ref()
                .and_then(|e| e.ip_endpoints_config.as_ref());
            let private = endpoints.is_some_and(|e| e.enable_public_endpoint == Some(false));
            props.insert("privateEndpoint".into(), json!(private));
            let nets: Vec<String> = endpoints
                .and_then(|e| e.authorized_networks_config.as_ref())
                .filter(|n| n.enabled)
                .map(|n| n.cidr_blocks.iter().map(|b| b.cidr_block.clone()).collect())
                .unwrap_or_default();
            props.insert("authorizedNetworks".into(), json!(nets));
            if c.status != ClusterStatus::Running {
                props.insert(READY.into(), Value::Bool(false));
            }
            Ok(Some(observed(
                path.clone(),
                props,
                cluster_outputs(&path, &c),
            )))
        }
        NODE_POOL => {
            let want: NodePool = lookup_props(l)?;
            // Owned through the cluster: only a pool of our cluster is ours.
            let cluster = g.opts.installation.clone();
            let Some(c) = find_our_cluster(g, &cluster).await? else {
                return Ok(None);
            };
            let path = format!("{}/nodePools/{}", c.0, want.name);
            let Some(pool) = get_pool(g, &path).await? else {
                return Ok(None);
            };
            if let Some(v) = &want.version
                && version_differs(&c.1, v, &pool.version)
            {
                props.insert("version".into(), json!(pool.version));
            }
            if let Some(cfg) = &pool.config {
                props.insert("machineType".into(), json!(cfg.machine_type));
                props.insert("diskGb".into(), json!(cfg.disk_size_gb));
                let labels: std::collections::BTreeMap<_, _> =
                    cfg.labels.clone().into_iter().collect();
                props.insert("labels".into(), json!(labels));
            }
            if let Some(a) = pool.autoscaling.as_ref().filter(|a| a.enabled) {
                props.insert("min".into(), json!(a.min_node_count));
                props.insert("max".into(), json!(a.max_node_count));
            }
            if pool.status != PoolStatus::Running {
                props.insert(READY.into(), Value::Bool(false));
            }
            Ok(Some(observed(
                path.clone(),
                props,
                json!({"id": path, "name": want.name, "version": pool.version}),
            )))
        }
        k => Err(unknown(k)),
    }
}

/// This installation's cluster (its path and itself), found by name and
/// labels among the project's clusters in every location (`clusters.list`
/// takes the `-` wildcard location; `get` does not).
pub async fn find_our_cluster(
    g: &Gcp,
    name: &str,
) -> Result<Option<(String, m::Cluster)>, DriverError> {
    let listed =
        g.c.container
            .list_clusters()
            .set_parent(format!("projects/{}/locations/-", g.opts.project))
            .send()
            .await
            .map_err(|e| error::map("clusters.list", e))?;
    Ok(listed
        .clusters
        .into_iter()
        .find(|c| {
            c.name == name
                && ownership::owns_labels(&g.opts.installation, GKE_CLUSTER, &c.resource_labels)
        })
        .map(|c| (cluster_path(g, &c.location, name), c)))
}

fn pool_body(p: &NodePool) -> m::NodePool {
    let taints = p.taints.iter().map(|t| {
        m::NodeTaint::new()
            .set_key(&t.key)
            .set_value(&t.value)
            .set_effect(m::node_taint::Effect::from(t.effect.as_str()))
    });
    m::NodePool::new()
        .set_name(&p.name)
        .set_initial_node_count(i32::try_from(p.desired).unwrap_or(1))
        .set_config(
            m::NodeConfig::new()
                .set_machine_type(&p.machine_type)
                .set_disk_size_gb(i32::try_from(p.disk_gb).unwrap_or(100))
                .set_image_type(&p.image_type)
                .set_labels(p.labels.clone().into_iter().collect::<HashMap<_, _>>())
                .set_taints(taints),
        )
        .set_autoscaling(
            m::NodePoolAutoscaling::new()
                .set_enabled(true)
                .set_min_node_count(i32::try_from(p.min).unwrap_or(0))
                .set_max_node_count(i32::try_from(p.max).unwrap_or(1)),
        )
}

fn operation_path(g: &Gcp, location: &str, op: &m::Operation) -> String {
    if op.name.starts_with("projects/") {
        op.name.clone()
    } else {
        format!(
            "projects/{}/locations/{location}/operations/{}",
            g.opts.project, op.name
        )
    }
}

pub async fn create(g: &Gcp, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    match r.kind.as_str() {
        GKE_CLUSTER => {
            let p: GkeCluster = props::of(r)?;
            let network = name_of(ctx, &p.network)?;
            let subnetwork = name_of(ctx, &p.subnetwork)?;
            let labels: HashMap<String, String> = Labels
                .marks(&g.opts.installation, r.address.as_str())
                .into_iter()
                .collect();
            let mut cluster = m::Cluster::new()
                .set_name(&p.name)
                .set_network(&network)
                .set_subnetwork(&subnetwork)
                .set_resource_labels(labels)
                .set_locations(p.node_zones.clone())
                .set_ip_allocation_policy(
                    m::IPAllocationPolicy::new()
                        .set_use_ip_aliases(true)
                        .set_cluster_secondary_range_name(&p.pods_range)
                        .set_services_secondary_range_name(&p.services_range),
                )
                .set_network_config(m::NetworkConfig::new().set_default_enable_private_nodes(true))
                .set_private_cluster_config(
                    m::PrivateClusterConfig::new().set_master_ipv4_cidr_block(&p.master_cidr),
                )
                .set_control_plane_endpoints_config(
                    m::ControlPlaneEndpointsConfig::new().set_ip_endpoints_config(
                        m::control_plane_endpoints_config::IPEndpointsConfig::new()
                            .set_enabled(true)
                            .set_enable_public_endpoint(!p.private_endpoint)
                            .set_authorized_networks_config(
                                m::MasterAuthorizedNetworksConfig::new()
                                    .set_enabled(!p.authorized_networks.is_empty())
                                    .set_cidr_blocks(p.authorized_networks.iter().map(|c| {
                                        m::master_authorized_networks_config::CidrBlock::new()
                                            .set_cidr_block(c)
                                            .set_display_name("liftoff")
                                    })),
                            ),
                    ),
                )
                .set_release_channel(m::ReleaseChannel::new().set_channel(
                    m::release_channel::Channel::from(p.release_channel.as_str()),
                ))
                .set_node_pools([pool_body(&p.first_pool)]);
            if let Some(v) = &p.version {
                cluster = cluster.set_initial_cluster_version(v);
            }
            let parent = format!("projects/{}/locations/{}", g.opts.project, p.location);
            let op = match g
                .c
                .container
                .create_cluster()
                .set_parent(&parent)
                .set_cluster(cluster)
                .send()
                .await
            {
                Err(e) if error::is_conflict(&e) => {
                    return Err(DriverError::permanent(format!(
                        "a GKE cluster named {} exists in {} but liftoff did not create it for this installation",
                        p.name, p.location
                    ))
                    .with_hint("choose another metadata.name"));
                }
                Err(e) => return Err(error::map("clusters.create", e)),
                Ok(op) => op,
            };
            let path = cluster_path(g, &p.location, &p.name);
            ctx.recorder
                .created(
                    &path,
                    json!({"id": path, "name": p.name, "location": p.location}),
                )
                .await?;
            operations::gke(
                g,
                ctx.recorder,
                &format!("GKE cluster {} creation", p.name),
                "cluster",
                &operation_path(g, &p.location, &op),
            )
            .await?;
            cluster_ready(g, r, &path, ctx).await
        }
        NODE_POOL => {
            let p: NodePool = props::of(r)?;
            let cluster_path = ctx
                .dep_output(&p.cluster, "id")?
                .as_str()
                .unwrap_or_default()
                .to_string();
            let location = cluster_path
                .split('/')
                .nth(3)
                .unwrap_or(&g.opts.region)
                .to_string();
            let path = format!("{cluster_path}/nodePools/{}", p.name);
            // The first pool is made with the cluster: adopt it.
            if get_pool(g, &path).await?.is_none() {
                let op =
                    g.c.container
                        .create_node_pool()
                        .set_parent(&cluster_path)
                        .set_node_pool(pool_body(&p))
                        .send()
                        .await
                        .map_err(|e| error::map("nodePools.create", e))?;
                ctx.recorder
                    .created(&path, json!({"id": path, "name": p.name}))
                    .await?;
                operations::gke(
                    g,
                    ctx.recorder,
                    &format!("node pool {} creation", p.name),
                    "nodeGroup",
                    &operation_path(g, &location, &op),
                )
                .await?;
            } else {
                ctx.recorder
                    .created(&path, json!({"id": path, "name": p.name}))
                    .await?;
            }
            pool_ready(g, r, &path, ctx).await
        }
        k => Err(unknown(k)),
    }
}

async fn cluster_ready(
    g: &Gcp,
    r: &Resource,
    path: &str,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    let what = format!("GKE cluster {}", last_segment(path));
    let c = wait::until(
        &what,
        "cluster",
        g.limit("cluster"),
        g.opts.backoff,
        ctx.recorder,
        || async {
            match get_cluster(g, path).await? {
                Some(c) if c.status == ClusterStatus::Running => Ok(Poll::Ready(c)),
                Some(c) if c.status == ClusterStatus::Error => Err(error::operation_failed(
                    &what,
                    "the cluster is in state ERROR",
                )),
                Some(c) => Ok(Poll::Pending(format!("{:?}", c.status).to_lowercase())),
                None => Err(DriverError::permanent(format!("{what} is gone"))),
            }
        },
    )
    .await?;
    Ok(Observed {
        id: path.to_string(),
        props: r.props.clone(),
        outputs: cluster_outputs(path, &c),
    })
}

async fn pool_ready(
    g: &Gcp,
    r: &Resource,
    path: &str,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    let what = format!("node pool {}", last_segment(path));
    let pool = wait::until(
        &what,
        "nodeGroup",
        g.limit("nodeGroup"),
        g.opts.backoff,
        ctx.recorder,
        || async {
            match get_pool(g, path).await? {
                Some(p) if p.status == PoolStatus::Running => Ok(Poll::Ready(p)),
                Some(p) if p.status == PoolStatus::Error => Err(error::operation_failed(
                    &what,
                    "the node pool is in state ERROR",
                )),
                Some(p) => Ok(Poll::Pending(format!("{:?}", p.status).to_lowercase())),
                None => Err(DriverError::permanent(format!("{what} is gone"))),
            }
        },
    )
    .await?;
    Ok(Observed {
        id: path.to_string(),
        props: r.props.clone(),
        outputs: json!({"id": path, "name": pool.name, "version": pool.version}),
    })
}

pub async fn update(
    g: &Gcp,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    match r.kind.as_str() {
        GKE_CLUSTER => {
            // Found before it was ready (an earlier run stopped while
            // waiting, or an operation still runs): waited for first.
            let mut done = cluster_ready(g, r, &o.id, ctx).await?;
            if g.opts.kubernetes_upgrade {
                done = upgrade_control_plane(g, r, &o.id, done, ctx).await?;
            }
            Ok(done)
        }
        NODE_POOL => {
            let p: NodePool = props::of(r)?;
            let location = o.id.split('/').nth(3).unwrap_or(&g.opts.region).to_string();
            pool_ready(g, r, &o.id, ctx).await?;
            let changed = |field: &str| o.props.get(field) != r.props.get(field);
            if changed("min") || changed("max") {
                let op =
                    g.c.container
                        .set_node_pool_autoscaling()
                        .set_name(&o.id)
                        .set_autoscaling(
                            m::NodePoolAutoscaling::new()
                                .set_enabled(true)
                                .set_min_node_count(i32::try_from(p.min).unwrap_or(0))
                                .set_max_node_count(i32::try_from(p.max).unwrap_or(1)),
                        )
                        .send()
                        .await
                        .map_err(|e| error::map("nodePools.setAutoscaling", e))?;
                operations::gke(
                    g,
                    ctx.recorder,
                    &format!("node pool {} update", p.name),
                    "nodeGroup",
                    &operation_path(g, &location, &op),
                )
                .await?;
            }
            if let Some(version) = p.version.as_deref().filter(|_| changed("version")) {
                // The control plane was upgraded first (the pool depends
                // on the cluster); the nodes follow to the same minor.
                ctx.recorder.progress(&format!(
                    "upgrading node pool {} to Kubernetes {version}",
                    p.name
                ));
                let what = format!("node pool {} to Kubernetes {version}", p.name);
                update_pool(g, ctx, &o.id, &location, &p, &what, |u| {
                    u.set_node_version(version)
                })
                .await?;
            }
            if changed("machineType") || changed("diskGb") {
                // GKE recreates the nodes with the new machine type or disk
                // (surge upgrade), one batch at a time.
                ctx.recorder.progress(&format!(
                    "node pool {}: machine type {}, disk {} GB (GKE replaces the nodes)",
                    p.name, p.machine_type, p.disk_gb
                ));
                let what = format!("node pool {} machine type and disk update", p.name);
                update_pool(g, ctx, &o.id, &location, &p, &what, |u| {
                    u.set_machine_type(&p.machine_type)
                        .set_disk_size_gb(i64::from(p.disk_gb))
                })
                .await?;
            }
            pool_ready(g, r, &o.id, ctx).await
        }
        k => Err(unknown(k)),
    }
}

/// One `nodePools.update` (the pool's image type, which GKE requires, and
/// what `set` adds), waited for until `timeouts.nodeGroup`.
async fn update_pool(
    g: &Gcp,
    ctx: &Context<'_>,
    pool: &str,
    location: &str,
    p: &NodePool,
    what: &str,
    set: impl FnOnce(
        google_cloud_container_v1::builder::cluster_manager::UpdateNodePool,
    ) -> google_cloud_container_v1::builder::cluster_manager::UpdateNodePool,
) -> Result<(), DriverError> {
    let call =
        g.c.container
            .update_node_pool()
            .set_name(pool)
            .set_image_type(&p.image_type);
    let op = set(call)
        .send()
        .await
        .map_err(|e| error::map("nodePools.update", e))?;
    operations::gke(
        g,
        ctx.recorder,
        what,
        "nodeGroup",
        &operation_path(g, location, &op),
    )
    .await
}

/// The control plane to the spec's version, one minor at a time (GKE
/// allows no more), each `clusters.update` with `desiredMasterVersion`
/// waited for until `timeouts.cluster`. A minor the cluster already runs
/// (a rerun after an interruption) is skipped.
async fn upgrade_control_plane(
    g: &Gcp,
    r: &Resource,
    path: &str,
    mut done: Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    let name = last_segment(path).to_string();
    let Some(to) = changes::minor(&r.props["version"]) else {
        return Ok(done);
    };
    let location = path.split('/').nth(3).unwrap_or(&g.opts.region).to_string();
    let mut told = false;
    loop {
        let Some(at) = changes::minor(&done.outputs["version"]) else {
            return Err(DriverError::permanent(format!(
                "GKE reports no version for cluster {name}"
            )));
        };
        if at >= to {
            return Ok(done);
        }
        if let Some(channel) = r.props["releaseChannel"]
            .as_str()
            .filter(|c| *c != "UNSPECIFIED" && !told)
        {
            ctx.recorder.progress(&format!(
                "cluster {name} is on the {channel} release channel, which offers 1.{to}: liftoff sets each minor version explicitly; GKE goes on upgrading patches by itself in the maintenance windows"
            ));
            told = true;
        }
        let version = format!("1.{}", at + 1);
        ctx.recorder.progress(&format!(
            "upgrading the control plane of {name} from 1.{at} to Kubernetes {version}"
        ));
        let op =
            g.c.container
                .update_cluster()
                .set_name(path)
                .set_update(m::ClusterUpdate::new().set_desired_master_version(&version))
                .send()
                .await
                .map_err(|e| error::map("clusters.update", e))?;
        operations::gke(
            g,
            ctx.recorder,
            &format!("GKE control plane of {name} to Kubernetes {version}"),
            "cluster",
            &operation_path(g, &location, &op),
        )
        .await?;
        done = cluster_ready(g, r, path, ctx).await?;
        if changes::minor(&done.outputs["version"]).is_none_or(|now| now <= at) {
            return Err(DriverError::permanent(format!(
                "GKE finished the upgrade of cluster {name} to {version}, but it still reports {}",
                done.outputs["version"].as_str().unwrap_or("no version")
            ))
            .with_hint("see the cluster's operations in the Google Cloud console, then rerun `liftoff upgrade --kubernetes`"));
        }
    }
}

pub async fn delete(
    g: &Gcp,
    kind: &str,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let location = o.id.split('/').nth(3).unwrap_or(&g.opts.region).to_string();
    let name = last_segment(&o.id).to_string();
    let (result, what, key) = match kind {
        GKE_CLUSTER => (
            g.c.container.delete_cluster().set_name(&o.id).send().await,
            format!("GKE cluster {name} deletion"),
            "cluster",
        ),
        NODE_POOL => (
            g.c.container
                .delete_node_pool()
                .set_name(&o.id)
                .send()
                .await,
            format!("node pool {name} deletion"),
            "nodeGroup",
        ),
        k => return Err(unknown(k)),
    };
    let op = match result {
        Err(e) if error::is_not_found(&e) => return Ok(()),
        Err(e) => return Err(error::map(&what, e)),
        Ok(op) => op,
    };
    operations::gke(
        g,
        ctx.recorder,
        &what,
        key,
        &operation_path(g, &location, &op),
    )
    .await
}
