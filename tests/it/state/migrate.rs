//! `state migrate`: a local state and its secret files into a bucket and
//! back, verified by digest; refused when the bucket holds a different
//! state of the installation. A bucket without versioning is warned about.

use serde_json::json;

use super::{Bucket, Machine, World, mode, show};

/// A local state of `acme` recording `resources` (with serial 7), and the
/// generated database password beside it.
fn local_state(machine: &Machine, folder: &str, resources: &[&str]) {
    let dir = machine.path(folder);
    std::fs::create_dir_all(&dir).unwrap();
    let mut recorded = serde_json::Map::new();
    for r in resources {
        recorded.insert(
            (*r).into(),
            json!({"kind": "cluster.namespace", "status": "ready", "id": r, "token": "t", "props": {}, "outputs": {}, "deps": []}),
        );
    }
    let doc = json!({"format": 1, "installation": "acme", "serial": 7, "resources": recorded});
    std::fs::write(
        dir.join("acme.state.json"),
        serde_json::to_vec_pretty(&doc).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("acme.db-password"), "pw-Hunter2Secret").unwrap();
}

async fn round_trip(bucket: Bucket) {
    let world = World::start().await;
    let m = Machine::new(&world, Some(&bucket), "");
    local_state(
        &m,
        ".liftoff",
        &["cluster.namespace", "cluster.secret[tls]"],
    );
    let before = show(&m).await;
    assert_eq!(before["resources"], 2, "{before}");
    let url = bucket.url();

    let run = m.run(&["state", "migrate", "--to", &url]).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("verified"), "{run}");
    // moto answers GetBucketVersioning in a shape the SDK does not read:
    // liftoff says it cannot tell; fake-gcs-server says it is off.
    assert!(
        run.stderr
            .contains("warning: object versioning is off on bucket `team-state`")
            || run.stderr.contains(
                "warning: cannot tell whether object versioning is on for bucket `team-state`"
            ),
        "{run}"
    );
    assert!(!run.stderr.contains("StatusCode("), "no Debug dump: {run}");
    assert!(
        !m.path(".liftoff/acme.state.json").exists(),
        "moved, not copied"
    );
    assert!(
        !m.path(".liftoff/acme.db-password").exists(),
        "moved, not copied"
    );
    let stored = bucket.get("acme.state.json").await.unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains("Hunter2"),
        "no secret in the state"
    );
    assert_eq!(
        bucket.get("acme.db-password").await.as_deref(),
        Some(&b"pw-Hunter2Secret"[..])
    );
    let there = show_at(&m, &url).await;
    assert_eq!(there["digest"], before["digest"], "{there}");
    assert!(there["serial"].as_u64().unwrap() > 7, "{there}");

    // And back, to another folder.
    let run = m
        .run(&["--state", &url, "state", "migrate", "--to", "elsewhere"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(bucket.get("acme.state.json").await.is_none());
    assert!(bucket.get("acme.db-password").await.is_none());
    let back = show_at(&m, "elsewhere").await;
    assert_eq!(back["digest"], before["digest"], "{back}");
    assert_eq!(
        std::fs::read_to_string(m.path("elsewhere/acme.db-password")).unwrap(),
        "pw-Hunter2Secret"
    );
    assert_eq!(mode(&m.path("elsewhere/acme.db-password")), 0o600);
    assert_eq!(mode(&m.path("elsewhere/acme.state.json")), 0o600);

    // A bucket holding another state of `acme` is never replaced.
    let run = m
        .run(&["--state", "elsewhere", "state", "migrate", "--to", &url])
        .await;
    assert_eq!(run.code, 0, "{run}");
    local_state(&m, "third", &["cluster.namespace"]);
    let run = m
        .run(&["--state", "third", "state", "migrate", "--to", &url])
        .await;
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("already holds a different state of `acme`"),
        "{run}"
    );
    assert!(
        m.path("third/acme.state.json").exists(),
        "the source is kept"
    );
    assert_eq!(show_at(&m, &url).await["digest"], before["digest"]);

    // pull, and push back: an older document only with --force.
    let pulled = m.path("pulled.json");
    let run = m
        .run(&[
            "--state",
            &url,
            "state",
            "pull",
            "--out",
            pulled.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 0, "{run}");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pulled).unwrap()).unwrap();
    let serial = doc["serial"].as_u64().unwrap();
    doc["serial"] = 1.into();
    std::fs::write(&pulled, doc.to_string()).unwrap();
    let push = ["--state", &url, "state", "push", pulled.to_str().unwrap()];
    let run = m.run(&push).await;
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("the pushed state is older (serial 1)"),
        "{run}"
    );
    let run = m.run(&[&push[..], &["--force"]].concat()).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(show_at(&m, &url).await["serial"], serial + 1);
    doc["installation"] = "other".into();
    std::fs::write(&pulled, doc.to_string()).unwrap();
    let run = m.run(&[&push[..], &["--force"]].concat()).await;
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("belongs to installation `other`, not `acme`"),
        "{run}"
    );
}

async fn show_at(m: &Machine, state: &str) -> serde_json::Value {
    let run = m
        .run(&["--state", state, "state", "show", "--output", "json"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    serde_json::from_str(run.stdout.trim()).unwrap()
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn s3_migrate_round_trip() {
    let bucket = Bucket::s3(false).await;
    round_trip(bucket).await;
}

#[cfg(feature = "gcp")]
#[tokio::test(flavor = "multi_thread")]
async fn gcs_migrate_round_trip() {
    let bucket = Bucket::gcs(false).await;
    round_trip(bucket).await;
}
