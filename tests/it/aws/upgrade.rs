//! `liftoff upgrade` against moto: the RDS snapshot is taken and waited
//! for (held `creating` by the proxy) before Helm is called, the order
//! asserted on one recorded call sequence (the fake helm marks its upgrade
//! in the proxy's log); a failing upgrade is rolled back and says where the
//! snapshot is.

use super::{Env, sandbox_spec, text};
use crate::support::proxy::{Fault, Rule};

#[tokio::test(flavor = "multi_thread")]
async fn the_database_snapshot_is_ready_before_helm_and_named_when_an_upgrade_fails() {
    let env = Env::start(vec![Rule {
        call: "DescribeDBSnapshots".into(),
        after: 0,
        times: 2,
        what: Fault::Rewrite("<Status>available</Status>", "<Status>creating</Status>"),
    }])
    .await;
    env.write_spec(&sandbox_spec("upg", "single"));
    let out = env
        .liftoff(&["install", "--yes", "--phase", "cloud"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    env.helm.install_release("astronomer", "0.37.7");
    env.proxy.clear_calls();
    let mark = env.proxy.url();
    let marked = [("LIFTOFF_TEST_MARK_URL", mark.as_str())];
    let out = env
        .liftoff(&["upgrade", "--to", "0.37.8", "--yes"], &marked)
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let calls = env.proxy.calls();
    let at = |name: &str| calls.iter().position(|c| c == name);
    let create = at("CreateDBSnapshot").expect("a snapshot was taken");
    let ready = calls
        .iter()
        .rposition(|c| c == "DescribeDBSnapshots")
        .expect("the snapshot was waited for");
    let helm = at("HelmUpgrade").expect("helm upgrade was called");
    assert!(create < ready && ready < helm, "{calls:?}");
    assert!(
        calls.iter().filter(|c| *c == "DescribeDBSnapshots").count() >= 3,
        "waited through `creating`: {calls:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Upgraded `upg` from 0.37.7 to 0.37.8"),
        "{stdout}"
    );
    assert!(
        stdout.contains("The database snapshot taken first: RDS snapshot upg-db-before-0-37-8-"),
        "{stdout}"
    );
    let snapshots = aws_sdk_rds::Client::new(&env.sdk().await)
        .describe_db_snapshots()
        .db_instance_identifier("upg-db")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = snapshots
        .db_snapshots()
        .iter()
        .filter_map(|s| s.db_snapshot_identifier())
        .collect();
    assert!(
        ids.iter().any(|i| i.starts_with("upg-db-before-0-37-8-")),
        "{ids:?}"
    );
    // helm: a plain upgrade with --reset-values, hooks on, the spec's
    // upgradeDeployments in the values.
    let upgrade = env
        .helm
        .upgrades()
        .into_iter()
        .find(|c| !c.contains("--install"))
        .unwrap();
    assert!(upgrade.starts_with("upgrade astronomer "), "{upgrade}");
    assert!(
        upgrade.contains("--reset-values") && upgrade.contains("--version 0.37.8"),
        "{upgrade}"
    );
    assert!(!upgrade.contains("--no-hooks"), "{upgrade}");
    let (values, mode, _) = env.helm.values();
    assert!(
        values.contains("upgradeDeployments:\n      enabled: true"),
        "{values}"
    );
    assert_eq!(mode, "600");

    // A failed upgrade: rolled back to the deployed revision, and the error
    // says where the snapshot is.
    env.helm.fail_with("Error: UPGRADE FAILED: pre-upgrade hooks failed: job upg-migrate failed: BackoffLimitExceeded");
    let out = env
        .liftoff(&["upgrade", "--to", "0.37.9", "--yes"], &marked)
        .await;
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the upgrade to chart 0.37.9 failed and was rolled back")
            && err.contains("is deployed on chart 0.37.8 again (revision 3)")
            && err.contains(
                "the database snapshot taken first is RDS snapshot upg-db-before-0-37-9-"
            ),
        "{err}"
    );
    assert!(
        err.contains("BackoffLimitExceeded"),
        "helm's message: {err}"
    );
    assert!(
        env.helm
            .calls()
            .iter()
            .any(|c| c.starts_with("rollback astronomer 2 ")),
        "{:?}",
        env.helm.calls()
    );
    let out = env.liftoff(&["status", "--output", "json"], &[]).await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let last = &doc["lastOperation"];
    assert_eq!(last["outcome"], "rolled-back", "{doc}");
    assert!(
        last["detail"]["snapshot"]["location"]
            .as_str()
            .unwrap()
            .contains("upg-db-before-0-37-9-"),
        "{doc}"
    );
}

/// Killed while its snapshot is being made, the upgrade is taken up again by
/// the next run as the same operation: the snapshot it began is waited for,
/// not taken a second time, and the upgrade completes.
#[tokio::test(flavor = "multi_thread")]
async fn killed_during_the_snapshot_the_rerun_waits_for_that_snapshot() {
    let env = Env::start(vec![Rule {
        call: "DescribeDBSnapshots".into(),
        after: 0,
        times: 40,
        what: Fault::Rewrite("<Status>available</Status>", "<Status>creating</Status>"),
    }])
    .await;
    env.write_spec(&sandbox_spec("resume", "single"));
    let out = env
        .liftoff(&["install", "--yes", "--phase", "cloud"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    env.helm.install_release("astronomer", "0.37.7");
    env.proxy.clear_calls();

    let mut child = env
        .command(&["upgrade", "--to", "0.37.8", "--yes"], &[])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Killed once the snapshot was asked for and seen `creating`.
    let seen = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        loop {
            let calls = env.proxy.calls();
            let made = calls.iter().position(|c| c == "CreateDBSnapshot");
            if made.is_some_and(|m| calls[m..].iter().any(|c| c == "DescribeDBSnapshots")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(seen.is_ok(), "no snapshot wait: {:?}", env.proxy.calls());
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(
        env.helm.upgrades().iter().all(|c| c.contains("--install")),
        "helm ran before the snapshot was ready: {:?}",
        env.helm.upgrades()
    );

    let out = env
        .liftoff(&["upgrade", "--to", "0.37.8", "--yes"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("begun by the interrupted run"),
        "{}",
        text(&out)
    );
    let snapshots = aws_sdk_rds::Client::new(&env.sdk().await)
        .describe_db_snapshots()
        .db_instance_identifier("resume-db")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = snapshots
        .db_snapshots()
        .iter()
        .filter_map(|s| s.db_snapshot_identifier())
        .filter(|i| i.starts_with("resume-db-before-0-37-8-"))
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let state = std::fs::read(env.state_dir().join("resume.state.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&state).unwrap();
    let upgrades: Vec<&serde_json::Value> = doc["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["command"] == "upgrade")
        .collect();
    assert_eq!(upgrades.len(), 1, "{doc}");
    assert_eq!(upgrades[0]["outcome"], "succeeded", "{doc}");
}
