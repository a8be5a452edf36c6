//! Install → no-op re-plan → values change → upgrade → destroy on the
//! real API server and Helm engine, with the fixture chart.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Api;
use liftoff::plan::Action;
use serde_json::json;

use super::World;
use crate::cluster::harness::{destroy, drivers, failures, run};
use crate::real_cluster;

#[tokio::test]
async fn install_replan_upgrade_and_destroy() {
    let cluster = real_cluster!();
    let w = World::new(cluster);
    let spec = w.spec(json!({"fixture": {"note": "one"}}));
    let d = drivers(w.driver(&spec));

    let first = run(&spec, &d, w.state.path()).await;
    assert_eq!(first.summary.failed, 0, "{:?}", failures(&first.events));
    assert!(
        first
            .plan
            .changes
            .iter()
            .all(|c| c.action == Action::Create)
    );
    let status = w.release_status().expect("release installed");
    assert_eq!(status["info"]["status"], "deployed");
    assert_eq!(status["version"], 1);

    // liftoff's objects: applied by the field manager `liftoff`, the
    // secrets with Helm's adoption metadata, the namespace labelled.
    let client = cluster.admin().await;
    let ns = Api::<Namespace>::all(client.clone())
        .get(&w.namespace)
        .await
        .unwrap();
    let managers = |fields: &Option<
        Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry>,
    >| {
        fields
            .iter()
            .flatten()
            .filter_map(|f| f.manager.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(managers(&ns.metadata.managed_fields), ["liftoff"]);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &w.namespace);
    for name in [
        "astronomer-tls",
        "astronomer-bootstrap",
        "astronomer-smtp",
        "private-root-ca",
    ] {
        let s = secrets.get(name).await.unwrap();
        assert!(
            managers(&s.metadata.managed_fields).contains(&"liftoff".to_string()),
            "{name}"
        );
        let labels = s.metadata.labels.unwrap_or_default();
        assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm", "{name}");
        let notes = s.metadata.annotations.unwrap_or_default();
        assert_eq!(notes["meta.helm.sh/release-name"], w.release);
        assert_eq!(notes["meta.helm.sh/release-namespace"], w.namespace);
    }
    let config: Api<ConfigMap> = Api::namespaced(client.clone(), &w.namespace);
    let cm = config.get(&format!("{}-config", w.release)).await.unwrap();
    assert_eq!(cm.data.unwrap()["note"], "one");

    // A re-plan against the live cluster and release changes nothing.
    let second = run(&spec, &d, w.state.path()).await;
    assert!(second.plan.is_noop(), "{:#?}", second.plan.changes);

    // A values change upgrades the release alone.
    let spec = w.spec(json!({"fixture": {"note": "two"}}));
    let d = drivers(w.driver(&spec));
    let third = run(&spec, &d, w.state.path()).await;
    assert_eq!(third.summary.failed, 0, "{:?}", failures(&third.events));
    let changed: Vec<_> = third
        .plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.address.as_str().to_string(), c.action))
        .collect();
    assert_eq!(
        changed,
        [("cluster.helm_release".to_string(), Action::Update)]
    );
    let status = w.release_status().unwrap();
    assert_eq!(status["info"]["status"], "deployed");
    assert_eq!(status["version"], 2);
    let cm = config.get(&format!("{}-config", w.release)).await.unwrap();
    assert_eq!(cm.data.unwrap()["note"], "two");
    assert!(run(&spec, &d, w.state.path()).await.plan.is_noop());

    // Destroy returns once the namespace is gone.
    let gone = destroy(&spec, &d, w.state.path()).await;
    assert_eq!(gone.summary.failed, 0, "{:?}", failures(&gone.events));
    assert!(w.release_status().is_none());
    assert!(
        Api::<Namespace>::all(client)
            .get_opt(&w.namespace)
            .await
            .unwrap()
            .is_none(),
        "destroy returned while the namespace still exists"
    );
}

/// The real platform chart (0.37.7, from `../shared/charts`) with the
/// values liftoff renders: install, no-op re-plan, a values change
/// upgrades, destroy. (Kubernetes 1.25 is below the chart's tested range,
/// hence `forceIncompatibleKubernetes`.)
#[tokio::test]
async fn the_real_platform_chart_installs_upgrades_and_is_destroyed() {
    let cluster = real_cluster!();
    let chart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/charts/astronomer-0.37.7.tgz"
    );
    if !std::path::Path::new(chart).is_file() {
        eprintln!("SKIP the real platform chart: {chart} is missing");
        return;
    }
    let w = World::new(cluster);
    let spec_for = |retention: u16| {
        let mut spec = w.spec(json!({}));
        spec.platform.chart.repository = chart.into();
        spec.platform.log_retention_days = retention;
        spec
    };
    let with_values = |spec: &liftoff::spec::Spec| {
        let values =
            liftoff::render::values_yaml(spec, &liftoff::compose::render_inputs(spec, true))
                .unwrap();
        w.driver_with_values(spec, values)
    };
    let spec = spec_for(15);
    let d = drivers(with_values(&spec));
    let first = run(&spec, &d, w.state.path()).await;
    assert_eq!(first.summary.failed, 0, "{:?}", failures(&first.events));
    let status = w.release_status().unwrap();
    assert_eq!(status["info"]["status"], "deployed");
    assert_eq!(status["chart"]["metadata"]["version"], "0.37.7");
    let objects = status["manifest"]
        .as_str()
        .unwrap()
        .matches("\nkind: ")
        .count();
    assert!(
        objects > 100,
        "the platform chart rendered {objects} objects"
    );
    assert!(run(&spec, &d, w.state.path()).await.plan.is_noop());

    let spec = spec_for(20);
    let d = drivers(with_values(&spec));
    let second = run(&spec, &d, w.state.path()).await;
    assert_eq!(second.summary.failed, 0, "{:?}", failures(&second.events));
    assert_eq!(w.release_status().unwrap()["version"], 2);
    assert!(run(&spec, &d, w.state.path()).await.plan.is_noop());

    let gone = destroy(&spec, &d, w.state.path()).await;
    assert_eq!(gone.summary.failed, 0, "{:?}", failures(&gone.events));
    assert!(w.release_status().is_none());
}
