//! `liftoff install --bundle` on the real API server: refused while the
//! private registry lacks the bundle's images (each named); after `bundle
//! push`, installed from the bundle's chart with the bundle's helm (no helm
//! on PATH), every image of the deployed workloads under the private
//! registry, and — recorded with strace on liftoff and every process it
//! starts — no outbound connection but to the API server, the database and
//! the private registry; a plan afterwards has nothing to do.

use std::collections::BTreeSet;
use std::process::Stdio;

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

use super::World;
use super::cli::CliWorld;
use crate::real_cluster;
use crate::support::registry::{Layout, Registry, tools_missing};

/// Every `connect()` to an internet address in an strace log, as `addr:port`.
pub(super) fn connections(log: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in log.lines().filter(|l| l.contains("connect(")) {
        let port = line
            .split("port=htons(")
            .nth(1)
            .and_then(|r| r.split(')').next());
        let addr = line
            .split("inet_addr(\"")
            .nth(1)
            .or_else(|| line.split("inet_pton(AF_INET6, \"").nth(1))
            .and_then(|r| r.split('"').next());
        if let (Some(a), Some(p)) = (addr, port) {
            out.insert(format!("{a}:{p}"));
        }
    }
    out
}

/// The chart archives (`….tgz` arguments) of every `helm upgrade` an
/// strace log (`-v -s 4096 -e trace=execve`) shows started.
pub(super) fn helm_upgrade_charts(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("execve(") && l.contains("\"upgrade\""))
        .flat_map(|l| {
            l.split('"')
                .filter(|part| part.ends_with(".tgz"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn install_from_a_bundle_reaches_only_the_cluster_the_database_and_the_registry() {
    if let Some(why) = tools_missing() {
        eprintln!("skipped: {why}");
        return;
    }
    let cluster = real_cluster!();
    let c = CliWorld::new(World::new(cluster));
    let d = c.dir.path();

    // The public source with the chart's two images, the empty private target.
    let source = Registry::start();
    for name in ["houston", "nginx"] {
        let mut layout = Layout::new(&d.join(format!("layout-{name}")));
        let image = layout.image("amd64", name, 50_000);
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
    // The CLI world's spec, air-gapped with the private registry.
    let spec_path = d.join("liftoff.yaml");
    let mut spec = std::fs::read_to_string(&spec_path).unwrap();
    spec.push_str(&format!(
        "airgap:\n  enabled: true\n  registry:\n    repository: {registry}\n    pullSecret: {{fromFile: registry-auth.json}}\n"
    ));
    std::fs::write(&spec_path, spec).unwrap();

    let helm = cluster.helm.display().to_string();
    let houston = format!("{}/astronomer/ap-houston:0.37.7", source.host);
    let nginx = format!("{}/astronomer/ap-nginx:0.37.7", source.host);
    let (code, out, err) = c
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
            d.join("b.tar").to_str().unwrap(),
        ])
        .await;
    assert_eq!(code, 0, "{out}{err}");

    // The registry lacks the images: refused before anything changes.
    let (code, out, err) = c
        .liftoff(&[
            "install",
            "--yes",
            "--bundle",
            d.join("b.tar").to_str().unwrap(),
            "--registry-plain-http",
        ])
        .await;
    assert_eq!(code, 7, "{out}{err}");
    assert!(
        err.contains(&format!("{registry}/ap-houston@sha256:"))
            && err.contains(&format!("{registry}/ap-nginx@sha256:")),
        "{err}"
    );
    assert!(c.w.release_status().is_none(), "nothing installed");

    let (code, out, err) = c
        .liftoff(&[
            "bundle",
            "push",
            d.join("b.tar").to_str().unwrap(),
            "--registry",
            &registry,
            "--plain-http",
        ])
        .await;
    assert_eq!(code, 0, "{out}{err}");

    // Install under strace, with no helm on PATH: the bundle's is used.
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
        .args(["install", "--yes", "--bundle"])
        .arg(d.join("b.tar"))
        .arg("--registry-plain-http")
        .args(&liftoff_args)
        .env_remove("LIFTOFF_HELM")
        .env_remove("KUBECONFIG")
        .env("LIFTOFF_DATABASE_URL", crate::support::realkube::postgres())
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null());
    let out = traced.output().await.unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "install --bundle failed:\n{stdout}\n{stderr}"
    );
    let status = c.w.release_status().expect("release installed");
    assert_eq!(status["info"]["status"], "deployed");

    // Every image of the deployed workloads comes from the private registry.
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
    // Helm was given the bundle's chart (extracted), not the spec's archive.
    let charts = helm_upgrade_charts(&log);
    assert!(
        !charts.is_empty()
            && charts
                .iter()
                .all(|c| c.contains("/liftoff-bundle-") && c.contains("/chart/")),
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

    // The release is recorded as the spec names its chart (not the
    // bundle's temporary folder): a plan afterwards has nothing to do.
    let (code, out, err) = c.liftoff(&["plan"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("No changes"),
        "plan after install --bundle:\n{out}{err}"
    );
}
