//! The real Kubernetes control plane of `../shared/k8s`: one
//! kube-apiserver (with etcd and the namespace controller) per test
//! process, shared by every real-cluster test, each test in its own
//! namespace and release; the fake kubelet (a status patcher: no pod ever
//! runs) as a child; the `helm` shim backed by the Helm 4 Go SDK.
//!
//! Where `../shared/k8s` or the helm shim is missing, [`cluster`] prints one
//! line naming what is missing and the tests skip.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct RealCluster {
    /// Kept, never waited for: both outlive every test and end on their
    /// own once this process is gone.
    _watcher: std::process::Child,
    _kubelet: std::process::Child,
    pub env: HashMap<String, String>,
    /// The `helm` shim.
    pub helm: PathBuf,
    /// tests/fixtures/cluster-chart packaged as `astronomer-0.37.7.tgz`.
    pub chart: PathBuf,
}

fn shared() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")).to_path_buf()
}

/// Where the helm shim is: `$LIFTOFF_TOOLS/venv/bin/helm` (made by
/// `scripts/test-deps`), else a `helm` on PATH.
fn find_helm() -> Option<PathBuf> {
    let tools = std::env::var_os("LIFTOFF_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/liftoff-tools")))?;
    let venv = tools.join("venv/bin/helm");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|p| p.join("helm"))
        .find(|p| p.is_file())
}

static CLUSTER: OnceLock<Option<RealCluster>> = OnceLock::new();

/// The shared cluster, started on first use; `None` (after one printed
/// line saying what is missing) when the harness is not there.
pub fn cluster() -> Option<&'static RealCluster> {
    CLUSTER
        .get_or_init(|| {
            let k8s = shared().join("k8s");
            if !k8s.join("start.sh").is_file() {
                eprintln!(
                    "SKIP real-cluster tests: {} is missing (CI has it beside the project)",
                    k8s.display()
                );
                return None;
            }
            let Some(helm) = find_helm() else {
                eprintln!(
                    "SKIP real-cluster tests: no helm shim (run scripts/test-deps, which runs ../shared/k8s/helm-setup.sh)"
                );
                return None;
            };
            Some(start(&k8s, helm))
        })
        .as_ref()
}

fn start(k8s: &Path, helm: PathBuf) -> RealCluster {
    // Not a TempDir: the static is never dropped; the watcher below stops
    // the processes and removes the folder when this test process ends.
    let dir = tempfile::Builder::new()
        .prefix("liftoff-k8s-")
        .tempdir()
        .unwrap()
        .keep();
    let start = || {
        Command::new(k8s.join("start.sh"))
            .arg(&dir)
            .env("WITH_KCM", "1")
            // The harness waits 120 s for /readyz by default; a loaded
            // machine (every test binary thread plus a build) was seen to
            // need longer once. A deadline, not a sleep: ready ends it.
            .env(
                "K8S_START_TIMEOUT",
                std::env::var("K8S_START_TIMEOUT").unwrap_or_else(|_| "300".into()),
            )
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // start.sh is idempotent per folder: a second call restarts only what
    // did not come up (on a loaded machine a component may lose a race).
    let mut out = start();
    if !out.status.success() {
        eprintln!(
            "start.sh failed once, trying again: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        out = start();
    }
    assert!(
        out.status.success(),
        "start.sh: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Stops the control plane once this process is gone (a `kill -9` of
    // the test binary too), in its own process group so a Ctrl-C of the
    // test run does not stop it first.
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; '{stop}' '{dir}' >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        stop = k8s.join("stop.sh").display(),
        dir = dir.display()
    );
    let watcher = std::os::unix::process::CommandExt::process_group(
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        0,
    )
    .spawn()
    .unwrap();
    let env: HashMap<String, String> = std::fs::read_to_string(dir.join("env"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    // The fake kubelet for every namespace; it exits with this process.
    let kubelet = Command::new("python3")
        .arg(k8s.join("fake-kubelet.py"))
        .env("KUBECONFIG", &env["KUBECONFIG"])
        .env("FK_INTERVAL", "0.2")
        .env("FK_LB_HOSTNAME", LB_HOSTNAME)
        .env("FK_PARENT_PID", std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("logs/fake-kubelet.log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A default StorageClass, which the preflight asks for (cluster-wide,
    // shared by every test).
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", "--cacert", &env["K8S_CA_FILE"], "--cert", &env["K8S_ADMIN_CERT"], "--key", &env["K8S_ADMIN_KEY"]])
        .args(["-H", "Content-Type: application/json", "-X", "POST", "--data"])
        .arg(r#"{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"standard","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},"provisioner":"kubernetes.io/no-provisioner"}"#)
        .arg(format!("{}/apis/storage.k8s.io/v1/storageclasses", env["K8S_APISERVER_URL"]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "storage class: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let chart_src = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cluster-chart"
    ));
    let out = Command::new(&helm)
        .args(["package"])
        .arg(chart_src)
        .arg("-d")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm package: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    RealCluster {
        chart: dir.join("astronomer-0.37.7.tgz"),
        env,
        _watcher: watcher,
        _kubelet: kubelet,
        helm,
    }
}

/// The address the fake kubelet gives LoadBalancer Services.
pub const LB_HOSTNAME: &str = "lb.real.example.test";

/// A PostgreSQL shared by the real-cluster tests that run the binary
/// (the spec needs a database; its preflight logs in): `(url, keeper)`.
pub fn postgres() -> &'static str {
    static PG: OnceLock<(String, super::procs::Postgres, std::process::Child)> = OnceLock::new();
    &PG.get_or_init(|| {
        let pg = super::procs::Postgres::start("Hunter2Secret", false);
        let watcher = pg.stop_with_this_process();
        (
            format!(
                "postgres://admin:Hunter2Secret@127.0.0.1:{}/postgres",
                pg.port
            ),
            pg,
            watcher,
        )
    })
    .0
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A name no other test of this process uses (`prefix-<pid>-<n>`), for
/// namespaces and releases.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id() % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl RealCluster {
    pub fn kubeconfig(&self) -> PathBuf {
        PathBuf::from(&self.env["KUBECONFIG"])
    }

    /// A client as the cluster admin.
    pub async fn admin(&self) -> kube::Client {
        liftoff::cluster::Connection::Kubeconfig {
            path: Some(self.kubeconfig()),
            context: Some("admin".into()),
        }
        .client()
        .await
        .unwrap()
    }

    /// A new identity with no rights: a ServiceAccount in its own
    /// namespace, and a kubeconfig holding a token the API server issued
    /// for it (TokenRequest). The API server's own RBAC decides what it
    /// may do, for liftoff and for helm alike. Returns the kubeconfig and
    /// the identity's user name for RoleBindings.
    pub async fn identity(&self, into: &Path) -> (PathBuf, String) {
        use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
        use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
        use kube::api::{Api, PostParams};
        let client = self.admin().await;
        let ns = unique("who");
        let pp = PostParams::default();
        Api::<Namespace>::all(client.clone())
            .create(
                &pp,
                &serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await
            .unwrap();
        let sa: Api<ServiceAccount> = Api::namespaced(client, &ns);
        sa.create(
            &pp,
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "installer"}}))
                .unwrap(),
        )
        .await
        .unwrap();
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: Vec::new(),
                expiration_seconds: Some(3600),
                ..Default::default()
            },
            ..Default::default()
        };
        let token = sa
            .create_token_request("installer", &pp, &request)
            .await
            .unwrap()
            .status
            .unwrap()
            .token;
        let path = into.join(format!("kubeconfig-{ns}"));
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: real\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: installer\n  user:\n    token: {token}\ncontexts:\n- name: installer\n  context:\n    cluster: real\n    user: installer\ncurrent-context: installer\n",
            server = self.env["K8S_APISERVER_URL"],
            ca = self.env["K8S_CA_FILE"],
        );
        std::fs::write(&path, text).unwrap();
        (path, format!("system:serviceaccount:{ns}:installer"))
    }

    /// Runs the helm shim as the admin.
    pub fn helm(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.helm)
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("HELM_KUBECONTEXT", "admin")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

/// Skips the test (returning early) when the real cluster is not there.
#[macro_export]
macro_rules! real_cluster {
    () => {
        match $crate::support::realkube::cluster() {
            Some(c) => c,
            None => return,
        }
    };
}
