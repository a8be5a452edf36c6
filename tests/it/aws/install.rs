//! Fresh install, the no-op rerun, waiting through pending states and
//! throttling, and crash-safety (kill right after a create returned).

use serde_json::Value;

use super::{Env, other_resources, read, sandbox_spec, tagged_ec2, text};
use crate::support::proxy::{Fault, Rule};

fn rule(call: &str, after: usize, times: usize, what: Fault) -> Rule {
    Rule {
        call: call.into(),
        after,
        times,
        what,
    }
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_install_waits_through_pending_and_throttling_then_reruns_as_noop() {
    let env = Env::start(vec![
        // More throttles than the SDK's own 3 attempts, so our retries run:
        // while reading what exists (VPC), and while waiting (NAT, after the
        // two reads of the plan).
        rule("DescribeVpcs", 0, 4, Fault::Error("Throttling")),
        rule("DescribeNatGateways", 2, 10, Fault::Error("Throttling")),
        rule(
            "DescribeNatGateways",
            12,
            3,
            Fault::Rewrite("<state>available</state>", "<state>pending</state>"),
        ),
        rule("CreateVpc", 0, 1, Fault::Error("RequestLimitExceeded")),
        // EKS refuses a role IAM has not propagated yet.
        rule("POST /clusters", 0, 2, Fault::JsonError("InvalidParameterException", "Role with arn: arn:aws:iam::123456789012:role/fresh-eks-cluster could not be assumed because it does not exist")),
        rule("CreateSubnet", 0, 1, Fault::Unavailable),
        rule(
            "DescribeDBInstances",
            1,
            3,
            Fault::Rewrite(
                "<DBInstanceStatus>available</DBInstanceStatus>",
                "<DBInstanceStatus>creating</DBInstanceStatus>",
            ),
        ),
        rule(
            "GET /clusters/fresh",
            2,
            3,
            Fault::Rewrite("\"ACTIVE\"", "\"CREATING\""),
        ),
    ])
    .await;
    // moto reports no EKS cluster security group; AWS does, and managed
    // nodes carry it: make one and have the proxy report it.
    let sdk = env.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let eks_sg = ec2
        .create_security_group()
        .group_name("eks-cluster-sg-fresh")
        .description("made by EKS")
        .send()
        .await
        .unwrap();
    let eks_sg = eks_sg.group_id().unwrap().to_string();
    let inject: &'static str = Box::leak(
        format!("\"resourcesVpcConfig\": {{\"clusterSecurityGroupId\": \"{eks_sg}\", ")
            .into_boxed_str(),
    );
    env.proxy.add_rule(rule(
        "GET /clusters/fresh",
        0,
        1000,
        Fault::Rewrite("\"resourcesVpcConfig\": {", inject),
    ));
    env.write_spec(&sandbox_spec("fresh", "per-zone"));
    // The cloud phase first (the proxy's pending states are counted on the
    // cloud phase's calls alone); the cluster phase follows below.
    let out = env
        .liftoff(
            &["install", "--yes", "--phase", "cloud", "--output", "json"],
            &[],
        )
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let applied = env.proxy.applied();
    assert_eq!(
        applied.iter().filter(|a| a.contains("Throttling")).count(),
        14,
        "{applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("CreateVpc")),
        "{applied:?}"
    );
    assert!(
        applied.iter().filter(|a| a.contains("Rewrite")).count() >= 7,
        "{applied:?}"
    );

    // Progress lines show the waits and the retries.
    let events = json_lines(&out.stderr);
    let progress: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "progress")
        .map(|e| {
            format!(
                "{}: {}",
                e["address"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        progress
            .iter()
            .any(|p| p.starts_with("aws.nat[") && p.contains("pending")),
        "{progress:#?}\n{applied:#?}\n{}",
        text(&out)
    );
    assert!(
        progress
            .iter()
            .any(|p| p.starts_with("aws.nat[") && p.contains("retry")),
        "{progress:#?}\n{applied:#?}\n{:#?}",
        env.proxy.calls()
    );
    assert!(
        progress
            .iter()
            .any(|p| p.starts_with("aws.database") && p.contains("creating")),
        "{progress:#?}"
    );
    assert!(
        progress
            .iter()
            .any(|p| p.starts_with("aws.eks_cluster") && p.contains("IAM role to propagate")),
        "{progress:#?}\n{applied:#?}\n{}",
        text(&out)
    );
    assert!(
        progress
            .iter()
            .any(|p| p.starts_with("aws.eks_cluster") && p.contains("CREATING")),
        "{progress:#?}"
    );

    // Everything exists once, tagged.
    let counts = tagged_ec2(&sdk, "fresh").await;
    let want = [
        ("vpc", 1),
        ("subnet", 6),
        ("igw", 1),
        ("route_table", 3),
        ("security_group", 3),
        ("eip", 2),
        ("nat", 2),
    ];
    for (k, n) in want {
        assert_eq!(counts[k], n, "{k}: {counts:?}");
    }
    assert_eq!(other_resources(&sdk, "fresh").await, (1, 1, 1, 2));
    let subnets = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:liftoff.dev/installation")
                .values("fresh")
                .build(),
        )
        .send()
        .await
        .unwrap();
    for s in subnets.subnets() {
        let tag = |k: &str| {
            s.tags()
                .iter()
                .find(|t| t.key() == Some(k))
                .and_then(|t| t.value())
                .map(str::to_string)
        };
        let addr = tag("liftoff.dev/address").expect("address tag");
        assert!(tag("Name").is_some());
        if addr.contains("private") {
            assert_eq!(
                tag("kubernetes.io/role/internal-elb").as_deref(),
                Some("1"),
                "{addr}"
            );
        }
        if addr.contains("public") {
            assert_eq!(
                tag("kubernetes.io/role/elb").as_deref(),
                Some("1"),
                "{addr}"
            );
        }
    }
    let vpc = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:liftoff.dev/installation")
                .values("fresh")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpcs()[0].vpc_id().unwrap();
    let host = ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        host.enable_dns_hostnames().and_then(|v| v.value()),
        Some(true)
    );
    let rds = aws_sdk_rds::Client::new(&sdk);
    let db = rds
        .describe_db_instances()
        .db_instance_identifier("fresh-db")
        .send()
        .await
        .unwrap();
    let db = &db.db_instances()[0];
    assert_eq!(db.storage_encrypted(), Some(true));
    assert!(
        db.tag_list()
            .iter()
            .any(|t| t.key() == Some("liftoff.dev/address") && t.value() == Some("aws.database"))
    );

    // PostgreSQL only from the nodes group and the EKS cluster group.
    let sgs = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Name")
                .values("fresh-database")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let perms = sgs.security_groups()[0].ip_permissions();
    assert!(
        perms.iter().all(|p| p.from_port() == Some(5432)
            && p.to_port() == Some(5432)
            && p.ip_ranges().is_empty()),
        "{perms:#?}"
    );
    let sources: Vec<&str> = perms
        .iter()
        .flat_map(|p| p.user_id_group_pairs())
        .filter_map(|g| g.group_id())
        .collect();
    assert!(
        sources.contains(&eks_sg.as_str()) && sources.len() == 2,
        "{sources:?}"
    );

    // The outputs, and the password kept only in its 0600 file.
    // The result is stdout's one document.
    let result: Value = serde_json::from_slice(&out.stdout).expect("one result document");
    assert_eq!(result["event"], "result");
    let outputs = &result["outputs"]["aws"];
    assert_eq!(
        outputs["natPublicIps"].as_array().unwrap().len(),
        2,
        "{outputs}"
    );
    assert_eq!(outputs["vpcId"], vpc_id);
    assert!(
        outputs["database"]["endpoint"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{outputs}"
    );
    assert_eq!(outputs["cluster"]["name"], "fresh");
    let pw_path = env.state_dir().join("fresh.db-password");
    assert_eq!(
        outputs["secrets"]["databasePasswordFile"],
        pw_path.to_str().unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&pw_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let password = read(&pw_path);
    assert!(password.len() >= 24);
    let state = read(&env.state_dir().join("fresh.state.json"));
    for place in [state.as_str(), &text(&out)] {
        assert!(!place.contains(&password), "the password leaked");
    }

    // The cluster phase: connected to the new EKS cluster with a token,
    // the platform's secrets applied and the chart installed.
    assert!(env.kube.writes().is_empty());
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("https://app.fresh.example.com"), "{stdout}");
    let secrets = "/api/v1/namespaces/astronomer/secrets";
    let bootstrap = env
        .kube
        .get(secrets, "astronomer-bootstrap")
        .expect("bootstrap secret");
    use base64::Engine as _;
    let connection = base64::engine::general_purpose::STANDARD
        .decode(bootstrap["data"]["connection"].as_str().unwrap())
        .unwrap();
    let connection = String::from_utf8(connection).unwrap();
    let endpoint = outputs["database"]["endpoint"].as_str().unwrap();
    assert_eq!(
        connection,
        format!("postgres://liftoff_admin:{password}@{endpoint}:5432")
    );
    for name in ["astronomer-tls", "private-root-ca"] {
        assert!(env.kube.get(secrets, name).is_some(), "{name}");
    }
    assert_eq!(env.helm.upgrades().len(), 1);
    let (values, _, _) = env.helm.values();
    assert!(values.contains("baseDomain: fresh.example.com"), "{values}");
    assert!(!text(&out).contains(&password));
    // The sandbox's generated certificate is kept, its key 0600.
    let key = env.state_dir().join("fresh.sandbox-tls.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A second plan changes nothing, in the cloud or in the cluster.
    let plan = env.liftoff(&["plan", "--output", "json"], &[]).await;
    assert!(plan.status.success(), "{}", text(&plan));
    let plan: Value = super::last_json(&plan.stdout);
    let changes = plan["changes"].as_array().unwrap();
    let busy: Vec<String> = changes
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| format!("{} {} {}", c["address"], c["action"], c["reason"]))
        .collect();
    assert!(busy.is_empty(), "{busy:#?}");
    assert!(changes.len() > 20);

    // `status` prints the same outputs without calling AWS.
    let before = env.proxy.calls().len();
    let status = env.liftoff(&["status"], &[]).await;
    assert!(status.status.success(), "{}", text(&status));
    let s = String::from_utf8_lossy(&status.stdout);
    assert!(
        s.contains("NAT public IPs") && s.contains(vpc_id) && s.contains("fresh.db-password"),
        "{s}"
    );
    let status = env.liftoff(&["status", "--output", "json"], &[]).await;
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["outputs"]["aws"], *outputs);
    assert_eq!(env.proxy.calls().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_right_after_each_create_is_recovered_without_duplicates() {
    let env = Env::start(vec![]).await;
    env.write_spec(&sandbox_spec("crashy", "per-zone"));
    for address in [
        "aws.vpc",
        // In the order one-at-a-time apply makes them: the launch template
        // has no dependencies, the cluster waits for its own group only,
        // the database for its group's chain.
        "aws.launch_template[platform]",
        "aws.eks_cluster",
        "aws.nat[a]",
        "aws.database",
        "aws.eks_nodegroup[platform]",
    ] {
        let fault = format!("crash-after-create:{address}");
        // One change at a time, so the crash hits before later creates run.
        let out = env
            .liftoff(
                &["install", "--yes", "--parallelism", "1"],
                &[("LIFTOFF_FAULT", &fault)],
            )
            .await;
        assert!(
            !out.status.success(),
            "the injected crash at {address} did not happen: {}",
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("fault injected"),
            "{}",
            text(&out)
        );
    }
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let sdk = env.sdk().await;
    let counts = tagged_ec2(&sdk, "crashy").await;
    assert_eq!(
        (
            counts["vpc"],
            counts["nat"],
            counts["eip"],
            counts["subnet"],
            counts["launch_template"]
        ),
        (1, 2, 2, 6, 1),
        "{counts:?}"
    );
    assert_eq!(other_resources(&sdk, "crashy").await, (1, 1, 1, 2));
    let plan = env.liftoff(&["plan", "--output", "json"], &[]).await;
    let plan: Value = super::last_json(&plan.stdout);
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "no-op"),
        "{plan:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_stopped_while_waiting_resumes_the_wait_on_rerun() {
    let env = Env::start(vec![]).await;
    env.write_spec(&sandbox_spec("resume", "single"));
    let fault = [("LIFTOFF_FAULT", "crash-after-create:aws.database")];
    let out = env
        .liftoff(&["install", "--yes", "--parallelism", "1"], &fault)
        .await;
    assert!(!out.status.success(), "{}", text(&out));
    // The database is still being created when the rerun looks at it.
    let creating = Fault::Rewrite(
        "<DBInstanceStatus>available</DBInstanceStatus>",
        "<DBInstanceStatus>creating</DBInstanceStatus>",
    );
    let env = env
        .with_rules(vec![rule("DescribeDBInstances", 0, 2, creating)])
        .await;
    let out = env
        .liftoff(&["install", "--yes", "--output", "json"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let events = json_lines(&out.stderr);
    let waited = events.iter().any(|e| {
        e["event"] == "progress"
            && e["address"] == "aws.database"
            && e["message"].as_str().unwrap().contains("creating")
    });
    assert!(waited, "{}", text(&out));
    let state: Value =
        serde_json::from_str(&read(&env.state_dir().join("resume.state.json"))).unwrap();
    let db = &state["resources"]["aws.database"];
    assert_eq!(db["status"], "ready");
    assert!(
        db["outputs"]["endpoint"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{db:#}"
    );
    let plan = env.liftoff(&["plan", "--output", "json"], &[]).await;
    let plan = super::last_json(&plan.stdout);
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "no-op"),
        "{plan:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn install_asks_unless_given_a_saved_plan_which_plan_output_json_makes() {
    let env = Env::start(vec![]).await;
    env.write_spec(&sandbox_spec("unasked", "single"));
    // No terminal on stdin, no --yes: nothing is created.
    let out = env.liftoff(&["install", "--phase", "cloud"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("install needs confirmation"),
        "{}",
        text(&out)
    );
    assert!(stderr.contains("--yes"), "{}", text(&out));
    let sdk = env.sdk().await;
    let counts = tagged_ec2(&sdk, "unasked").await;
    assert!(counts.values().all(|&n| n == 0), "{counts:?}");
    // The plan header names who liftoff acts as (moto's account).
    let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        first.starts_with("Acting as AWS account 123456789012 as arn:aws:")
            && first.ends_with("in us-east-1."),
        "{}",
        text(&out)
    );
    // `plan --output json > plan.json` is one document, a saved plan that
    // installs without a prompt.
    let out = env
        .liftoff(&["plan", "--phase", "cloud", "--output", "json"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let plan_file = env.dir.path().join("plan.json");
    std::fs::write(&plan_file, &out.stdout).unwrap();
    let plan_path = plan_file.to_str().unwrap();
    let out = env
        .liftoff(&["install", "--phase", "cloud", plan_path], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(tagged_ec2(&sdk, "unasked").await["vpc"], 1);
}
