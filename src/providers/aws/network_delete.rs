//! Deleting the VPC, internet gateway (detached first) and subnets. AWS
//! refuses with DependencyViolation while something still uses them (the
//! interfaces of a just-deleted NAT gateway or cluster linger); that is
//! waited out for a while, then reported as `Blocked` naming what is left.

use super::blocked::blocked;
use super::kind::{INTERNET_GATEWAY, SUBNET, VPC};
use super::{Aws, error};
use crate::plan::driver::{Context, DriverError, Failure, Observed};
use crate::wait::{self, Poll};

/// Deletes, waiting (up to the backoff's patience) while AWS says something
/// still uses it: ENIs of a deleted NAT gateway or EKS cluster linger for a
/// few minutes. Past that, a `Blocked` error names what is left.
pub async fn delete(
    a: &Aws,
    kind: &str,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let what = format!("{} deletion", o.id);
    let scope = std::sync::Mutex::new(o.id.clone());
    let r = wait::until(
        &what,
        "",
        a.opts.backoff.patience(),
        a.opts.backoff,
        ctx.recorder,
        || async {
            match delete_once(a, kind, o, ctx, &scope).await? {
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
            let scope = scope.lock().expect("scope").clone();
            let (key, verb) = match kind {
                SUBNET => ("subnet-id", "delete"),
                INTERNET_GATEWAY if scope != o.id => ("vpc-id", "detach"),
                _ => ("vpc-id", "delete"),
            };
            Err(blocked(a, &o.id, key, &scope, verb).await)
        }
        r => r,
    }
}

async fn delete_once(
    a: &Aws,
    kind: &str,
    o: &Observed,
    ctx: &Context<'_>,
    scope: &std::sync::Mutex<String>,
) -> Result<error::Deleted, DriverError> {
    let ec2 = &a.c.ec2;
    Ok(match kind {
        VPC => error::deleted("DeleteVpc", ec2.delete_vpc().vpc_id(&o.id).send().await),
        INTERNET_GATEWAY => {
            let out = ec2
                .describe_internet_gateways()
                .internet_gateway_ids(&o.id)
                .send()
                .await;
            let vpcs: Vec<String> = match out {
                Ok(out) => out
                    .internet_gateways()
                    .iter()
                    .flat_map(|g| {
                        g.attachments()
                            .iter()
                            .filter_map(|x| x.vpc_id().map(str::to_string))
                    })
                    .collect(),
                Err(e) if error::is_not_found(&e) => return Ok(error::Deleted::Done),
                Err(e) => return Err(error::map("DescribeInternetGateways", e)),
            };
            for vpc in vpcs {
                ctx.recorder.progress(&format!("detaching from {vpc}"));
                let r = ec2
                    .detach_internet_gateway()
                    .internet_gateway_id(&o.id)
                    .vpc_id(&vpc)
                    .send()
                    .await;
                match error::deleted("DetachInternetGateway", r) {
                    error::Deleted::Done => {}
                    error::Deleted::Blocked => {
                        *scope.lock().expect("scope") = vpc;
                        return Ok(error::Deleted::Blocked);
                    }
                    failed => return Ok(failed),
                }
            }
            let r = ec2
                .delete_internet_gateway()
                .internet_gateway_id(&o.id)
                .send()
                .await;
            error::deleted("DeleteInternetGateway", r)
        }
        _ => error::deleted(
            "DeleteSubnet",
            ec2.delete_subnet().subnet_id(&o.id).send().await,
        ),
    })
}
