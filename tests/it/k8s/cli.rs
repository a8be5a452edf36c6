//! The `liftoff` binary on the real cluster: kill -9 at random moments of
//! the cluster phase and the re-run that converges, Ctrl-C forwarded to
//! helm, a stuck release reported by doctor and recovered by install,
//! and errors printed as the API's message (no Debug dump, no colour).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use super::World;
use crate::real_cluster;

/// A spec file for `w` on the existing-cluster profile, the shared
/// PostgreSQL as its external database.
pub struct CliWorld {
    pub w: World,
    pub dir: tempfile::TempDir,
}

impl CliWorld {
    pub fn new(w: World) -> CliWorld {
        let dir = tempfile::tempdir().unwrap();
        let tls = &crate::cli_render::materials()[0];
        std::fs::write(dir.path().join("tls.crt"), &tls.chain_pem).unwrap();
        std::fs::write(dir.path().join("tls.key"), tls.key_pem.expose()).unwrap();
        let c = CliWorld { w, dir };
        c.write_spec("one", false);
        c
    }

    /// Writes the spec with `platform.values.fixture.note = note`.
    pub fn write_spec(&self, note: &str, never_ready: bool) {
        let w = &self.w;
        std::fs::write(
            self.dir.path().join("liftoff.yaml"),
            format!(
                "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: existing-cluster\nmetadata:\n  name: acme\ndatabase:\n  ssl: false\ncluster:\n  mode: existing\n  kubeconfig: {kubeconfig}\n  context: admin\nplatform:\n  chart: {{repository: {chart}, name: astronomer, version: 0.37.7}}\n  namespace: {ns}\n  releaseName: {rel}\n  baseDomain: astro.example.com\n  tls:\n    certFile: tls.crt\n    keyFile: tls.key\n  values:\n    forceIncompatibleKubernetes: true\n    fixture: {{note: \"{note}\", neverReady: {never_ready}}}\ntimeouts: {{helm: 60s, namespace: 2m}}\n",
                kubeconfig = w.kubeconfig.display(),
                chart = w.cluster.chart.display(),
                ns = w.namespace,
                rel = w.release,
            ),
        )
        .unwrap();
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_liftoff"));
        let helm_dir: PathBuf = self.w.cluster.helm.parent().unwrap().to_path_buf();
        cmd.args(args)
            .arg("-f")
            .arg(self.dir.path().join("liftoff.yaml"))
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .env_remove("LIFTOFF_HELM")
            .env_remove("KUBECONFIG")
            .env_remove("NO_COLOR")
            .env("LIFTOFF_DATABASE_URL", crate::support::realkube::postgres())
            .env("PATH", {
                let mut paths = vec![helm_dir];
                paths.extend(std::env::split_paths(
                    &std::env::var_os("PATH").unwrap_or_default(),
                ));
                std::env::join_paths(paths).unwrap()
            })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    pub async fn liftoff(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.command(args).output().await.unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `liftoff install` succeeds, the release is deployed and a plan
    /// afterwards changes nothing.
    pub async fn converges(&self, what: &str) {
        let (code, out, err) = self.liftoff(&["install", "--yes"]).await;
        assert_eq!(code, 0, "{what}: install failed:\n{out}\n{err}");
        let status = self.w.release_status().expect("release exists");
        assert_eq!(status["info"]["status"], "deployed", "{what}");
        let (code, out, err) = self.liftoff(&["plan"]).await;
        assert_eq!(code, 0, "{what}: {out}{err}");
        assert!(
            out.contains("No changes"),
            "{what}: plan after the re-run:\n{out}{err}"
        );
    }
}

/// A small seeded generator (xorshift64*), so the kill moments are
/// reproducible from the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[tokio::test]
async fn kill_9_at_random_moments_then_a_rerun_converges() {
    let cluster = real_cluster!();
    let seed: u64 = std::env::var("LIFTOFF_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_201);
    let trials: usize = std::env::var("LIFTOFF_KILL_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    eprintln!("kill -9 trials: LIFTOFF_KILL_SEED={seed} LIFTOFF_KILL_TRIALS={trials}");
    let mut rng = Rng(seed | 1);
    let c = CliWorld::new(World::new(cluster));
    for trial in 0..trials {
        // Every third trial starts from nothing (a first install killed),
        // the others change the values (an upgrade killed).
        if trial % 3 == 0 && trial > 0 {
            let (code, out, err) = c.liftoff(&["destroy", "--yes"]).await;
            assert_eq!(code, 0, "destroy: {out}{err}");
        }
        c.write_spec(&format!("trial {trial}"), false);
        let delay = Duration::from_millis(rng.below(3500));
        let mut child = c.command(&["install", "--yes"]).spawn().unwrap();
        let finished = tokio::time::timeout(delay, child.wait()).await.is_ok();
        if !finished {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
        eprintln!(
            "trial {trial}: {} after {} ms",
            if finished {
                "finished before the kill"
            } else {
                "killed"
            },
            delay.as_millis()
        );
        c.converges(&format!(
            "trial {trial} (seed {seed}, kill after {} ms)",
            delay.as_millis()
        ))
        .await;
    }
}

/// Starts `liftoff install` and waits until its helm is running and has
/// marked the release `pending-*` (it is working on it).
async fn install_until_helm_runs(c: &CliWorld) -> tokio::process::Child {
    let child = c.command(&["install", "--yes"]).spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let working = !liftoff::cluster::helm::process::holders(&c.w.release, &c.w.namespace)
            .is_empty()
            && c.w.release_status().is_some_and(|s| {
                s["info"]["status"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("pending-"))
            });
        if working {
            return child;
        }
        assert!(tokio::time::Instant::now() < deadline, "helm never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn ctrl_c_lets_helm_cancel_and_a_killed_helm_is_recovered() {
    let cluster = real_cluster!();
    let c = CliWorld::new(World::new(cluster));
    // Workloads that never become ready: helm waits until interrupted.
    c.write_spec("one", true);
    let child = install_until_helm_runs(&c).await;
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = child.wait_with_output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("waiting for helm to cancel"), "{err}");
    // helm cancelled its operation: the release is failed, not pending,
    // and no helm is left running.
    assert_eq!(c.w.release_status().unwrap()["info"]["status"], "failed");
    assert!(liftoff::cluster::helm::process::holders(&c.w.release, &c.w.namespace).is_empty());

    // A helm killed outright leaves the release pending: doctor reports it
    // stuck; install finds no deployed revision to roll back to, so it
    // uninstalls and installs again.
    let child = install_until_helm_runs(&c).await;
    for pid in liftoff::cluster::helm::process::holders(&c.w.release, &c.w.namespace) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(!out.status.success());
    let status = c.w.release_status().unwrap_or_else(|| {
        panic!(
            "no release after helm was killed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        status["info"]["status"]
            .as_str()
            .unwrap()
            .starts_with("pending-"),
        "{status}"
    );
    let (code, out, _) = c.liftoff(&["doctor"]).await;
    assert_ne!(code, 0);
    assert!(
        out.contains("[FAIL] release:") && out.contains("is stuck pending-"),
        "{out}"
    );
    c.write_spec("one", false);
    let (code, out, err) = c.liftoff(&["install", "--yes"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("left pending-"),
        "the recovery is told: {out}{err}"
    );
    assert_eq!(c.w.release_status().unwrap()["info"]["status"], "deployed");

    // Pending after a deployed revision: rolled back to it, then upgraded.
    c.write_spec("two", true);
    let child = install_until_helm_runs(&c).await;
    for pid in liftoff::cluster::helm::process::holders(&c.w.release, &c.w.namespace) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    let _ = child.wait_with_output().await.unwrap();
    assert_eq!(
        c.w.release_status().unwrap()["info"]["status"],
        "pending-upgrade"
    );
    c.write_spec("two", false);
    let (code, out, err) = c.liftoff(&["install", "--yes"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("rolled back to revision"),
        "{out}{err}"
    );
    c.converges("after the rollback").await;
}

#[tokio::test]
async fn an_outside_rollback_shows_in_plan_and_install_restores() {
    let cluster = real_cluster!();
    let c = CliWorld::new(World::new(cluster));
    c.converges("first install").await;
    c.write_spec("two", false);
    c.converges("values change").await;
    let out = cluster.helm(&["rollback", &c.w.release, "1", "-n", &c.w.namespace]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, out, err) = c.liftoff(&["plan"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("cluster.helm_release") && out.contains("changed outside liftoff"),
        "{out}"
    );
    c.converges("after the outside rollback").await;
    let status = c.w.release_status().unwrap();
    assert_eq!(status["config"]["fixture"]["note"], "two");
}

/// `liftoff install` as an identity with no rights at all.
#[tokio::test]
async fn a_refusal_prints_the_apis_message_once_without_debug_or_colour() {
    let cluster = real_cluster!();
    let tmp = tempfile::tempdir().unwrap();
    let (kubeconfig, _) = cluster.identity(tmp.path()).await;
    let mut w = World::new(cluster);
    w.kubeconfig = kubeconfig;
    let c = CliWorld::new(w);
    let spec = std::fs::read_to_string(c.dir.path().join("liftoff.yaml"))
        .unwrap()
        .replace("  context: admin\n", "");
    std::fs::write(c.dir.path().join("liftoff.yaml"), spec).unwrap();
    let (code, out, err) = c.liftoff(&["install", "--yes", "-v"]).await;
    assert_ne!(code, 0);
    let text = format!("{out}{err}");
    assert!(
        text.contains("is forbidden: User \"system:serviceaccount:"),
        "{text}"
    );
    for dump in [
        "Status {",
        "ErrorResponse",
        "ListMeta",
        "metadata: Some",
        "\u{1b}[",
    ] {
        assert!(!text.contains(dump), "{dump:?} in:\n{text}");
    }
    // The same refusal is not printed twice in a row.
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .windows(2)
            .all(|w| w[0] != w[1] || w[0].trim().is_empty()),
        "{text}"
    );
}
