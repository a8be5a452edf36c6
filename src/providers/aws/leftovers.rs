//! EC2 resources carrying the installation's tag whatever their address:
//! before a destroy, those at an address neither wanted nor recorded (made
//! for an earlier spec whose state was lost) are handed to the plan to
//! delete too ([`strays`]); after it, whatever still carries the tag fails
//! the destroy, named ([`list`]), so that a destroy never reports success
//! while something liftoff made is left (and billed).

use aws_sdk_ec2::types::{Filter, NatGatewayState, Tag};

use serde_json::{Value, json};

use super::driver::{Aws, Options, sdk_config};
use super::kind::{
    EIP, INTERNET_GATEWAY, LAUNCH_TEMPLATE, NAT, ROUTE_TABLE, SECURITY_GROUP, SUBNET, VPC,
};
use super::{TAG_ADDRESS, TAG_INSTALLATION, ec2_pairs, error};
use crate::plan::Address;
use crate::plan::driver::{DriverError, Observed, Stray};
use crate::spec::Spec;

/// When a kind can go in a destroy: NAT gateways and route tables first
/// (they hold Elastic IPs and subnets), then addresses, subnets, gateways and
/// groups, the VPC last.
fn rank(kind: &str) -> u8 {
    match kind {
        NAT | ROUTE_TABLE => 0,
        VPC => 2,
        _ => 1,
    }
}

/// The EC2 kind an address belongs to (`aws.subnet.private[a]` → subnet).
fn kind_of(address: &str) -> Option<&'static str> {
    [
        VPC,
        INTERNET_GATEWAY,
        SUBNET,
        ROUTE_TABLE,
        EIP,
        NAT,
        SECURITY_GROUP,
        LAUNCH_TEMPLATE,
    ]
    .into_iter()
    .find(|k| {
        address
            .strip_prefix(k)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    })
}

/// Every EC2 object tagged for the installation at an address not in
/// `known`, each to be deleted before the kinds [`rank`] puts after it
/// (known or stray).
pub async fn strays(a: &Aws, known: &[Address]) -> Result<Vec<Stray>, DriverError> {
    let ec2 = &a.c.ec2;
    let name = a.opts.installation.as_str();
    let mine = || {
        Filter::builder()
            .name(format!("tag:{TAG_INSTALLATION}"))
            .values(name)
            .build()
    };
    let mut found: Vec<(String, &'static str, String)> = Vec::new();
    let mut note = |kind: &'static str, id: Option<&str>, tags: &[Tag]| {
        let ours = ec2_pairs(tags).any(|(k, v)| k == TAG_INSTALLATION && v == name);
        let address = ec2_pairs(tags)
            .find(|(k, _)| *k == TAG_ADDRESS)
            .map(|(_, v)| v.to_string());
        if let (true, Some(address), Some(id)) = (ours, address, id)
            && !known.iter().any(|k| k.as_str() == address)
        {
            found.push((address, kind, id.to_string()));
        }
    };
    // The kinds a plan reads share their describe answers with it
    // ([`super::reads`]: pending or available NAT gateways only).
    for n in a.reads.nat_gateways(a).await?.iter() {
        note(NAT, n.nat_gateway_id(), n.tags());
    }
    for x in a.reads.addresses(a).await?.iter() {
        note(EIP, x.allocation_id(), x.tags());
    }
    for x in a.reads.route_tables(a).await?.iter() {
        note(ROUTE_TABLE, x.route_table_id(), x.tags());
    }
    for x in a.reads.security_groups(a).await?.iter() {
        note(SECURITY_GROUP, x.group_id(), x.tags());
    }
    for x in a.reads.subnets(a).await?.iter() {
        note(SUBNET, x.subnet_id(), x.tags());
    }
    for x in a.reads.internet_gateways(a).await?.iter() {
        note(INTERNET_GATEWAY, x.internet_gateway_id(), x.tags());
    }
    for x in a.reads.vpcs(a).await?.iter() {
        note(VPC, x.vpc_id(), x.tags());
    }
    let out = ec2.describe_launch_templates().filters(mine()).send().await;
    for x in out
        .map_err(|e| error::map("DescribeLaunchTemplates", e))?
        .launch_templates()
    {
        note(LAUNCH_TEMPLATE, x.launch_template_id(), x.tags());
    }
    let addresses: Vec<(Address, u8)> = known
        .iter()
        .filter_map(|k| kind_of(k.as_str()).map(|kind| (k.clone(), rank(kind))))
        .chain(
            found
                .iter()
                .map(|(address, kind, id)| (Address::new(format!("{address}#{id}")), rank(kind))),
        )
        .collect();
    Ok(found
        .into_iter()
        .map(|(address, kind, id)| Stray {
            address: Address::new(format!("{address}#{id}")),
            kind: kind.to_string(),
            observed: Observed {
                id: id.clone(),
                props: Value::Null,
                outputs: json!({ "id": id }),
            },
            deps: addresses
                .iter()
                .filter(|(_, r)| *r > rank(kind))
                .map(|(a, _)| a.clone())
                .collect(),
        })
        .collect())
}

/// One line per resource still tagged for the installation: what, its id,
/// and the address it was made for.
pub async fn list(spec: &Spec) -> Result<Vec<String>, DriverError> {
    let opts = Options::from_spec(
        spec,
        std::sync::Arc::new(crate::secret::FolderVault(std::path::PathBuf::new())),
        false,
    );
    let sdk = sdk_config(&opts.region, opts.backoff).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let name = opts.installation.as_str();
    let mine = || {
        Filter::builder()
            .name(format!("tag:{TAG_INSTALLATION}"))
            .values(name)
            .build()
    };
    let mut left = Vec::new();
    let mut note = |what: &str, id: Option<&str>, tags: &[Tag]| {
        let ours = ec2_pairs(tags).any(|(k, v)| k == TAG_INSTALLATION && v == name);
        if ours {
            let address = ec2_pairs(tags)
                .find(|(k, _)| *k == TAG_ADDRESS)
                .map_or("no liftoff.dev/address tag", |(_, v)| v);
            left.push(format!("{what} {} ({address})", id.unwrap_or("?")));
        }
    };
    let out = ec2.describe_nat_gateways().filter(mine()).send().await;
    for n in out
        .map_err(|e| error::map("DescribeNatGateways", e))?
        .nat_gateways()
    {
        if !matches!(
            n.state(),
            Some(NatGatewayState::Deleted | NatGatewayState::Failed)
        ) {
            note("NAT gateway", n.nat_gateway_id(), n.tags());
        }
    }
    let out = ec2.describe_addresses().filters(mine()).send().await;
    for x in out
        .map_err(|e| error::map("DescribeAddresses", e))?
        .addresses()
    {
        note("Elastic IP", x.allocation_id(), x.tags());
    }
    let out = ec2.describe_route_tables().filters(mine()).send().await;
    for x in out
        .map_err(|e| error::map("DescribeRouteTables", e))?
        .route_tables()
    {
        note("route table", x.route_table_id(), x.tags());
    }
    let out = ec2.describe_security_groups().filters(mine()).send().await;
    for x in out
        .map_err(|e| error::map("DescribeSecurityGroups", e))?
        .security_groups()
    {
        note("security group", x.group_id(), x.tags());
    }
    let out = ec2.describe_subnets().filters(mine()).send().await;
    for x in out.map_err(|e| error::map("DescribeSubnets", e))?.subnets() {
        note("subnet", x.subnet_id(), x.tags());
    }
    let out = ec2
        .describe_internet_gateways()
        .filters(mine())
        .send()
        .await;
    for x in out
        .map_err(|e| error::map("DescribeInternetGateways", e))?
        .internet_gateways()
    {
        note("internet gateway", x.internet_gateway_id(), x.tags());
    }
    let out = ec2.describe_vpcs().filters(mine()).send().await;
    for x in out.map_err(|e| error::map("DescribeVpcs", e))?.vpcs() {
        note("VPC", x.vpc_id(), x.tags());
    }
    let out = ec2.describe_launch_templates().filters(mine()).send().await;
    for x in out
        .map_err(|e| error::map("DescribeLaunchTemplates", e))?
        .launch_templates()
    {
        note("launch template", x.launch_template_id(), x.tags());
    }
    Ok(left)
}
