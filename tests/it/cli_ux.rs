//! What a user meets at the command line beyond validation: `status` during
//! another run, confirmation, JSON documents, pipes, colours, help texts.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn liftoff(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env_remove("RUST_LOG")
        .env_remove("LIFTOFF_STATE_DIR")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const SANDBOX: &str = "\
apiVersion: liftoff.dev/v1
kind: Installation
profile: sandbox
metadata:
  name: quiet
platform:
  baseDomain: quiet.example.com
";

#[test]
fn status_takes_no_lock_and_creates_no_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("liftoff.yaml"), SANDBOX).unwrap();
    let out = liftoff(dir.path(), &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !dir.path().join(".liftoff").exists(),
        "status created the state folder"
    );
    // Another run holds the lock: status still answers.
    let held = liftoff::state::open_local(&dir.path().join(".liftoff"), "quiet").unwrap();
    let out = liftoff(dir.path(), &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no resources recorded"),
        "{}",
        text(&out)
    );
    let out = liftoff(dir.path(), &["status", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["installation"], "quiet");
    drop(held);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("liftoff.yaml"), SANDBOX).unwrap();
    // The reader is gone before liftoff writes anything.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(["render", "--resolved"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn help_lists_exit_codes_profiles_and_phase_only_where_it_applies() {
    let dir = tempfile::tempdir().unwrap();
    let help = liftoff(dir.path(), &["--help"]);
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.contains("Exit codes:"), "{help}");
    assert!(help.contains("130  interrupted"), "{help}");
    assert!(
        help.contains("8    doctor: a preflight check failed"),
        "{help}"
    );
    assert!(!help.contains("--phase"), "{help}");
    let init = liftoff(dir.path(), &["init", "--help"]);
    let init = String::from_utf8_lossy(&init.stdout).into_owned();
    for profile in liftoff::spec::profiles::names() {
        assert!(
            init.contains(&format!("  {profile} ")),
            "{profile} in\n{init}"
        );
    }
    assert!(init.contains("a new VPC over three zones"), "{init}");
    assert!(!init.contains("--phase"), "{init}");
    for command in ["plan", "install", "destroy"] {
        let out = liftoff(dir.path(), &[command, "--help"]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("--phase"),
            "{command}"
        );
    }
    for command in ["status", "validate", "render", "doctor"] {
        let out = liftoff(dir.path(), &[command, "--help"]);
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("--phase"),
            "{command}"
        );
    }
}

#[test]
fn init_says_how_to_get_a_certificate_and_offers_a_trial() {
    let dir = tempfile::tempdir().unwrap();
    let out = liftoff(
        dir.path(),
        &["init", "--profile", "aws-standard", "-f", "real.yaml"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("needs a wildcard certificate"), "{said}");
    assert!(said.contains("--trial"), "{said}");
    let spec = std::fs::read_to_string(dir.path().join("real.yaml")).unwrap();
    assert!(spec.contains("certbot certonly"), "{spec}");

    let out = liftoff(
        dir.path(),
        &[
            "init",
            "--profile",
            "aws-standard",
            "--trial",
            "-f",
            "trial.yaml",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("WARNING: TRIAL"),
        "{}",
        text(&out)
    );
    // The trial spec validates, with a loud warning; nothing else may
    // self-sign.
    let out = liftoff(dir.path(), &["validate", "-f", "trial.yaml"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("TRIAL ONLY"),
        "{}",
        text(&out)
    );
    let spec = std::fs::read_to_string(dir.path().join("trial.yaml")).unwrap();
    let not_trial = spec.replace("  trial: true\n", "");
    assert_ne!(spec, not_trial);
    std::fs::write(dir.path().join("not-trial.yaml"), not_trial).unwrap();
    let out = liftoff(dir.path(), &["validate", "-f", "not-trial.yaml"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("metadata.trial: true"),
        "{}",
        text(&out)
    );
}

#[cfg(feature = "aws")]
#[test]
fn plan_without_aws_credentials_fails_at_once_saying_what_was_tried() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("liftoff.yaml"), SANDBOX).unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(["plan", "--phase", "cloud"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        // Nothing may reach AWS: the chain must fail before any call.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no AWS credentials found"), "{stderr}");
    for tried in ["AWS_ACCESS_KEY_ID", "AWS_PROFILE", "SSO", "IMDS"] {
        assert!(stderr.contains(tried), "{tried} not named in\n{stderr}");
    }
    assert!(stderr.contains("aws sso login"), "{stderr}");
    assert!(!stderr.contains("ProviderError"), "a Debug dump:\n{stderr}");
    assert!(!stderr.contains('\x1b'), "colour codes:\n{stderr}");
    assert!(!stderr.contains("WARN"), "SDK log lines:\n{stderr}");
    assert!(
        elapsed < std::time::Duration::from_secs(30),
        "took {elapsed:?}"
    );
}

#[cfg(feature = "aws")]
#[test]
fn ctrl_c_while_reading_what_exists_says_so_in_one_line() {
    use std::net::TcpListener;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("liftoff.yaml"), SANDBOX).unwrap();
    // "AWS" accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (accepted, connected) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            let _ = accepted.send(());
        }
    });
    let child = Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(["plan", "--phase", "cloud"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .spawn()
        .unwrap();
    // liftoff is waiting on AWS: interrupt it.
    connected
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("liftoff never called AWS");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The sandbox certificate's warning comes first; the interruption is
    // one line.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("warning: generated a self-signed"))
        .collect();
    assert_eq!(
        lines,
        [
            "error: interrupted (Ctrl-C) while reading what exists: nothing was changed; run the same command again to start over"
        ],
        "{}",
        text(&out)
    );
}

/// `validate -f NAME` on `text`: the exit code and stderr.
fn validate(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), text).unwrap();
    let out = liftoff(dir.path(), &["validate", "-f", "s.yaml"]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const HEAD: &str = "apiVersion: liftoff.dev/v1\nkind: Installation\n";

#[test]
fn a_misspelt_top_level_key_or_profile_reports_only_the_cause() {
    let (code, err) = validate(&format!(
        "{HEAD}profile: aws-standard\nmetadata:\n  name: acme\nplatfrom:\n  baseDomain: a.example.com\n"
    ));
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(err.matches(": error: ").count(), 1, "{err}");
    assert!(
        err.contains("s.yaml:6:1: error: unknown key `platfrom`"),
        "{err}"
    );
    assert!(err.contains("did you mean `platform`"), "{err}");
    assert!(
        !err.contains("missing field") && !err.contains("profiles/"),
        "{err}"
    );

    let (code, err) = validate(&format!(
        "{HEAD}profile: aws-standrd\nmetadata:\n  name: acme\nplatform:\n  baseDomain: a.example.com\n"
    ));
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(err.matches(": error: ").count(), 1, "{err}");
    assert!(err.contains("unknown profile `aws-standrd`"), "{err}");
    assert!(!err.contains("missing field"), "{err}");
}

#[test]
fn yaml_mistakes_are_said_plainly_at_their_line() {
    let (code, err) = validate(&format!(
        "{HEAD}profile: sandbox\nmetadata:\n  name: acme\n\tplatform:\n  baseDomain: a.example.com\n"
    ));
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("s.yaml:6:1: a tab character indents this line"),
        "{err}"
    );
    let (code, err) = validate(&format!(
        "{HEAD}profile: sandbox\nmetadata:\n  name: \"acme\nplatform:\n  baseDomain: a.example.com\n"
    ));
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("s.yaml:5:9: the quoted value starting here is never closed"),
        "{err}"
    );
    assert!(!err.contains("invalid indentation"), "{err}");
}

#[test]
fn errors_in_a_built_in_profile_name_it_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = liftoff(
        dir.path(),
        &["init", "--profile", "airgapped", "-f", "air.yaml"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = liftoff(dir.path(), &["validate", "-f", "air.yaml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(!err.contains("profiles/"), "{err}");
    assert!(!err.contains("bundle create"), "{err}");
    assert!(err.contains("built-in profile `airgapped`"), "{err}");
}

#[test]
fn every_diagnostic_has_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "{HEAD}profile: sandbox\nmetadata:\n  name: acme\n  tags: [a]\nplatform:\n  baseDomain: a.example.com\n  loadBalancerIp: nope\n  alertEmails: [nobody]\ndatabase:\n  storageGb: lots\n  backupRetentionDays: 90\ncluster:\n  nodeGroups:\n    - {{name: a, instanceTypes: [m6i.large], min: 3, max: 2, desired: 3}}\n    - {{name: a, instanceTypes: [m6i.large], min: 1, max: 1, desired: 1}}\n"
    );
    std::fs::write(dir.path().join("s.yaml"), spec).unwrap();
    let out = liftoff(
        dir.path(),
        &["validate", "-f", "s.yaml", "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diagnostics = doc["diagnostics"].as_array().unwrap();
    assert!(diagnostics.len() >= 5, "{doc:#}");
    for d in diagnostics {
        assert!(
            d["hint"].as_str().is_some_and(|h| !h.is_empty()),
            "no hint: {d:#}"
        );
    }
}
