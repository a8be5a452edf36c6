//! `liftoff upgrade --bundle` on the real API server, the real Helm engine
//! and Debian's docker-registry: bundles of the fixture chart at 0.37.8
//! and 1.1.0 built by the test (the archives then taken away, so only the
//! bundle can supply the chart); a bundle that skips a minor, a `--to`
//! other than the bundle's and values naming an image outside the private
//! registry refused; the upgrade refused while the private
//! registry lacks the images, each named, with nothing changed (revision
//! unchanged, no operation started, so no snapshot); after `bundle push`,
//! `--plan` showing the path and both diffs, then the upgrade — run under
//! strace with no helm on PATH — moving the release to the bundle's chart
//! with every image from the registry, reaching nothing but the API server,
//! the database and the registry.

use std::collections::BTreeSet;
use std::process::Stdio;

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::Value;

use super::World;
use super::bundle::{connections, helm_upgrade_charts};
use super::cli::CliWorld;
use super::upgrade::{package, plan_is_clean, status, write};
use crate::real_cluster;
use crate::support::registry::{Layout, Registry, tools_missing};

/// The upgrade tests' spec on chart `version`, air-gapped with `registry`.
fn airgapped(c: &CliWorld, version: &str, fixture: &str, registry: &str) {
    write(c, version, fixture, "");
    let path = c.dir.path().join("liftoff.yaml");
    let mut spec = std::fs::read_to_string(&path).unwrap();
    spec.push_str(&format!(
        "airgap:\n  enabled: true\n  registry:\n    repository: {registry}\n    pullSecret: {{fromFile: registry-auth.json}}\n"
    ));
    std::fs::write(&path, spec).unwrap();
}

#[tokio::test]
async fn upgrade_from_a_bundle_checks_the_registry_first_and_reaches_nothing_else() {
    if let Some(why) = tools_missing() {
        eprintln!("skipped: {why}");
        return;
    }
    let cluster = real_cluster!();
    let c = CliWorld::new(World::new(cluster));
    let d = c.dir.path().to_path_buf();
    let charts = package(&c, &["0.37.7", "0.37.8", "1.1.0"]);

    // The public source with the chart's two images, the empty private target.
    let source = Registry::start();
    for name in ["houston", "nginx"] {
        let mut layout = Layout::new(&d.join(format!("layout-{name}")));
        let image = layout.image("amd64", name, 40_000);
        layout.tag_image("0.37.7", image);
        source.copy_in(&layout.dir, "0.37.7", &format!("astronomer/ap-{name}"));
    }
    let target = Registry::start();
    let registry = format!("{}/astro", target.host);
    std::fs::write(
        d.join("registry-auth.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "dXNlcjpwYXNz"}}}}}}"#,
            target.host
        ),
    )
    .unwrap();

    // A bundle per version, made on the "connected side" from the spec
    // pinning it; then the archives leave this machine.
    let helm = cluster.helm.display().to_string();
    let houston = format!("{}/astronomer/ap-houston:0.37.7", source.host);
    let nginx = format!("{}/astronomer/ap-nginx:0.37.7", source.host);
    for version in ["0.37.8", "1.1.0"] {
        airgapped(&c, version, "note: two", &registry);
        let out = d.join(format!("b-{version}.tar"));
        let (code, stdout, err) = c
            .liftoff(&[
                "bundle",
                "create",
                "--no-chart-images",
                "--image",
                &houston,
                "--image",
                &nginx,
                "--plain-http",
                &source.host,
                "--helm",
                &helm,
                "--out",
                out.to_str().unwrap(),
            ])
            .await;
        assert_eq!(code, 0, "bundle create {version}: {stdout}{err}");
    }
    let away = d.join("away");
    std::fs::create_dir_all(&away).unwrap();
    for version in ["0.37.8", "1.1.0"] {
        let name = format!("astronomer-{version}.tgz");
        std::fs::rename(charts.join(&name), away.join(&name)).unwrap();
    }

    // Installed at 0.37.7, air-gapped (the chart archive is local).
    airgapped(&c, "0.37.7", "note: one", &registry);
    c.converges("install 0.37.7 air-gapped").await;
    // The spec still pins 0.37.7: the bundle gives the target.
    airgapped(&c, "0.37.7", "note: two", &registry);
    let bundle_0378 = d.join("b-0.37.8.tar");
    let bundle_0378 = bundle_0378.to_str().unwrap();
    let bundle_110 = d.join("b-1.1.0.tar");

    // A bundle whose chart skips a minor: refused, one bundle per hop.
    let (code, out, err) = c
        .liftoff(&[
            "upgrade",
            "--yes",
            "--bundle",
            bundle_110.to_str().unwrap(),
            "--registry-plain-http",
        ])
        .await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(
        err.contains("0.37.7 → 1.1.0 skips minor versions: the path is 0.37 → 1.0 → 1.1"),
        "{err}"
    );
    assert!(
        err.contains("hint:") && err.contains("one bundle per hop"),
        "{err}"
    );

    // A --to other than the bundle's chart: refused.
    let (code, out, err) = c
        .liftoff(&[
            "upgrade",
            "--yes",
            "--bundle",
            bundle_0378,
            "--to",
            "0.37.9",
        ])
        .await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(
        err.contains("--to 0.37.9 differs from the bundle's chart version (astronomer 0.37.8)"),
        "{err}"
    );

    // Values that leave an image outside the private registry (the
    // fixture's hook Job names quay.io itself): refused, naming it.
    airgapped(&c, "0.37.7", "note: two, failingHook: true", &registry);
    let (code, out, err) = c
        .liftoff(&[
            "upgrade",
            "--yes",
            "--bundle",
            bundle_0378,
            "--registry-plain-http",
        ])
        .await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(
        err.contains("pulls 1 image(s) from outside the private registry")
            && err.contains("quay.io/astronomer/ap-db-bootstrapper:0.37.7"),
        "{err}"
    );
    airgapped(&c, "0.37.7", "note: two", &registry);

    // The registry lacks the images: refused before anything changes,
    // naming the bundle's (by digest) and the chart's (by tag).
    let (code, out, err) = c
        .liftoff(&[
            "upgrade",
            "--yes",
            "--bundle",
            bundle_0378,
            "--registry-plain-http",
        ])
        .await;
    assert_eq!(code, 7, "{out}{err}");
    for missing in [
        format!("{registry}/ap-houston@sha256:"),
        format!("{registry}/ap-nginx@sha256:"),
        format!("{registry}/ap-houston:0.37.7"),
        format!("{registry}/ap-nginx:0.37.7"),
    ] {
        assert!(err.contains(&missing), "{missing} not named: {err}");
    }
    assert!(
        err.contains(&format!(
            "hint: push the bundle's images first: `liftoff bundle push {bundle_0378} --registry {registry}`"
        )),
        "{err}"
    );
    assert_eq!(status(&c), ("deployed".into(), "0.37.7".into(), 1));
    let (code, out, _) = c.liftoff(&["status", "--output", "json"]).await;
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_ne!(
        doc["lastOperation"]["command"], "upgrade",
        "no upgrade was started (so no snapshot): {doc}"
    );

    let (code, out, err) = c
        .liftoff(&[
            "bundle",
            "push",
            bundle_0378,
            "--registry",
            &registry,
            "--plain-http",
        ])
        .await;
    assert_eq!(code, 0, "{out}{err}");

    // --plan: the path, the values diff and the manifest diff from the
    // bundle's chart; nothing changes.
    let (code, out, err) = c
        .liftoff(&[
            "upgrade",
            "--plan",
            "--bundle",
            bundle_0378,
            "--registry-plain-http",
        ])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Upgrade path: 0.37.7 → 0.37.8"), "{out}");
    assert!(out.contains("-  note: one\n+  note: two"), "{out}");
    let config = format!("changed ConfigMap {}/{}-config", c.w.namespace, c.w.release);
    assert!(out.contains(&config), "{out}");
    assert!(out.contains("Nothing was changed (--plan)"), "{out}");
    assert!(
        out.contains("has every image the upgrade needs: the bundle's 2 (by digest) and the 2 the new chart names (by tag)"),
        "{out}"
    );
    assert_eq!(status(&c).2, 1);

    // The upgrade under strace, with no helm on PATH: the bundle's is used.
    let trace = d.join("connect.log");
    let cmd = c.command(&[]);
    let liftoff_args: Vec<_> = cmd.as_std().get_args().map(|a| a.to_os_string()).collect();
    let mut traced = tokio::process::Command::new("strace");
    traced
        .args([
            "-f",
            "-qq",
            "-v",
            "-s",
            "4096",
            "-e",
            "trace=connect,execve",
            "-o",
        ])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_liftoff"))
        .args(["upgrade", "--yes", "--bundle", bundle_0378])
        .arg("--registry-plain-http")
        .args(&liftoff_args)
        .env_remove("LIFTOFF_HELM")
        .env_remove("KUBECONFIG")
        .env("LIFTOFF_DATABASE_URL", crate::support::realkube::postgres())
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null());
    let done = traced.output().await.unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr),
    );
    assert!(
        done.status.success(),
        "upgrade --bundle failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("Upgraded `acme` from 0.37.7 to 0.37.8 (revision 2)"),
        "{stdout}"
    );
    // The spec pins 0.37.7: the bundle's chart is copied beside its archive
    // and the two lines to change are named.
    let copied = charts.join("astronomer-0.37.8.tgz");
    assert!(
        stdout.contains(&format!(
            "Set platform.chart.version: 0.37.8 and platform.chart.repository: {} (the bundle's chart, copied there)",
            copied.display()
        )),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(&copied).unwrap(),
        std::fs::read(away.join("astronomer-0.37.8.tgz")).unwrap(),
        "the bundle's chart is the one packaged"
    );
    assert_eq!(status(&c), ("deployed".into(), "0.37.8".into(), 2));
    // The values the release got: the private registry, no update checks.
    let values = &c.w.release_status().unwrap()["config"];
    assert_eq!(values["global"]["privateRegistry"]["enabled"], true);
    assert_eq!(
        values["global"]["privateRegistry"]["repository"],
        registry.as_str()
    );
    let houston = &values["astronomer"]["houston"];
    assert_eq!(houston["updateCheck"]["enabled"], false, "{values}");
    assert_eq!(houston["updateRuntimeCheck"]["enabled"], false, "{values}");

    // Every image of the upgraded workloads comes from the private registry.
    let client = cluster.admin().await;
    let deployments: Api<Deployment> = Api::namespaced(client, &c.w.namespace);
    let mut images = Vec::new();
    for dep in deployments.list(&Default::default()).await.unwrap() {
        for container in dep.spec.unwrap().template.spec.unwrap().containers {
            images.push(container.image.unwrap());
        }
    }
    assert_eq!(images.len(), 2, "{images:?}");
    assert!(
        images
            .iter()
            .all(|i| i.starts_with(&format!("{registry}/"))),
        "{images:?}"
    );

    // The only places liftoff and its helm reached.
    let log = std::fs::read_to_string(&trace).unwrap();
    // Helm was given the bundle's chart (extracted), not an archive beside the spec.
    let charts = helm_upgrade_charts(&log);
    assert!(
        !charts.is_empty()
            && charts
                .iter()
                .all(|c| c.contains("/liftoff-bundle-")
                    && c.ends_with("/chart/astronomer-0.37.8.tgz")),
        "helm's charts: {charts:?}"
    );
    let reached = connections(&log);
    let api = cluster.env["K8S_APISERVER_URL"]
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    let database = crate::support::realkube::postgres()
        .rsplit('@')
        .next()
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    eprintln!("outbound connections: {reached:?}");
    let allowed: BTreeSet<String> = [api.clone(), database, target.host.clone()].into();
    assert!(
        reached.contains(&api) && reached.contains(&target.host),
        "{reached:?}"
    );
    assert!(
        reached.is_subset(&allowed),
        "reached {reached:?}, allowed only {allowed:?}"
    );

    // Run again (as after a run cut off once its hop was done): nothing to
    // upgrade, recorded, the same lines named.
    let (code, out, err) = c
        .liftoff(&[
            "upgrade",
            "--yes",
            "--bundle",
            bundle_0378,
            "--registry-plain-http",
        ])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("(revision 2, deployed) already: nothing to upgrade")
            && out.contains("Set platform.chart.version: 0.37.8 and platform.chart.repository:"),
        "{out}"
    );
    assert_eq!(status(&c).2, 2);

    // With the spec pinning what the bundle brought, nothing is left to do.
    airgapped(&c, "0.37.8", "note: two", &registry);
    plan_is_clean(&c, "after upgrade --bundle").await;
}
