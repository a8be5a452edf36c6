//! The `validate` and `render` commands as a user runs them: certificate
//! problems on the spec's lines, exit codes, JSON output, and redaction.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Two certificates for *.astro.example.com, generated once for all tests
/// (RSA key generation is slow).
pub fn materials() -> &'static [liftoff::tls::Material; 2] {
    static M: std::sync::OnceLock<[liftoff::tls::Material; 2]> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        [0, 1].map(|_| liftoff::tls::self_signed_wildcard("astro.example.com").unwrap())
    })
}

/// An existing-cluster spec whose certificate and key come from two
/// different generated certificates when `mismatched`.
fn setup(dir: &Path, mismatched: bool) -> String {
    let [a, b] = materials();
    let key = if mismatched { b } else { a };
    std::fs::write(dir.join("cert.pem"), &a.chain_pem).unwrap();
    std::fs::write(dir.join("key.pem"), key.key_pem.expose()).unwrap();
    std::fs::write(
        dir.join("liftoff.yaml"),
        "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: existing-cluster\nmetadata:\n  name: cli\nplatform:\n  baseDomain: astro.example.com\n  tls:\n    certFile: cert.pem\n    keyFile: key.pem\n",
    )
    .unwrap();
    key.key_pem.expose().clone()
}

#[test]
fn validate_reports_a_certificate_problem_on_the_cert_file_line() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), true);
    let out = run(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.contains("liftoff.yaml:9:15: error: the private key in key.pem does not match the certificate `O=liftoff sandbox, CN=*.astro.example.com` in cert.pem (at `platform.tls.certFile`)"),
        "{err}"
    );
    assert!(err.contains("hint: keyFile must be the key"), "{err}");

    let out = run(dir.path(), &["validate", "--output", "json"]);
    assert_eq!(out.status.code(), Some(3));
    // The report is stdout's one document; the error object goes to stderr.
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error["exitCode"], 3);
    assert_eq!(doc["valid"], Value::Bool(false));
    assert_eq!(doc["diagnostics"][0]["path"], "platform.tls.certFile");
    assert_eq!(doc["diagnostics"][0]["pos"], "liftoff.yaml:9:15");
}

#[test]
fn validate_accepts_a_good_certificate() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), false);
    let out = run(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("liftoff.yaml is valid"));
}

#[test]
fn render_refuses_a_bad_certificate_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), true);
    let out = run(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: the private key in key.pem does not match"),
        "{err}"
    );
    assert!(err.contains("\nhint: "), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn render_prints_values_manifests_and_json_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = setup(dir.path(), false);
    let key_line = key.lines().nth(1).unwrap().to_string();

    let out = run(dir.path(), &["render", "--manifests"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("# Values for the astronomer chart 0.37.7"));
    assert!(stdout.contains("  tlsSecret: astronomer-tls\n"));
    assert!(stdout.contains("  privateCaCerts:\n  - private-root-ca\n"));
    assert!(stdout.contains("\n---\napiVersion: v1\nkind: Namespace\n"));
    assert!(stdout.contains("  tls.key: \"(redacted)\"\n"));
    assert!(!stdout.contains(&key_line) && !text(&out.stderr).contains(&key_line));

    let out = run(dir.path(), &["render", "--manifests", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["values"]["global"]["baseDomain"], "astro.example.com");
    assert_eq!(doc["manifests"].as_array().unwrap().len(), 4);
    // A chain that carries its private root draws no warning.
    assert_eq!(doc["warnings"], serde_json::json!([]));
    assert!(!text(&out.stdout).contains(&key_line));
}

#[test]
fn render_resolved_still_prints_the_merged_spec() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), false);
    let out = run(dir.path(), &["render", "--resolved"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("profile: existing-cluster\n"));
    assert!(stdout.contains("  baseDomain: astro.example.com\n"));
    let out = run(dir.path(), &["render", "--resolved", "--manifests"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn render_writes_the_values_file() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), false);
    let out = run(dir.path(), &["render", "--out", "values.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(dir.path().join("values.yaml")).unwrap();
    assert!(written.contains("  baseDomain: astro.example.com\n"));
}

/// Chart values written for the 0.37 line, rendered for a 2.x chart: moved
/// to their 2.x keys, with a warning naming each move.
#[test]
fn render_moves_keys_2x_renamed_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("liftoff.yaml"),
        "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: sandbox\nmetadata:\n  name: mig\nplatform:\n  chart: {repository: https://helm.astronomer.io, version: 2.1.0}\n  baseDomain: mig.example.com\n  values:\n    global:\n      rbacEnabled: false\n      stan: {enabled: true}\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(["render", "--output", "json", "-f"])
        .arg(dir.path().join("liftoff.yaml"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["values"]["global"]["rbac"]["enabled"], false);
    assert!(doc["values"]["global"].get("rbacEnabled").is_none());
    assert!(doc["values"]["global"].get("stan").is_none());
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(["render", "-f"])
        .arg(dir.path().join("liftoff.yaml"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&text.stderr);
    assert!(
        err.contains("warning: moved for chart 2.1.0: platform.values.global.rbacEnabled → global.rbac.enabled (renamed)")
            && err.contains("platform.values.global.stan dropped (NATS JetStream replaced STAN)"),
        "{err}"
    );
}
