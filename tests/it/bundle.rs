//! Air-gapped bundles against two real registries (Debian's
//! `docker-registry` on loopback: one plays the public source, the other
//! the private target) with small images built here (a single-platform
//! image and a two-platform index sharing a base layer): create → verify →
//! push → pull back by digest gives identical digests; a push again sends
//! nothing; a differential bundle leaves out what the older one had, and
//! its push names the blobs a registry lacks; a corrupt blob, a truncated
//! bundle, a bad signature, a path-traversal archive and too little disk
//! space are each refused with a clear message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::registry::{Layout, Registry, Secured, tools_missing};

macro_rules! registry_tools {
    () => {
        if let Some(why) = tools_missing() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

fn liftoff(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("DOCKER_CONFIG")
        .env("HOME", dir)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn chart() -> PathBuf {
    crate::chart::chart_archive("0.37.7")
}

/// A spec on the sandbox profile with the real chart as a local archive.
fn write_spec(dir: &Path) {
    std::fs::write(
        dir.join("liftoff.yaml"),
        format!(
            "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: sandbox\nmetadata: {{name: bundled}}\nplatform:\n  baseDomain: astro.example.com\n  chart: {{repository: {}, name: astronomer, version: 0.37.7}}\n",
            chart().display()
        ),
    )
    .unwrap();
}

/// The source registry with `astronomer/ap-redis:7.4.3` (linux/amd64) and
/// `astronomer/ap-multi:1.0` (linux/amd64 + linux/arm64), all on one base layer.
fn source(dir: &Path) -> Registry {
    let source = Registry::start();
    let mut layout = Layout::new(&dir.join("layout"));
    let redis = layout.image("amd64", "redis", 200_000);
    layout.tag_image("7.4.3", redis);
    source.copy_in(&layout.dir, "7.4.3", "astronomer/ap-redis");
    let amd = layout.image("amd64", "multi-amd64", 150_000);
    let arm = layout.image("arm64", "multi-arm64", 150_000);
    layout.tag_index("1.0", vec![amd, arm]);
    source.copy_in(&layout.dir, "1.0", "astronomer/ap-multi");
    source
}

fn create(dir: &Path, source: &Registry, out: &str, extra: &[&str]) -> Value {
    let redis = format!("{}/astronomer/ap-redis:7.4.3", source.host);
    let multi = format!("{}/astronomer/ap-multi:1.0", source.host);
    let mut args = vec![
        "bundle",
        "create",
        "--output",
        "json",
        "--no-chart-images",
        "--image",
        &redis,
        "--image",
        &multi,
        "--plain-http",
        &source.host,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    ok(&liftoff(dir, &args))
}

#[test]
fn create_verify_push_and_pull_back_by_digest() {
    registry_tools!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_spec(d);
    let source = source(d);
    let target = Registry::start();
    ok(&liftoff(d, &["bundle", "keygen", "--out", "key"]));

    let summary = create(
        d,
        &source,
        "b.tar.zst",
        &["--zstd", "--sign-key", "key.pem"],
    );
    assert_eq!(summary["images"], 2, "{summary}");
    assert_eq!(summary["signed"], true);
    // The base layer is in all three manifests and the bundle holds it once.
    assert!(
        summary["dedupSavedBytes"].as_u64().unwrap() > 0,
        "{summary}"
    );
    let bundle = d.join("b.tar.zst");
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut std::fs::File::open(&bundle).unwrap(), &mut magic).unwrap();
    assert_eq!(magic, [0x28, 0xb5, 0x2f, 0xfd], "zstd-compressed");

    // verify: every checksum and the signature.
    let v = ok(&liftoff(
        d,
        &[
            "bundle",
            "verify",
            "b.tar.zst",
            "--public-key",
            "key.pub.pem",
            "--output",
            "json",
        ],
    ));
    assert_eq!(v["signed"], true);
    let unsigned_check = liftoff(d, &["bundle", "verify", "b.tar.zst"]);
    assert_eq!(unsigned_check.status.code(), Some(9));
    assert!(
        text(&unsigned_check.stderr).contains("is signed"),
        "{}",
        text(&unsigned_check.stderr)
    );

    // inspect lists the images and every file.
    let listed = liftoff(d, &["bundle", "inspect", "b.tar.zst", "--images"]);
    let images = text(&listed.stdout);
    assert!(
        images.contains("/astronomer/ap-redis:7.4.3")
            && images.contains("/astronomer/ap-multi:1.0"),
        "{images}"
    );
    let m = ok(&liftoff(
        d,
        &["bundle", "inspect", "b.tar.zst", "--output", "json"],
    ));
    let files: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"chart/astronomer-0.37.7.tgz") && files.contains(&"bin/liftoff"),
        "{files:?}"
    );
    assert!(
        m["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["sha256"].as_str().unwrap().len() == 64)
    );

    // push under <registry>/<basename>:<tag>, then pull back by digest.
    let registry = format!("{}/mirror", target.host);
    let pushed = ok(&liftoff(
        d,
        &[
            "bundle",
            "push",
            "b.tar.zst",
            "--registry",
            &registry,
            "--plain-http",
            "--public-key",
            "key.pub.pem",
            "--output",
            "json",
        ],
    ));
    assert_eq!(pushed["blobsSkipped"], 0, "{pushed}");
    for (repo, tag) in [("ap-redis", "7.4.3"), ("ap-multi", "1.0")] {
        let (_, source_digest) = source
            .raw_manifest(&format!("astronomer/{repo}:{tag}"))
            .unwrap();
        let (raw, target_digest) = target
            .raw_manifest(&format!("mirror/{repo}:{tag}"))
            .unwrap();
        assert_eq!(source_digest, target_digest, "{repo}");
        let by_digest = target
            .raw_manifest(&format!("mirror/{repo}@{source_digest}"))
            .unwrap();
        assert_eq!(by_digest.1, source_digest);
        // Every platform of the index is there, by digest.
        let doc: Value = serde_json::from_slice(&raw).unwrap();
        for child in doc["manifests"].as_array().into_iter().flatten() {
            let d = child["digest"].as_str().unwrap();
            assert_eq!(
                target
                    .raw_manifest(&format!("mirror/{repo}@{d}"))
                    .unwrap()
                    .1,
                d
            );
        }
    }
    // Pushing again (an interrupted push resumed) sends no blob again.
    let again = ok(&liftoff(
        d,
        &[
            "bundle",
            "push",
            "b.tar.zst",
            "--registry",
            &registry,
            "--plain-http",
            "--public-key",
            "key.pub.pem",
            "--output",
            "json",
        ],
    ));
    assert_eq!(again["blobsPushed"], 0, "{again}");
    assert_eq!(again["blobsMounted"], 0, "{again}");
    // The base layer went once and was mounted into the other repository.
    assert_eq!(pushed["blobsMounted"], 1, "{pushed}");
    assert_eq!(
        again["blobsSkipped"].as_u64().unwrap(),
        pushed["blobsPushed"].as_u64().unwrap() + 1,
        "{again}"
    );

    // A differential bundle: one new image on the same base layer.
    let mut layout = Layout::new(&d.join("layout"));
    let new = layout.image("amd64", "new", 120_000);
    layout.tag_image("2.0", new);
    source.copy_in(&layout.dir, "2.0", "astronomer/ap-new");
    let new_ref = format!("{}/astronomer/ap-new:2.0", source.host);
    let diff = create(
        d,
        &source,
        "diff.tar",
        &["--zstd", "--since", "b.tar.zst", "--image", &new_ref],
    );
    assert!(
        diff["sinceSavedBytes"].as_u64().unwrap() > 400_000,
        "{diff}"
    );
    assert_eq!(diff["images"], 3);
    let inspected = text(&liftoff(d, &["bundle", "inspect", "diff.tar"]).stdout);
    assert!(inspected.contains("differential:"), "{inspected}");
    let old_size = std::fs::metadata(&bundle).unwrap().len();
    assert!(
        std::fs::metadata(d.join("diff.tar")).unwrap().len() < old_size,
        "smaller than the full bundle"
    );
    ok(&liftoff(d, &["bundle", "verify", "diff.tar"]));
    // Into the registry that has the older bundle: only the new blobs go.
    let pushed = ok(&liftoff(
        d,
        &[
            "bundle",
            "push",
            "diff.tar",
            "--registry",
            &registry,
            "--plain-http",
            "--output",
            "json",
        ],
    ));
    assert_eq!(pushed["images"].as_array().unwrap().len(), 3);
    let (_, want) = source.raw_manifest("astronomer/ap-new:2.0").unwrap();
    assert_eq!(target.raw_manifest("mirror/ap-new:2.0").unwrap().1, want);
    // Into an empty registry: refused, naming the blobs it lacks.
    let empty = Registry::start();
    let refused = liftoff(
        d,
        &[
            "bundle",
            "push",
            "diff.tar",
            "--registry",
            &empty.host,
            "--plain-http",
        ],
    );
    assert_eq!(refused.status.code(), Some(7), "{}", text(&refused.stderr));
    let err = text(&refused.stderr);
    assert!(err.contains("lacks") && err.contains("@sha256:"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

/// Byte offset of `name`'s data inside the (uncompressed) tar at `path`.
fn data_offset(path: &Path, wanted: &dyn Fn(&str) -> bool) -> (String, u64, u64) {
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        if wanted(&name) {
            return (name, entry.raw_file_position(), entry.size());
        }
    }
    panic!("no such entry");
}

#[test]
fn a_corrupt_or_truncated_bundle_and_a_bad_signature_are_named() {
    registry_tools!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_spec(d);
    let source = source(d);
    ok(&liftoff(d, &["bundle", "keygen", "--out", "signer"]));
    ok(&liftoff(d, &["bundle", "keygen", "--out", "other"]));
    create(d, &source, "b.tar", &["--sign-key", "signer.pem"]);
    let good = std::fs::read(d.join("b.tar")).unwrap();

    // One flipped byte inside a layer blob.
    let (blob, offset, size) = data_offset(&d.join("b.tar"), &|n| {
        n.starts_with("images/blobs/sha256/") && n.len() > 40
    });
    assert!(size > 100);
    let mut bad = good.clone();
    bad[(offset + size / 2) as usize] ^= 0xff;
    std::fs::write(d.join("corrupt.tar"), &bad).unwrap();
    let out = liftoff(
        d,
        &[
            "bundle",
            "verify",
            "corrupt.tar",
            "--public-key",
            "signer.pub.pem",
        ],
    );
    assert_eq!(out.status.code(), Some(9));
    let err = text(&out.stderr);
    assert!(err.contains(&blob), "names the bad file: {err}");
    assert!(err.contains("hint:"), "{err}");
    // push verifies first, and pushes nothing from a bad bundle.
    let target = Registry::start();
    let out = liftoff(
        d,
        &[
            "bundle",
            "push",
            "corrupt.tar",
            "--registry",
            &target.host,
            "--plain-http",
            "--public-key",
            "signer.pub.pem",
        ],
    );
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    assert!(target.raw_manifest("ap-redis:7.4.3").is_none());

    // Truncated in the middle of a file.
    std::fs::write(d.join("short.tar"), &good[..(offset + size / 2) as usize]).unwrap();
    let out = liftoff(
        d,
        &[
            "bundle",
            "verify",
            "short.tar",
            "--public-key",
            "signer.pub.pem",
        ],
    );
    assert_eq!(out.status.code(), Some(9));
    let err = text(&out.stderr);
    assert!(err.contains("truncated") && err.contains(&blob), "{err}");

    // The wrong public key.
    let out = liftoff(
        d,
        &["bundle", "verify", "b.tar", "--public-key", "other.pub.pem"],
    );
    assert_eq!(out.status.code(), Some(9));
    assert!(
        text(&out.stderr).contains("bad signature"),
        "{}",
        text(&out.stderr)
    );
    // An altered manifest (re-written with a different file list) fails the signature.
    let (_, moff, msize) = data_offset(&d.join("b.tar"), &|n| n == "manifest.json");
    let mut altered = good.clone();
    let at = (moff..moff + msize)
        .find(|i| altered[*i as usize] == b'"')
        .unwrap() as usize;
    altered[at + 1] ^= 0x01;
    std::fs::write(d.join("altered.tar"), &altered).unwrap();
    let out = liftoff(
        d,
        &[
            "bundle",
            "verify",
            "altered.tar",
            "--public-key",
            "signer.pub.pem",
        ],
    );
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    ok(&liftoff(
        d,
        &[
            "bundle",
            "verify",
            "b.tar",
            "--public-key",
            "signer.pub.pem",
        ],
    ));
}

/// A tar entry with a raw name (no checks by the tar crate).
fn raw_entry(
    tar: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: &str,
    data: &[u8],
) {
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_gnu_mut().unwrap().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append(&h, data).unwrap();
}

#[test]
fn unsafe_archives_and_too_little_space_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let work = d.join("work");
    std::fs::create_dir(&work).unwrap();
    let cases: [(&str, &str, tar::EntryType, &str, &str); 5] = [
        (
            "dotdot",
            "images/../../evil",
            tar::EntryType::Regular,
            "",
            "climbs out",
        ),
        (
            "absolute",
            "/tmp/liftoff-evil",
            tar::EntryType::Regular,
            "",
            "absolute",
        ),
        (
            "symlink",
            "images/link",
            tar::EntryType::Symlink,
            "../../etc",
            "outside the bundle",
        ),
        (
            "symlink-chain",
            "a/b/s",
            tar::EntryType::Symlink,
            "../x",
            "outside the bundle",
        ),
        (
            "hardlink",
            "images/hard",
            tar::EntryType::Link,
            "/etc/passwd",
            "absolute",
        ),
    ];
    for (case, name, kind, link, says) in cases {
        let mut tar = tar::Builder::new(Vec::new());
        raw_entry(
            &mut tar,
            "bundle.json",
            tar::EntryType::Regular,
            "",
            br#"{"format":1,"totalBytes":5,"files":1}"#,
        );
        raw_entry(&mut tar, name, kind, link, b"evil\n");
        let path = d.join(format!("{case}.tar"));
        std::fs::write(&path, tar.into_inner().unwrap()).unwrap();
        for args in [
            vec!["bundle", "verify", path.to_str().unwrap()],
            vec![
                "bundle",
                "push",
                path.to_str().unwrap(),
                "--registry",
                "127.0.0.1:9",
                "--work-dir",
                work.to_str().unwrap(),
            ],
        ] {
            let out = liftoff(d, &args);
            assert_eq!(out.status.code(), Some(9), "{case}: {}", text(&out.stderr));
            let err = text(&out.stderr);
            assert!(
                err.contains("unsafe") && err.contains(says),
                "{case}: {err}"
            );
        }
    }
    assert!(!d.join("evil").exists() && !Path::new("/tmp/liftoff-evil").exists());
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "nothing left behind"
    );

    // A header announcing more bytes than the disk has free.
    let mut tar = tar::Builder::new(Vec::new());
    raw_entry(
        &mut tar,
        "bundle.json",
        tar::EntryType::Regular,
        "",
        br#"{"format":1,"totalBytes":1152921504606846976,"files":1}"#,
    );
    raw_entry(&mut tar, "chart/a.tgz", tar::EntryType::Regular, "", b"x");
    std::fs::write(d.join("huge.tar"), tar.into_inner().unwrap()).unwrap();
    let out = liftoff(
        d,
        &[
            "bundle",
            "push",
            "huge.tar",
            "--registry",
            "127.0.0.1:9",
            "--work-dir",
            work.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not enough free space"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn the_image_list_covers_the_real_chart_with_every_feature_and_what_airflow_gets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_spec(d);
    let helm = crate::support::helm_python().parent().unwrap().join("helm");
    if !helm.exists() {
        eprintln!(
            "skipped: no helm at {} (run scripts/test-deps)",
            helm.display()
        );
        return;
    }
    // The runtime versions the platform offers new deployments: each
    // version's Astro Runtime image is listed too.
    std::fs::write(
        d.join("runtime-versions.json"),
        r#"{"runtimeVersions": {"11.3.0": {"metadata": {"channel": "stable"}}, "12.1.0": {"metadata": {"channel": "stable"}}}}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args([
            "bundle",
            "create",
            "--list-images",
            "--runtime-versions",
            "runtime-versions.json",
            "--output",
            "json",
        ])
        .current_dir(d)
        .env("LIFTOFF_HELM", &helm)
        .output()
        .unwrap();
    let listed = ok(&out);
    let images: Vec<&str> = listed["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    // Measured with the real chart: 31 distinct images with every optional
    // feature on, plus the images handed to Airflow deployments.
    assert!(images.len() >= 31, "{} images: {images:#?}", images.len());
    for wanted in [
        "quay.io/astronomer/ap-git-sync-relay:",
        "quay.io/astronomer/ap-git-daemon:",
        "quay.io/astronomer/ap-certgenerator:",
        "quay.io/astronomer/ap-statsd-exporter:",
        "quay.io/astronomer/ap-pgbouncer-exporter:",
        "quay.io/astronomer/ap-houston-api:",
        "quay.io/astronomer/ap-postgresql:",
        "quay.io/astronomer/astro-runtime:11.3.0",
        "quay.io/astronomer/astro-runtime:12.1.0",
    ] {
        assert!(
            images.iter().any(|i| i.starts_with(wanted)),
            "{wanted} missing: {images:#?}"
        );
    }
    assert!(
        images.iter().all(|i| i.contains(':')),
        "every image has a tag: {images:#?}"
    );
}

#[test]
fn push_to_a_registry_with_a_private_ca_and_a_login() {
    registry_tools!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_spec(d);
    let source = source(d);
    create(d, &source, "b.tar", &[]);
    let mut secured = Secured::new();
    let target = Registry::start_with(Some(&mut secured));
    std::fs::write(d.join("ca.pem"), &secured.ca_pem).unwrap();
    let registry = format!("{}/platform", target.host);
    let push = |args: &[&str], password: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_liftoff"));
        cmd.args([
            "bundle",
            "push",
            "b.tar",
            "--registry",
            &registry,
            "--output",
            "json",
        ])
        .args(args)
        .current_dir(d)
        .env("HOME", d)
        .env_remove("DOCKER_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            if let Some(p) = password {
                writeln!(stdin, "{p}").unwrap();
            }
        }
        child.wait_with_output().unwrap()
    };
    // The registry's certificate is signed by a CA the system does not trust.
    let out = push(&[], None);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("--ca-file"),
        "the hint says how: {}",
        text(&out.stdout)
    );
    // With the CA but no login: refused.
    let out = push(&["--ca-file", "ca.pem"], None);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    // With the CA and the login from flags (password on stdin): pushed.
    let out = push(
        &[
            "--ca-file",
            "ca.pem",
            "--username",
            &secured.user,
            "--password-stdin",
        ],
        Some(&secured.password),
    );
    let pushed = ok(&out);
    assert_eq!(pushed["images"].as_array().unwrap().len(), 2, "{pushed}");
    assert!(
        !text(&out.stdout).contains(&secured.password)
            && !text(&out.stderr).contains(&secured.password)
    );
    // The login from a docker config: everything is there already.
    std::fs::write(
        d.join("docker.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "dXNlcjpwYXNz"}}}}}}"#,
            target.host
        ),
    )
    .unwrap();
    let again = ok(&push(
        &["--ca-file", "ca.pem", "--docker-config", "docker.json"],
        None,
    ));
    assert_eq!(again["blobsPushed"], 0, "{again}");
}

/// A loopback TCP proxy to `upstream` that answers the first request of
/// the first `failures` connections (after the version checks, which it
/// answers itself and closes, so the next request needs a new connection)
/// with 503 Service Unavailable, and passes everything else through.
struct FlakyProxy {
    host: String,
    injected: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FlakyProxy {
    fn start(upstream: String, failures: usize) -> FlakyProxy {
        use std::io::{Read as _, Write as _};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let injected = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = injected.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let mut first = vec![0u8; 8192];
                let n = client.read(&mut first).unwrap_or(0);
                let head = String::from_utf8_lossy(&first[..n]).to_string();
                if head.starts_with("GET /v2/ ") {
                    let _ = client.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                    );
                    continue;
                }
                if count.load(Ordering::SeqCst) < failures {
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = client.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
                let Ok(mut server) = std::net::TcpStream::connect(&upstream) else {
                    continue;
                };
                let _ = server.write_all(&first[..n]);
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut client, &mut server);
                    let _ = server.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        FlakyProxy { host, injected }
    }
}

#[test]
fn a_push_retries_transient_registry_errors() {
    registry_tools!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_spec(d);
    let source = source(d);
    create(d, &source, "b.tar", &[]);
    let target = Registry::start();
    let proxy = FlakyProxy::start(target.host.clone(), 2);
    let pushed = ok(&liftoff(
        d,
        &[
            "bundle",
            "push",
            "b.tar",
            "--registry",
            &proxy.host,
            "--plain-http",
            "--parallel",
            "1",
            "--output",
            "json",
        ],
    ));
    assert_eq!(
        proxy.injected.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the failures were served"
    );
    assert_eq!(pushed["images"].as_array().unwrap().len(), 2, "{pushed}");
    let (_, want) = source.raw_manifest("astronomer/ap-multi:1.0").unwrap();
    assert_eq!(target.raw_manifest("ap-multi:1.0").unwrap().1, want);
}
