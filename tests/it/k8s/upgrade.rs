//! `liftoff upgrade` and `liftoff rollback` on the real API server and the
//! real Helm engine, with the fixture chart packaged at the versions each
//! test needs (0.37.7, 0.37.8, 1.0.0, …): a patch upgrade and one across a
//! minor version (`--through`), a refused skip, `--plan` changing nothing,
//! a failing pre-upgrade hook Job rolled back automatically to a deployed
//! release, `kill -9` at random moments of an upgrade with re-runs that
//! converge, and `status` and `rollback`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::World;
use super::cli::CliWorld;
use crate::real_cluster;

/// Packages the fixture chart at each version into `<dir>/charts`.
pub(super) fn package(c: &CliWorld, versions: &[&str]) -> PathBuf {
    let charts = c.dir.path().join("charts");
    std::fs::create_dir_all(&charts).unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cluster-chart");
    for v in versions {
        let out = c.w.cluster.helm(&[
            "package",
            src,
            "-d",
            charts.to_str().unwrap(),
            "--version",
            v,
            "--app-version",
            v,
        ]);
        assert!(
            out.status.success(),
            "helm package {v}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    charts
}

/// The spec on chart `version` (from `<dir>/charts`), with `values` (YAML
/// flow mappings) under `platform.values`.
pub(super) fn write(c: &CliWorld, version: &str, fixture: &str, values: &str) {
    let w = &c.w;
    let chart = c
        .dir
        .path()
        .join("charts")
        .join(format!("astronomer-{version}.tgz"));
    std::fs::write(
        c.dir.path().join("liftoff.yaml"),
        format!(
            "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: existing-cluster\nmetadata:\n  name: acme\ndatabase:\n  ssl: false\ncluster:\n  mode: existing\n  kubeconfig: {kubeconfig}\n  context: admin\nplatform:\n  chart: {{repository: {chart}, name: astronomer, version: {version}}}\n  namespace: {ns}\n  releaseName: {rel}\n  baseDomain: astro.example.com\n  tls:\n    certFile: tls.crt\n    keyFile: tls.key\n  values:\n    forceIncompatibleKubernetes: true\n    fixture: {{{fixture}}}\n{values}timeouts: {{helm: 60s, namespace: 2m, loadBalancer: 60s}}\n",
            kubeconfig = w.kubeconfig.display(),
            chart = chart.display(),
            ns = w.namespace,
            rel = w.release,
        ),
    )
    .unwrap();
}

pub(super) fn status(c: &CliWorld) -> (String, String, u64) {
    let s = c.w.release_status().expect("release exists");
    (
        s["info"]["status"].as_str().unwrap().to_string(),
        s["chart"]["metadata"]["version"]
            .as_str()
            .unwrap()
            .to_string(),
        s["version"].as_u64().unwrap(),
    )
}

fn history(c: &CliWorld) -> Vec<Value> {
    let out =
        c.w.cluster
            .helm(&["history", &c.w.release, "-n", &c.w.namespace, "-o", "json"]);
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(super) async fn plan_is_clean(c: &CliWorld, what: &str) {
    let (code, out, err) = c.liftoff(&["plan"]).await;
    assert_eq!(code, 0, "{what}: {out}{err}");
    assert!(out.contains("No changes"), "{what}: plan:\n{out}{err}");
}

#[tokio::test]
async fn a_patch_upgrade_a_refused_skip_a_minor_through_and_a_rollback() {
    let cluster = real_cluster!();
    let c = CliWorld::new(World::new(cluster));
    package(&c, &["0.37.7", "0.37.8", "1.0.0", "1.1.0"]);
    write(
        &c,
        "0.37.7",
        "note: one",
        "    global: {veleroEnabled: false}\n",
    );
    c.converges("install 0.37.7").await;

    // --plan: the path, the values diff and the manifest diff per object;
    // nothing changes.
    write(
        &c,
        "0.37.8",
        "note: two",
        "    global: {veleroEnabled: false}\n",
    );
    let (code, out, err) = c.liftoff(&["upgrade", "--plan"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Upgrade path: 0.37.7 → 0.37.8"), "{out}");
    assert!(out.contains("-  note: one\n+  note: two"), "{out}");
    let config = format!("changed ConfigMap {}/{}-config", c.w.namespace, c.w.release);
    assert!(out.contains(&config), "{out}");
    assert!(out.contains("+  note: two"), "the manifest diff: {out}");
    assert!(out.contains("Nothing was changed (--plan)"), "{out}");
    assert_eq!(status(&c), ("deployed".into(), "0.37.7".into(), 1));

    // Without a terminal, no --yes: refused, nothing changes.
    let (code, _, err) = c.liftoff(&["upgrade"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("pass --yes"), "{err}");

    // The patch upgrade: --reset-values with upgradeDeployments as the
    // spec says, health checked, recorded so a plan has nothing to do.
    let (code, out, err) = c.liftoff(&["upgrade", "--yes"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Upgraded `acme` from 0.37.7 to 0.37.8 (revision 2)"),
        "{out}"
    );
    assert!(err.contains("liftoff manages no database here"), "{err}");
    assert_eq!(status(&c), ("deployed".into(), "0.37.8".into(), 2));
    let s = c.w.release_status().unwrap();
    assert_eq!(
        s["config"]["astronomer"]["houston"]["upgradeDeployments"]["enabled"],
        true
    );
    assert_eq!(history(&c)[1]["description"], "liftoff upgrade to 0.37.8");
    plan_is_clean(&c, "after the patch upgrade").await;

    // 0.37 → 1.1 skips 1.0: refused with the path, nothing changes.
    write(
        &c,
        "1.1.0",
        "note: two",
        "    global: {veleroEnabled: false}\n",
    );
    let (code, out, err) = c.liftoff(&["upgrade", "--yes"]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(
        err.contains("0.37.8 → 1.1.0 skips minor versions: the path is 0.37 → 1.0 → 1.1"),
        "{err}"
    );
    assert!(err.contains("hint:") && err.contains("--through"), "{err}");
    assert_eq!(status(&c).2, 2);

    // --through: 1.0.0, then 1.1.0; the key 1.x no longer has is dropped
    // and reported; the 1.x Service name is waited for.
    let (code, out, err) = c.liftoff(&["upgrade", "--yes", "--through"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Upgrade path: 0.37.8 → 1.0.0 → 1.1.0"),
        "{out}"
    );
    assert!(
        out.contains("platform.values.global.veleroEnabled dropped"),
        "{out}"
    );
    assert_eq!(status(&c), ("deployed".into(), "1.1.0".into(), 4));
    let charts: Vec<String> = history(&c)
        .iter()
        .map(|r| r["chart"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        charts,
        [
            "astronomer-0.37.7",
            "astronomer-0.37.8",
            "astronomer-1.0.0",
            "astronomer-1.1.0"
        ]
    );
    plan_is_clean(&c, "after --through").await;

    // status: the installed version, the revisions and the last operation.
    let (code, out, err) = c.liftoff(&["status"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "Release {}: chart 1.1.0 (revision 4, deployed)",
            c.w.release
        )),
        "{out}"
    );
    assert!(out.contains("Last operation: upgrade succeeded"), "{out}");
    assert!(out.contains("0.37.8 → 1.1.0"), "{out}");
    let (code, out, _) = c.liftoff(&["status", "--output", "json"]).await;
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["release"]["helm"]["revisions"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        doc["lastOperation"]["detail"]["hops"],
        json!(["1.0.0", "1.1.0"])
    );

    // A downgrade is refused; rollback goes back to the revision before.
    write(&c, "1.0.0", "note: two", "");
    let (code, _, err) = c.liftoff(&["upgrade", "--yes"]).await;
    assert_eq!(code, 10, "{err}");
    assert!(
        err.contains("is a downgrade") && err.contains("liftoff rollback"),
        "{err}"
    );
    let (code, out, err) = c.liftoff(&["rollback", "--yes"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("deployed on chart 1.0.0 (revision 5, a copy of revision 3)"),
        "{out}"
    );
    assert_eq!(status(&c), ("deployed".into(), "1.0.0".into(), 5));
    let (_, out, _) = c.liftoff(&["status"]).await;
    assert!(out.contains("Last operation: rollback succeeded"), "{out}");
    let (code, _, err) = c.liftoff(&["rollback", "--revision", "42", "--yes"]).await;
    assert_eq!(code, 10);
    assert!(err.contains("has no revision 42"), "{err}");
}

/// Marks the hook Job failed once helm has created it (the fake kubelet
/// leaves it alone), as a failing database migration would.
async fn fail_the_hook(c: &CliWorld) {
    use k8s_openapi::api::batch::v1::Job;
    use kube::api::{Api, Patch, PatchParams};
    let jobs: Api<Job> = Api::namespaced(c.w.cluster.admin().await, &c.w.namespace);
    let name = format!("{}-migrate", c.w.release);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while jobs.get_opt(&name).await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the hook never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now = "2026-12-01T00:00:00Z";
    jobs.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "startTime": now,
            "failed": 1,
            "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "the migration failed (the test says so)", "lastProbeTime": now, "lastTransitionTime": now}],
        }})),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_failing_hook_job_rolls_back_to_a_deployed_release() {
    let cluster = real_cluster!();
    let c = CliWorld::new(World::new(cluster));
    package(&c, &["0.37.7", "0.37.8"]);
    write(&c, "0.37.7", "failingHook: true", "");
    c.converges("install 0.37.7").await;
    write(&c, "0.37.8", "failingHook: true, note: two", "");
    let upgrade = c.command(&["upgrade", "--yes"]).spawn().unwrap();
    fail_the_hook(&c).await;
    let out = upgrade.wait_with_output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{err}");
    assert!(
        err.contains("the upgrade to chart 0.37.8 failed and was rolled back")
            && err.contains("is deployed on chart 0.37.7 again (revision 3)")
            && err.contains("no database snapshot was taken"),
        "{err}"
    );
    assert!(err.contains("caused by:") && err.contains("hint:"), "{err}");
    assert_eq!(status(&c), ("deployed".into(), "0.37.7".into(), 3));
    let statuses: Vec<String> = history(&c)
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["superseded", "failed", "deployed"]);
    let (_, out, _) = c.liftoff(&["status", "--output", "json"]).await;
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["lastOperation"]["outcome"], "rolled-back", "{doc}");
    assert_eq!(doc["lastOperation"]["detail"]["rolledBackTo"], 3);
    // The spec still asks for 0.37.8: the plan says so.
    let (code, out, err) = c.liftoff(&["plan"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("cluster.helm_release"), "{out}");
    assert!(!out.contains("No changes"), "{out}");
}

/// A small seeded generator (xorshift64*), so the kill moments are
/// reproducible from the printed seed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[tokio::test]
async fn kill_9_during_an_upgrade_then_a_rerun_converges() {
    let cluster = real_cluster!();
    let seed: u64 = std::env::var("LIFTOFF_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_202);
    let trials: u64 = std::env::var("LIFTOFF_UPGRADE_KILL_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    eprintln!(
        "upgrade kill -9 trials: LIFTOFF_KILL_SEED={seed} LIFTOFF_UPGRADE_KILL_TRIALS={trials}"
    );
    let mut rng = Rng(seed | 1);
    let c = CliWorld::new(World::new(cluster));
    let versions: Vec<String> = (7..8 + trials).map(|p| format!("0.37.{p}")).collect();
    package(&c, &versions.iter().map(String::as_str).collect::<Vec<_>>());
    write(&c, "0.37.7", "note: one", "");
    c.converges("install 0.37.7").await;
    for (trial, version) in versions.iter().skip(1).enumerate() {
        write(&c, version, &format!("note: trial {trial}"), "");
        let delay = Duration::from_millis(rng.below(4000));
        let mut child = c.command(&["upgrade", "--yes"]).spawn().unwrap();
        let finished = tokio::time::timeout(delay, child.wait()).await.is_ok();
        if !finished {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
        let what = format!(
            "trial {trial} to {version} (seed {seed}, {} after {} ms)",
            if finished { "finished" } else { "killed" },
            delay.as_millis()
        );
        eprintln!("{what}");
        let (code, out, err) = c.liftoff(&["upgrade", "--yes"]).await;
        assert_eq!(code, 0, "{what}: the re-run:\n{out}{err}");
        let (state, chart, _) = status(&c);
        assert_eq!(
            (state.as_str(), chart.as_str()),
            ("deployed", version.as_str()),
            "{what}"
        );
        plan_is_clean(&c, &what).await;
    }
}
