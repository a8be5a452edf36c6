//! `liftoff upgrade --kubernetes` on EKS against moto (which has no EKS
//! version updates: the proxy answers UpdateClusterVersion,
//! UpdateNodegroupVersion and DescribeUpdate as EKS does): refused while the
//! installed platform is not tested with the version or an object uses an
//! API version it removes; otherwise the control plane is upgraded one
//! minor at a time, then the node groups, and a plan afterwards (EKS now
//! reporting the new version) has nothing to do.

use super::{Env, sandbox_spec, text};
use crate::support::proxy::{Fault, Rule};

fn answer(call: &str, json: &'static str) -> Rule {
    Rule {
        call: call.into(),
        after: 0,
        times: 1000,
        what: Fault::Answer(200, json),
    }
}

fn rewrite(call: &str, from: &'static str, to: &'static str) -> Rule {
    Rule {
        call: call.into(),
        after: 0,
        times: 1000,
        what: Fault::Rewrite(from, to),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_control_plane_then_the_node_groups_one_minor_at_a_time() {
    let env = Env::start(vec![
        answer(
            "POST /clusters/kube/updates",
            r#"{"update": {"id": "u-cluster", "status": "InProgress", "type": "VersionUpdate"}}"#,
        ),
        answer(
            "POST /clusters/kube/node-groups/",
            r#"{"update": {"id": "u-nodes", "status": "InProgress", "type": "VersionUpdate"}}"#,
        ),
        answer(
            "GET /clusters/kube/updates/",
            r#"{"update": {"id": "u", "status": "Successful", "type": "VersionUpdate"}}"#,
        ),
    ])
    .await;
    let spec = sandbox_spec("kube", "single");
    env.write_spec(&spec);
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));

    // A plain plan refuses the version change and names the command.
    let newer = |v: &str| format!("{spec}cluster:\n  kubernetesVersion: \"{v}\"\n");
    env.write_spec(&newer("1.34"));
    let out = env.liftoff(&["plan"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("liftoff upgrade --kubernetes"),
        "{}",
        text(&out)
    );
    // The spec must say the version asked for.
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.35", "--yes"], &[])
        .await;
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("set cluster.kubernetesVersion: \"1.35\""),
        "{}",
        text(&out)
    );
    // The platform (chart 0.37.7) is tested up to 1.34.
    env.write_spec(&newer("1.35"));
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.35", "--yes"], &[])
        .await;
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "the installed platform (chart 0.37.7) is tested with Kubernetes 1.31–1.34, not 1.35"
        ),
        "{}",
        text(&out)
    );
    // An object of the release on an API version 1.34 no longer serves.
    let installed = env.helm.path().join("installed");
    let good = std::fs::read_to_string(&installed).unwrap();
    let manifest = "---\\napiVersion: policy/v1beta1\\nkind: PodDisruptionBudget\\nmetadata:\\n  name: astronomer-houston\\n  namespace: astronomer\\n";
    std::fs::write(
        &installed,
        good.replace("\"manifest\":\"\"", &format!("\"manifest\":\"{manifest}\"")),
    )
    .unwrap();
    env.write_spec(&newer("1.34"));
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.34", "--yes"], &[])
        .await;
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "PodDisruptionBudget astronomer/astronomer-houston uses policy/v1beta1, removed in Kubernetes 1.25 (deployed release)"
        ),
        "{}",
        text(&out)
    );
    std::fs::write(&installed, good).unwrap();

    // The upgrade: the control plane first, then the node group.
    env.proxy.clear_calls();
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.34", "--yes"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let calls = env.proxy.calls();
    let at = |p: &str| calls.iter().position(|c| c.starts_with(p));
    let cluster = at("POST /clusters/kube/updates").expect("UpdateClusterVersion");
    let nodes = at("POST /clusters/kube/node-groups/").expect("UpdateNodegroupVersion");
    assert!(cluster < nodes, "{calls:?}");
    assert!(
        calls[cluster + 1..nodes]
            .iter()
            .any(|c| c.starts_with("GET /clusters/kube/updates/")),
        "the control plane's update is waited for before the nodes: {calls:?}"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("POST /clusters/kube/updates"))
            .count(),
        1,
        "one minor: {calls:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("~ aws.eks_cluster"), "{stdout}");
    assert!(stdout.contains("upgraded to 1.34"), "{stdout}");
    // EKS now reports 1.34: nothing left to do.
    env.proxy.add_rule(rewrite(
        "GET /clusters/kube",
        "\"version\": \"1.33\"",
        "\"version\": \"1.34\"",
    ));
    let out = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No changes"),
        "{}",
        text(&out)
    );
    let out = env.liftoff(&["status"], &[]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Last operation: upgrade-kubernetes succeeded"),
        "{}",
        text(&out)
    );
}
