//! Explaining a refused delete: AWS says only "DependencyViolation"; this
//! looks up the network interfaces in the subnet, VPC or security group and
//! names them (load balancers show up as `ELB …`), with what to do.

use aws_sdk_ec2::types::Filter;

use super::Aws;
use crate::plan::driver::{DriverError, Failure};

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// A `Blocked` error that names what still uses `scope` (a subnet or VPC):
/// its network interfaces, with what they belong to (load balancers, …).
pub async fn blocked(a: &Aws, id: &str, key: &str, scope: &str, verb: &str) -> DriverError {
    let mut users = Vec::new();
    if let Ok(out) =
        a.c.ec2
            .describe_network_interfaces()
            .filters(filter(key, scope))
            .send()
            .await
    {
        for n in out.network_interfaces() {
            users.push(format!(
                "{} ({})",
                n.network_interface_id().unwrap_or("?"),
                n.description()
                    .filter(|d| !d.is_empty())
                    .unwrap_or("no description")
            ));
        }
    }
    let what = if users.is_empty() {
        "something liftoff did not create (load balancers, endpoints, instances)".to_string()
    } else {
        format!("network interfaces {}", users.join(", "))
    };
    DriverError::new(Failure::Blocked, format!("cannot {verb} {id}: still used by {what}"))
        .with_hint("delete those first (for `ELB …` interfaces: the Kubernetes Services of type LoadBalancer, or the load balancer in the EC2 console), then rerun `liftoff destroy`")
}
