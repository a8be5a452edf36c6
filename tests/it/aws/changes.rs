//! Changes on an installed environment: a new Kubernetes version, or new
//! instance types of a node group that has several (or was made without a
//! launch template), are refused by `plan` and `install` with the reason
//! and a hint, and nothing changes; node group sizes, the database class,
//! and a node group's instance type and disk (a new launch template version
//! the group moves to) change in place.

use super::{Env, read, sandbox_spec, tagged_ec2, text};
use crate::support::proxy::{Fault, Rule};

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_changes_are_refused_by_the_plan_and_change_nothing() {
    let env = Env::start(vec![]).await;
    let spec = sandbox_spec("steady", "single");
    env.write_spec(&spec);
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let state_file = env.state_dir().join("steady.state.json");
    let installed = read(&state_file);

    for (change, field, reason) in [
        (
            "cluster:\n  kubernetesVersion: \"1.34\"\n",
            "aws.eks_cluster: version \"1.33\" -> \"1.34\"",
            "the Kubernetes version of the EKS cluster changes only through `liftoff upgrade --kubernetes`",
        ),
        (
            "cluster:\n  nodeGroups:\n    - {name: platform, instanceTypes: [m6i.2xlarge, m5.2xlarge], min: 2, max: 3, desired: 2}\n",
            "aws.eks_nodegroup[platform]: instanceTypes [\"m6i.xlarge\"] -> [\"m6i.2xlarge\",\"m5.2xlarge\"]",
            "a node group with several instance types cannot change them",
        ),
    ] {
        env.write_spec(&format!("{spec}{change}"));
        for command in ["plan", "install"] {
            let out = env.liftoff(&[command], &[]).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{}", text(&out));
            assert!(stderr.contains(field), "{}", text(&out));
            assert!(stderr.contains(reason), "{}", text(&out));
            assert!(stderr.contains("hint: "), "{}", text(&out));
            assert!(
                !stderr.contains("Applying") && out.stdout.is_empty(),
                "{}",
                text(&out)
            );
        }
        assert_eq!(read(&state_file), installed, "the state changed");
    }

    // Back to the installed spec: nothing to do.
    env.write_spec(&spec);
    let out = env.liftoff(&["plan"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No changes"),
        "{}",
        text(&out)
    );
}

/// Changes made in place through the same plan and apply: a node group
/// resized and the database moved to another instance class are planned as
/// `~ update`, applied with UpdateNodegroupConfig and ModifyDBInstance, and
/// a plan afterwards has nothing to do.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_group_resize_and_a_database_class_change_are_applied_in_place() {
    let env = Env::start(vec![]).await;
    let spec = sandbox_spec("grow", "single");
    env.write_spec(&spec);
    let out = env
        .liftoff(&["install", "--yes", "--phase", "cloud"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    env.write_spec(&format!(
        "{spec}database:\n  instanceClass: db.t4g.large\ncluster:\n  nodeGroups:\n    - {{name: platform, instanceTypes: [m6i.xlarge], min: 3, max: 5, desired: 4}}\n"
    ));
    let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let plan = String::from_utf8_lossy(&out.stdout);
    for line in [
        "~ aws.eks_nodegroup[platform]",
        "~ aws.database",
        "desired: 2 -> 4",
        "instanceClass: db.t4g.medium -> db.t4g.large",
    ] {
        assert!(plan.contains(line), "{line} in:\n{plan}");
    }
    assert!(!plan.contains("-/+"), "nothing is replaced:\n{plan}");
    env.proxy.clear_calls();
    let out = env
        .liftoff(&["install", "--yes", "--phase", "cloud"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let calls = env.proxy.calls();
    assert!(
        calls.iter().any(|c| c.contains("/update-config")),
        "UpdateNodegroupConfig: {calls:?}"
    );
    assert!(calls.iter().any(|c| c == "ModifyDBInstance"), "{calls:?}");
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("Delete") || c.starts_with("DELETE")),
        "{calls:?}"
    );
    let sdk = env.sdk().await;
    let eks = aws_sdk_eks::Client::new(&sdk);
    let groups = eks
        .list_nodegroups()
        .cluster_name("grow")
        .send()
        .await
        .unwrap();
    let group = eks
        .describe_nodegroup()
        .cluster_name("grow")
        .nodegroup_name(&groups.nodegroups()[0])
        .send()
        .await
        .unwrap();
    let scaling = group.nodegroup().unwrap().scaling_config().unwrap();
    assert_eq!(
        (
            scaling.min_size(),
            scaling.max_size(),
            scaling.desired_size()
        ),
        (Some(3), Some(5), Some(4))
    );
    let db = aws_sdk_rds::Client::new(&sdk)
        .describe_db_instances()
        .db_instance_identifier("grow-db")
        .send()
        .await
        .unwrap();
    assert_eq!(
        db.db_instances()[0].db_instance_class(),
        Some("db.t4g.large")
    );
    let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No changes"),
        "{}",
        text(&out)
    );
}

fn rule(call: &str, what: Fault) -> Rule {
    Rule {
        call: call.into(),
        after: 0,
        times: 1000,
        what,
    }
}

/// moto has no UpdateNodegroupVersion or DescribeUpdate: the proxy answers
/// them as EKS does, and (`moved_to`) has DescribeNodegroup report the
/// launch template version the group was moved to.
fn eks_updates(moved_to: Option<&'static str>) -> Vec<Rule> {
    let mut rules = vec![
        rule(
            "POST /clusters/swap/node-groups/platform/update-version",
            Fault::Answer(
                200,
                r#"{"update": {"id": "u-template", "status": "InProgress", "type": "VersionUpdate"}}"#,
            ),
        ),
        rule(
            "GET /clusters/swap/updates/u-template",
            Fault::Answer(
                200,
                r#"{"update": {"id": "u-template", "status": "Successful", "type": "VersionUpdate"}}"#,
            ),
        ),
    ];
    if let Some(to) = moved_to {
        rules.push(rule(
            "GET /clusters/swap/node-groups/platform",
            Fault::Rewrite("\"version\": \"1\"", to),
        ));
    }
    rules
}

/// The launch template `swap`'s node group uses: its id, latest version,
/// instance type and root volume size, as moto has them.
async fn template(env: &Env) -> (String, i64, Option<String>, Option<i32>) {
    let ec2 = aws_sdk_ec2::Client::new(&env.sdk().await);
    let out = ec2
        .describe_launch_template_versions()
        .launch_template_name("swap-platform")
        .versions("$Latest")
        .send()
        .await
        .unwrap();
    let v = &out.launch_template_versions()[0];
    let data = v.launch_template_data().unwrap();
    let root = data
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name() == Some("/dev/xvda"))
        .expect("a root volume");
    let ebs = root.ebs().unwrap();
    assert_eq!(
        (ebs.volume_type().map(|t| t.as_str()), ebs.encrypted()),
        (Some("gp3"), Some(true))
    );
    (
        v.launch_template_id().unwrap().to_string(),
        v.version_number().unwrap(),
        data.instance_type().map(|t| t.as_str().to_string()),
        ebs.volume_size(),
    )
}

/// The request body of the one call named `name` (so far, or since the
/// calls were cleared).
fn body(env: &Env, name: &str) -> String {
    let found: Vec<String> = env
        .proxy
        .requests()
        .into_iter()
        .filter(|(n, _)| n == name)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(found.len(), 1, "{name}: {:#?}", env.proxy.calls());
    found[0].clone()
}

/// Changes the node group to `group` (a flow mapping), plans and applies
/// it: the launch template gets a new version, then the node group moves
/// to it with UpdateNodegroupVersion (waited for through DescribeUpdate),
/// both planned as `~ update`. Returns the template version moved to.
async fn change_in_place(env: &Env, spec: &str, group: &str, fields: &[&str]) -> i64 {
    env.write_spec(&format!("{spec}cluster:\n  nodeGroups:\n    - {group}\n"));
    let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let plan = String::from_utf8_lossy(&out.stdout);
    for line in [
        "~ aws.launch_template[platform]",
        "~ aws.eks_nodegroup[platform]",
    ]
    .iter()
    .chain(fields)
    {
        assert!(plan.contains(line), "{line} in:\n{plan}");
    }
    assert!(
        !plan.contains("-/+") && !plan.contains("+ aws."),
        "in place:\n{plan}"
    );
    env.proxy.clear_calls();
    let out = env
        .liftoff(&["install", "--yes", "--phase", "cloud"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let calls = env.proxy.calls();
    let at = |p: &str| {
        calls
            .iter()
            .position(|c| c.starts_with(p))
            .unwrap_or_else(|| panic!("no {p}: {calls:#?}"))
    };
    let version = at("CreateLaunchTemplateVersion");
    let moved = at("POST /clusters/swap/node-groups/platform/update-version");
    let waited = at("GET /clusters/swap/updates/u-template");
    assert!(version < moved && moved < waited, "{calls:#?}");
    assert!(
        !calls.iter().any(|c| c.starts_with("Delete")
            || c.starts_with("DELETE")
            || (c.starts_with("Create") && c != "CreateLaunchTemplateVersion")),
        "nothing made or deleted: {calls:#?}"
    );
    let (id, latest, ..) = template(env).await;
    let request: serde_json::Value = serde_json::from_str(&body(
        env,
        "POST /clusters/swap/node-groups/platform/update-version",
    ))
    .unwrap();
    assert_eq!(
        request["launchTemplate"],
        serde_json::json!({"id": id, "version": latest.to_string()}),
        "the node group moves to the new version: {request}"
    );
    assert!(request.get("version").is_none(), "{request}");
    latest
}

/// Issue 15: a node group's instance type and disk size change in place;
/// a move that fails after the new template version is finished by a rerun;
/// destroy leaves no template.
#[tokio::test(flavor = "multi_thread")]
async fn instance_type_and_disk_changes_move_the_node_group_to_a_new_launch_template_version() {
    let env = Env::start(eks_updates(None)).await;
    let spec = sandbox_spec("swap", "single");
    env.write_spec(&spec);
    let out = env
        .liftoff(&["install", "--yes", "--phase", "cloud"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    // Created with the template; the instance type and disk are its, not
    // the node group's (EKS refuses a disk size with a template).
    let (id, version, instance_type, disk) = template(&env).await;
    assert_eq!(
        (version, instance_type.as_deref(), disk),
        (1, Some("m6i.xlarge"), Some(100))
    );
    let create: serde_json::Value =
        serde_json::from_str(&body(&env, "POST /clusters/swap/node-groups")).unwrap();
    assert_eq!(
        create["launchTemplate"],
        serde_json::json!({"id": id, "version": "1"}),
        "{create}"
    );
    assert!(
        create.get("diskSize").is_none() && create.get("instanceTypes").is_none(),
        "{create}"
    );
    let created = body(&env, "CreateLaunchTemplate");
    for part in [
        "ClientToken=",
        "TagSpecification.1.ResourceType=launch-template",
        "liftoff.dev%2Faddress",
    ] {
        assert!(created.contains(part), "{part} in {created}");
    }

    // A new instance type.
    let bigger = "{name: platform, instanceTypes: [m6i.2xlarge], min: 2, max: 3, desired: 2}";
    let moved = change_in_place(
        &env,
        &spec,
        bigger,
        &["instanceType: m6i.xlarge -> m6i.2xlarge"],
    )
    .await;
    assert_eq!(moved, 2);
    assert_eq!(template(&env).await.2.as_deref(), Some("m6i.2xlarge"));
    // EKS now reports the group on version 2: nothing left to do.
    let env = env
        .with_rules(eks_updates(Some("\"version\": \"2\"")))
        .await;
    let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No changes"),
        "{}",
        text(&out)
    );

    // A bigger disk, likewise.
    let disk =
        "{name: platform, instanceTypes: [m6i.2xlarge], min: 2, max: 3, desired: 2, diskGb: 200}";
    let moved = change_in_place(&env, &spec, disk, &["diskGb: 100 -> 200"]).await;
    assert_eq!(moved, 3);
    assert_eq!(template(&env).await.3, Some(200));
    let env = env
        .with_rules(eks_updates(Some("\"version\": \"3\"")))
        .await;
    let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No changes"),
        "{}",
        text(&out)
    );

    // Back to the first instance type, the move failing once after the new
    // template version was made: the rerun moves the node group to that
    // version without making another.
    let mut rules = vec![Rule {
        call: "POST /clusters/swap/node-groups/platform/update-version".into(),
        after: 0,
        times: 1,
        what: Fault::JsonError("InvalidRequestException", "injected by the test"),
    }];
    rules.extend(eks_updates(Some("\"version\": \"3\"")));
    let env = env.with_rules(rules).await;
    env.write_spec(&format!(
        "{spec}cluster:\n  nodeGroups:\n    - {{name: platform, instanceTypes: [m6i.xlarge], min: 2, max: 3, desired: 2, diskGb: 200}}\n"
    ));
    let out = env
        .liftoff(&["install", "--yes", "--phase", "cloud"], &[])
        .await;
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(template(&env).await.1, 4);
    let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains("~ aws.eks_nodegroup[platform]")
            && !plan.contains("~ aws.launch_template[platform]"),
        "{}",
        text(&out)
    );
    env.proxy.clear_calls();
    let out = env
        .liftoff(&["install", "--yes", "--phase", "cloud"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let calls = env.proxy.calls();
    assert!(
        !calls.iter().any(|c| c.starts_with("CreateLaunchTemplate")),
        "{calls:#?}"
    );
    let request: serde_json::Value = serde_json::from_str(&body(
        &env,
        "POST /clusters/swap/node-groups/platform/update-version",
    ))
    .unwrap();
    assert_eq!(request["launchTemplate"]["version"], "4", "{request}");

    // Destroy leaves no launch template.
    let out = env
        .liftoff(&["destroy", "--yes", "--skip-final-snapshot"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let counts = tagged_ec2(&env.sdk().await, "swap").await;
    assert_eq!(counts["launch_template"], 0, "{counts:?}");
}

/// A node group an earlier liftoff made (no launch template) is kept as it
/// is; a new instance type or disk for it is refused with the way out.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_group_without_a_launch_template_is_kept_and_refuses_new_instance_types() {
    let env = Env::start(vec![]).await;
    let spec = sandbox_spec("legacy", "single");
    env.write_spec(&spec);
    let out = env
        .liftoff(&["install", "--yes", "--phase", "cloud"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    // The node group as an earlier liftoff made it: the same name, tags and
    // settings, its instance types and disk its own.
    let eks = aws_sdk_eks::Client::new(&env.sdk().await);
    let group = eks
        .describe_nodegroup()
        .cluster_name("legacy")
        .nodegroup_name("platform")
        .send()
        .await
        .unwrap()
        .nodegroup()
        .unwrap()
        .clone();
    assert!(group.launch_template().is_some());
    eks.delete_nodegroup()
        .cluster_name("legacy")
        .nodegroup_name("platform")
        .send()
        .await
        .unwrap();
    eks.create_nodegroup()
        .cluster_name("legacy")
        .nodegroup_name("platform")
        .node_role(group.node_role().unwrap())
        .set_subnets(Some(group.subnets().to_vec()))
        .set_scaling_config(group.scaling_config().cloned())
        .instance_types("m6i.xlarge")
        .disk_size(100)
        .set_version(group.version().map(String::from))
        .set_tags(group.tags().cloned())
        .send()
        .await
        .unwrap();
    let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No changes"),
        "adopted as it is: {}",
        text(&out)
    );
    for group in [
        "{name: platform, instanceTypes: [m6i.2xlarge], min: 2, max: 3, desired: 2}",
        "{name: platform, instanceTypes: [m6i.xlarge], min: 2, max: 3, desired: 2, diskGb: 200}",
    ] {
        env.write_spec(&format!("{spec}cluster:\n  nodeGroups:\n    - {group}\n"));
        let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert!(
            stderr.contains("made without a launch template (by an earlier liftoff) cannot change")
                && stderr
                    .contains("hint: add a node group with the new settings under another name"),
            "{}",
            text(&out)
        );
    }
}
