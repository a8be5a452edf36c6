//! The AWS install against moto with its state, lock and secrets in moto's
//! S3: nothing on the local disk, the secrets encrypted, and a second
//! machine (another folder) sees the same installation.

use crate::aws::{Env, sandbox_spec, text};

#[tokio::test(flavor = "multi_thread")]
async fn the_aws_install_keeps_its_state_in_s3() {
    let env = Env::start(vec![]).await;
    let sdk = env.sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("acme-liftoff")
        .send()
        .await
        .unwrap();
    env.write_spec(&format!(
        "{}state:\n  backend: s3\n  bucket: acme-liftoff\n  prefix: prod\n",
        sandbox_spec("teamed", "single")
    ));
    let out = env
        .liftoff(&["install", "--yes", "--output", "json"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one document");
    assert_eq!(
        result["outputs"]["aws"]["secrets"]["databasePasswordFile"],
        "s3://acme-liftoff/prod/teamed.db-password"
    );

    // Nothing on this machine's disk: state, password and sandbox key are
    // in the bucket, the secrets encrypted and never in the state.
    for name in [
        "teamed.state.json",
        "teamed.db-password",
        "teamed.sandbox-tls.key",
    ] {
        assert!(!env.state_dir().join(name).exists(), "{name} on disk");
    }
    let object = |key: &'static str| {
        let s3 = s3.clone();
        async move {
            s3.get_object()
                .bucket("acme-liftoff")
                .key(format!("prod/{key}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{key}: {e}"))
        }
    };
    let password = object("teamed.db-password").await;
    assert_eq!(
        password.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256)
    );
    let password = String::from_utf8(password.body.collect().await.unwrap().to_vec()).unwrap();
    assert!(password.len() >= 24);
    let key = object("teamed.sandbox-tls.key").await;
    assert_eq!(
        key.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256)
    );
    let state = object("teamed.state.json").await;
    let state = String::from_utf8(state.body.collect().await.unwrap().to_vec()).unwrap();
    assert!(
        state.contains("aws.vpc") && state.contains("cluster.helm_release"),
        "{state}"
    );
    assert!(
        !state.contains(&password),
        "the password is not in the state"
    );
    assert!(!text(&out).contains(&password));
    let lock = s3
        .get_object()
        .bucket("acme-liftoff")
        .key("prod/teamed.lock")
        .send()
        .await;
    assert!(lock.is_err(), "the lock was released");

    // Another machine: the same spec in another folder sees the
    // installation, plans nothing, and destroys it.
    let elsewhere = tempfile::tempdir().unwrap();
    let other_spec = elsewhere.path().join("liftoff.yaml");
    std::fs::copy(env.spec_path(), &other_spec).unwrap();
    let other = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_liftoff"));
        cmd.args(args)
            .arg("-f")
            .arg(&other_spec)
            .stdin(std::process::Stdio::null())
            .env("AWS_ENDPOINT_URL", env.proxy.url())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", crate::aws::REGION)
            .env("LIFTOFF_AWS_POLL_MS", "5")
            .env("PATH", {
                let mut paths = vec![env.helm.path().to_path_buf()];
                paths.extend(std::env::split_paths(
                    &std::env::var_os("PATH").unwrap_or_default(),
                ));
                std::env::join_paths(paths).unwrap()
            })
            .env_remove("LIFTOFF_HELM")
            .env_remove("KUBECONFIG")
            .env_remove("AWS_PROFILE")
            .env_remove("LIFTOFF_STATE_DIR")
            .env_remove("LIFTOFF_STATE");
        cmd
    };
    let plan = other(&["plan", "--output", "json"]).output().await.unwrap();
    assert!(plan.status.success(), "{}", text(&plan));
    let plan: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&plan.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "no-op"),
        "{plan}"
    );
    let out = other(&["destroy", "--yes", "--skip-final-snapshot"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    for key in [
        "teamed.state.json",
        "teamed.db-password",
        "teamed.sandbox-tls.key",
        "teamed.lock",
    ] {
        let gone = s3
            .get_object()
            .bucket("acme-liftoff")
            .key(format!("prod/{key}"))
            .send()
            .await;
        assert!(gone.is_err(), "{key} is still there");
    }
    assert!(!elsewhere.path().join(".liftoff").exists());
}
