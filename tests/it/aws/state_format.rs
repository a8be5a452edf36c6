//! A state file written by an older liftoff for a whole AWS install (cloud
//! and cluster phases): it loads, is upgraded, and plans no change but
//! adopting what kinds added since made (this run's install did). The
//! committed file's resource ids are moto's from when it was made and its
//! folder a temporary one; both are swapped for this run's (they are the
//! environment's, not the format's), every other byte is as that liftoff
//! wrote it.

use serde_json::Value;

use super::{Env, last_json, read, sandbox_spec, text};

/// Format 1 (liftoff 0.1.0), after `liftoff install` of
/// `sandbox_spec("legacy", "single")`.
const V1_AWS: &str = include_str!("../../fixtures/state/v1-aws.state.json");

#[tokio::test(flavor = "multi_thread")]
async fn a_format_1_state_file_of_an_aws_install_plans_no_change() {
    let env = Env::start(vec![]).await;
    env.write_spec(&sandbox_spec("legacy", "single"));
    let out = env.liftoff(&["install", "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let path = env.state_dir().join("legacy.state.json");
    let now: Value = serde_json::from_str(&read(&path)).unwrap();
    if std::env::var_os("LIFTOFF_PRINT_STATE").is_some() {
        println!("{}", read(&path));
    }

    let old: Value = serde_json::from_str(V1_AWS).unwrap();
    assert_eq!(old["format"], 1);
    let mut text_v1 = V1_AWS.to_string();
    for (address, entry) in old["resources"].as_object().unwrap() {
        let then = entry["id"].as_str().unwrap();
        let current = now["resources"][address]["id"].as_str().unwrap_or_else(|| {
            panic!("{address} of the format-1 state is gone: add an upgrade step")
        });
        if then != current {
            text_v1 = text_v1.replace(then, current);
        }
    }
    // So is the folder the state was kept in (where the password file is).
    let password_file = old["resources"]["aws.database"]["outputs"]["passwordFile"]
        .as_str()
        .unwrap();
    let then_dir = std::path::Path::new(password_file).parent().unwrap();
    text_v1 = text_v1.replace(
        then_dir.to_str().unwrap(),
        env.state_dir().to_str().unwrap(),
    );
    std::fs::write(&path, &text_v1).unwrap();

    let plan = env.liftoff(&["plan", "--output", "json"], &[]).await;
    assert!(plan.status.success(), "{}", text(&plan));
    let plan: Value = last_json(&plan.stdout);
    let changes = plan["changes"].as_array().unwrap();
    // Resource kinds added since are adopted (found, nothing made): the
    // database's rule admitting the cluster's group, once part of the
    // cluster, and the node group's launch template (that liftoff made
    // none; this run's install did).
    let added = |c: &&Value| {
        c["action"] == "adopt"
            && (c["address"] == "aws.database_access"
                || c["address"] == "aws.launch_template[platform]")
    };
    let busy: Vec<String> = changes
        .iter()
        .filter(|c| c["action"] != "no-op" && !added(c))
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["address"], c["action"], c["reason"], c["fields"]
            )
        })
        .collect();
    assert!(busy.is_empty(), "spurious changes: {busy:#?}");
    assert_eq!(
        changes.len(),
        old["resources"].as_object().unwrap().len() + changes.iter().filter(added).count()
    );
}
