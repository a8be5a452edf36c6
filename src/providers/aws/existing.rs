//! Checks an existing VPC and its subnets (`network.mode: existing`) before
//! anything is planned: every subnet exists and is in the VPC, the private
//! subnets span two zones and route out through a NAT or transit gateway
//! (unless `privateOnly`), load-balancer tags are there (or added with
//! `--tag-subnets`) and there are free addresses. Nothing is created or
//! deleted here; `--tag-subnets` only adds the two role tags.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{Filter, Subnet, Tag};

use super::{Backoff, error};
use crate::plan::driver::DriverError;
use crate::spec::Network;

/// Fewer free addresses than this in a subnet is a problem.
pub const MIN_FREE_IPS: i32 = 32;
pub const ELB_TAG: &str = "kubernetes.io/role/elb";
pub const INTERNAL_ELB_TAG: &str = "kubernetes.io/role/internal-elb";

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per problem, each naming the subnet (or VPC) and why.
    pub problems: Vec<String>,
    /// Tags added because of `--tag-subnets`.
    pub tagged: Vec<String>,
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// Validates `net` in `region` with the default credential chain.
pub async fn validate(
    region: &str,
    net: &Network,
    tag_subnets: bool,
) -> Result<Report, DriverError> {
    let sdk = super::sdk_config(region, Backoff::from_env()).await;
    check(&aws_sdk_ec2::Client::new(&sdk), net, tag_subnets).await
}

pub async fn check(
    ec2: &aws_sdk_ec2::Client,
    net: &Network,
    tag_subnets: bool,
) -> Result<Report, DriverError> {
    let mut r = Report::default();
    let Some(vpc) = net.vpc_id.clone() else {
        r.problems.push("network.vpcId is not set".into());
        return Ok(r);
    };
    let vpcs = ec2
        .describe_vpcs()
        .filters(filter("vpc-id", std::slice::from_ref(&vpc)))
        .send()
        .await;
    if vpcs
        .map_err(|e| error::map("DescribeVpcs", e))?
        .vpcs()
        .is_empty()
    {
        r.problems.push(format!(
            "VPC {vpc} does not exist in this account and region"
        ));
        return Ok(r);
    }
    let all: Vec<String> = net
        .private_subnet_ids
        .iter()
        .chain(&net.public_subnet_ids)
        .chain(&net.database_subnet_ids)
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let out = ec2
        .describe_subnets()
        .filters(filter("subnet-id", &all))
        .send()
        .await;
    let out = out.map_err(|e| error::map("DescribeSubnets", e))?;
    let found = |id: &str| out.subnets().iter().find(|s| s.subnet_id() == Some(id));
    for id in &all {
        match found(id) {
            None => r.problems.push(format!(
                "subnet {id} does not exist in this account and region"
            )),
            Some(s) if s.vpc_id() != Some(vpc.as_str()) => r.problems.push(format!(
                "subnet {id} is in {}, not in {vpc}",
                s.vpc_id().unwrap_or("another VPC")
            )),
            Some(s) if s.available_ip_address_count().unwrap_or(0) < MIN_FREE_IPS => {
                r.problems.push(format!(
                    "subnet {id} has only {} free addresses (need at least {MIN_FREE_IPS})",
                    s.available_ip_address_count().unwrap_or(0)
                ))
            }
            Some(_) => {}
        }
    }
    let private: Vec<&Subnet> = net
        .private_subnet_ids
        .iter()
        .filter_map(|id| found(id))
        .collect();
    let zones: BTreeSet<&str> = private
        .iter()
        .filter_map(|s| s.availability_zone())
        .collect();
    if zones.len() < 2 {
        r.problems.push(format!(
            "private subnets {} span {} zone(s); EKS needs at least 2",
            net.private_subnet_ids.join(", "),
            zones.len()
        ));
    }
    if !net.private_only {
        for s in &private {
            let Some(id) = s.subnet_id() else { continue };
            // A subnet from another VPC (named above) falls back on its own
            // VPC's main route table, not the spec VPC's.
            let own_vpc = s.vpc_id().unwrap_or(vpc.as_str());
            if let Some(why) = no_egress(ec2, own_vpc, id).await? {
                r.problems.push(format!("private subnet {id} {why}"));
            }
        }
    }
    let tiers = [
        (&net.private_subnet_ids, INTERNAL_ELB_TAG),
        (&net.public_subnet_ids, ELB_TAG),
    ];
    for (ids, tag) in tiers {
        for id in ids {
            let Some(s) = found(id) else { continue };
            if s.tags()
                .iter()
                .any(|t| t.key() == Some(tag) && t.value() == Some("1"))
            {
                continue;
            }
            if tag_subnets {
                ec2.create_tags()
                    .resources(id)
                    .tags(Tag::builder().key(tag).value("1").build())
                    .send()
                    .await
                    .map_err(|e| error::map("CreateTags", e))?;
                r.tagged.push(format!("{id}: {tag}=1"));
            } else {
                r.problems.push(format!(
                    "subnet {id} lacks the tag {tag}=1 that load balancers are placed by (pass --tag-subnets to add it)"
                ));
            }
        }
    }
    Ok(r)
}

/// Why the subnet cannot reach the internet through a NAT or transit
/// gateway, or `None` when it can. `vpc` is the subnet's own VPC, whose main
/// route table it uses when none is associated with it.
async fn no_egress(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    subnet: &str,
) -> Result<Option<String>, DriverError> {
    let explicit = ec2
        .describe_route_tables()
        .filters(filter("association.subnet-id", &[subnet.to_string()]))
        .send()
        .await
        .map_err(|e| error::map("DescribeRouteTables", e))?;
    let (tables, which) = if explicit.route_tables().is_empty() {
        let main = ec2
            .describe_route_tables()
            .filters(filter("vpc-id", &[vpc.to_string()]))
            .filters(filter("association.main", &["true".to_string()]))
            .send()
            .await
            .map_err(|e| error::map("DescribeRouteTables", e))?;
        (main, Some(vpc))
    } else {
        (explicit, None)
    };
    let Some(t) = tables.route_tables().first() else {
        return Ok(Some("has no route table".into()));
    };
    let tid = t.route_table_id().unwrap_or("?");
    let which = match which {
        Some(vpc) => format!("the main route table {tid} of {vpc}"),
        None => format!("its route table {tid}"),
    };
    let default = t
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"));
    Ok(match default {
        None => Some(format!(
            "has no default route (0.0.0.0/0) in {which}; add one to a NAT or transit gateway, or set network.privateOnly: true"
        )),
        Some(r) if r.nat_gateway_id().is_some() || r.transit_gateway_id().is_some() => None,
        Some(r) => Some(format!(
            "routes 0.0.0.0/0 in {which} to {}, not to a NAT or transit gateway",
            r.gateway_id()
                .or(r.instance_id())
                .unwrap_or("something else")
        )),
    })
}
