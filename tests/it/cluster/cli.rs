//! `liftoff doctor` and `liftoff plan` through the binary, against the
//! fake API server (via a kubeconfig) and the fake helm (first on PATH).

use serde_json::Value;

use crate::support::helm::FakeHelm;
use crate::support::kube::FakeKube;

struct Setup {
    dir: tempfile::TempDir,
    helm: FakeHelm,
}

fn setup(kube: &FakeKube) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("kubeconfig"), format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\nusers:\n- name: me\n  user:\n    token: abc\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: me\ncurrent-context: fake\n",
        kube.url
    )).unwrap();
    let tls = &crate::cli_render::materials()[0];
    std::fs::write(p.join("tls.crt"), &tls.chain_pem).unwrap();
    std::fs::write(p.join("tls.key"), tls.key_pem.expose()).unwrap();
    std::fs::write(p.join("liftoff.yaml"), "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: existing-cluster\nmetadata:\n  name: acme\ncluster:\n  mode: existing\n  kubeconfig: kubeconfig\n  context: fake\ndatabase:\n  ssl: false\nplatform:\n  baseDomain: astro.example.com\n  tls:\n    certFile: tls.crt\n    keyFile: tls.key\n").unwrap();
    Setup {
        dir,
        helm: FakeHelm::new("v3.17.0"),
    }
}

async fn liftoff(s: &Setup, args: &[&str], db_port: u16) -> (i32, String, String) {
    let url = format!("postgres://astro:Hunter2Secret@127.0.0.1:{db_port}/postgres");
    liftoff_with_db(s, args, &url).await
}

async fn liftoff_with_db(s: &Setup, args: &[&str], db_url: &str) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(args)
        .arg("-f")
        .arg(s.dir.path().join("liftoff.yaml"))
        .arg("--state-dir")
        .arg(s.dir.path().join("state"))
        // The fake helm first on PATH, found as plain `helm`.
        .env_remove("LIFTOFF_HELM")
        .env("PATH", {
            let mut paths = vec![s.helm.path().to_path_buf()];
            paths.extend(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            ));
            std::env::join_paths(paths).unwrap()
        })
        .env("LIFTOFF_DATABASE_URL", db_url)
        .env_remove("KUBECONFIG")
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn doctor_reports_every_check_as_json_and_fails_on_a_failure() {
    let kube = FakeKube::start("33").await;
    kube.ready_cluster("astronomer", "astronomer-nginx", "lb");
    let s = setup(&kube);
    // Nothing listens on the database port: that check fails.
    let closed = crate::support::procs::free_port();
    let (code, stdout, stderr) = liftoff(&s, &["doctor", "--output", "json"], closed).await;
    assert_eq!(code, 8, "{stdout}{stderr}");
    // One document on stdout (the report); the error goes to stderr.
    let first: Value = serde_json::from_str(&stdout).unwrap();
    let checks: Vec<(String, String)> = first["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = |n: &str, st: &str| {
        assert!(
            checks.contains(&(n.to_string(), st.to_string())),
            "{n} {st} in {checks:?}"
        )
    };
    expect("kubernetes-version", "pass");
    expect("permissions", "pass");
    expect("storage-class", "pass");
    expect("helm", "pass");
    expect("database", "fail");
    assert!(stderr.contains("1 preflight check(s) failed"), "{stderr}");
    assert!(!stdout.contains("Hunter2Secret") && !stderr.contains("Hunter2Secret"));
    assert!(kube.writes().is_empty());

    let (code, text, _) = liftoff(&s, &["doctor"], closed).await;
    assert_eq!(code, 8);
    assert!(
        text.contains("[pass] kubernetes-version: Kubernetes 1.33"),
        "{text}"
    );
    assert!(
        text.contains("[FAIL] database: cannot connect to 127.0.0.1:"),
        "{text}"
    );
}

#[tokio::test]
async fn plan_reads_the_cluster_and_proposes_the_cluster_phase() {
    let kube = FakeKube::start("33").await;
    let s = setup(&kube);
    let (code, stdout, stderr) = liftoff(&s, &["plan", "--output", "json"], 1).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Progress events come first, one JSON object a line; then the plan.
    let plan: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(
        stdout
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{stdout}"
    );
    let changes: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let create = |a: &str| (a.to_string(), "create".to_string());
    assert_eq!(
        changes,
        [
            create("cluster.namespace"),
            create("cluster.secret.tls"),
            create("cluster.secret.bootstrap"),
            // The test certificate's root is a private CA.
            create("cluster.secret.private_ca"),
            create("cluster.helm_release")
        ]
    );
    assert!(!stdout.contains("Hunter2Secret"));
    assert!(kube.writes().is_empty());
    // The namespace does not exist, so nothing in it is looked for: helm
    // was not asked about the release.
    let calls = s.helm.calls();
    assert!(!calls.iter().any(|c| c.starts_with("status")), "{calls:?}");
}

#[tokio::test]
async fn a_saved_plan_is_refused_once_the_spec_changed() {
    let kube = FakeKube::start("33").await;
    let s = setup(&kube);
    let plan_file = s.dir.path().join("p.json");
    let (code, stdout, stderr) =
        liftoff(&s, &["plan", "--out", plan_file.to_str().unwrap()], 1).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let saved: Value = serde_json::from_slice(&std::fs::read(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["installation"], "acme");

    let spec = s.dir.path().join("liftoff.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(
        &spec,
        text.replace("platform:\n", "platform:\n  releaseName: platform2\n"),
    )
    .unwrap();
    let (code, _, stderr) = liftoff(&s, &["install", plan_file.to_str().unwrap()], 1).await;
    assert_eq!(code, 5, "{stderr}");
    assert!(
        stderr.contains("is stale: the spec changed since it was made"),
        "{stderr}"
    );
    assert!(kube.writes().is_empty());

    std::fs::write(s.dir.path().join("garbage.json"), "{").unwrap();
    let garbage = s.dir.path().join("garbage.json");
    let (code, _, _) = liftoff(&s, &["install", garbage.to_str().unwrap()], 1).await;
    assert_eq!(code, 3);
}

#[tokio::test]
async fn install_converges_reruns_as_a_no_op_and_destroys_what_it_made() {
    use base64::Engine as _;
    let kube = FakeKube::start("33").await;
    kube.ready_cluster("astronomer", "astronomer-nginx", "lb.example.com");
    let pg = crate::support::procs::Postgres::start("Hunter2Secret", false);
    let s = setup(&kube);
    let url = format!(
        "postgres://admin:Hunter2Secret@127.0.0.1:{}/postgres",
        pg.port
    );
    let tls = &crate::cli_render::materials()[0];

    let (code, stdout, stderr) = liftoff_with_db(&s, &["install", "--yes"], &url).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("https://app.astro.example.com"), "{stdout}");
    for secret in ["astronomer-tls", "astronomer-bootstrap", "private-root-ca"] {
        let obj = kube
            .get("/api/v1/namespaces/astronomer/secrets", secret)
            .unwrap_or_else(|| panic!("{secret} missing"));
        assert_eq!(
            obj["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm",
            "{secret}"
        );
        assert_eq!(
            obj["metadata"]["annotations"]["meta.helm.sh/release-name"], "astronomer",
            "{secret}"
        );
    }
    let tls_secret = kube
        .get("/api/v1/namespaces/astronomer/secrets", "astronomer-tls")
        .unwrap();
    assert_eq!(tls_secret["type"], "kubernetes.io/tls");
    let crt = base64::engine::general_purpose::STANDARD
        .decode(tls_secret["data"]["tls.crt"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(crt).unwrap(), tls.chain_pem);
    let (values, mode, path) = s.helm.values();
    assert!(values.contains("tlsSecret: astronomer-tls"), "{values}");
    assert!(values.contains("private-root-ca"), "{values}");
    assert_eq!(mode, "600");
    assert!(!path.exists(), "the values file is removed after helm ran");
    assert_eq!(s.helm.upgrades().len(), 1);
    // No secret anywhere it should not be.
    let state = std::fs::read_to_string(s.dir.path().join("state/acme.state.json")).unwrap();
    for text in [&stdout, &stderr, &state, &values] {
        assert!(
            !text.contains("Hunter2Secret")
                && !text.contains(tls.key_pem.expose().lines().nth(1).unwrap())
        );
    }

    let writes = kube.writes().len();
    let (code, stdout, stderr) = liftoff_with_db(&s, &["install", "--yes"], &url).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("No changes"), "{stdout}");
    assert_eq!(kube.writes().len(), writes, "a re-run writes nothing");
    assert_eq!(s.helm.upgrades().len(), 1);

    // A cloud-only plan leaves the cluster's resources alone.
    let (code, stdout, stderr) =
        liftoff_with_db(&s, &["plan", "--phase", "cloud", "--output", "json"], &url).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let plan: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(plan["changes"], serde_json::json!([]), "{plan}");

    let (code, stdout, stderr) = liftoff_with_db(&s, &["destroy", "--yes"], &url).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        s.helm.calls().iter().any(|c| c.starts_with("uninstall")),
        "{:?}",
        s.helm.calls()
    );
    assert!(
        kube.get("/api/v1/namespaces/astronomer/secrets", "astronomer-tls")
            .is_none()
    );
    assert!(!s.dir.path().join("state/acme.state.json").exists());
}

/// For a cluster liftoff creates, doctor uses the connection install
/// would (the cloud phase's hand-off), never pointing at kubeconfig keys
/// that do not apply (and never reading `~/.kube/config`).
#[cfg(feature = "aws")]
#[tokio::test]
async fn doctor_on_a_cluster_liftoff_creates_uses_the_cloud_connection() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("liftoff.yaml");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sandbox.yaml"),
        &spec,
    )
    .unwrap();
    std::fs::write(dir.path().join("garbage"), "{").unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(["doctor", "-f"])
        .arg(&spec)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        // A kubeconfig that must not be read: it does not parse.
        .env("KUBECONFIG", dir.path().join("garbage"))
        .env("HOME", dir.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The cluster check went through the cloud's hand-off (AWS, here
    // unreachable), not a kubeconfig.
    assert!(
        text.contains("[FAIL] cluster: cannot connect to Kubernetes: AWS DescribeCluster"),
        "{text}"
    );
    assert!(
        text.contains("the cluster liftoff created could not be reached"),
        "{text}"
    );
    assert!(!text.contains("cluster.kubeconfig"), "{text}");
    assert!(
        text.contains("helm"),
        "the checks without a cluster still run: {text}"
    );
}
