//! What only S3 shows: secret objects are written with server-side
//! encryption; a missing bucket is named with the way out.

use super::{Bucket, Machine, World};

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_encrypted_and_a_missing_bucket_is_named() {
    let bucket = Bucket::s3(true).await;
    let world = World::start().await;
    let m = Machine::new(&world, Some(&bucket), "");
    std::fs::create_dir_all(m.path(".liftoff")).unwrap();
    std::fs::write(m.path(".liftoff/acme.db-password"), "pw-Hunter2Secret").unwrap();
    let run = m.run(&["state", "migrate", "--to", &bucket.url()]).await;
    assert_eq!(run.code, 0, "{run}");
    let head = bucket
        .s3_client()
        .await
        .head_object()
        .bucket(&bucket.name)
        .key(format!("{}/acme.db-password", bucket.prefix))
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256)
    );
    // The state document itself is not a secret object.
    let head = bucket
        .s3_client()
        .await
        .head_object()
        .bucket(&bucket.name)
        .key(format!("{}/acme.state.json", bucket.prefix))
        .send()
        .await;
    assert!(head.is_err(), "no state was there to move");

    let run = m.run(&["--state", "s3://no-such-bucket/x", "plan"]).await;
    assert_eq!(run.code, 7, "{run}");
    assert!(
        run.stderr.contains(
            "error: bucket `no-such-bucket` does not exist (state s3://no-such-bucket/x)"
        ),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("hint: create the bucket `no-such-bucket` first"),
        "{run}"
    );
}
