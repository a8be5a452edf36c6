//! Destroy removes every tagged resource, in reverse dependency order, and
//! nothing it did not create.

use super::{Env, other_resources, sandbox_spec, tagged_ec2, text};

/// Position of the first call starting with `name` (panics when absent).
fn first(calls: &[String], name: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} call in {calls:#?}"))
}

fn last(calls: &[String], name: &str) -> usize {
    calls
        .iter()
        .rposition(|c| c.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} call in {calls:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_deletes_only_what_liftoff_made_in_dependency_order() {
    let env = Env::start(vec![]).await;
    // The EKS cluster security group AWS would report (moto does not).
    let ec2 = aws_sdk_ec2::Client::new(&env.sdk().await);
    let eks_sg = ec2
        .create_security_group()
        .group_name("eks-cluster-sg-gone")
        .description("made by EKS")
        .send()
        .await
        .unwrap();
    let inject: &'static str = Box::leak(
        format!(
            "\"resourcesVpcConfig\": {{\"clusterSecurityGroupId\": \"{}\", ",
            eks_sg.group_id().unwrap()
        )
        .into_boxed_str(),
    );
    let rule = crate::support::proxy::Rule {
        call: "GET /clusters/gone".into(),
        after: 0,
        times: 1000,
        what: crate::support::proxy::Fault::Rewrite("\"resourcesVpcConfig\": {", inject),
    };
    env.proxy.add_rule(rule);
    // Node groups take a while to delete, as on AWS.
    env.proxy.hold_for(crate::support::aws_like::Durations {
        node_group_delete: std::time::Duration::from_millis(500),
        ..Default::default()
    });
    env.write_spec(&sandbox_spec("gone", "per-zone"));
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let sdk = env.sdk().await;
    // Something liftoff did not make, in the same account: must survive.
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let other = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let other_id = other.vpc().unwrap().vpc_id().unwrap().to_string();
    let before_vpcs = ec2.describe_vpcs().send().await.unwrap().vpcs().len();

    env.proxy.clear_calls();
    let out = env
        .liftoff(&["destroy", "--yes", "--skip-final-snapshot"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));

    let counts = tagged_ec2(&sdk, "gone").await;
    assert!(counts.values().all(|n| *n == 0), "left behind: {counts:?}");
    assert_eq!(other_resources(&sdk, "gone").await, (0, 0, 0, 0));
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    assert!(
        vpcs.vpcs().iter().any(|v| v.vpc_id() == Some(&other_id)),
        "a foreign VPC was deleted"
    );
    assert!(
        vpcs.vpcs().iter().any(|v| v.is_default() == Some(true)),
        "the default VPC was deleted"
    );
    assert_eq!(vpcs.vpcs().len(), before_vpcs - 1);
    assert!(
        !env.state_dir().join("gone.db-password").exists(),
        "password kept after --skip-final-snapshot"
    );
    assert!(!env.state_dir().join("gone.state.json").exists());
    assert!(!env.state_dir().join("gone.sandbox-tls.key").exists());
    // The platform went first: the Helm release (and its load balancer)
    // before the cluster, the secrets with it.
    assert!(
        env.helm.calls().iter().any(|c| c.starts_with("uninstall")),
        "{:?}",
        env.helm.calls()
    );
    assert!(
        env.kube
            .names("/api/v1/namespaces/astronomer/secrets")
            .is_empty()
    );

    // moto has no dependency checks, so the order is asserted on the calls.
    let calls = env.proxy.calls();
    let cluster_delete = calls
        .iter()
        .position(|c| c == "DELETE /clusters/gone")
        .expect("cluster deleted");
    assert!(
        last(&calls, "DELETE /clusters/gone/node-groups/") < cluster_delete,
        "{calls:#?}"
    );
    // The node group's launch template after the node group.
    assert!(
        last(&calls, "DELETE /clusters/gone/node-groups/") < first(&calls, "DeleteLaunchTemplate"),
        "{calls:#?}"
    );
    // The rule admitting the EKS cluster group to the database goes first,
    // or EKS could not delete that group.
    assert!(
        first(&calls, "RevokeSecurityGroupIngress") < cluster_delete,
        "{calls:#?}"
    );
    // The cluster is waited for (gone) before its role and subnets go.
    assert!(
        cluster_delete < first(&calls, "DeleteRole") || cluster_delete < last(&calls, "DeleteRole")
    );
    assert!(cluster_delete < last(&calls, "DeleteSubnet"));
    assert!(
        calls[cluster_delete..]
            .iter()
            .any(|c| c == "GET /clusters/gone"),
        "no wait after the cluster delete"
    );
    // The database does not wait for the cluster (AWS needs no such
    // order): it is deleted while the node groups are still deleting.
    assert!(
        first(&calls, "DeleteDBInstance") < cluster_delete,
        "{calls:#?}"
    );
    assert!(last(&calls, "DeleteDBInstance") < first(&calls, "DeleteDBSubnetGroup"));
    // A NAT is waited for (gone) before its Elastic IP is released.
    assert!(
        last(&calls, "DeleteNatGateway") < first(&calls, "ReleaseAddress"),
        "{calls:#?}"
    );
    let describe_after_delete = calls
        [first(&calls, "DeleteNatGateway")..first(&calls, "ReleaseAddress")]
        .iter()
        .any(|c| c == "DescribeNatGateways");
    assert!(
        describe_after_delete,
        "no wait between NAT delete and EIP release: {calls:#?}"
    );
    assert!(last(&calls, "ReleaseAddress") < first(&calls, "DetachInternetGateway"));
    // Route tables go before the subnets they are associated with (the
    // database subnets have none, so they may go earlier).
    assert!(last(&calls, "DeleteRouteTable") < last(&calls, "DeleteSubnet"));
    assert!(last(&calls, "DeleteNatGateway") < last(&calls, "DeleteSubnet"));
    assert!(last(&calls, "DeleteDBSubnetGroup") < last(&calls, "DeleteSubnet"));
    for before_vpc in [
        "DeleteSubnet",
        "DeleteInternetGateway",
        "DeleteSecurityGroup",
        "DeleteRouteTable",
    ] {
        assert!(
            last(&calls, before_vpc) < first(&calls, "DeleteVpc"),
            "{before_vpc}: {calls:#?}"
        );
    }
    // A second destroy finds nothing to do.
    let again = env.liftoff(&["destroy", "--yes"], &[]).await;
    assert!(again.status.success(), "{}", text(&again));
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_refuses_a_database_with_deletion_protection_and_says_how() {
    let env = Env::start(vec![]).await;
    env.write_spec(&format!(
        "{}database:\n  deletionProtection: true\n",
        sandbox_spec("kept", "single")
    ));
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = env.liftoff(&["destroy", "--yes"], &[]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deletion protection"), "{}", text(&out));
    assert!(err.contains("deletionProtection: false"), "{}", text(&out));
    let sdk = env.sdk().await;
    assert_eq!(
        other_resources(&sdk, "kept").await.0,
        1,
        "the database must survive"
    );

    // The documented way out: turn it off in the spec, install, destroy.
    env.write_spec(&format!(
        "{}database:\n  deletionProtection: false\n",
        sandbox_spec("kept", "single")
    ));
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("deletionProtection"),
        "{}",
        text(&out)
    );
    let rds = aws_sdk_rds::Client::new(&sdk);
    let db = rds
        .describe_db_instances()
        .db_instance_identifier("kept-db")
        .send()
        .await
        .unwrap();
    assert_eq!(db.db_instances()[0].deletion_protection(), Some(false));
    // Without --skip-final-snapshot a final snapshot is taken and the
    // password file is kept (a restore needs it).
    let out = env.liftoff(&["destroy", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let snaps = rds.describe_db_snapshots().send().await.unwrap();
    let finals: Vec<&str> = snaps
        .db_snapshots()
        .iter()
        .filter_map(|s| s.db_snapshot_identifier())
        .filter(|i| i.starts_with("kept-db-final-"))
        .collect();
    assert_eq!(finals.len(), 1, "{:?}", snaps.db_snapshots());
    assert!(env.state_dir().join("kept.db-password").exists());
    assert_eq!(other_resources(&sdk, "kept").await, (0, 0, 0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_blocked_by_a_load_balancer_names_it_and_says_how_to_proceed() {
    use crate::support::proxy::{Fault, Rule};
    // moto has no dependency checks: the proxy answers like AWS does when a
    // subnet still holds network interfaces.
    let env = Env::start(vec![]).await;
    env.write_spec(&sandbox_spec("held", "single"));
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let state: serde_json::Value =
        serde_json::from_str(&super::read(&env.state_dir().join("held.state.json"))).unwrap();
    let subnet = state["resources"]["aws.subnet.private[a]"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sdk = env.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let eni = ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .description("ELB app/k8s-airflow-ingress/0123456789")
        .send()
        .await
        .unwrap();
    let eni = eni
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();
    let blocked = Rule {
        call: "DeleteSubnet".into(),
        after: 0,
        times: 100_000,
        what: Fault::Error("DependencyViolation"),
    };
    let env = env.with_rules(vec![blocked]).await;
    let out = env
        .liftoff(&["destroy", "--yes", "--skip-final-snapshot"], &[])
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("aws.subnet.private[a]") && l.contains("FAILED"))
        .unwrap_or_else(|| panic!("{}", text(&out)));
    assert!(
        line.contains(&subnet)
            && line.contains(&eni)
            && line.contains("ELB app/k8s-airflow-ingress"),
        "{line}"
    );
    assert!(
        err.contains("Services of type LoadBalancer"),
        "{}",
        text(&out)
    );
    // It waited for the interfaces to go before giving up.
    let attempts = env
        .proxy
        .calls()
        .iter()
        .filter(|c| *c == "DeleteSubnet")
        .count();
    assert!(
        attempts > 6,
        "each subnet delete was tried more than once: {attempts}"
    );
    // The VPC was not attempted while its subnets remain.
    assert!(!env.proxy.calls().iter().any(|c| c == "DeleteVpc"));
}
