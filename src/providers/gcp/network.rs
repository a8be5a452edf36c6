//! The VPC network (custom mode), its subnetwork (secondary ranges for GKE
//! pods and services, Private Google Access) and the firewall rule that lets
//! the GKE control plane reach webhooks on the nodes. None of them take
//! labels: each carries the ownership marks in its description.

use google_cloud_compute_v1::model::{self as m, firewall};
use serde_json::{Value, json};

use super::driver::{Gcp, unknown};
use super::kind::*;
use super::ownership;
use super::props::{self, Firewall, Network, Subnetwork};
use super::support::*;
use super::{error, operations};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Failure, Lookup, Observed};

fn not_ours(what: &str, name: &str) -> DriverError {
    DriverError::permanent(format!(
        "a {what} named {name} exists but liftoff did not create it for this installation"
    ))
    .with_hint("choose another metadata.name, or delete or rename that one")
}

pub async fn read(g: &Gcp, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let p = &g.opts.project;
    let owns = |d: &Option<String>| {
        ownership::owns_description(
            &g.opts.installation,
            l.address.as_str(),
            d.as_deref().unwrap_or(""),
        )
    };
    let mut props = base_props(l);
    match l.kind {
        NETWORK => {
            let want: Network = lookup_props(l)?;
            let got =
                g.c.networks
                    .get()
                    .set_project(p)
                    .set_network(&want.name)
                    .send()
                    .await;
            let Some(n) = error::found("networks.get", got)? else {
                return Ok(None);
            };
            if !owns(&n.description) {
                return Ok(None);
            }
            let path = network_path(p, &want.name);
            Ok(Some(observed(
                path.clone(),
                props,
                json!({"id": path, "name": want.name, "selfLink": n.self_link}),
            )))
        }
        SUBNETWORK => {
            let want: Subnetwork = lookup_props(l)?;
            let got =
                g.c.subnetworks
                    .get()
                    .set_project(p)
                    .set_region(&want.region)
                    .set_subnetwork(&want.name)
                    .send()
                    .await;
            let Some(s) = error::found("subnetworks.get", got)? else {
                return Ok(None);
            };
            if !owns(&s.description) {
                return Ok(None);
            }
            props.insert(
                "cidr".into(),
                json!(s.ip_cidr_range.clone().unwrap_or_default()),
            );
            props.insert(
                "privateGoogleAccess".into(),
                json!(s.private_ip_google_access.unwrap_or(false)),
            );
            for (key, range) in [("pods", &want.pods), ("services", &want.services)] {
                let found = s
                    .secondary_ip_ranges
                    .iter()
                    .find(|r| r.range_name.as_deref() == Some(&range.name));
                props.insert(key.into(), json!({"name": range.name, "cidr": found.and_then(|r| r.ip_cidr_range.clone())}));
            }
            let path = format!(
                "projects/{p}/regions/{}/subnetworks/{}",
                want.region, want.name
            );
            Ok(Some(observed(
                path.clone(),
                props,
                json!({"id": path, "name": want.name, "cidr": s.ip_cidr_range}),
            )))
        }
        FIREWALL => {
            let want: Firewall = lookup_props(l)?;
            let got =
                g.c.firewalls
                    .get()
                    .set_project(p)
                    .set_firewall(&want.name)
                    .send()
                    .await;
            let Some(f) = error::found("firewalls.get", got)? else {
                return Ok(None);
            };
            if !owns(&f.description) {
                return Ok(None);
            }
            props.insert("sourceRanges".into(), json!(f.source_ranges));
            let ports: Vec<String> = f.allowed.iter().flat_map(|a| a.ports.clone()).collect();
            props.insert("tcpPorts".into(), json!(ports));
            let path = format!("projects/{p}/global/firewalls/{}", want.name);
            Ok(Some(observed(
                path.clone(),
                props,
                json!({"id": path, "name": want.name}),
            )))
        }
        k => Err(unknown(k)),
    }
}

pub async fn create(g: &Gcp, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let p = &g.opts.project;
    let description = ownership::description(&g.opts.installation, r.address.as_str());
    let limit = g.limit("nat");
    let (id, outputs) = match r.kind.as_str() {
        NETWORK => {
            let want: Network = props::of(r)?;
            let body = m::Network::new()
                .set_name(&want.name)
                .set_description(&description)
                .set_auto_create_subnetworks(false)
                .set_routing_config(
                    m::NetworkRoutingConfig::new()
                        .set_routing_mode(m::network_routing_config::RoutingMode::Regional),
                );
            let poller =
                g.c.networks
                    .insert()
                    .set_project(p)
                    .set_request_id(uuid(ctx))
                    .set_body(body)
                    .poller();
            converge_conflict(
                operations::compute(
                    false,
                    g,
                    ctx.recorder,
                    &format!("network {}", want.name),
                    "nat",
                    limit,
                    poller,
                )
                .await,
                "network",
                &want.name,
            )?;
            let path = network_path(p, &want.name);
            (path.clone(), json!({"id": path, "name": want.name}))
        }
        SUBNETWORK => {
            let want: Subnetwork = props::of(r)?;
            let network = name_of(ctx, &want.network)?;
            let body = m::Subnetwork::new()
                .set_name(&want.name)
                .set_description(&description)
                .set_network(format!("projects/{p}/global/networks/{network}"))
                .set_ip_cidr_range(&want.cidr)
                .set_private_ip_google_access(want.private_google_access)
                .set_secondary_ip_ranges([&want.pods, &want.services].map(|s| {
                    m::SubnetworkSecondaryRange::new()
                        .set_range_name(&s.name)
                        .set_ip_cidr_range(&s.cidr)
                }));
            let poller =
                g.c.subnetworks
                    .insert()
                    .set_project(p)
                    .set_region(&want.region)
                    .set_request_id(uuid(ctx))
                    .set_body(body)
                    .poller();
            converge_conflict(
                operations::compute(
                    false,
                    g,
                    ctx.recorder,
                    &format!("subnetwork {}", want.name),
                    "nat",
                    limit,
                    poller,
                )
                .await,
                "subnetwork",
                &want.name,
            )?;
            let path = format!(
                "projects/{p}/regions/{}/subnetworks/{}",
                want.region, want.name
            );
            (
                path.clone(),
                json!({"id": path, "name": want.name, "cidr": want.cidr}),
            )
        }
        FIREWALL => {
            let want: Firewall = props::of(r)?;
            let network = name_of(ctx, &want.network)?;
            let body = m::Firewall::new()
                .set_name(&want.name)
                .set_description(&description)
                .set_network(format!("projects/{p}/global/networks/{network}"))
                .set_direction(firewall::Direction::Ingress)
                .set_source_ranges(want.source_ranges.clone())
                .set_allowed([firewall::Allowed::new()
                    .set_ip_protocol("tcp")
                    .set_ports(want.tcp_ports.clone())]);
            let poller =
                g.c.firewalls
                    .insert()
                    .set_project(p)
                    .set_request_id(uuid(ctx))
                    .set_body(body)
                    .poller();
            converge_conflict(
                operations::compute(
                    false,
                    g,
                    ctx.recorder,
                    &format!("firewall rule {}", want.name),
                    "nat",
                    limit,
                    poller,
                )
                .await,
                "firewall rule",
                &want.name,
            )?;
            let path = format!("projects/{p}/global/firewalls/{}", want.name);
            (path.clone(), json!({"id": path, "name": want.name}))
        }
        k => return Err(unknown(k)),
    };
    ctx.recorder.created(&id, outputs.clone()).await?;
    Ok(Observed {
        id,
        props: r.props.clone(),
        outputs,
    })
}

/// A create refused because the name is taken: ours (an earlier attempt
/// with the same request id is answered by GCP itself) or someone else's.
fn converge_conflict(
    result: Result<(), DriverError>,
    what: &str,
    name: &str,
) -> Result<(), DriverError> {
    match result {
        Err(e) if e.message.contains("already exists") => Err(not_ours(what, name)),
        r => r,
    }
}

/// The create attempt's request id: GCP answers a repeated request with the
/// same operation, so a rerun after a crash does not make a second one.
pub fn uuid(ctx: &Context<'_>) -> String {
    let t = &ctx.idempotency_token;
    if t.len() == 32 {
        format!(
            "{}-{}-{}-{}-{}",
            &t[..8],
            &t[8..12],
            &t[12..16],
            &t[16..20],
            &t[20..]
        )
    } else {
        t.clone()
    }
}

pub async fn delete(
    g: &Gcp,
    kind: &str,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let p = &g.opts.project;
    let name = o
        .outputs
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_else(|| last_segment(&o.id))
        .to_string();
    let limit = g.limit("nat");
    let what = format!("{} {name} deletion", kind.trim_start_matches(PREFIX));
    let result = match kind {
        NETWORK => {
            let poller =
                g.c.networks
                    .delete()
                    .set_project(p)
                    .set_network(&name)
                    .poller();
            operations::compute(true, g, ctx.recorder, &what, "nat", limit, poller).await
        }
        SUBNETWORK => {
            let region = o.id.split('/').nth(3).unwrap_or(&g.opts.region).to_string();
            let poller =
                g.c.subnetworks
                    .delete()
                    .set_project(p)
                    .set_region(region)
                    .set_subnetwork(&name)
                    .poller();
            operations::compute(true, g, ctx.recorder, &what, "nat", limit, poller).await
        }
        FIREWALL => {
            let poller =
                g.c.firewalls
                    .delete()
                    .set_project(p)
                    .set_firewall(&name)
                    .poller();
            operations::compute(true, g, ctx.recorder, &what, "nat", limit, poller).await
        }
        k => return Err(unknown(k)),
    };
    match result {
        Err(e) if e.failure == Failure::Blocked || e.message.contains("already being used by") => {
            Err(DriverError::new(Failure::Blocked, format!("cannot delete {kind} {name}: {}", e.message)).with_hint(
                "load balancers, network endpoint groups and firewall rules that GKE made for Services stay when a cluster goes: delete the ones named, then run `liftoff destroy` again",
            ))
        }
        r => r,
    }
}
