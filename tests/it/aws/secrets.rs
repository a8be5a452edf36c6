//! Secrets stay in their own 0600 files: everything liftoff printed, logged
//! (-vv, and liftoff's trace) and wrote during a full install against moto
//! (state, saved plan, rendered values, JSON events, the values file Helm
//! got) is searched for the database password, the TLS private key, the
//! SMTP token, the AWS secret key and any EKS bearer token.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{Env, read, sandbox_spec, text};

const SMTP_URL: &str = "smtp://mailer:SmtpT0ken-9f2c61d0b7e84e5a@smtp.example.com:587";
const AWS_SECRET: &str = "AwsS3cretKey-0d1c4f7a9e2b4c6d8f0a1b3c5d7e9f11";

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_appears_outside_its_own_0600_file() {
    let env = Env::start(vec![]).await;
    env.write_spec(&format!(
        "{}  smtp:\n    url: {{fromEnv: HUSH_SMTP_URL}}\n",
        sandbox_spec("hush", "single")
    ));
    let vars = [
        ("HUSH_SMTP_URL", SMTP_URL),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ("RUST_LOG", "liftoff=trace"),
    ];
    let saved = env.dir.path().join("saved-plan.json");
    let saved = saved.to_str().unwrap();
    let mut printed = String::new();
    for args in [
        &["-vv", "plan", "--out", saved][..],
        &["-vv", "install", saved, "--output", "json"],
        &["-vv", "plan", "--output", "json"],
        &["-vv", "status"],
        &["-vv", "status", "--output", "json"],
        &["-vv", "render"],
        &["-vv", "render", "--manifests"],
    ] {
        let out = env.liftoff(args, &vars).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        printed.push_str(&text(&out));
    }
    assert!(
        printed.contains("DEBUG") || printed.contains("TRACE"),
        "nothing was logged: {printed}"
    );

    // The secrets, from their own files.
    let state_dir = env.state_dir();
    let password_file = state_dir.join("hush.db-password");
    let key_file = state_dir.join("hush.sandbox-tls.key");
    let password = read(&password_file);
    assert!(password.len() >= 24, "{password}");
    let key = read(&key_file);
    let key_body: Vec<&str> = key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 32)
        .collect();
    assert!(key_body.len() >= 10, "{key}");
    let token = "SmtpT0ken-9f2c61d0b7e84e5a";
    let mut secrets: Vec<(&str, &str)> = vec![
        ("the database password", password.trim()),
        ("the SMTP token", token),
        ("the AWS secret key", AWS_SECRET),
        ("an EKS token", "k8s-aws-v1."),
    ];
    secrets.extend(key_body.iter().map(|l| ("a line of the TLS key", *l)));

    // Where each may be: its own 0600 file. The platform's Kubernetes
    // secrets (the fake API's memory) are where they are meant to go.
    let own = |path: &Path, what: &str| {
        (path == password_file && what == "the database password")
            || (path == key_file && what == "a line of the TLS key")
    };
    for path in [&password_file, &key_file] {
        assert_eq!(mode(path), 0o600, "{}", path.display());
    }
    assert_eq!(mode(&state_dir), 0o700, "the state folder");

    let mut places: Vec<(String, String)> = vec![("what liftoff printed".into(), printed)];
    let written = files(env.dir.path());
    assert!(
        written.iter().any(|p| p.ends_with("hush.state.json")) && written.len() >= 5,
        "{written:?}"
    );
    for path in written {
        let bytes = std::fs::read(&path).unwrap();
        let place = String::from_utf8_lossy(&bytes).into_owned();
        for (what, secret) in &secrets {
            if place.contains(secret) && !own(&path, what) {
                panic!("{what} is in {}", path.display());
            }
        }
    }
    let (values, values_mode, _) = env.helm.values();
    assert!(values.contains("hush.example.com"), "{values}");
    places.push((
        format!("the values file Helm got (mode {values_mode})"),
        values,
    ));
    places.push(("helm's arguments".into(), env.helm.calls().join("\n")));
    places.push(("the AWS calls".into(), env.proxy.calls().join("\n")));
    for (place, content) in &places {
        for (what, secret) in &secrets {
            assert!(!content.contains(secret), "{what} is in {place}");
        }
    }
}
