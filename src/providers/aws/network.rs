//! VPC, internet gateway and subnets: created with ownership tags, found
//! again by recorded id or tags, converged in place where AWS allows, and
//! deleted with a clear `Blocked` error when something else still uses them.

use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, Tag};
use serde_json::{Map, Value, json};

use super::driver::unknown;
use super::kind::{INTERNET_GATEWAY, SUBNET, VPC};
use super::props::{self, InternetGateway, Subnet, Vpc};
use super::{
    Aws, base_props, converged, duplicate, ec2_pairs, error, id_of, pick_copies,
    record_then_converge, required, tag_spec,
};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Found, Lookup, Observed};

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Filters by the installation tag; the address tag is checked on our side
/// ([`super::Options::owns`]), since `[` `]` in addresses would be taken
/// as a pattern by some EC2 implementations.
pub fn tag_filters(a: &Aws, _address: &str) -> Vec<Filter> {
    vec![filter(
        &format!("tag:{}", super::TAG_INSTALLATION),
        &a.opts.installation,
    )]
}

fn found<'i>(
    id: &str,
    props: Map<String, Value>,
    outputs: Value,
    extra: impl Iterator<Item = &'i str>,
) -> Found {
    Found {
        kept: Some(Observed {
            id: id.to_string(),
            props: Value::Object(props),
            outputs,
        }),
        duplicates: extra.map(duplicate).collect(),
    }
}

/// Reads every tagged copy from one describe call filtered by the
/// installation tag (shared by the reads of a kind, [`super::reads`]): the
/// copy to keep is described in full, the others are returned as
/// duplicates for the plan to delete.
pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Found, DriverError> {
    let mut props = base_props(l);
    match l.kind {
        VPC => {
            let vpcs = a.reads.vpcs(a).await?;
            let Some((v, extra)) = pick_copies(a, l, &vpcs, |v| v.tags(), |v| v.vpc_id()) else {
                return Ok(Found::default());
            };
            let id = required("a VPC", v.vpc_id())?;
            props.insert("cidr".into(), json!(v.cidr_block()));
            let (support, hostnames) =
                tokio::try_join!(vpc_attr(a, id, true), vpc_attr(a, id, false))?;
            props.insert("dnsSupport".into(), json!(support));
            props.insert("dnsHostnames".into(), json!(hostnames));
            Ok(found(
                id,
                props,
                json!({"id": id, "cidr": v.cidr_block()}),
                extra.iter().filter_map(|v| v.vpc_id()),
            ))
        }
        INTERNET_GATEWAY => {
            let gateways = a.reads.internet_gateways(a).await?;
            let Some((g, extra)) =
                pick_copies(a, l, &gateways, |g| g.tags(), |g| g.internet_gateway_id())
            else {
                return Ok(Found::default());
            };
            let id = required("an internet gateway", g.internet_gateway_id())?;
            let attached: Vec<&str> = g.attachments().iter().filter_map(|x| x.vpc_id()).collect();
            if attached.is_empty() {
                props.insert("vpc".into(), Value::Null);
            }
            Ok(found(
                id,
                props,
                json!({"id": id, "attachedTo": attached}),
                extra.iter().filter_map(|g| g.internet_gateway_id()),
            ))
        }
        _ => {
            let subnets = a.reads.subnets(a).await?;
            let Some((s, extra)) = pick_copies(a, l, &subnets, |s| s.tags(), |s| s.subnet_id())
            else {
                return Ok(Found::default());
            };
            let id = required("a subnet", s.subnet_id())?;
            props.insert("cidr".into(), json!(s.cidr_block()));
            props.insert("zone".into(), json!(s.availability_zone()));
            props.insert(
                "public".into(),
                json!(s.map_public_ip_on_launch().unwrap_or(false)),
            );
            if let Some(want) = props.get("tags").and_then(Value::as_object).cloned() {
                let have: Map<String, Value> = want
                    .keys()
                    .filter_map(|k| {
                        ec2_pairs(s.tags())
                            .find(|(tk, _)| tk == k)
                            .map(|(_, v)| (k.clone(), json!(v)))
                    })
                    .collect();
                props.insert("tags".into(), Value::Object(have));
            }
            let outputs = json!({"id": id, "zone": s.availability_zone(), "cidr": s.cidr_block(), "tier": props.get("tier")});
            Ok(found(
                id,
                props,
                outputs,
                extra.iter().filter_map(|s| s.subnet_id()),
            ))
        }
    }
}

async fn vpc_attr(a: &Aws, id: &str, support: bool) -> Result<bool, DriverError> {
    use aws_sdk_ec2::types::VpcAttributeName as N;
    let name = if support {
        N::EnableDnsSupport
    } else {
        N::EnableDnsHostnames
    };
    let out =
        a.c.ec2
            .describe_vpc_attribute()
            .vpc_id(id)
            .attribute(name)
            .send()
            .await;
    let out = out.map_err(|e| error::map("DescribeVpcAttribute", e))?;
    let v = if support {
        out.enable_dns_support()
    } else {
        out.enable_dns_hostnames()
    };
    Ok(v.and_then(|b| b.value()).unwrap_or(false))
}

pub async fn create(a: &Aws, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let addr = r.address.as_str();
    let ec2 = &a.c.ec2;
    let (id, outputs) = match r.kind.as_str() {
        VPC => {
            let p: Vpc = props::of(r)?;
            let tags = a.opts.create_tags(addr, &p.name, &ctx.idempotency_token);
            let out = ec2
                .create_vpc()
                .cidr_block(&p.cidr)
                .tag_specifications(tag_spec(ResourceType::Vpc, &tags))
                .send()
                .await
                .map_err(|e| error::map("CreateVpc", e))?;
            let id = required("CreateVpc", out.vpc().and_then(|v| v.vpc_id()))?.to_string();
            (id.clone(), json!({"id": id}))
        }
        INTERNET_GATEWAY => {
            let p: InternetGateway = props::of(r)?;
            let tags = a.opts.create_tags(addr, &p.name, &ctx.idempotency_token);
            let out = ec2
                .create_internet_gateway()
                .tag_specifications(tag_spec(ResourceType::InternetGateway, &tags))
                .send()
                .await
                .map_err(|e| error::map("CreateInternetGateway", e))?;
            let id = required(
                "CreateInternetGateway",
                out.internet_gateway().and_then(|g| g.internet_gateway_id()),
            )?
            .to_string();
            (id.clone(), json!({"id": id}))
        }
        SUBNET => {
            let p: Subnet = props::of(r)?;
            let mut tags = a.opts.create_tags(addr, &p.name, &ctx.idempotency_token);
            tags.extend(p.tags.clone());
            let vpc = id_of(ctx, &p.vpc)?;
            let out = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(&p.cidr)
                .availability_zone(&p.zone)
                .tag_specifications(tag_spec(ResourceType::Subnet, &tags))
                .send()
                .await;
            let id = match out {
                Ok(out) => {
                    required("CreateSubnet", out.subnet().and_then(|s| s.subnet_id()))?.to_string()
                }
                // A retry of a create AWS had applied: the subnet is ours
                // when it carries our tags (set in the create call).
                Err(e) if error::is_conflict(&e) => match own_subnet(a, addr, &vpc, &p.cidr).await?
                {
                    Some(id) => id,
                    None => return Err(error::map("CreateSubnet", e)),
                },
                Err(e) => return Err(error::map("CreateSubnet", e)),
            };
            let outputs = json!({"id": id, "zone": p.zone, "cidr": p.cidr, "tier": p.tier});
            (id, outputs)
        }
        other => return Err(unknown(other)),
    };
    record_then_converge(r, ctx, id, outputs, async |o| {
        converge(a, r, o, ctx, Made::Now).await
    })
    .await
}

/// Whether the object was just made by a create call that set its tags.
#[derive(PartialEq)]
enum Made {
    Now,
    Before,
}

/// The subnet with `cidr` in `vpc` that carries the ownership tags of `addr`.
async fn own_subnet(
    a: &Aws,
    addr: &str,
    vpc: &str,
    cidr: &str,
) -> Result<Option<String>, DriverError> {
    let out =
        a.c.ec2
            .describe_subnets()
            .filters(filter("vpc-id", vpc))
            .filters(filter("cidr-block", cidr))
            .send()
            .await;
    let out = out.map_err(|e| error::map("DescribeSubnets", e))?;
    Ok(out
        .subnets()
        .iter()
        .find(|s| a.opts.owns(addr, ec2_pairs(s.tags())))
        .and_then(|s| s.subnet_id())
        .map(str::to_string))
}

pub async fn update(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    converged(r, o, async |o| converge(a, r, o, ctx, Made::Before).await).await
}

/// Brings the settings that are not part of the create call in line.
async fn converge(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
    made: Made,
) -> Result<(), DriverError> {
    let ec2 = &a.c.ec2;
    let on = || AttributeBooleanValue::builder().value(true).build();
    match r.kind.as_str() {
        VPC => {
            // One attribute per call (an AWS rule); DNS support is on by
            // default, so both calls go at once.
            let support = ec2
                .modify_vpc_attribute()
                .vpc_id(&o.id)
                .enable_dns_support(on())
                .send();
            let hostnames = ec2
                .modify_vpc_attribute()
                .vpc_id(&o.id)
                .enable_dns_hostnames(on())
                .send();
            let (support, hostnames) = tokio::join!(support, hostnames);
            support.map_err(|e| error::map("ModifyVpcAttribute", e))?;
            hostnames.map_err(|e| error::map("ModifyVpcAttribute", e))?;
        }
        INTERNET_GATEWAY => {
            let vpc = id_of(ctx, &props::of::<InternetGateway>(r)?.vpc)?;
            let res = ec2
                .attach_internet_gateway()
                .internet_gateway_id(&o.id)
                .vpc_id(&vpc)
                .send()
                .await;
            if let Err(e) = res
                && error::code_of(&e).as_deref() != Some("Resource.AlreadyAssociated")
            {
                return Err(error::map("AttachInternetGateway", e));
            }
        }
        SUBNET => {
            let p: Subnet = props::of(r)?;
            if p.public {
                ec2.modify_subnet_attribute()
                    .subnet_id(&o.id)
                    .map_public_ip_on_launch(on())
                    .send()
                    .await
                    .map_err(|e| error::map("ModifySubnetAttribute", e))?;
            }
            // A create sets the spec's tags with the ownership ones.
            if !p.tags.is_empty() && made == Made::Before {
                let tags: Vec<Tag> = p
                    .tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect();
                ec2.create_tags()
                    .resources(&o.id)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| error::map("CreateTags", e))?;
            }
        }
        other => return Err(unknown(other)),
    }
    Ok(())
}
