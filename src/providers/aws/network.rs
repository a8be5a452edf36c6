//! VPC, internet gateway and subnets: created with ownership tags, found
//! again by recorded id or tags, converged in place where AWS allows, and
//! deleted with a clear `Blocked` error when something else still uses them.

use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, Tag};
use serde_json::{Map, Value, json};

use super::{
    Aws, base_props, converged, dep_id, ec2_pairs, error, prop, record_then_converge, recorded_id,
    tag_spec,
};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Lookup, Observed};

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

fn observed(id: &str, props: Map<String, Value>, outputs: Value) -> Option<Observed> {
    Some(Observed {
        id: id.to_string(),
        props: Value::Object(props),
        outputs,
    })
}

pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let addr = l.address.as_str();
    let ec2 = &a.c.ec2;
    let mut props = base_props(l);
    // First by the recorded id, then by tags alone; always only tagged ones.
    let mut attempts: Vec<Vec<Filter>> = Vec::new();
    if let Some(id) = recorded_id(l) {
        let key = match l.kind {
            "aws.vpc" => "vpc-id",
            "aws.internet_gateway" => "internet-gateway-id",
            _ => "subnet-id",
        };
        let mut f = tag_filters(a, addr);
        f.push(filter(key, id));
        attempts.push(f);
    }
    attempts.push(tag_filters(a, addr));
    for filters in attempts {
        match l.kind {
            "aws.vpc" => {
                let out = ec2.describe_vpcs().set_filters(Some(filters)).send().await;
                let out = out.map_err(|e| error::map("DescribeVpcs", e))?;
                let Some(v) = out
                    .vpcs()
                    .iter()
                    .find(|v| a.opts.owns(addr, ec2_pairs(v.tags())))
                else {
                    continue;
                };
                let id = v.vpc_id().unwrap_or_default();
                props.insert("cidr".into(), json!(v.cidr_block()));
                props.insert("dnsSupport".into(), json!(vpc_attr(a, id, true).await?));
                props.insert("dnsHostnames".into(), json!(vpc_attr(a, id, false).await?));
                return Ok(observed(
                    id,
                    props,
                    json!({"id": id, "cidr": v.cidr_block()}),
                ));
            }
            "aws.internet_gateway" => {
                let out = ec2
                    .describe_internet_gateways()
                    .set_filters(Some(filters))
                    .send()
                    .await;
                let out = out.map_err(|e| error::map("DescribeInternetGateways", e))?;
                let Some(g) = out
                    .internet_gateways()
                    .iter()
                    .find(|g| a.opts.owns(addr, ec2_pairs(g.tags())))
                else {
                    continue;
                };
                let id = g.internet_gateway_id().unwrap_or_default();
                let attached: Vec<&str> =
                    g.attachments().iter().filter_map(|x| x.vpc_id()).collect();
                if attached.is_empty() {
                    props.insert("vpc".into(), Value::Null);
                }
                return Ok(observed(
                    id,
                    props,
                    json!({"id": id, "attachedTo": attached}),
                ));
            }
            _ => {
                let out = ec2
                    .describe_subnets()
                    .set_filters(Some(filters))
                    .send()
                    .await;
                let out = out.map_err(|e| error::map("DescribeSubnets", e))?;
                let Some(s) = out
                    .subnets()
                    .iter()
                    .find(|s| a.opts.owns(addr, ec2_pairs(s.tags())))
                else {
                    continue;
                };
                let id = s.subnet_id().unwrap_or_default();
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
                return Ok(observed(id, props, outputs));
            }
        }
    }
    Ok(None)
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
    let name = prop(r, "name")?;
    let mut tags = a.opts.tags(addr, name);
    let id = match r.kind.as_str() {
        "aws.vpc" => {
            let out = ec2
                .create_vpc()
                .cidr_block(prop(r, "cidr")?)
                .tag_specifications(tag_spec(ResourceType::Vpc, &tags))
                .send()
                .await
                .map_err(|e| error::map("CreateVpc", e))?;
            out.vpc()
                .and_then(|v| v.vpc_id())
                .unwrap_or_default()
                .to_string()
        }
        "aws.internet_gateway" => {
            let out = ec2
                .create_internet_gateway()
                .tag_specifications(tag_spec(ResourceType::InternetGateway, &tags))
                .send()
                .await
                .map_err(|e| error::map("CreateInternetGateway", e))?;
            out.internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .unwrap_or_default()
                .to_string()
        }
        _ => {
            if let Some(extra) = r.props.get("tags").and_then(Value::as_object) {
                tags.extend(
                    extra
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())),
                );
            }
            let out = ec2
                .create_subnet()
                .vpc_id(dep_id(r, ctx, "vpc")?)
                .cidr_block(prop(r, "cidr")?)
                .availability_zone(prop(r, "zone")?)
                .tag_specifications(tag_spec(ResourceType::Subnet, &tags))
                .send()
                .await
                .map_err(|e| error::map("CreateSubnet", e))?;
            out.subnet()
                .and_then(|s| s.subnet_id())
                .unwrap_or_default()
                .to_string()
        }
    };
    let mut outputs = json!({"id": id});
    if r.kind == "aws.subnet" {
        outputs = json!({"id": id, "zone": r.props["zone"], "cidr": r.props["cidr"], "tier": r.props["tier"]});
    }
    record_then_converge(r, ctx, id, outputs, async |o| converge(a, r, o, ctx).await).await
}

pub async fn update(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    converged(r, o, async |o| converge(a, r, o, ctx).await).await
}

/// Brings the settings that are not part of the create call in line.
async fn converge(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let ec2 = &a.c.ec2;
    let on = || AttributeBooleanValue::builder().value(true).build();
    match r.kind.as_str() {
        "aws.vpc" => {
            // One attribute per call (an AWS rule).
            ec2.modify_vpc_attribute()
                .vpc_id(&o.id)
                .enable_dns_support(on())
                .send()
                .await
                .map_err(|e| error::map("ModifyVpcAttribute", e))?;
            ec2.modify_vpc_attribute()
                .vpc_id(&o.id)
                .enable_dns_hostnames(on())
                .send()
                .await
                .map_err(|e| error::map("ModifyVpcAttribute", e))?;
        }
        "aws.internet_gateway" => {
            let vpc = dep_id(r, ctx, "vpc")?;
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
        _ => {
            if r.props.get("public") == Some(&Value::Bool(true)) {
                ec2.modify_subnet_attribute()
                    .subnet_id(&o.id)
                    .map_public_ip_on_launch(on())
                    .send()
                    .await
                    .map_err(|e| error::map("ModifySubnetAttribute", e))?;
            }
            if let Some(extra) = r
                .props
                .get("tags")
                .and_then(Value::as_object)
                .filter(|t| !t.is_empty())
            {
                let tags: Vec<Tag> = extra
                    .iter()
                    .map(|(k, v)| {
                        Tag::builder()
                            .key(k)
                            .value(v.as_str().unwrap_or(""))
                            .build()
                    })
                    .collect();
                ec2.create_tags()
                    .resources(&o.id)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| error::map("CreateTags", e))?;
            }
        }
    }
    Ok(())
}
