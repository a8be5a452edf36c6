//! Upgrades on GCP against the loopback fake (`support::gcp_fake`), with
//! the new GKE cluster answering at a fake Kubernetes API and a recording
//! helm: `liftoff upgrade --kubernetes` (refused while the platform is not
//! tested with the version or the cluster's release channel does not offer
//! it; otherwise the control plane one minor at a time, then the node
//! pools, the order read from the fake's request log; a failed pool
//! upgrade named, its rerun upgrading only what is left), a node pool's
//! machine type and disk changed in place, and the Cloud SQL backup taken
//! and waited for before the platform's `helm upgrade` (once, also when the
//! upgrade is killed while it waits and taken up again).

use serde_json::Value;

use crate::gcp::{Env, PROJECT, position, text};
use crate::support::helm::FakeHelm;
use crate::support::kube::FakeKube;

/// A full install (cloud and cluster phase) of `name` on Kubernetes 1.`minor`
/// with the spec's `extra`; the fake GKE cluster answers at `kube`.
async fn installed(name: &str, minor: u32, extra: &str) -> (Env, FakeKube) {
    let mut env = Env::start(1).await;
    env.helm = Some(FakeHelm::new("v3.17.0"));
    let kube = FakeKube::start(&minor.to_string()).await;
    kube.ready_cluster("astronomer", "astronomer-nginx", "unused.example");
    kube.put(
        "/api/v1/namespaces/astronomer/services",
        serde_json::json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "astronomer-nginx", "namespace": "astronomer"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "34.120.0.5"}]}}}),
    );
    env.fake
        .serve_clusters_at(&kube.url, "", "adc-token-for-gke");
    env.write_spec(name, &cluster(minor, extra));
    let out = env.liftoff(&["install", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    (env, kube)
}

fn cluster(minor: u32, nodes: &str) -> String {
    let nodes = if nodes.is_empty() {
        "    - {name: platform, instanceTypes: [n2-standard-8], min: 1, max: 3, desired: 1}\n"
    } else {
        nodes
    };
    format!("cluster:\n  kubernetesVersion: \"1.{minor}\"\n  nodeGroups:\n{nodes}")
}

/// The addresses a cloud plan would change (not no-op).
async fn busy(env: &Env) -> Vec<String> {
    let plan = env
        .liftoff(&["plan", "--phase", "cloud", "--output", "json"])
        .await;
    assert!(plan.status.success(), "{}", text(&plan));
    let doc: Value = serde_json::from_slice(&plan.stdout).unwrap();
    doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| format!("{} {}", c["action"], c["address"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn gke_control_plane_one_minor_at_a_time_then_the_node_pools() {
    let (env, _kube) = installed("gkup", 32, "").await;
    let cluster_path = format!("projects/{PROJECT}/locations/us-central1/clusters/gkup");
    let pool_path = format!("{cluster_path}/nodePools/platform");
    assert_eq!(
        env.fake.get(&cluster_path).unwrap()["currentMasterVersion"],
        "1.32.5-gke.1200"
    );

    // A plain plan refuses the version change and names the command.
    env.write_spec("gkup", &cluster(34, ""));
    let out = env.liftoff(&["plan", "--phase", "cloud"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("liftoff upgrade --kubernetes"),
        "{}",
        text(&out)
    );
    // The installed platform (chart 0.37.7) is tested up to 1.34.
    env.write_spec("gkup", &cluster(35, ""));
    let before = env.fake.writes().len();
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.35", "--yes"])
        .await;
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "the installed platform (chart 0.37.7) is tested with Kubernetes 1.31–1.34, not 1.35"
        ),
        "{}",
        text(&out)
    );
    // The cluster's release channel (REGULAR) does not offer 1.34 yet.
    env.fake.offer_versions(2, &[31, 32, 33]);
    env.write_spec("gkup", &cluster(34, ""));
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.34", "--yes"])
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "GKE does not offer Kubernetes 1.34 in the REGULAR release channel in us-central1 (it offers 1.31, 1.32, 1.33)"
        ),
        "{}",
        text(&out)
    );
    assert_eq!(
        env.fake.writes().len(),
        before,
        "refused before anything changed: {:#?}",
        &env.fake.writes()[before..]
    );

    // Offered: master 1.33, master 1.34, then the node pool.
    env.fake.offer_versions(2, &[32, 33, 34, 35]);
    let start = env.fake.calls().len();
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.34", "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let calls = env.fake.calls()[start..].to_vec();
    let put_cluster = format!("PUT /v1/{cluster_path}");
    let masters: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == put_cluster)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(masters.len(), 2, "one update per minor: {calls:#?}");
    let pool = position(&calls, &format!("PUT /v1/{pool_path}"));
    assert!(masters[1] < pool, "{calls:#?}");
    for window in [(masters[0], masters[1]), (masters[1], pool)] {
        assert!(
            calls[window.0 + 1..window.1]
                .iter()
                .any(|c| c.contains("/operations/")),
            "each update is waited for before the next: {calls:#?}"
        );
    }
    assert_eq!(
        env.fake.get(&cluster_path).unwrap()["currentMasterVersion"],
        "1.34.5-gke.1200"
    );
    assert_eq!(
        env.fake.get(&pool_path).unwrap()["version"],
        "1.34.5-gke.1200"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("~ gcp.gke_cluster"), "{stdout}");
    assert!(stdout.contains("~ gcp.node_pool[platform]"), "{stdout}");
    assert!(stdout.contains("upgraded to 1.34"), "{stdout}");
    let all = text(&out);
    assert!(
        all.contains("cluster gkup is on the REGULAR release channel, which offers 1.34: liftoff sets each minor version explicitly")
            && all.contains("upgrading the control plane of gkup from 1.32 to Kubernetes 1.33")
            && all.contains("upgrading node pool platform to Kubernetes 1.34"),
        "{all}"
    );
    // Nothing left to do.
    assert_eq!(busy(&env).await, Vec::<String>::new());
    let out = env.liftoff(&["status"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Last operation: upgrade-kubernetes succeeded"),
        "{}",
        text(&out)
    );

    // The node pool's machine type and disk change in place.
    let bigger = "    - {name: platform, instanceTypes: [n2-standard-16], min: 1, max: 3, desired: 1, diskGb: 200}\n";
    env.write_spec("gkup", &cluster(34, bigger));
    let out = env.liftoff(&["plan", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("~ gcp.node_pool[platform]")
            && shown.contains("n2-standard-8")
            && shown.contains("n2-standard-16"),
        "{shown}"
    );
    let start = env.fake.writes().len();
    let out = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        env.fake.writes()[start..].to_vec(),
        vec![format!("PUT /v1/{pool_path}")],
        "one update of the pool, nothing replaced"
    );
    let config = &env.fake.get(&pool_path).unwrap()["config"];
    assert_eq!(config["machineType"], "n2-standard-16");
    assert_eq!(config["diskSizeGb"], 200);
    assert_eq!(busy(&env).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn gke_upgrade_refuses_more_than_two_minors_and_a_channel_ahead_is_no_change() {
    let (env, _kube) = installed("gkskip", 31, "").await;
    env.write_spec("gkskip", &cluster(34, ""));
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.34", "--yes"])
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1.31 to 1.34 is more than 2 minor versions"),
        "{}",
        text(&out)
    );
    // GKE's release channel upgraded the cluster and its nodes past the
    // spec: not a change (liftoff never downgrades).
    let cluster_path = format!("projects/{PROJECT}/locations/us-central1/clusters/gkskip");
    for path in [
        cluster_path.clone(),
        format!("{cluster_path}/nodePools/platform"),
    ] {
        let mut obj = env.fake.get(&path).unwrap();
        let key = if path.contains("nodePools") {
            "version"
        } else {
            "currentMasterVersion"
        };
        obj[key] = "1.32.5-gke.1200".into();
        env.fake.put(&path, obj);
    }
    env.write_spec("gkskip", &cluster(31, ""));
    assert_eq!(busy(&env).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cloud_sql_backup_is_successful_before_helm_upgrades_the_platform() {
    let (env, _kube) = installed("gkdb", 33, "").await;
    let mark = format!("{}/helm-upgrade", env.fake.url);
    let start = env.fake.calls().len();
    let out = env
        .liftoff_with(
            &["upgrade", "--to", "0.37.8", "--yes"],
            &[("LIFTOFF_TEST_MARK_URL", &mark)],
        )
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let calls = env.fake.calls()[start..].to_vec();
    let runs = format!("/v1/projects/{PROJECT}/instances/gkdb-db/backupRuns");
    let insert = position(&calls, &format!("POST {runs}"));
    let polls: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.starts_with(&format!("GET {runs}/")))
        .map(|(i, _)| i)
        .collect();
    let helm = position(&calls, "GET /helm-upgrade/");
    assert!(
        polls.len() >= 2,
        "the backup run was waited for through RUNNING: {calls:#?}"
    );
    assert!(
        insert < polls[0] && *polls.last().unwrap() < helm,
        "{calls:#?}"
    );
    let run_path = env
        .fake
        .paths()
        .into_iter()
        .find(|p| p.contains("/backupRuns/"))
        .unwrap();
    let run = env.fake.get(&run_path).unwrap();
    assert_eq!(run["status"], 5, "SUCCESSFUL");
    let description = run["description"].as_str().unwrap();
    assert!(
        description.starts_with("liftoff gkdb: before-0.37.8-"),
        "{description}"
    );
    let id = run["id"].as_str().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "The database snapshot taken first: Cloud SQL backup run {id} of instance gkdb-db in project {PROJECT}"
        )),
        "{stdout}"
    );
    let out = env.liftoff(&["status", "--output", "json"]).await;
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["lastOperation"]["detail"]["snapshot"]["id"], id,
        "{doc}"
    );

    // A backup that fails stops the upgrade before helm is called.
    env.fake.fail_next_operation(
        &format!("POST {runs}"),
        "Backup failed: the instance is being maintained",
    );
    let start = env.fake.calls().len();
    let out = env
        .liftoff_with(
            &["upgrade", "--to", "0.37.9", "--yes"],
            &[("LIFTOFF_TEST_MARK_URL", &mark)],
        )
        .await;
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the database snapshot before the upgrade failed; nothing was upgraded")
            && err.contains("Backup failed: the instance is being maintained"),
        "{err}"
    );
    assert!(
        !env.fake.calls()[start..]
            .iter()
            .any(|c| c.starts_with("GET /helm-upgrade")),
        "helm was not called"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_node_pool_upgrade_is_named_and_the_rerun_upgrades_only_the_pool() {
    let (env, _kube) = installed("gkfail", 33, "").await;
    let cluster_path = format!("projects/{PROJECT}/locations/us-central1/clusters/gkfail");
    let pool_path = format!("{cluster_path}/nodePools/platform");
    env.fake.fail_next_operation(
        &format!("PUT /v1/{pool_path}"),
        "Insufficient regional quota to satisfy request: resource \"CPUS\"",
    );
    env.write_spec("gkfail", &cluster(34, ""));
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.34", "--yes"])
        .await;
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("node pool platform to Kubernetes 1.34 failed: Insufficient regional quota"),
        "{err}"
    );
    assert_eq!(
        env.fake.get(&cluster_path).unwrap()["currentMasterVersion"],
        "1.34.5-gke.1200",
        "the control plane was upgraded before the pool"
    );
    assert_eq!(
        env.fake.get(&pool_path).unwrap()["version"],
        "1.33.5-gke.1200"
    );
    // The rerun finds the control plane done and upgrades the pool only.
    let start = env.fake.writes().len();
    let out = env
        .liftoff(&["upgrade", "--kubernetes", "1.34", "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        env.fake.writes()[start..].to_vec(),
        vec![format!("PUT /v1/{pool_path}")]
    );
    assert_eq!(
        env.fake.get(&pool_path).unwrap()["version"],
        "1.34.5-gke.1200"
    );
    let out = env.liftoff(&["status"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Last operation: upgrade-kubernetes succeeded"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_killed_while_its_backup_runs_waits_for_that_backup_when_taken_up_again() {
    use std::time::{Duration, Instant};
    let (env, _kube) = installed("gkkill", 33, "").await;
    let mark = format!("{}/helm-upgrade", env.fake.url);
    let marked = [("LIFTOFF_TEST_MARK_URL", mark.as_str())];
    let runs = format!("/v1/projects/{PROJECT}/instances/gkkill-db/backupRuns");
    env.fake.hold_backups(true);
    let mut child = env
        .command(&["upgrade", "--to", "0.37.8", "--yes"], &marked)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed (SIGKILL) once it waits for the backup run it began.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let polls = env
            .fake
            .calls()
            .iter()
            .filter(|c| c.starts_with(&format!("GET {runs}/")))
            .count();
        if polls >= 2 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the upgrade ended before it was killed: {status}");
        }
        assert!(Instant::now() < deadline, "{:#?}", env.fake.calls());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().await.unwrap();
    env.fake.hold_backups(false);
    let out = env
        .liftoff_with(&["upgrade", "--to", "0.37.8", "--yes"], &marked)
        .await;
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("was begun by the interrupted run: waiting for it"),
        "{all}"
    );
    let calls = env.fake.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| **c == format!("POST {runs}"))
            .count(),
        1,
        "one backup for the one upgrade: {calls:#?}"
    );
    let helm: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.starts_with("GET /helm-upgrade"))
        .map(|(i, _)| i)
        .collect();
    let last_poll = calls
        .iter()
        .rposition(|c| c.starts_with(&format!("GET {runs}/")))
        .unwrap();
    assert!(
        helm.len() == 1 && last_poll < helm[0],
        "helm once, after the backup: {calls:#?}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("The database snapshot taken first: Cloud SQL backup run"),
        "{all}"
    );
}
