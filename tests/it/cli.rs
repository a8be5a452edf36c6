//! The `liftoff` binary as a user runs it: exit codes, error output with
//! file:line:column, JSON output, init/validate/render and saved plans.

use std::path::Path;
use std::process::{Command, Output};

fn liftoff(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const FIVE_MISTAKES: &str = "\
apiVersion: liftoff.dev/v1
kind: Installation
profile: aws-standard
metadata:
  name: Acme_Prod
cloud:
  provider: aws
  region: us-east-1
network:
  cidr: 10.0.0.0/8x
  natt: single
cluster:
  kubernetesVersion: \"1.33\"
  nodeGroups:
    - name: platform
      instanceTypes: [m6i.xlarge]
      min: 3
      max: 2
      desired: 3
platform:
  baseDomain: astro..example.com
  tls:
    certFile: ./tls/cert.pem
    keyFile: ./tls/key.pem
";

/// A good wildcard certificate for astro.example.com at `dir/<cert>` and `dir/<key>`.
fn write_tls(dir: &Path, cert: &str, key: &str) {
    let m = &crate::cli_render::materials()[0];
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    std::fs::write(dir.join(cert), &m.chain_pem).unwrap();
    std::fs::write(dir.join(key), m.key_pem.expose()).unwrap();
}

fn with_tls_files(dir: &Path) {
    write_tls(dir, "tls/cert.pem", "tls/key.pem");
}

#[test]
fn validate_reports_every_mistake_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    with_tls_files(dir.path());
    std::fs::write(dir.path().join("bad.yaml"), FIVE_MISTAKES).unwrap();
    let out = liftoff(dir.path(), &["validate", "-f", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert_eq!(err.matches(": error: ").count(), 5, "{err}");
    for line in [
        "bad.yaml:5:",
        "bad.yaml:10:",
        "bad.yaml:11:",
        "bad.yaml:15:",
        "bad.yaml:21:",
    ] {
        assert!(err.contains(line), "missing {line} in\n{err}");
    }
    insta::assert_snapshot!(err);
}

#[test]
fn validate_json_lists_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    with_tls_files(dir.path());
    std::fs::write(dir.path().join("bad.yaml"), FIVE_MISTAKES).unwrap();
    let out = liftoff(
        dir.path(),
        &["validate", "-f", "bad.yaml", "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(3));
    let stdout = text(&out.stdout);
    let first: serde_json::Value = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first["valid"], false);
    let diags = first["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 5);
    assert!(
        diags
            .iter()
            .all(|d| d["pos"].as_str().unwrap().starts_with("bad.yaml:"))
    );
    assert!(diags.iter().any(|d| d["hint"] == "did you mean `nat`?"));
}

#[test]
fn init_writes_a_starter_spec_for_every_profile() {
    for profile in liftoff::spec::profiles::names() {
        let dir = tempfile::tempdir().unwrap();
        let out = liftoff(
            dir.path(),
            &[
                "init",
                "--profile",
                profile,
                "--name",
                "acme",
                "-f",
                "spec.yaml",
            ],
        );
        assert!(out.status.success(), "{profile}: {}", text(&out.stderr));
        let spec = std::fs::read_to_string(dir.path().join("spec.yaml")).unwrap();
        assert!(spec.contains(&format!("profile: {profile}")));
        // Only the files the user still has to provide are missing.
        with_placeholders(dir.path(), profile);
        let out = liftoff(dir.path(), &["validate", "-f", "spec.yaml"]);
        assert!(out.status.success(), "{profile}: {}", text(&out.stderr));
        // Writing again needs --force.
        let out = liftoff(
            dir.path(),
            &["init", "--profile", profile, "-f", "spec.yaml"],
        );
        assert_eq!(out.status.code(), Some(3));
    }
}

fn with_placeholders(dir: &Path, profile: &str) {
    write_tls(dir, "tls/fullchain.pem", "tls/privkey.pem");
    if profile == "airgapped" {
        std::fs::create_dir_all(dir.join("liftoff-bundle")).unwrap();
        // validate reads the archive's Chart.yaml: the real chart.
        std::fs::copy(
            crate::chart::chart_archive("0.37.7"),
            dir.join("astronomer-0.37.7.tgz"),
        )
        .unwrap();
    }
}

#[test]
fn unknown_profile_gets_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: sandbx\nmetadata: {name: demo}\nplatform: {baseDomain: a.example.com}\n";
    std::fs::write(dir.path().join("s.yaml"), spec).unwrap();
    let out = liftoff(dir.path(), &["validate", "-f", "s.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.contains("s.yaml:3:10: error: unknown profile `sandbx`"),
        "{err}"
    );
    assert!(err.contains("did you mean `sandbox`?"), "{err}");
}

#[test]
fn render_resolved_is_a_fixed_point() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        liftoff(
            dir.path(),
            &[
                "init",
                "--profile",
                "sandbox",
                "--name",
                "demo",
                "-f",
                "s.yaml"
            ]
        )
        .status
        .success()
    );
    let first = liftoff(dir.path(), &["render", "--resolved", "-f", "s.yaml"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let resolved = text(&first.stdout);
    assert!(resolved.contains("cidr: 10.42.0.0/16"), "{resolved}");
    assert!(
        resolved.contains("kubernetesVersion: \"1.33\""),
        "{resolved}"
    );
    std::fs::write(dir.path().join("resolved.yaml"), &resolved).unwrap();
    let second = liftoff(dir.path(), &["render", "--resolved", "-f", "resolved.yaml"]);
    assert_eq!(text(&second.stdout), resolved);
}

#[test]
fn missing_spec_and_bad_arguments_have_distinct_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = liftoff(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(err.contains("error: cannot read liftoff.yaml"), "{err}");
    assert!(err.contains("caused by: No such file"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    assert_eq!(liftoff(dir.path(), &["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        liftoff(dir.path(), &["plan", "--parallelism", "many"])
            .status
            .code(),
        Some(2)
    );
}

const EXISTING: &str = "\
apiVersion: liftoff.dev/v1
kind: Installation
profile: existing-cluster
metadata: {name: onprem}
platform:
  baseDomain: astro.example.com
  tls: {certFile: ./tls/cert.pem, keyFile: ./tls/key.pem}
";

#[test]
fn a_second_run_is_refused_while_the_state_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    with_tls_files(dir.path());
    std::fs::write(dir.path().join("s.yaml"), EXISTING).unwrap();
    let _held = liftoff::state::open_local(&dir.path().join(".liftoff"), "onprem").unwrap();
    let out = liftoff(dir.path(), &["plan", "-f", "s.yaml"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(text(&out.stderr).contains("another liftoff run holds the lock"));
}

#[test]
fn a_yaml_syntax_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "apiVersion: liftoff.dev/v1\nkind: [Installation\n",
    )
    .unwrap();
    let out = liftoff(dir.path(), &["validate", "-f", "s.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("error: s.yaml:"), "{err}");
    assert!(
        !err.contains("caused by"),
        "the message is printed once: {err}"
    );
    assert!(lines.last().unwrap().starts_with("hint: "), "{err}");
}

#[test]
fn files_of_a_newer_format_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    with_tls_files(dir.path());
    std::fs::write(dir.path().join("s.yaml"), EXISTING).unwrap();
    std::fs::write(
        dir.path().join("plan.json"),
        r#"{"format": 99, "installation": "onprem", "purpose": "install", "specDigest": "", "observedDigest": "", "changes": []}"#,
    )
    .unwrap();
    let out = liftoff(dir.path(), &["install", "plan.json", "-f", "s.yaml"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "caused by: the saved plan has format 99, newer than this liftoff reads (up to 1)"
        ),
        "{err}"
    );
    assert!(err.contains("hint: a newer liftoff wrote it"), "{err}");

    std::fs::create_dir_all(dir.path().join(".liftoff")).unwrap();
    std::fs::write(
        dir.path().join(".liftoff/onprem.state.json"),
        r#"{"format": 2, "installation": "onprem", "serial": 1, "resources": {}}"#,
    )
    .unwrap();
    let out = liftoff(dir.path(), &["plan", "-f", "s.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error: cannot read state file"), "{err}");
    assert!(
        err.contains(
            "caused by: the state file has format 2, newer than this liftoff reads (up to 1)"
        ),
        "{err}"
    );
    assert!(err.contains("hint: a newer liftoff wrote it"), "{err}");
}

#[test]
fn plan_on_gcp_without_credentials_says_how_to_get_them() {
    let dir = tempfile::tempdir().unwrap();
    with_tls_files(dir.path());
    std::fs::write(
        dir.path().join("liftoff.yaml"),
        "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: gcp-standard\nmetadata:\n  name: acme\ncloud:\n  project: my-project\nplatform:\n  baseDomain: astro.example.com\n  tls:\n    certFile: ./tls/cert.pem\n    keyFile: ./tls/key.pem\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(["plan"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env(
            "GOOGLE_APPLICATION_CREDENTIALS",
            dir.path().join("missing.json"),
        )
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("no Google Cloud credentials"), "{stderr}");
    assert!(
        stderr.contains("hint: run `gcloud auth application-default login`"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
