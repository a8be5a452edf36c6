//! No permission: a storage endpoint that refuses every call with 403, as
//! S3 and GCS do for credentials without rights on the bucket. The run
//! stops before anything (exit 7), naming what was refused and the policy.

use std::io::{Read, Write};
use std::net::TcpListener;

use super::Run;

/// Answers every request with 403 and `body` until the test ends.
fn refusing_server(content_type: &'static str, body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 403 Forbidden\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

async fn plan(state: &str, env: &[(&str, String)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("liftoff.yaml"),
        "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: sandbox\nmetadata:\n  name: acme\nplatform:\n  baseDomain: acme.example.com\n",
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_liftoff"));
    cmd.args(["plan", "--state", state, "-f"])
        .arg(dir.path().join("liftoff.yaml"))
        .stdin(std::process::Stdio::null())
        .env_remove("LIFTOFF_STATE_DIR")
        .env_remove("STORAGE_EMULATOR_HOST")
        .env_remove("AWS_PROFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run: Run = cmd.output().await.unwrap().into();
    assert!(!dir.path().join(".liftoff").exists());
    run
}

#[cfg(feature = "gcp")]
#[tokio::test]
async fn gcs_without_permission_is_named() {
    let port = refusing_server(
        "application/json",
        r#"{"error":{"code":403,"message":"ci@acme.iam.gserviceaccount.com does not have storage.buckets.get access to the Google Cloud Storage bucket."}}"#,
    );
    let run = plan(
        "gs://team-state/acme",
        &[("STORAGE_EMULATOR_HOST", format!("http://127.0.0.1:{port}"))],
    )
    .await;
    assert_eq!(run.code, 7, "{run}");
    assert!(
        run.stderr.contains("error: no permission to read bucket gs://team-state/acme: ci@acme.iam.gserviceaccount.com does not have storage.buckets.get access"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("hint: the credentials need read, write and delete on the state prefix"),
        "{run}"
    );
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn s3_without_permission_is_named() {
    let port = refusing_server(
        "application/xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
    );
    let run = plan(
        "s3://team-state/acme",
        &[
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ],
    )
    .await;
    assert_eq!(run.code, 7, "{run}");
    assert!(
        run.stderr
            .contains("error: no permission to read bucket s3://team-state/acme: "),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("hint: the credentials need read, write and delete on the state prefix"),
        "{run}"
    );
}
