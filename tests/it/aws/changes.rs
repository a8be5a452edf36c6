//! Changes on an installed environment: a new Kubernetes version or new
//! node group instance types are refused by `plan` and `install` with the
//! reason and a hint, and nothing changes; node group sizes and the
//! database class change in place.

use super::{Env, read, sandbox_spec, text};

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
            "cluster:\n  nodeGroups:\n    - {name: platform, instanceTypes: [m6i.2xlarge], min: 2, max: 3, desired: 2}\n",
            "aws.eks_nodegroup[platform]: instanceTypes [\"m6i.xlarge\"] -> [\"m6i.2xlarge\"]",
            "the instance types and disk size of a managed node group cannot change",
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
