//! Changes the plan refuses: on an installed environment, a new Kubernetes
//! version or new node group instance types are refused by `plan` and
//! `install` with the reason and a hint, and nothing changes.

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
            "upgrading the Kubernetes version of the EKS cluster is not supported yet",
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
