//! State files written by an older liftoff: a committed state file of every
//! earlier format loads, is upgraded, and plans no change against the
//! installation it describes.

use super::harness::*;

/// Format 1 (liftoff 0.1.0), after a cluster-phase install of the harness's
/// spec: namespace, the four secrets and the Helm release.
const V1_CLUSTER: &str = include_str!("../../fixtures/state/v1-cluster.state.json");

#[tokio::test]
async fn a_format_1_state_file_plans_no_change() {
    let (kube, helm) = world("31", "v3.16.2").await;
    let spec = spec(|_| {});
    let drivers = drivers(driver(&spec, &kube, &helm, inputs()));
    // The cluster as the older liftoff left it.
    let scratch = tempfile::tempdir().unwrap();
    let first = run(&spec, &drivers, scratch.path()).await;
    assert_eq!(first.summary.failed, 0, "{:?}", failures(&first.events));
    if std::env::var_os("LIFTOFF_PRINT_STATE").is_some() {
        println!(
            "{}",
            std::fs::read_to_string(scratch.path().join("acme.state.json")).unwrap()
        );
    }

    // Its state file, as that liftoff wrote it.
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("acme.state.json"), V1_CLUSTER).unwrap();
    let writes = kube.writes().len();
    let again = run(&spec, &drivers, state.path()).await;
    let changes: Vec<String> = again
        .plan
        .changes
        .iter()
        .filter(|c| c.action != liftoff::plan::Action::NoOp)
        .map(|c| format!("{:?} {} {:?}", c.action, c.address, c.fields))
        .collect();
    assert!(changes.is_empty(), "spurious changes: {changes:#?}");
    assert_eq!(
        kube.writes().len(),
        writes,
        "nothing written to the cluster"
    );
    let loaded = crate::support::open_store(state.path(), "acme");
    assert_eq!(loaded.snapshot().format, liftoff::plan::state::STATE_FORMAT);
    assert_eq!(loaded.snapshot().resources.len(), 6);
}
