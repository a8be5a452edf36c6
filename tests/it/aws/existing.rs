//! `network.mode: existing`: the VPC and subnets are validated before
//! planning, every problem names its subnet, `--tag-subnets` adds the load
//! balancer tags, and no network resource is created.

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

use super::{Env, tagged_ec2, text};

fn spec(name: &str, vpc: &str, private: &[&str], public: &[&str], private_only: bool) -> String {
    format!(
        r#"apiVersion: liftoff.dev/v1
kind: Installation
metadata:
  name: {name}
profile: aws-existing-network
network:
  mode: existing
  vpcId: {vpc}
  privateSubnetIds: [{}]
  publicSubnetIds: [{}]
  privateOnly: {private_only}
platform:
  baseDomain: astro.example.com
  tls:
    certFile: cert.pem
    keyFile: key.pem
"#,
        private.join(", "),
        public.join(", ")
    )
}

struct Net {
    vpc: String,
    good_private: Vec<String>,
    public: String,
    no_route: String,
    untagged: String,
    tiny: String,
    foreign: String,
    same_zone: String,
}

async fn subnet(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    cidr: &str,
    zone: &str,
    tag: Option<&str>,
) -> String {
    let mut call = ec2
        .create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(zone);
    if let Some(t) = tag {
        call = call.tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Subnet)
                .tags(Tag::builder().key(t).value("1").build())
                .build(),
        );
    }
    call.send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string()
}

/// A customer's VPC: two good private subnets routed through a NAT, a
/// public one, and bad ones of every kind.
async fn customer_network(ec2: &aws_sdk_ec2::Client) -> Net {
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.50.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
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
    let internal = Some("kubernetes.io/role/internal-elb");
    let public = subnet(
        ec2,
        &vpc,
        "10.50.0.0/24",
        "us-east-1a",
        Some("kubernetes.io/role/elb"),
    )
    .await;
    let eip = ec2
        .allocate_address()
        .domain(aws_sdk_ec2::types::DomainType::Vpc)
        .send()
        .await
        .unwrap();
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&public)
        .allocation_id(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap();
    let nat = nat
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_string();
    let rt = ec2
        .create_route_table()
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    ec2.create_route()
        .route_table_id(&rt)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat)
        .send()
        .await
        .unwrap();
    let mut good_private = Vec::new();
    for (cidr, zone) in [
        ("10.50.1.0/24", "us-east-1a"),
        ("10.50.2.0/24", "us-east-1b"),
    ] {
        let s = subnet(ec2, &vpc, cidr, zone, internal).await;
        ec2.associate_route_table()
            .route_table_id(&rt)
            .subnet_id(&s)
            .send()
            .await
            .unwrap();
        good_private.push(s);
    }
    // Uses the VPC's main route table, which has no default route.
    let no_route = subnet(ec2, &vpc, "10.50.3.0/24", "us-east-1b", internal).await;
    let untagged = subnet(ec2, &vpc, "10.50.4.0/24", "us-east-1a", None).await;
    ec2.associate_route_table()
        .route_table_id(&rt)
        .subnet_id(&untagged)
        .send()
        .await
        .unwrap();
    let tiny = subnet(ec2, &vpc, "10.50.5.0/27", "us-east-1b", internal).await;
    ec2.associate_route_table()
        .route_table_id(&rt)
        .subnet_id(&tiny)
        .send()
        .await
        .unwrap();
    let other = ec2
        .create_vpc()
        .cidr_block("10.60.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let foreign = subnet(ec2, &other, "10.60.1.0/24", "us-east-1a", internal).await;
    let same_zone = subnet(ec2, &vpc, "10.50.6.0/24", "us-east-1a", internal).await;
    ec2.associate_route_table()
        .route_table_id(&rt)
        .subnet_id(&same_zone)
        .send()
        .await
        .unwrap();
    Net {
        vpc,
        good_private,
        public,
        no_route,
        untagged,
        tiny,
        foreign,
        same_zone,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_network_is_validated_and_each_bad_subnet_is_named() {
    let env = Env::start(vec![]).await;
    let tls = &crate::cli_render::materials()[0];
    std::fs::write(env.dir.path().join("cert.pem"), &tls.chain_pem).unwrap();
    std::fs::write(env.dir.path().join("key.pem"), tls.key_pem.expose()).unwrap();
    let sdk = env.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let n = customer_network(&ec2).await;
    let good: Vec<&str> = n.good_private.iter().map(String::as_str).collect();

    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec![good[0], &n.foreign], &n.foreign, "is in"),
        (
            vec![good[0], "subnet-0000000000000dead"],
            "subnet-0000000000000dead",
            "does not exist",
        ),
        (vec![good[0], &n.no_route], &n.no_route, "no default route"),
        (
            vec![good[0], &n.untagged],
            &n.untagged,
            "kubernetes.io/role/internal-elb",
        ),
        (vec![good[0], &n.tiny], &n.tiny, "free addresses"),
        (vec![good[0], &n.same_zone], &n.same_zone, "span 1 zone"),
    ];
    for (private, bad, why) in cases {
        env.write_spec(&spec("existing", &n.vpc, &private, &[&n.public], false));
        let out = env.liftoff(&["plan"], &[]).await;
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().find(|l| l.contains(bad) && l.contains(why));
        assert!(
            line.is_some(),
            "expected a line naming {bad} with `{why}`:\n{}",
            text(&out)
        );
    }
    // privateOnly accepts a subnet without a NAT route.
    env.write_spec(&spec(
        "existing",
        &n.vpc,
        &[good[0], &n.no_route],
        &[&n.public],
        true,
    ));
    let out = env.liftoff(&["plan"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));

    // A good network plans no network resource; --tag-subnets fixes tags.
    let vpcs_before = ec2.describe_vpcs().send().await.unwrap().vpcs().len();
    env.write_spec(&spec(
        "existing",
        &n.vpc,
        &[good[0], good[1], &n.untagged],
        &[&n.public],
        false,
    ));
    let out = env.liftoff(&["plan", "--output", "json"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = env
        .liftoff(
            &["install", "--yes", "--tag-subnets", "--output", "json"],
            &[],
        )
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let tags = ec2
        .describe_subnets()
        .subnet_ids(&n.untagged)
        .send()
        .await
        .unwrap();
    let tagged = tags.subnets()[0]
        .tags()
        .iter()
        .any(|t| t.key() == Some("kubernetes.io/role/internal-elb"));
    assert!(tagged, "--tag-subnets did not tag {}", n.untagged);
    let plan = env.liftoff(&["plan", "--output", "json"], &[]).await;
    assert!(plan.status.success(), "{}", text(&plan));
    let plan: serde_json::Value = super::last_json(&plan.stdout);
    let addresses: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert!(
        addresses.iter().all(|a| !a.starts_with("aws.vpc")
            && !a.starts_with("aws.subnet")
            && !a.starts_with("aws.nat")),
        "{addresses:?}"
    );
    assert!(addresses.contains(&"aws.database") && addresses.contains(&"aws.eks_cluster"));
    let busy: Vec<&serde_json::Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .collect();
    assert!(busy.is_empty(), "the rerun is not a no-op: {busy:#?}");
    assert_eq!(
        ec2.describe_vpcs().send().await.unwrap().vpcs().len(),
        vpcs_before
    );
    let counts = tagged_ec2(&sdk, "existing").await;
    assert_eq!(
        counts["vpc"] + counts["subnet"] + counts["nat"] + counts["route_table"],
        0,
        "{counts:?}"
    );
    let cluster = aws_sdk_eks::Client::new(&sdk)
        .describe_cluster()
        .name("existing")
        .send()
        .await
        .unwrap();
    let subnets = cluster
        .cluster()
        .unwrap()
        .resources_vpc_config()
        .unwrap()
        .subnet_ids()
        .to_vec();
    assert_eq!(subnets.len(), 3);
}
