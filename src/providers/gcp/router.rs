//! The Cloud Router, the static addresses reserved for Cloud NAT, and Cloud
//! NAT itself, which lives inside the router (no labels of its own: it is
//! owned through the router and its deterministic name).

use std::collections::HashMap;

use google_cloud_compute_v1::model::{self as m, router_nat};
use serde_json::{Value, json};

use super::driver::{Gcp, unknown};
use super::kind::*;
use super::network::uuid;
use super::ownership::{self, Labels};
use super::props::{self, Nat, NatAddress, Router};
use super::support::*;
use super::{error, operations};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Lookup, Observed};
use crate::providers::Ownership;

/// The router liftoff makes for `installation`.
pub fn router_name(installation: &str) -> String {
    format!("{installation}-router")
}

async fn get_router(g: &Gcp, region: &str, name: &str) -> Result<Option<m::Router>, DriverError> {
    match g
        .c
        .routers
        .get()
        .set_project(&g.opts.project)
        .set_region(region)
        .set_router(name)
        .send()
        .await
    {
        Err(e) if error::is_not_found(&e) => Ok(None),
        Err(e) => Err(error::map("routers.get", e)),
        Ok(r) => Ok(Some(r)),
    }
}

pub async fn read(g: &Gcp, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let p = &g.opts.project;
    let props = base_props(l);
    match l.kind {
        ROUTER => {
            let want: Router = lookup_props(l)?;
            let Some(r) = get_router(g, &want.region, &want.name).await? else {
                return Ok(None);
            };
            if !ownership::owns_description(
                &g.opts.installation,
                l.address.as_str(),
                r.description.as_deref().unwrap_or(""),
            ) {
                return Ok(None);
            }
            let path = format!("projects/{p}/regions/{}/routers/{}", want.region, want.name);
            Ok(Some(observed(
                path.clone(),
                props,
                json!({"id": path, "name": want.name}),
            )))
        }
        NAT_ADDRESS => {
            let want: NatAddress = lookup_props(l)?;
            let got =
                g.c.addresses
                    .get()
                    .set_project(p)
                    .set_region(&want.region)
                    .set_address(&want.name)
                    .send()
                    .await;
            let Some(a) = error::found("addresses.get", got)? else {
                return Ok(None);
            };
            if !ownership::owns_labels(&g.opts.installation, l.address.as_str(), &a.labels) {
                return Ok(None);
            }
            let path = format!(
                "projects/{p}/regions/{}/addresses/{}",
                want.region, want.name
            );
            Ok(Some(observed(
                path.clone(),
                props,
                json!({"id": path, "name": want.name, "address": a.address, "selfLink": a.self_link}),
            )))
        }
        NAT => {
            let want: Nat = lookup_props(l)?;
            let router = router_name(&g.opts.installation);
            let Some(r) = get_router(g, &want.region, &router).await? else {
                return Ok(None);
            };
            let Some(nat) = r
                .nats
                .iter()
                .find(|n| n.name.as_deref() == Some(&want.name))
            else {
                return Ok(None);
            };
            let id = format!(
                "projects/{p}/regions/{}/routers/{router}/nats/{}",
                want.region, want.name
            );
            Ok(Some(observed(
                id.clone(),
                props,
                json!({"id": id, "name": want.name, "router": router, "natIps": nat.nat_ips}),
            )))
        }
        k => Err(unknown(k)),
    }
}

pub async fn create(g: &Gcp, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let p = &g.opts.project;
    let limit = g.limit("nat");
    let (id, outputs) = match r.kind.as_str() {
        ROUTER => {
            let want: Router = props::of(r)?;
            let network = name_of(ctx, &want.network)?;
            let body = m::Router::new()
                .set_name(&want.name)
                .set_description(ownership::description(
                    &g.opts.installation,
                    r.address.as_str(),
                ))
                .set_network(format!("projects/{p}/global/networks/{network}"));
            let poller =
                g.c.routers
                    .insert()
                    .set_project(p)
                    .set_region(&want.region)
                    .set_request_id(uuid(ctx))
                    .set_body(body)
                    .poller();
            operations::compute(
                false,
                g,
                ctx.recorder,
                &format!("router {}", want.name),
                "nat",
                limit,
                poller,
            )
            .await?;
            let path = format!("projects/{p}/regions/{}/routers/{}", want.region, want.name);
            (path.clone(), json!({"id": path, "name": want.name}))
        }
        NAT_ADDRESS => {
            let want: NatAddress = props::of(r)?;
            let labels: HashMap<String, String> = Labels
                .marks(&g.opts.installation, r.address.as_str())
                .into_iter()
                .collect();
            let body = m::Address::new()
                .set_name(&want.name)
                .set_description("Cloud NAT address, managed by liftoff")
                .set_address_type(m::address::AddressType::External)
                .set_labels(labels);
            let poller =
                g.c.addresses
                    .insert()
                    .set_project(p)
                    .set_region(&want.region)
                    .set_request_id(uuid(ctx))
                    .set_body(body)
                    .poller();
            operations::compute(
                false,
                g,
                ctx.recorder,
                &format!("address {}", want.name),
                "nat",
                limit,
                poller,
            )
            .await?;
            let a =
                g.c.addresses
                    .get()
                    .set_project(p)
                    .set_region(&want.region)
                    .set_address(&want.name)
                    .send()
                    .await
                    .map_err(|e| error::map("addresses.get", e))?;
            let path = format!(
                "projects/{p}/regions/{}/addresses/{}",
                want.region, want.name
            );
            (
                path.clone(),
                json!({"id": path, "name": want.name, "address": a.address, "selfLink": a.self_link}),
            )
        }
        NAT => {
            let want: Nat = props::of(r)?;
            let router = name_of(ctx, &want.router)?;
            let subnet = name_of(ctx, &want.subnetwork)?;
            let mut ips = Vec::new();
            let mut links = Vec::new();
            for a in &want.addresses {
                let out = ctx.dep_output(a, "selfLink")?;
                links.push(out.as_str().unwrap_or_default().to_string());
                ips.push(ctx.dep_output(a, "address")?.clone());
            }
            let mut nat = m::RouterNat::new()
                .set_name(&want.name)
                .set_source_subnetwork_ip_ranges_to_nat(
                    router_nat::SourceSubnetworkIpRangesToNat::ListOfSubnetworks,
                )
                .set_subnetworks([m::RouterNatSubnetworkToNat::new()
                    .set_name(format!(
                        "projects/{p}/regions/{}/subnetworks/{subnet}",
                        want.region
                    ))
                    .set_source_ip_ranges_to_nat([
                        m::router_nat_subnetwork_to_nat::SourceIpRangesToNat::AllIpRanges,
                    ])]);
            nat = if links.is_empty() {
                nat.set_nat_ip_allocate_option(router_nat::NatIpAllocateOption::AutoOnly)
            } else {
                nat.set_nat_ip_allocate_option(router_nat::NatIpAllocateOption::ManualOnly)
                    .set_nat_ips(links)
            };
            let current = get_router(g, &want.region, &router)
                .await?
                .ok_or_else(|| DriverError::permanent(format!("router {router} is gone")))?;
            let mut nats: Vec<m::RouterNat> = current
                .nats
                .clone()
                .into_iter()
                .filter(|n| n.name.as_deref() != Some(&want.name))
                .collect();
            nats.push(nat);
            let body = current.set_nats(nats);
            let poller =
                g.c.routers
                    .update()
                    .set_project(p)
                    .set_region(&want.region)
                    .set_router(&router)
                    .set_body(body)
                    .poller();
            operations::compute(
                false,
                g,
                ctx.recorder,
                &format!("Cloud NAT {}", want.name),
                "nat",
                limit,
                poller,
            )
            .await?;
            let id = format!(
                "projects/{p}/regions/{}/routers/{router}/nats/{}",
                want.region, want.name
            );
            (
                id.clone(),
                json!({"id": id, "name": want.name, "router": router, "natIps": ips}),
            )
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

pub async fn delete(
    g: &Gcp,
    kind: &str,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let p = &g.opts.project;
    let limit = g.limit("nat");
    let parts: Vec<&str> = o.id.split('/').collect();
    let region = parts.get(3).copied().unwrap_or(&g.opts.region).to_string();
    let name = o
        .outputs
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_else(|| last_segment(&o.id))
        .to_string();
    match kind {
        ROUTER => {
            let poller =
                g.c.routers
                    .delete()
                    .set_project(p)
                    .set_region(region)
                    .set_router(&name)
                    .poller();
            operations::compute(
                true,
                g,
                ctx.recorder,
                &format!("router {name} deletion"),
                "nat",
                limit,
                poller,
            )
            .await
        }
        NAT_ADDRESS => {
            let poller =
                g.c.addresses
                    .delete()
                    .set_project(p)
                    .set_region(region)
                    .set_address(&name)
                    .poller();
            operations::compute(
                true,
                g,
                ctx.recorder,
                &format!("address {name} deletion"),
                "nat",
                limit,
                poller,
            )
            .await
        }
        NAT => {
            let router = parts.get(5).copied().unwrap_or_default().to_string();
            let Some(current) = get_router(g, &region, &router).await? else {
                return Ok(());
            };
            if !current
                .nats
                .iter()
                .any(|n| n.name.as_deref() == Some(&name))
            {
                return Ok(());
            }
            let nats: Vec<m::RouterNat> = current
                .nats
                .clone()
                .into_iter()
                .filter(|n| n.name.as_deref() != Some(&name))
                .collect();
            // The whole router back without the NAT (a patch cannot empty a list).
            let poller =
                g.c.routers
                    .update()
                    .set_project(p)
                    .set_region(region)
                    .set_router(&router)
                    .set_body(current.set_nats(nats))
                    .poller();
            operations::compute(
                true,
                g,
                ctx.recorder,
                &format!("Cloud NAT {name} removal"),
                "nat",
                limit,
                poller,
            )
            .await
        }
        k => Err(unknown(k)),
    }
}
