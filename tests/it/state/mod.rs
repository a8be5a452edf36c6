//! Shared state in a bucket: S3 (moto) and GCS (fake-gcs-server), through
//! the real `liftoff` binary. Each "machine" is its own folder with the same
//! spec (so its own local state folder) and the state in one bucket; they
//! install an existing cluster (the fake API server) with a `helm` that
//! holds its upgrade until the test opens a gate, so a run can be caught
//! while it holds the lock.

#[cfg(feature = "aws")]
mod aws_install;
mod denied;
mod migrate;
mod race;
#[cfg(feature = "aws")]
mod s3;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::kube::FakeKube;
use crate::support::procs::Postgres;

/// The emulator a bucket lives in.
pub enum Service {
    #[cfg(feature = "aws")]
    S3(crate::support::moto::Moto),
    #[cfg(feature = "gcp")]
    Gcs(crate::support::gcs::FakeGcs),
}

/// A bucket (and a prefix in it) in an emulator.
pub struct Bucket {
    pub service: Service,
    pub name: String,
    pub prefix: String,
}

impl Bucket {
    #[cfg(feature = "aws")]
    pub async fn s3(versioning: bool) -> Bucket {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        let moto = tokio::task::spawn_blocking(crate::support::moto::Moto::start)
            .await
            .unwrap();
        let name = "team-state".to_string();
        let bucket = Bucket {
            service: Service::S3(moto),
            name,
            prefix: "platforms/acme".into(),
        };
        let s3 = bucket.s3_client().await;
        s3.create_bucket()
            .bucket(&bucket.name)
            .send()
            .await
            .unwrap();
        if versioning {
            s3.put_bucket_versioning()
                .bucket(&bucket.name)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        bucket
    }

    /// An S3 client straight at moto.
    #[cfg(feature = "aws")]
    pub async fn s3_client(&self) -> aws_sdk_s3::Client {
        let Service::S3(moto) = &self.service else {
            panic!("not an S3 bucket")
        };
        let sdk = liftoff::providers::aws::config_loader()
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(moto.url())
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        )
    }

    #[cfg(feature = "gcp")]
    pub async fn gcs(versioning: bool) -> Bucket {
        let gcs = tokio::task::spawn_blocking(crate::support::gcs::FakeGcs::start)
            .await
            .unwrap();
        let name = "team-state".to_string();
        gcs.create_bucket(&name, versioning);
        Bucket {
            service: Service::Gcs(gcs),
            name,
            prefix: "platforms/acme".into(),
        }
    }

    pub fn url(&self) -> String {
        let scheme = match self.service {
            #[cfg(feature = "aws")]
            Service::S3(_) => "s3",
            #[cfg(feature = "gcp")]
            Service::Gcs(_) => "gs",
        };
        format!("{scheme}://{}/{}", self.name, self.prefix)
    }

    pub fn backend(&self) -> &'static str {
        match self.service {
            #[cfg(feature = "aws")]
            Service::S3(_) => "s3",
            #[cfg(feature = "gcp")]
            Service::Gcs(_) => "gcs",
        }
    }

    /// What liftoff needs in its environment to reach the emulator: the
    /// standard variables of each cloud's tools.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        match &self.service {
            #[cfg(feature = "aws")]
            Service::S3(m) => vec![
                ("AWS_ENDPOINT_URL", m.url()),
                ("AWS_ACCESS_KEY_ID", "testing".into()),
                ("AWS_SECRET_ACCESS_KEY", "testing".into()),
                ("AWS_REGION", "us-east-1".into()),
            ],
            #[cfg(feature = "gcp")]
            Service::Gcs(g) => vec![("STORAGE_EMULATOR_HOST", g.url())],
        }
    }

    fn key(&self, object: &str) -> String {
        format!("{}/{object}", self.prefix)
    }

    /// The object's bytes, if it exists.
    pub async fn get(&self, object: &str) -> Option<Vec<u8>> {
        match &self.service {
            #[cfg(feature = "aws")]
            Service::S3(_) => {
                let got = self
                    .s3_client()
                    .await
                    .get_object()
                    .bucket(&self.name)
                    .key(self.key(object))
                    .send()
                    .await
                    .ok()?;
                Some(got.body.collect().await.unwrap().into_bytes().to_vec())
            }
            #[cfg(feature = "gcp")]
            Service::Gcs(g) => g.get(&self.name, &self.key(object)),
        }
    }

    /// Writes an object unconditionally: someone editing it by hand.
    pub async fn put(&self, object: &str, bytes: &[u8]) {
        match &self.service {
            #[cfg(feature = "aws")]
            Service::S3(_) => {
                self.s3_client()
                    .await
                    .put_object()
                    .bucket(&self.name)
                    .key(self.key(object))
                    .body(bytes.to_vec().into())
                    .send()
                    .await
                    .unwrap();
            }
            #[cfg(feature = "gcp")]
            Service::Gcs(g) => g.put(&self.name, &self.key(object), bytes),
        }
    }

    /// The stored state document, parsed.
    pub async fn state(&self) -> Option<Value> {
        self.get("acme.state.json")
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
    }
}

/// A `helm` that logs its calls and holds an upgrade until `gate` exists
/// (giving up when liftoff, its parent, is gone); it writes liftoff's pid to
/// `started` when an upgrade begins.
const HELM: &str = r#"#!/usr/bin/env bash
dir="$(dirname "$0")"
printf '%s\n' "$*" >> "$dir/calls"
case "$1" in
  version) echo "v3.17.0" ;;
  status)
    if [ -f "$dir/installed" ]; then cat "$dir/installed"; else echo "Error: release: not found" >&2; exit 1; fi ;;
  upgrade)
    ver=""; prev=""
    for a in "$@"; do
      if [ "$prev" = "--version" ]; then ver="$a"; fi
      prev="$a"
    done
    echo "$PPID" > "$dir/started.tmp" && mv "$dir/started.tmp" "$dir/started"
    while [ ! -f "$dir/gate" ]; do
      kill -0 "$PPID" 2>/dev/null || exit 1
      sleep 0.05
    done
    printf '{"name":"%s","info":{"status":"deployed"},"chart":{"metadata":{"name":"astronomer","version":"%s"}},"version":1}' "$3" "$ver" > "$dir/installed"
    echo "STATUS: deployed" ;;
  uninstall) rm -f "$dir/installed" ;;
  *) echo "fake helm: unknown command $1" >&2; exit 2 ;;
esac
"#;

/// The cluster, database and helm every machine shares.
pub struct World {
    pub kube: FakeKube,
    pub pg: Postgres,
    pub helm: tempfile::TempDir,
}

impl World {
    pub async fn start() -> World {
        let kube = FakeKube::start("33").await;
        kube.ready_cluster("astronomer", "astronomer-nginx", "lb.example.com");
        let pg = tokio::task::spawn_blocking(|| Postgres::start("Hunter2Secret", false))
            .await
            .unwrap();
        let helm = tempfile::tempdir().unwrap();
        let script = helm.path().join("helm");
        std::fs::write(&script, HELM).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        World { kube, pg, helm }
    }

    pub fn open_gate(&self) {
        std::fs::write(self.helm.path().join("gate"), "").unwrap();
    }

    /// The pid of the liftoff whose helm upgrade began, once one did.
    pub async fn upgrade_started(&self, deadline: Duration) -> u32 {
        let path = self.helm.path().join("started");
        wait_for(deadline, "a helm upgrade to start", || {
            std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
        })
        .await
    }

    pub fn forget_started(&self) {
        let _ = std::fs::remove_file(self.helm.path().join("started"));
    }

    pub fn upgrades(&self) -> usize {
        std::fs::read_to_string(self.helm.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("upgrade"))
            .count()
    }
}

/// Polls `probe` until it gives a value, for at most `deadline`.
pub async fn wait_for<T>(
    deadline: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One machine: a folder with the spec (state in `bucket`, or local when
/// `bucket` is None), the certificate and a kubeconfig.
pub struct Machine {
    pub dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
    helm_dir: PathBuf,
    db_url: String,
}

/// The spec's `state:` section for `bucket` with a lock lease of `lease`.
pub fn state_section(bucket: &Bucket, lease: &str) -> String {
    format!(
        "state:\n  backend: {}\n  bucket: {}\n  prefix: {}\n  lockLease: {lease}\n",
        bucket.backend(),
        bucket.name,
        bucket.prefix
    )
}

impl Machine {
    pub fn new(world: &World, bucket: Option<&Bucket>, state: &str) -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("kubeconfig"), format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\nusers:\n- name: me\n  user:\n    token: abc\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: me\ncurrent-context: fake\n",
            world.kube.url
        )).unwrap();
        let tls = &crate::cli_render::materials()[0];
        std::fs::write(p.join("tls.crt"), &tls.chain_pem).unwrap();
        std::fs::write(p.join("tls.key"), tls.key_pem.expose()).unwrap();
        std::fs::write(
            p.join("liftoff.yaml"),
            format!("apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: existing-cluster\nmetadata:\n  name: acme\ncluster:\n  mode: existing\n  kubeconfig: kubeconfig\n  context: fake\ndatabase:\n  ssl: false\nplatform:\n  baseDomain: astro.example.com\n  tls:\n    certFile: tls.crt\n    keyFile: tls.key\n{state}"),
        )
        .unwrap();
        Machine {
            dir,
            env: bucket.map(Bucket::env).unwrap_or_default(),
            helm_dir: world.helm.path().to_path_buf(),
            db_url: format!(
                "postgres://admin:Hunter2Secret@127.0.0.1:{}/postgres",
                world.pg.port
            ),
        }
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_liftoff"));
        cmd.args(args)
            .arg("-f")
            .arg(self.dir.path().join("liftoff.yaml"))
            .current_dir(self.dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .env_remove("LIFTOFF_HELM")
            .env_remove("KUBECONFIG")
            .env_remove("LIFTOFF_STATE_DIR")
            .env_remove("LIFTOFF_STATE")
            .env_remove("LIFTOFF_LOCK_LEASE")
            .env_remove("STORAGE_EMULATOR_HOST")
            .env_remove("AWS_PROFILE")
            .env("LIFTOFF_DATABASE_URL", &self.db_url)
            .env("LIFTOFF_POLL_MS", "20")
            .env("PATH", {
                let mut paths = vec![self.helm_dir.clone()];
                paths.extend(std::env::split_paths(
                    &std::env::var_os("PATH").unwrap_or_default(),
                ));
                std::env::join_paths(paths).unwrap()
            });
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn spawn(&self, args: &[&str]) -> tokio::process::Child {
        self.command(args).spawn().unwrap()
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        let out = tokio::time::timeout(Duration::from_secs(180), self.command(args).output())
            .await
            .expect("liftoff finished within 3 minutes")
            .unwrap();
        Run::from(out)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// A finished run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(o: std::process::Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub async fn finish(child: tokio::process::Child) -> Run {
    tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .expect("liftoff finished within 3 minutes")
        .unwrap()
        .into()
}

/// `state show --output json` of a machine.
pub async fn show(machine: &Machine) -> Value {
    let run = machine.run(&["state", "show", "--output", "json"]).await;
    assert_eq!(run.code, 0, "{run}");
    serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {run}"))
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
