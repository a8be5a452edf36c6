//! Deletes AWS refuses and moto allows, refused by the proxy as AWS does;
//! install and destroy still converge. A permanent error (a quota, a
//! missing permission) fails at once, naming the resource, the API error
//! and what to do.

use super::{Env, other_resources, sandbox_spec, tagged_ec2, text};
use crate::support::aws_like::Durations;
use crate::support::proxy::{Fault, Rule};

/// The proxy refuses what AWS refuses: an Elastic IP a NAT gateway uses
/// (AuthFailure), a subnet a NAT gateway is in and a VPC with an internet
/// gateway attached (DependencyViolation).
#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_refuses_deletes_that_aws_refuses() {
    let env = Env::start(vec![]).await;
    let sdk = aws_config::SdkConfig::builder()
        .endpoint_url(env.proxy.url())
        .region(aws_config::Region::new(super::REGION))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("testing", "testing", None, None, "test"),
            ),
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .http_client(liftoff::providers::aws::https_client())
        .build();
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.9.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let igw = ec2.create_internet_gateway().send().await.unwrap();
    let igw = igw
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let eip = ec2.allocate_address().send().await.unwrap();
    let eip = eip.allocation_id().unwrap().to_string();
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&subnet)
        .allocation_id(&eip)
        .send()
        .await
        .unwrap();
    let nat = nat
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_string();

    let code = |e: &dyn aws_sdk_ec2::error::ProvideErrorMetadata| e.code().map(str::to_string);
    let e = ec2
        .release_address()
        .allocation_id(&eip)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("AuthFailure"));
    let e = ec2
        .delete_subnet()
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("DependencyViolation"));
    ec2.delete_nat_gateway()
        .nat_gateway_id(&nat)
        .send()
        .await
        .unwrap();
    ec2.release_address()
        .allocation_id(&eip)
        .send()
        .await
        .unwrap();
    ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    let e = ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("DependencyViolation"));
    ec2.detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
    assert_eq!(
        env.proxy.refused(),
        ["ReleaseAddress", "DeleteSubnet", "DeleteVpc"]
    );
}

/// With AWS's refusals and its waits (scaled down), install and destroy
/// converge: nothing left, and destroy never tried a delete AWS refuses.
#[tokio::test(flavor = "multi_thread")]
async fn install_and_destroy_converge_against_refusals_and_real_waits() {
    let env = Env::start(vec![]).await;
    env.proxy.hold_for(Durations::issue(0.05));
    env.write_spec(&sandbox_spec("strict", "per-zone"));
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = env
        .liftoff(&["destroy", "--yes", "--skip-final-snapshot"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let sdk = env.sdk().await;
    let counts = tagged_ec2(&sdk, "strict").await;
    assert!(counts.values().all(|n| *n == 0), "left behind: {counts:?}");
    assert_eq!(other_resources(&sdk, "strict").await, (0, 0, 0, 0));
    assert!(env.proxy.refused().is_empty(), "{:?}", env.proxy.refused());
}

fn always(call: &str, what: Fault) -> Rule {
    Rule {
        call: call.into(),
        after: 0,
        times: 1000,
        what,
    }
}

/// A quota or a missing permission is not retried: one call, then the
/// resource, the API error and a hint, and exit code 4.
#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_error_fails_at_once_naming_the_resource_the_error_and_a_hint() {
    for (call, code, address, hint) in [
        (
            "CreateVpc",
            "VpcLimitExceeded",
            "aws.vpc",
            "an AWS service quota is reached",
        ),
        (
            "AllocateAddress",
            "AddressLimitExceeded",
            "aws.eip.nat[a]",
            "an AWS service quota is reached",
        ),
        (
            "CreateRole",
            "AccessDenied",
            "aws.iam_role.cluster",
            "lacks a permission",
        ),
    ] {
        let env = Env::start(vec![always(call, Fault::Error(code))]).await;
        env.write_spec(&sandbox_spec("denied", "single"));
        let out = env.liftoff(&["install", "--yes"], &[]).await;
        assert_eq!(out.status.code(), Some(4), "{}", text(&out));
        let shown = text(&out);
        let line = shown
            .lines()
            .find(|l| l.contains(address) && l.contains("FAILED"))
            .unwrap_or_else(|| panic!("{call}: no failure line for {address}\n{shown}"));
        assert!(line.contains(code), "{line}");
        assert!(
            shown
                .lines()
                .any(|l| l.trim_start().starts_with("hint:") && l.contains(hint)),
            "{call}: {shown}"
        );
        // One call per resource that makes it (two roles), none retried.
        let tries = env.proxy.calls().iter().filter(|c| *c == call).count();
        let makers = if call == "CreateRole" { 2 } else { 1 };
        assert_eq!(tries, makers, "{call} was retried");
    }
}
