//! Private Services Access, for Cloud SQL's private IP: a global range
//! reserved in the network (an address with purpose VPC_PEERING, labelled)
//! and the Service Networking connection over it. Service Networking has no
//! Rust crate: its REST API is called with the same credentials over
//! reqwest. The connection is a peering named
//! `servicenetworking-googleapis-com`, owned through the network; it is
//! removed with the network's `removePeering`.

use std::collections::HashMap;

use google_cloud_compute_v1::model as m;
use serde_json::{Value, json};

use super::driver::{Gcp, unknown};
use super::kind::*;
use super::network::uuid;
use super::ownership::{self, Labels};
use super::props::{self, ServicesConnection, ServicesRange};
use super::support::*;
use super::{error, operations};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Failure, Lookup, Observed};
use crate::providers::Ownership;
use crate::wait::{self, Poll};

/// The peering Service Networking makes in the consumer network.
pub const PEERING: &str = "servicenetworking-googleapis-com";
const SERVICE: &str = "services/servicenetworking.googleapis.com";

/// A call to Service Networking: JSON in and out, bearer token from ADC.
async fn call(
    g: &Gcp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, DriverError> {
    let token = g.c.token.access_token().await.map_err(error::credentials)?;
    let url = format!("{}/v1/{path}", g.c.service_networking);
    let mut req = g.c.http.request(method, &url).bearer_auth(token.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let what = format!("Service Networking {path}");
    let resp = req.send().await.map_err(|e| {
        DriverError::new(Failure::Transient, format!("{what}: {e}"))
            .with_hint("check the network, then rerun")
    })?;
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let message = value["error"]["message"]
        .as_str()
        .unwrap_or("no message")
        .to_string();
    let failure = if status.is_server_error() || status.as_u16() == 429 {
        Failure::Transient
    } else {
        Failure::Permanent
    };
    Err(DriverError::new(failure, format!("{what}: {status}: {message}"))
        .with_hint("enable servicenetworking.googleapis.com in the project and grant roles/servicenetworking.networksAdmin (docs/gcp.md)"))
}

/// The connection of `network` (a name), when there is one.
pub(super) async fn connection(g: &Gcp, network: &str) -> Result<Option<Value>, DriverError> {
    let path = network_path(&g.opts.project, network);
    let out = call(
        g,
        reqwest::Method::GET,
        &format!("{SERVICE}/connections?network={path}"),
        None,
    )
    .await?;
    Ok(out["connections"]
        .as_array()
        .and_then(|c| c.first())
        .cloned())
}

pub async fn read(g: &Gcp, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let p = &g.opts.project;
    let props = base_props(l);
    match l.kind {
        SERVICES_RANGE => {
            let want: ServicesRange = lookup_props(l)?;
            let got =
                g.c.global_addresses
                    .get()
                    .set_project(p)
                    .set_address(&want.name)
                    .send()
                    .await;
            let Some(a) = error::found("globalAddresses.get", got)? else {
                return Ok(None);
            };
            if !ownership::owns_labels(&g.opts.installation, l.address.as_str(), &a.labels) {
                return Ok(None);
            }
            let path = format!("projects/{p}/global/addresses/{}", want.name);
            Ok(Some(observed(
                path.clone(),
                props,
                json!({"id": path, "name": want.name, "address": a.address, "prefixLength": a.prefix_length}),
            )))
        }
        SERVICES_CONNECTION => {
            // Owned through the network: the network's name is the installation's.
            let network = g.opts.installation.clone();
            let Some(c) = connection(g, &network).await? else {
                return Ok(None);
            };
            let id = format!("{}/peerings/{PEERING}", network_path(p, &network));
            Ok(Some(observed(
                id.clone(),
                props,
                json!({"id": id, "name": PEERING, "network": network, "ranges": c["reservedPeeringRanges"]}),
            )))
        }
        k => Err(unknown(k)),
    }
}

pub async fn create(g: &Gcp, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let p = &g.opts.project;
    let (id, outputs) = match r.kind.as_str() {
        SERVICES_RANGE => {
            let want: ServicesRange = props::of(r)?;
            let network = name_of(ctx, &want.network)?;
            let labels: HashMap<String, String> = Labels
                .marks(&g.opts.installation, r.address.as_str())
                .into_iter()
                .collect();
            let body = m::Address::new()
                .set_name(&want.name)
                .set_purpose(m::address::Purpose::VpcPeering)
                .set_address_type(m::address::AddressType::Internal)
                .set_prefix_length(i32::from(want.prefix_length))
                .set_network(format!("projects/{p}/global/networks/{network}"))
                .set_labels(labels);
            let poller =
                g.c.global_addresses
                    .insert()
                    .set_project(p)
                    .set_request_id(uuid(ctx))
                    .set_body(body)
                    .poller();
            operations::compute(
                false,
                g,
                ctx.recorder,
                &format!("reserved range {}", want.name),
                "nat",
                g.limit("nat"),
                poller,
            )
            .await?;
            let path = format!("projects/{p}/global/addresses/{}", want.name);
            (path.clone(), json!({"id": path, "name": want.name}))
        }
        SERVICES_CONNECTION => {
            let want: ServicesConnection = props::of(r)?;
            let network = name_of(ctx, &want.network)?;
            let range = name_of(ctx, &want.range)?;
            let body =
                json!({"network": network_path(p, &network), "reservedPeeringRanges": [range]});
            let op = call(
                g,
                reqwest::Method::POST,
                &format!("{SERVICE}/connections"),
                Some(body),
            )
            .await?;
            let name = op["name"].as_str().unwrap_or_default().to_string();
            let id = format!("{}/peerings/{PEERING}", network_path(p, &network));
            let outputs = json!({"id": id, "name": PEERING, "network": network});
            ctx.recorder.created(&id, outputs.clone()).await?;
            if !op["done"].as_bool().unwrap_or(false) {
                let what = format!("Service Networking connection of {network}");
                wait::until(
                    &what,
                    "nat",
                    g.limit("nat"),
                    g.opts.backoff,
                    ctx.recorder,
                    || async {
                        let o = call(g, reqwest::Method::GET, &name, None).await?;
                        if !o["done"].as_bool().unwrap_or(false) {
                            return Ok(Poll::Pending("running".into()));
                        }
                        match o["error"]["message"].as_str() {
                            Some(m) => Err(error::operation_failed(&what, m)),
                            None => Ok(Poll::Ready(())),
                        }
                    },
                )
                .await?;
            }
            return Ok(Observed {
                id,
                props: r.props.clone(),
                outputs,
            });
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
    let name = o
        .outputs
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_else(|| last_segment(&o.id))
        .to_string();
    match kind {
        SERVICES_RANGE => {
            let poller =
                g.c.global_addresses
                    .delete()
                    .set_project(p)
                    .set_address(&name)
                    .poller();
            operations::compute(
                true,
                g,
                ctx.recorder,
                &format!("reserved range {name} deletion"),
                "nat",
                g.limit("nat"),
                poller,
            )
            .await
        }
        SERVICES_CONNECTION => {
            let network = o
                .outputs
                .get("network")
                .and_then(Value::as_str)
                .unwrap_or(&g.opts.installation)
                .to_string();
            let body = m::NetworksRemovePeeringRequest::new().set_name(PEERING);
            let poller =
                g.c.networks
                    .remove_peering()
                    .set_project(p)
                    .set_network(&network)
                    .set_body(body)
                    .poller();
            operations::compute(
                true,
                g,
                ctx.recorder,
                &format!("peering {PEERING} removal"),
                "nat",
                g.limit("nat"),
                poller,
            )
            .await
        }
        k => Err(unknown(k)),
    }
}
