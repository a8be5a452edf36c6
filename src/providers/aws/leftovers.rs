//! After a destroy: every EC2 resource that still carries the
//! installation's tag, so that a destroy never reports success while
//! something liftoff made is left (and billed). Those at an address this
//! spec still has are deleted by the plan (with every duplicate copy); what
//! remains was made for an address an earlier spec had and the state lost.

use aws_sdk_ec2::types::{Filter, NatGatewayState, Tag};

use super::driver::{Options, sdk_config};
use super::{TAG_ADDRESS, TAG_INSTALLATION, ec2_pairs, error};
use crate::plan::driver::DriverError;
use crate::spec::Spec;

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
                .map_or("?", |(_, v)| v);
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
    Ok(left)
}
