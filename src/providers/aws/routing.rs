//! Route tables (with their subnet associations and default route) and
//! security groups (with their ingress rules). Both are created tagged, then
//! converged: a rerun after an interruption adds whatever is missing.

use aws_sdk_ec2::types::{IpPermission, ResourceType, UserIdGroupPair};
use serde_json::{Value, json};

use super::blocked::blocked;
use super::kind::ROUTE_TABLE;
use super::props::{self, DefaultRoute, Port, RouteTable, SecurityGroup};
use super::{
    Aws, TAG_ADDRESS, TAG_INSTALLATION, base_props, converged, duplicate, ec2_pairs, error, id_of,
    ids_of, pick_copies, record_then_converge, required, tag_spec,
};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Failure, Found, Lookup, Observed};
use crate::wait::{self, Poll};

/// The destination of a default route.
const DEFAULT_CIDR: &str = "0.0.0.0/0";

/// The table's default route as the graph writes it: `{"nat": ADDRESS}` or
/// `{"gateway": ADDRESS}` when the target carries this installation's
/// ownership tags, the raw target id otherwise, `null` without one. A
/// route whose target is gone (`blackhole`) is marked so it differs from
/// any desired route.
async fn observed_route(
    a: &Aws,
    table: &aws_sdk_ec2::types::RouteTable,
) -> Result<Value, DriverError> {
    let Some(route) = table
        .routes()
        .iter()
        .find(|x| x.destination_cidr_block() == Some(DEFAULT_CIDR))
    else {
        return Ok(Value::Null);
    };
    let blackhole = route.state() == Some(&aws_sdk_ec2::types::RouteState::Blackhole);
    let ec2 = &a.c.ec2;
    let (key, target, tags) = if let Some(nat) = route.nat_gateway_id() {
        let known = a.reads.nat_gateways(a).await?;
        let known = known.iter().find(|n| n.nat_gateway_id() == Some(nat));
        let out = match known {
            Some(n) => Ok(
                aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput::builder()
                    .nat_gateways(n.clone())
                    .build(),
            ),
            None => {
                ec2.describe_nat_gateways()
                    .nat_gateway_ids(nat)
                    .send()
                    .await
            }
        };
        let tags = match out {
            Ok(out) => out
                .nat_gateways()
                .first()
                .map(|n| n.tags().to_vec())
                .unwrap_or_default(),
            Err(e) if error::is_not_found(&e) => Vec::new(),
            Err(e) => return Err(error::map("DescribeNatGateways", e)),
        };
        ("nat", nat, tags)
    } else if let Some(gateway) = route.gateway_id() {
        let tags = if gateway.starts_with("igw-") {
            let known = a.reads.internet_gateways(a).await?;
            let known = known
                .iter()
                .find(|g| g.internet_gateway_id() == Some(gateway));
            let out = match known {
                Some(g) => Ok(aws_sdk_ec2::operation::describe_internet_gateways::DescribeInternetGatewaysOutput::builder()
                    .internet_gateways(g.clone())
                    .build()),
                None => {
                    ec2.describe_internet_gateways()
                        .internet_gateway_ids(gateway)
                        .send()
                        .await
                }
            };
            match out {
                Ok(out) => out
                    .internet_gateways()
                    .first()
                    .map(|g| g.tags().to_vec())
                    .unwrap_or_default(),
                Err(e) if error::is_not_found(&e) => Vec::new(),
                Err(e) => return Err(error::map("DescribeInternetGateways", e)),
            }
        } else {
            Vec::new()
        };
        ("gateway", gateway, tags)
    } else {
        let other = route
            .network_interface_id()
            .or(route.transit_gateway_id())
            .or(route.vpc_peering_connection_id())
            .or(route.instance_id())
            .unwrap_or("another target");
        return Ok(json!({ "other": other }));
    };
    let ours = ec2_pairs(&tags).any(|(k, v)| k == TAG_INSTALLATION && v == a.opts.installation);
    let address = ec2_pairs(&tags)
        .find(|(k, _)| *k == TAG_ADDRESS)
        .map(|(_, v)| v);
    let named = match address {
        Some(address) if ours => address.to_string(),
        _ => target.to_string(),
    };
    Ok(if blackhole {
        json!({ key: format!("{named} (blackhole: the target is gone)") })
    } else {
        json!({ key: named })
    })
}

/// Makes the table's default route the desired one, in place: created when
/// missing, replaced (ReplaceRoute, no moment without a route) when it
/// points elsewhere, deleted when the spec wants none.
async fn converge_route(
    a: &Aws,
    table_id: &str,
    desired: Option<&DefaultRoute>,
    current: Option<&aws_sdk_ec2::types::Route>,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let ec2 = &a.c.ec2;
    let Some(desired) = desired else {
        if current.is_some() {
            let r = ec2
                .delete_route()
                .route_table_id(table_id)
                .destination_cidr_block(DEFAULT_CIDR)
                .send()
                .await;
            match r {
                Err(e) if !error::is_not_found(&e) => {
                    return Err(error::map("DeleteRoute", e));
                }
                _ => {}
            }
        }
        return Ok(());
    };
    let (gateway, nat) = match desired {
        DefaultRoute::Gateway(g) => (Some(id_of(ctx, g)?), None),
        DefaultRoute::Nat(n) => (None, Some(id_of(ctx, n)?)),
    };
    if let Some(route) = current {
        let blackhole = route.state() == Some(&aws_sdk_ec2::types::RouteState::Blackhole);
        let same = (gateway.is_some() && route.gateway_id() == gateway.as_deref())
            || (nat.is_some() && route.nat_gateway_id() == nat.as_deref());
        if same && !blackhole {
            return Ok(());
        }
        ec2.replace_route()
            .route_table_id(table_id)
            .destination_cidr_block(DEFAULT_CIDR)
            .set_gateway_id(gateway)
            .set_nat_gateway_id(nat)
            .send()
            .await
            .map_err(|e| error::map("ReplaceRoute", e))?;
        return Ok(());
    }
    let r = ec2
        .create_route()
        .route_table_id(table_id)
        .destination_cidr_block(DEFAULT_CIDR)
        .set_gateway_id(gateway)
        .set_nat_gateway_id(nat)
        .send()
        .await;
    // A retry of a create AWS had applied finds the route there.
    error::added("CreateRoute", r)
}

pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Found, DriverError> {
    let mut props = base_props(l);
    if l.kind == ROUTE_TABLE {
        let tables = a.reads.route_tables(a).await?;
        let Some((t, extra)) = pick_copies(a, l, &tables, |t| t.tags(), |t| t.route_table_id())
        else {
            return Ok(Found::default());
        };
        let duplicates = extra
            .iter()
            .filter_map(|t| t.route_table_id())
            .map(duplicate)
            .collect();
        let id = required("a route table", t.route_table_id())?;
        // Subnets and routes name other resources by address: compare counts
        // and presence, which is what an interrupted create leaves short.
        let assoc = t
            .associations()
            .iter()
            .filter(|x| x.subnet_id().is_some())
            .count();
        let want = props
            .get("subnets")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if assoc < want {
            props.insert("subnets".into(), json!(assoc));
        }
        // The default route as the address of its target (what the spec's
        // graph names), so a route that moved to another NAT gateway, or
        // appeared or went away, shows as a change.
        props.insert("defaultRoute".into(), observed_route(a, t).await?);
        return Ok(Found {
            kept: Some(Observed {
                id: id.into(),
                props: Value::Object(props),
                outputs: json!({"id": id}),
            }),
            duplicates,
        });
    }
    let groups = a.reads.security_groups(a).await?;
    let Some((g, extra)) = pick_copies(a, l, &groups, |g| g.tags(), |g| g.group_id()) else {
        return Ok(Found::default());
    };
    let id = required("a security group", g.group_id())?;
    let pairs = g
        .ip_permissions()
        .iter()
        .map(|p| p.user_id_group_pairs().len())
        .sum::<usize>();
    let want = props
        .get("ingress")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if pairs < want {
        props.insert("ingress".into(), json!(pairs));
    }
    if let Some(d) = g.description() {
        props.insert("description".into(), json!(d));
    }
    Ok(Found {
        kept: Some(Observed {
            id: id.into(),
            props: Value::Object(props),
            outputs: json!({"id": id}),
        }),
        duplicates: extra
            .iter()
            .filter_map(|g| g.group_id())
            .map(duplicate)
            .collect(),
    })
}

pub async fn create(a: &Aws, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let addr = r.address.as_str();
    let ec2 = &a.c.ec2;
    let id = if r.kind == ROUTE_TABLE {
        let p: RouteTable = props::of(r)?;
        let out = ec2
            .create_route_table()
            .vpc_id(id_of(ctx, &p.vpc)?)
            .client_token(&ctx.idempotency_token)
            .tag_specifications(tag_spec(
                ResourceType::RouteTable,
                &a.opts.create_tags(addr, &p.name, &ctx.idempotency_token),
            ))
            .send()
            .await
            .map_err(|e| error::map("CreateRouteTable", e))?;
        required(
            "CreateRouteTable",
            out.route_table().and_then(|t| t.route_table_id()),
        )?
        .to_string()
    } else {
        let p: SecurityGroup = props::of(r)?;
        let vpc = id_of(ctx, &p.vpc)?;
        let out = ec2
            .create_security_group()
            .group_name(&p.name)
            .description(&p.description)
            .vpc_id(&vpc)
            .tag_specifications(tag_spec(
                ResourceType::SecurityGroup,
                &a.opts.create_tags(addr, &p.name, &ctx.idempotency_token),
            ))
            .send()
            .await;
        match out {
            Ok(out) => required("CreateSecurityGroup", out.group_id())?.to_string(),
            // A retry of a create AWS had applied: the name is taken in the
            // VPC, by our group when it carries our tags.
            Err(e) if error::is_conflict(&e) => match own_group(a, addr, &vpc, &p.name).await? {
                Some(id) => id,
                None => return Err(error::map("CreateSecurityGroup", e)),
            },
            Err(e) => return Err(error::map("CreateSecurityGroup", e)),
        }
    };
    let outputs = json!({"id": id});
    record_then_converge(r, ctx, id, outputs, async |o| converge(a, r, o, ctx).await).await
}

/// The group named `name` in `vpc` that carries the ownership tags of `addr`.
async fn own_group(
    a: &Aws,
    addr: &str,
    vpc: &str,
    name: &str,
) -> Result<Option<String>, DriverError> {
    let filter = |k: &str, v: &str| {
        aws_sdk_ec2::types::Filter::builder()
            .name(k)
            .values(v)
            .build()
    };
    let out =
        a.c.ec2
            .describe_security_groups()
            .filters(filter("vpc-id", vpc))
            .filters(filter("group-name", name))
            .send()
            .await;
    let out = out.map_err(|e| error::map("DescribeSecurityGroups", e))?;
    Ok(out
        .security_groups()
        .iter()
        .find(|g| a.opts.owns(addr, ec2_pairs(g.tags())))
        .and_then(|g| g.group_id())
        .map(str::to_string))
}

pub async fn update(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    converged(r, o, async |o| converge(a, r, o, ctx).await).await
}

async fn converge(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let ec2 = &a.c.ec2;
    if r.kind == ROUTE_TABLE {
        let p: RouteTable = props::of(r)?;
        let out = ec2
            .describe_route_tables()
            .route_table_ids(&o.id)
            .send()
            .await;
        let out = out.map_err(|e| error::map("DescribeRouteTables", e))?;
        let t = out.route_tables().first();
        let have: Vec<&str> = t
            .map(|t| {
                t.associations()
                    .iter()
                    .filter_map(|x| x.subnet_id())
                    .collect()
            })
            .unwrap_or_default();
        for subnet in ids_of(ctx, &p.subnets)? {
            if !have.contains(&subnet.as_str()) {
                let r = ec2
                    .associate_route_table()
                    .route_table_id(&o.id)
                    .subnet_id(&subnet)
                    .send()
                    .await;
                error::added("AssociateRouteTable", r)?;
            }
        }
        let current = t.and_then(|t| {
            t.routes()
                .iter()
                .find(|x| x.destination_cidr_block() == Some(DEFAULT_CIDR))
        });
        converge_route(a, &o.id, p.default_route.as_ref(), current, ctx).await?;
        return Ok(());
    }
    let p: SecurityGroup = props::of(r)?;
    if p.ingress.is_empty() {
        return Ok(());
    }
    let out = ec2.describe_security_groups().group_ids(&o.id).send().await;
    let out = out.map_err(|e| error::map("DescribeSecurityGroups", e))?;
    let have: Vec<&str> = out
        .security_groups()
        .iter()
        .flat_map(|g| g.ip_permissions())
        .flat_map(|p| p.user_id_group_pairs())
        .filter_map(|p| p.group_id())
        .collect();
    for rule in &p.ingress {
        let source = if rule.from == "self" {
            o.id.clone()
        } else {
            id_of(ctx, &rule.from)?
        };
        if have.contains(&source.as_str()) {
            continue;
        }
        let mut perm = IpPermission::builder()
            .user_id_group_pairs(UserIdGroupPair::builder().group_id(&source).build());
        perm = match rule.port {
            Port::Number(p) => perm
                .ip_protocol("tcp")
                .from_port(i32::from(p))
                .to_port(i32::from(p)),
            Port::Named(_) => perm.ip_protocol("-1"),
        };
        let res = ec2
            .authorize_security_group_ingress()
            .group_id(&o.id)
            .ip_permissions(perm.build())
            .send()
            .await;
        if let Err(e) = res
            && error::code_of(&e).as_deref() != Some("InvalidPermission.Duplicate")
        {
            return Err(error::map("AuthorizeSecurityGroupIngress", e));
        }
    }
    Ok(())
}

pub async fn delete(
    a: &Aws,
    kind: &str,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let ec2 = &a.c.ec2;
    if kind == ROUTE_TABLE {
        let out = ec2
            .describe_route_tables()
            .route_table_ids(&o.id)
            .send()
            .await;
        let out = match out {
            Err(e) if error::is_not_found(&e) => return Ok(()),
            r => r.map_err(|e| error::map("DescribeRouteTables", e))?,
        };
        for assoc in out.route_tables().iter().flat_map(|t| t.associations()) {
            if assoc.main() == Some(true) {
                continue;
            }
            if let Some(id) = assoc.route_table_association_id() {
                let r = ec2
                    .disassociate_route_table()
                    .association_id(id)
                    .send()
                    .await;
                error::undone("DisassociateRouteTable", r)?;
            }
        }
        return match ec2.delete_route_table().route_table_id(&o.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if error::is_not_found(&e) => Ok(()),
            Err(e) => Err(error::map("DeleteRouteTable", e)),
        };
    }
    // Rules that point at other groups block deleting those; drop ours
    // first (a group whose props say it has none is deleted at once).
    let none = o
        .props
        .get("ingress")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty);
    let perms: Vec<IpPermission> = if none {
        Vec::new()
    } else {
        let out = ec2.describe_security_groups().group_ids(&o.id).send().await;
        let out = match out {
            Err(e) if error::is_not_found(&e) => return Ok(()),
            r => r.map_err(|e| error::map("DescribeSecurityGroups", e))?,
        };
        out.security_groups()
            .iter()
            .flat_map(|g| g.ip_permissions().to_vec())
            .collect()
    };
    if !perms.is_empty() {
        let r = ec2
            .revoke_security_group_ingress()
            .group_id(&o.id)
            .set_ip_permissions(Some(perms))
            .send()
            .await;
        error::undone("RevokeSecurityGroupIngress", r)?;
    }
    // Interfaces of a just-deleted cluster or database can hold on to the
    // group for a few minutes: wait for them, then say what is left.
    let what = format!("{} deletion", o.id);
    let r = wait::until(
        &what,
        "",
        a.opts.backoff.patience(),
        a.opts.backoff,
        ctx.recorder,
        || async {
            let r = ec2.delete_security_group().group_id(&o.id).send().await;
            match error::deleted("DeleteSecurityGroup", r) {
                error::Deleted::Done => Ok(Poll::Ready(())),
                error::Deleted::Blocked => {
                    Ok(Poll::Pending("still in use (DependencyViolation)".into()))
                }
                error::Deleted::Failed(e) => Err(e),
            }
        },
    )
    .await;
    match r {
        Err(e) if e.failure == Failure::Timeout => {
            Err(blocked(a, &o.id, "group-id", &o.id, "delete").await)
        }
        r => r,
    }
}
