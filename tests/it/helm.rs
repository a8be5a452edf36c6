//! `liftoff render` output fed to real Helm: the fixture chart in
//! tests/fixtures/chart reads the platform chart's keys, and the Helm SDK
//! (PyPI helm-python-sdk, through tests/fixtures/helm_render.py) renders it.
//! `scripts/test` puts the venv holding it first on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn liftoff(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "liftoff {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The objects Helm renders from the fixture chart with `values`.
fn helm_render(values: &Path, namespace: &str) -> Vec<Value> {
    let out = Command::new(crate::support::helm_python())
        .arg(fixtures().join("helm_render.py"))
        .arg(fixtures().join("chart"))
        .arg(values)
        .arg("astronomer")
        .arg(namespace)
        .output()
        .expect("python3 on PATH");
    assert!(
        out.status.success(),
        "helm render failed (run scripts/test, or `eval \"$(scripts/test-deps)\"` once, to install helm-python-sdk):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in {objects:#?}"))
}

fn images(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .flat_map(|o| {
            o["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
        })
        .map(|c| c["image"].as_str().unwrap().to_string())
        .collect()
}

/// Writes a certificate chain and key for *.astro.example.com into `dir`.
fn write_certificate(dir: &Path) -> String {
    let m = &crate::cli_render::materials()[0];
    std::fs::write(dir.join("cert.pem"), &m.chain_pem).unwrap();
    std::fs::write(dir.join("key.pem"), m.key_pem.expose()).unwrap();
    m.key_pem.expose().clone()
}

fn assert_hosts_and_tls(objects: &[Value], domain: &str) {
    let ingress = find(objects, "Ingress", "astronomer-public");
    let tls = &ingress["spec"]["tls"][0];
    assert_eq!(tls["secretName"], json!(liftoff::render::TLS_SECRET));
    assert_eq!(
        tls["hosts"],
        json!([format!("app.{domain}"), format!("houston.{domain}")])
    );
    let hosts: Vec<_> = ingress["spec"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["host"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        hosts,
        [format!("app.{domain}"), format!("houston.{domain}")]
    );
}

#[test]
fn helm_renders_the_sandbox_values_with_tls_hosts_and_an_aws_balancer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("liftoff.yaml"),
        "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: sandbox\nmetadata:\n  name: sbx\nplatform:\n  baseDomain: sbx.example.com\n",
    )
    .unwrap();
    liftoff(dir.path(), &["render", "--out", "values.yaml"]);
    let objects = helm_render(&dir.path().join("values.yaml"), "astronomer");
    assert_hosts_and_tls(&objects, "sbx.example.com");
    let svc = find(&objects, "Service", "astronomer-nginx");
    assert_eq!(
        svc["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"],
        json!("nlb")
    );
    // The generated certificate has a private CA: the pods trust it.
    let houston = find(&objects, "Deployment", "astronomer-houston");
    assert_eq!(
        houston["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "private-root-ca", "secret": {"secretName": "private-root-ca"}}])
    );
    for image in images(&objects) {
        assert!(image.starts_with("quay.io/astronomer/"), "{image}");
    }
}

#[test]
fn helm_renders_air_gapped_values_with_only_private_registry_images() {
    let registry = "registry.internal.example.com/astronomer";
    for version in ["0.37.7", "1.2.0"] {
        let dir = tempfile::tempdir().unwrap();
        let key = write_certificate(dir.path());
        // validate reads the archive's Chart.yaml: the real chart of that
        // version (the fixture chart is what Helm renders below).
        std::fs::copy(
            crate::chart::chart_archive(version),
            dir.path().join("astronomer.tgz"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("liftoff.yaml"),
            format!(
                "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: airgapped\nmetadata:\n  name: air\nplatform:\n  baseDomain: astro.example.com\n  namespace: astro\n  chart:\n    repository: ./astronomer.tgz\n    version: {version}\n  tls:\n    certFile: cert.pem\n    keyFile: key.pem\nairgap:\n  registry:\n    repository: {registry}\n    pullSecret: {{fromEnv: REGISTRY_AUTH}}\n"
            ),
        )
        .unwrap();
        let out = liftoff(
            dir.path(),
            &["render", "--out", "values.yaml", "--manifests"],
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let values = std::fs::read_to_string(dir.path().join("values.yaml")).unwrap();
        // The key never leaves its file: not in the values, not in the manifests.
        let key_line = key.lines().nth(1).unwrap();
        assert!(!values.contains(key_line) && !stdout.contains(key_line));
        assert!(!values.contains("PRIVATE KEY") && !stdout.contains("PRIVATE KEY"));
        assert!(stdout.contains("name: astronomer-registry"), "{stdout}");

        let objects = helm_render(&dir.path().join("values.yaml"), "astro");
        assert_hosts_and_tls(&objects, "astro.example.com");
        let imgs = images(&objects);
        assert_eq!(imgs.len(), 2);
        for image in imgs {
            assert!(
                image.starts_with(&format!("{registry}/")),
                "{version}: {image}"
            );
        }
        let houston = find(&objects, "Deployment", "astronomer-houston");
        assert_eq!(
            houston["spec"]["template"]["spec"]["imagePullSecrets"],
            json!([{"name": liftoff::render::REGISTRY_SECRET}])
        );
        let nginx = find(&objects, "Deployment", "astronomer-nginx");
        assert_eq!(
            nginx["spec"]["template"]["spec"]["containers"][0]["args"][0],
            json!("--default-ssl-certificate=astro/astronomer-tls")
        );
    }
}
