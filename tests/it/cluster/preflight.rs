//! Preflight checks one by one against the fake API and fake helm.

use liftoff::cluster::helm::Helm;
use liftoff::cluster::preflight::{self, Env, Status, rights};
use liftoff::cluster::{Connection, DbLogin};
use liftoff::secret::Redacted;

use super::harness::*;
use crate::support::helm::FakeHelm;
use crate::support::kube::FakeKube;

async fn client(kube: &FakeKube) -> kube::Client {
    Connection::Token {
        endpoint: kube.url.clone(),
        ca_pem: None,
        token: Redacted::new("t".into()),
    }
    .client()
    .await
    .unwrap()
}

fn status_of(report: &preflight::Report, name: &str) -> (Status, String) {
    let c = report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check in {report:?}"));
    (c.status, c.message.clone())
}

#[tokio::test]
async fn a_ready_cluster_passes_and_nothing_is_written() {
    let (kube, helm) = world("34", "v3.16.2").await;
    let spec = spec(|_| {});
    let h = Helm {
        program: helm.program(),
    };
    let env = Env {
        helm: &h,
        database: None,
        dns: None,
        values_yaml: None,
        base_dir: std::path::Path::new("."),
        load_balancer_controller: None,
    };
    let report = preflight::run(&client(&kube).await, &spec, &env).await;
    assert!(report.passed(), "{}", report.render());
    assert_eq!(status_of(&report, "kubernetes-version").0, Status::Pass);
    assert_eq!(
        status_of(&report, "storage-class"),
        (Status::Pass, "default storage class gp3".into())
    );
    assert_eq!(
        status_of(&report, "helm"),
        (Status::Pass, "helm v3.16.2".into())
    );
    assert_eq!(status_of(&report, "database").0, Status::Skip);
    // Without chart values the platform's usual kinds are reviewed,
    // namespaced and cluster-wide.
    let rights = rights::required(&spec, &rights::usual_kinds());
    assert_eq!(kube.reviews(), rights.len());
    assert!(rights.iter().any(|r| r.resource == "clusterroles"));
    assert!(kube.writes().is_empty());
}

#[tokio::test]
async fn version_range_depends_on_the_chart_and_can_be_forced() {
    let (kube, helm) = world("35", "v3.16.2").await;
    let h = Helm {
        program: helm.program(),
    };
    let env = Env {
        helm: &h,
        database: None,
        dns: None,
        values_yaml: None,
        base_dir: std::path::Path::new("."),
        load_balancer_controller: None,
    };
    let c = client(&kube).await;
    let old_chart = spec(|_| {});
    let (s, m) = status_of(
        &preflight::run(&c, &old_chart, &env).await,
        "kubernetes-version",
    );
    assert_eq!(s, Status::Fail, "{m}");
    let new_chart = spec(|v| v["platform"]["chart"]["version"] = "2.0.1".into());
    assert_eq!(
        status_of(
            &preflight::run(&c, &new_chart, &env).await,
            "kubernetes-version"
        )
        .0,
        Status::Pass
    );
    let forced = spec(|v| {
        v["platform"]["values"] = serde_json::json!({"forceIncompatibleKubernetes": true})
    });
    let (s, m) = status_of(
        &preflight::run(&c, &forced, &env).await,
        "kubernetes-version",
    );
    assert_eq!(s, Status::Warn);
    assert!(m.contains("forced"), "{m}");
}

#[tokio::test]
async fn least_privilege_asks_only_namespaced_rights_and_needs_the_namespace() {
    let kube = FakeKube::start("31").await;
    let helm = FakeHelm::new("v3.5.4");
    kube.deny("create", "namespaces");
    let spec = spec(|v| v["platform"]["leastPrivilege"] = true.into());
    let rights = rights::required(&spec, &rights::usual_kinds());
    assert!(
        !rights
            .iter()
            .any(|r| r.resource == "namespaces" && r.verb == "create")
    );
    // The chart's cluster-scoped kinds are still needed.
    assert!(
        rights
            .iter()
            .any(|r| r.resource == "clusterroles" && r.namespace.is_none())
    );
    let h = Helm {
        program: helm.program(),
    };
    let env = Env {
        helm: &h,
        database: None,
        dns: None,
        values_yaml: None,
        base_dir: std::path::Path::new("."),
        load_balancer_controller: None,
    };
    let c = client(&kube).await;
    let report = preflight::run(&c, &spec, &env).await;
    assert_eq!(status_of(&report, "permissions").0, Status::Pass);
    assert_eq!(
        status_of(&report, "namespace"),
        (Status::Fail, "namespace astronomer does not exist".into())
    );
    // No storage class, an old helm: both fail with a hint.
    assert_eq!(status_of(&report, "storage-class").0, Status::Fail);
    assert_eq!(
        status_of(&report, "helm"),
        (Status::Fail, "helm v3.5.4 is older than 3.6".into())
    );
    assert!(
        report
            .render()
            .contains("hint: the platform's volumes need one")
    );
    kube.put("/api/v1/namespaces", serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "astronomer"}}));
    assert_eq!(
        status_of(&preflight::run(&c, &spec, &env).await, "namespace").0,
        Status::Pass
    );
    // Without leastPrivilege, the same identity lacks cluster-wide rights.
    let full = self::spec(|_| {});
    let (s, m) = status_of(&preflight::run(&c, &full, &env).await, "permissions");
    assert_eq!(s, Status::Fail);
    assert!(m.contains("create namespaces (cluster-wide)"), "{m}");
}

#[tokio::test]
async fn certificate_checks_join_the_report_and_stop_the_install() {
    let (kube, helm) = world("31", "v3.16.2").await;
    let spec = spec(|_| {});
    let cert =
        preflight::Check::new("certificate", Status::Fail, "certificate expired").hint("renew it");
    let d = driver(&spec, &kube, &helm, inputs()).with_extra_checks(vec![cert]);
    let state = tempfile::tempdir().unwrap();
    let r = run(&spec, &drivers(d), state.path()).await;
    let f = failures(&r.events).join("\n");
    assert!(
        f.contains("certificate: certificate expired (hint: renew it)"),
        "{f}"
    );
    assert!(kube.writes().is_empty());
}

#[tokio::test]
async fn a_private_database_out_of_reach_is_skipped_with_the_reason() {
    let closed = crate::support::procs::free_port();
    let login = |private| DbLogin {
        host: "127.0.0.1".into(),
        port: closed,
        user: "u".into(),
        password: Redacted::new("pw".into()),
        ssl: false,
        private,
    };
    let c = preflight::database(Some(&login(true))).await;
    assert_eq!(c.status, Status::Skip);
    assert!(
        c.message.starts_with("skipped:") && c.message.contains("private"),
        "{}",
        c.message
    );
    let c = preflight::database(Some(&login(false))).await;
    assert_eq!(c.status, Status::Fail, "{}", c.message);
}
