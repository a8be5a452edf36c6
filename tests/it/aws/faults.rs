//! What AWS does and moto does not, played by the proxy: an idempotency
//! token seen before replays its first answer; a call can be applied and
//! still answered with a 500. Install and destroy converge with no duplicate
//! and no leak.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Env, other_resources, read, sandbox_spec, tagged_ec2, text};
use crate::support::proxy::{Fault, Rule};

/// The idempotency tokens of every entry in the installation's state file.
fn recorded_tokens(env: &Env, name: &str) -> Vec<String> {
    let state: Value =
        serde_json::from_str(&read(&env.state_dir().join(format!("{name}.state.json")))).unwrap();
    state["resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["token"].as_str().unwrap().to_string())
        .collect()
}

/// Removes the automated snapshots moto keeps for a deleted database
/// (`delete_automated_backups(false)`): moto names them by the minute and
/// refuses to create the same database again within that minute, which AWS
/// does not.
pub(super) async fn forget_kept_backups(sdk: &aws_config::SdkConfig, db: &str) {
    let rds = aws_sdk_rds::Client::new(sdk);
    let out = rds
        .describe_db_snapshots()
        .db_instance_identifier(db)
        .send()
        .await
        .unwrap();
    for snapshot in out.db_snapshots() {
        if let Some(id) = snapshot.db_snapshot_identifier() {
            rds.delete_db_snapshot()
                .db_snapshot_identifier(id)
                .send()
                .await
                .unwrap();
        }
    }
}

/// Defect 1 of issue 10: destroy removes the state, so a token derived from
/// the name, address and state serial came back on the next install and AWS
/// replayed the previous (deleted) NAT gateway, route table and cluster.
#[tokio::test(flavor = "multi_thread")]
async fn install_destroy_install_again_under_the_same_name_converges_twice() {
    let env = Env::start(vec![]).await;
    env.write_spec(&sandbox_spec("again", "single"));
    let sdk = env.sdk().await;
    let mut seen = BTreeSet::new();
    for round in 1..=2 {
        for life in ["first", "second"] {
            let out = env.liftoff(&["install", "--yes"], &[]).await;
            assert!(
                out.status.success(),
                "round {round}, {life} install: {}",
                text(&out)
            );
            for token in recorded_tokens(&env, "again") {
                assert!(
                    seen.insert(token.clone()),
                    "round {round}, {life} install reused token {token}"
                );
            }
            let out = env
                .liftoff(&["destroy", "--yes", "--skip-final-snapshot"], &[])
                .await;
            assert!(
                out.status.success(),
                "round {round}, {life} destroy: {}",
                text(&out)
            );
            let counts = tagged_ec2(&sdk, "again").await;
            assert!(
                counts.values().all(|n| *n == 0),
                "round {round}, {life} destroy left {counts:?}"
            );
            assert_eq!(other_resources(&sdk, "again").await, (0, 0, 0, 0));
            forget_kept_backups(&sdk, "again-db").await;
        }
    }
    assert!(
        env.proxy.replayed().is_empty(),
        "{:?}",
        env.proxy.replayed()
    );
}

fn applied_then_500(call: &str) -> Rule {
    Rule {
        call: call.into(),
        after: 0,
        times: 1,
        what: Fault::AppliedThen500,
    }
}

/// Defect 3 of issue 10: AWS applies a call and still answers 500; the SDK
/// retries it and gets "already done" (a NotFound on a delete sub-step, a
/// conflict on a create). That is success, in one run.
#[tokio::test(flavor = "multi_thread")]
async fn a_retried_sub_step_that_aws_had_applied_is_success() {
    let env = Env::start(
        [
            "CreateSubnet",
            "AssociateRouteTable",
            "CreateRoute",
            "AuthorizeSecurityGroupIngress",
        ]
        .map(applied_then_500)
        .to_vec(),
    )
    .await;
    env.write_spec(&sandbox_spec("retried", "single"));
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let applied = env.proxy.applied();
    assert_eq!(applied.len(), 4, "{applied:?}");
    let sdk = env.sdk().await;
    assert_eq!(tagged_ec2(&sdk, "retried").await["subnet"], 6);

    let env = env
        .with_rules(
            [
                "DetachRolePolicy",
                "DisassociateRouteTable",
                "RevokeSecurityGroupIngress",
            ]
            .map(applied_then_500)
            .to_vec(),
        )
        .await;
    let out = env
        .liftoff(&["destroy", "--yes", "--skip-final-snapshot"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let applied = env.proxy.applied();
    assert_eq!(applied.len(), 3, "{applied:?}");
    let counts = tagged_ec2(&sdk, "retried").await;
    assert!(counts.values().all(|n| *n == 0), "left behind: {counts:?}");
    assert_eq!(other_resources(&sdk, "retried").await, (0, 0, 0, 0));
}
