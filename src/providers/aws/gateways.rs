//! Elastic IPs and NAT gateways. A NAT is recorded as soon as AWS returns
//! its id, then waited for (`timeouts.nat`); deleting one waits until it is
//! gone so its Elastic IP can be released.

use aws_sdk_ec2::types::{DomainType, NatGatewayState, ResourceType};
use serde_json::{Value, json};

use super::kind::EIP;
use super::props::{self, Eip, Nat};
use super::{Aws, base_props, duplicate, error, id_of, pick_copies, required, tag_spec};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Found, Lookup, Observed};
use crate::wait::{self, Poll};

pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Found, DriverError> {
    let props = Value::Object(base_props(l));
    if l.kind == EIP {
        let addresses = a.reads.addresses(a).await?;
        let Some((x, extra)) = pick_copies(a, l, &addresses, |x| x.tags(), |x| x.allocation_id())
        else {
            return Ok(Found::default());
        };
        let id = required("an Elastic IP", x.allocation_id())?;
        return Ok(Found {
            kept: Some(Observed {
                id: id.into(),
                props,
                outputs: json!({"id": id, "publicIp": x.public_ip()}),
            }),
            duplicates: extra
                .iter()
                .filter_map(|x| x.allocation_id())
                .map(duplicate)
                .collect(),
        });
    }
    let gateways = a.reads.nat_gateways(a).await?;
    let Some((n, extra)) = pick_copies(a, l, &gateways, |n| n.tags(), |n| n.nat_gateway_id())
    else {
        return Ok(Found::default());
    };
    let id = required("a NAT gateway", n.nat_gateway_id())?;
    let mut props = props.clone();
    if n.state() != Some(&NatGatewayState::Available) {
        props[super::NOT_READY] = Value::Bool(false);
    }
    Ok(Found {
        kept: Some(Observed {
            id: id.into(),
            props,
            outputs: nat_outputs(n),
        }),
        duplicates: extra
            .iter()
            .filter_map(|n| n.nat_gateway_id())
            .map(duplicate)
            .collect(),
    })
}

fn nat_outputs(n: &aws_sdk_ec2::types::NatGateway) -> Value {
    let ip = n.nat_gateway_addresses().iter().find_map(|x| x.public_ip());
    json!({"id": n.nat_gateway_id(), "publicIp": ip, "subnet": n.subnet_id()})
}

pub async fn create(a: &Aws, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let addr = r.address.as_str();
    let ec2 = &a.c.ec2;
    if r.kind == EIP {
        let p: Eip = props::of(r)?;
        let tags = a.opts.create_tags(addr, &p.name, &ctx.idempotency_token);
        let out = ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(ResourceType::ElasticIp, &tags))
            .send()
            .await
            .map_err(|e| error::map("AllocateAddress", e))?;
        let id = required("AllocateAddress", out.allocation_id())?.to_string();
        let outputs = json!({"id": id, "publicIp": out.public_ip()});
        ctx.recorder.created(&id, outputs.clone()).await?;
        return Ok(Observed {
            id,
            props: r.props.clone(),
            outputs,
        });
    }
    let p: Nat = props::of(r)?;
    let tags = a.opts.create_tags(addr, &p.name, &ctx.idempotency_token);
    let out = ec2
        .create_nat_gateway()
        .subnet_id(id_of(ctx, &p.subnet)?)
        .allocation_id(id_of(ctx, &p.eip)?)
        .client_token(&ctx.idempotency_token)
        .tag_specifications(tag_spec(ResourceType::Natgateway, &tags))
        .send()
        .await
        .map_err(|e| error::map("CreateNatGateway", e))?;
    let nat = out
        .nat_gateway()
        .ok_or_else(|| DriverError::permanent("CreateNatGateway returned no gateway"))?;
    let id = required("CreateNatGateway", nat.nat_gateway_id())?.to_string();
    ctx.recorder.created(&id, nat_outputs(nat)).await?;
    let outputs = wait_nat(a, &id, ctx).await?;
    Ok(Observed {
        id,
        props: r.props.clone(),
        outputs,
    })
}

async fn wait_nat(a: &Aws, id: &str, ctx: &Context<'_>) -> Result<Value, DriverError> {
    let ec2 = &a.c.ec2;
    let limit = wait::deadline(&a.opts.timeouts.nat, std::time::Duration::from_secs(600));
    wait::until_fitted(
        &format!("NAT gateway {id}"),
        "nat",
        limit,
        a.opts.backoff,
        super::expected::NAT,
        ctx.recorder,
        || async {
            let out = ec2.describe_nat_gateways().nat_gateway_ids(id).send().await;
            let out = out.map_err(|e| error::map("DescribeNatGateways", e))?;
            let Some(n) = out.nat_gateways().first() else {
                return Ok(Poll::Pending("not visible yet".into()));
            };
            match n.state() {
                Some(NatGatewayState::Available) => Ok(Poll::Ready(nat_outputs(n))),
                Some(NatGatewayState::Failed)
                | Some(NatGatewayState::Deleted)
                | Some(NatGatewayState::Deleting) => Err(DriverError::permanent(format!(
                    "NAT gateway {id} failed: {}",
                    n.failure_message().unwrap_or("no reason given")
                ))
                .with_hint("check the Elastic IP and subnet quota; rerun to create it again")),
                s => Ok(Poll::Pending(
                    s.map_or("pending", |s| s.as_str()).to_string(),
                )),
            }
        },
    )
    .await
}

/// A NAT gateway that is not deleted yet and uses the Elastic IP `allocation`.
async fn nat_using(a: &Aws, allocation: &str) -> Result<Option<String>, DriverError> {
    let out = a.c.ec2.describe_nat_gateways().send().await;
    let out = out.map_err(|e| error::map("DescribeNatGateways", e))?;
    Ok(out
        .nat_gateways()
        .iter()
        .filter(|n| {
            !matches!(
                n.state(),
                Some(NatGatewayState::Deleted) | Some(NatGatewayState::Failed)
            )
        })
        .find(|n| {
            n.nat_gateway_addresses()
                .iter()
                .any(|x| x.allocation_id() == Some(allocation))
        })
        .and_then(|n| n.nat_gateway_id())
        .map(str::to_string))
}

/// Waits for a NAT gateway found before it was available.
pub async fn update(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    let outputs = wait_nat(a, &o.id, ctx).await?;
    Ok(Observed {
        id: o.id.clone(),
        props: r.props.clone(),
        outputs,
    })
}

pub async fn delete(
    a: &Aws,
    kind: &str,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let ec2 = &a.c.ec2;
    if kind == EIP {
        // AWS refuses to release an address a NAT gateway still uses (until
        // that gateway is deleted, and for a moment after) with a misleading
        // `AuthFailure`: wait while a gateway uses it, and for a few polls
        // after; a refusal past that is reported as AWS gave it.
        let grace = std::sync::atomic::AtomicU32::new(0);
        let what = format!("Elastic IP {} release", o.id);
        return wait::until(&what, "nat", a.opts.backoff.patience(), a.opts.backoff, ctx.recorder, || async {
            let r = ec2.release_address().allocation_id(&o.id).send().await;
            if let Err(e) = &r
                && error::code_of(e).as_deref() == Some("AuthFailure")
            {
                if let Some(nat) = nat_using(a, &o.id).await? {
                    return Ok(Poll::Pending(format!("still used by NAT gateway {nat}")));
                }
                if grace.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 5 {
                    return Ok(Poll::Pending("AWS still reports it in use".into()));
                }
            }
            match error::deleted("ReleaseAddress", r) {
                error::Deleted::Done => Ok(Poll::Ready(())),
                error::Deleted::Blocked => Ok(Poll::Pending("still associated".into())),
                error::Deleted::Failed(e) => Err(e),
            }
        })
        .await
        .map_err(|e| e.with_hint("the address is still associated; delete what uses it (a NAT gateway or instance) and rerun"));
    }
    if let Err(e) = ec2.delete_nat_gateway().nat_gateway_id(&o.id).send().await {
        if error::is_not_found(&e) {
            return Ok(());
        }
        return Err(error::map("DeleteNatGateway", e));
    }
    let limit = wait::deadline(&a.opts.timeouts.nat, std::time::Duration::from_secs(600));
    wait::until_fitted(
        &format!("NAT gateway {} deletion", o.id),
        "nat",
        limit,
        a.opts.backoff,
        super::expected::NAT_DELETE,
        ctx.recorder,
        || async {
            let out = ec2
                .describe_nat_gateways()
                .nat_gateway_ids(&o.id)
                .send()
                .await;
            match out {
                Err(e) if error::is_not_found(&e) => Ok(Poll::Ready(())),
                Err(e) => Err(error::map("DescribeNatGateways", e)),
                Ok(out) => match out.nat_gateways().first().and_then(|n| n.state()) {
                    None | Some(NatGatewayState::Deleted) => Ok(Poll::Ready(())),
                    Some(s) => Ok(Poll::Pending(s.as_str().to_string())),
                },
            }
        },
    )
    .await
}
