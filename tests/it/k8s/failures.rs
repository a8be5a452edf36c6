//! What goes wrong on a real cluster, and what liftoff says and does: a
//! namespace still being deleted, workloads with no pods, a helm that
//! exits 0 without a deployed release, a create the API refuses.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use liftoff::plan::Action;
use liftoff::plan::events::Event;
use serde_json::json;

use super::World;
use crate::cluster::harness::{destroy, drivers, failures, run};
use crate::real_cluster;

fn object<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn a_namespace_being_deleted_is_waited_for_never_adopted() {
    let cluster = real_cluster!();
    let w = World::new(cluster);
    let spec = w.spec(json!({}));
    let d = drivers(w.driver(&spec));
    let first = run(&spec, &d, w.state.path()).await;
    assert_eq!(first.summary.failed, 0, "{:?}", failures(&first.events));

    // An object with a finalizer holds the namespace in Terminating.
    let client = cluster.admin().await;
    let held: Api<ConfigMap> = Api::namespaced(client.clone(), &w.namespace);
    held.create(
        &PostParams::default(),
        &object(json!({"metadata": {"name": "held", "finalizers": ["liftoff.test/hold"]}})),
    )
    .await
    .unwrap();
    Api::<Namespace>::all(client.clone())
        .delete(&w.namespace, &DeleteParams::default())
        .await
        .unwrap();

    // The API refuses new content, and liftoff's hint says why (not a
    // missing right).
    let refused = Api::<Secret>::namespaced(client.clone(), &w.namespace)
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": "late"}})),
        )
        .await
        .unwrap_err();
    assert!(liftoff::cluster::api_error::namespace_terminating(&refused));
    let hint = liftoff::cluster::api_error::hint(&refused, &w.namespace).unwrap();
    assert!(hint.contains("is being deleted"), "{hint}");
    assert!(!format!("{}", liftoff::cluster::api_error::KubeError(refused)).contains("Status {"));

    // The plan creates the namespace again (it is going), and the install
    // waits for it to go: the finalizer is released once it is waiting.
    let release = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if let Ok(Some(cm)) = held.get_opt("held").await
                && cm.metadata.deletion_timestamp.is_some()
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        held.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    };
    let (second, ()) = tokio::join!(run(&spec, &d, w.state.path()), release);
    let namespace = second
        .plan
        .changes
        .iter()
        .find(|c| c.address.as_str() == "cluster.namespace")
        .unwrap();
    assert_eq!(namespace.action, Action::Create, "{:?}", namespace.reason);
    assert_eq!(second.summary.failed, 0, "{:?}", failures(&second.events));
    assert!(
        second
            .events
            .iter()
            .any(|e| matches!(e, Event::Progress { message, .. }
            if message.contains(&format!("namespace {}: being deleted", w.namespace)))),
        "no progress while waiting: {:#?}",
        second.events
    );
    assert_eq!(w.release_status().unwrap()["info"]["status"], "deployed");
    let gone = destroy(&spec, &d, w.state.path()).await;
    assert_eq!(gone.summary.failed, 0, "{:?}", failures(&gone.events));
}

#[tokio::test]
async fn a_failed_install_says_why_no_pod_exists() {
    let cluster = real_cluster!();
    let w = World::new(cluster);
    let mut spec = w.spec(json!({"fixture": {"neverReady": true}}));
    spec.timeouts.helm = "4s".into();
    // A controller's refusal, as the ReplicaSet controller reports one.
    let client = cluster.admin().await;
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": w.namespace}})),
        )
        .await
        .unwrap();
    Api::<k8s_openapi::api::core::v1::Event>::namespaced(client, &w.namespace)
        .create(
            &PostParams::default(),
            &object(json!({
                "metadata": {"name": "refused"},
                "type": "Warning", "reason": "FailedCreate",
                "message": "pods \"houston-1\" is forbidden: exceeded quota: pods",
                "involvedObject": {"kind": "ReplicaSet", "name": "houston-1", "namespace": w.namespace},
                "lastTimestamp": "2026-01-01T00:00:00Z",
            })),
        )
        .await
        .unwrap();
    let d = drivers(w.driver(&spec));
    let failed = run(&spec, &d, w.state.path()).await;
    let text = failures(&failed.events).join("\n");
    assert!(
        text.contains(&format!(
            "deployment {}-houston has no ReplicaSet",
            w.release
        )),
        "{text}"
    );
    assert!(
        text.contains("event: replicaset houston-1: FailedCreate: pods \"houston-1\" is forbidden: exceeded quota: pods"),
        "{text}"
    );
}

#[tokio::test]
async fn helms_exit_status_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let cluster = real_cluster!();
    let w = World::new(cluster);
    // A failed release: helm gave up waiting for workloads never ready.
    let out = cluster.helm(&[
        "upgrade",
        "--install",
        &w.release,
        cluster.chart.to_str().unwrap(),
        "-n",
        &w.namespace,
        "--create-namespace",
        "--set",
        "global.baseDomain=a.example",
        "--set",
        "fixture.neverReady=true",
        "--wait",
        "--timeout",
        "2s",
    ]);
    assert!(!out.status.success());
    // A helm that says it upgraded and did nothing.
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("helm");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$1\" = upgrade ]; then echo 'Release has been upgraded. Happy Helming!'; exit 0; fi\nexec '{}' \"$@\"\n",
            cluster.helm.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let spec = w.spec(json!({}));
    let driver = w
        .driver(&spec)
        .with_helm(liftoff::cluster::helm::Helm { program: wrapper });
    let d = drivers(driver);
    let result = run(&spec, &d, w.state.path()).await;
    let text = failures(&result.events).join("\n");
    assert!(
        text.contains(&format!(
            "helm exited successfully but release {} is failed",
            w.release
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_create_is_not_told_as_a_stopped_run() {
    let cluster = real_cluster!();
    let w = World::new(cluster);
    let client = cluster.admin().await;
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": w.namespace}})),
        )
        .await
        .unwrap();
    // No secret may be created in the namespace. (No quota controller
    // runs here: its status, which admission enforces, is set by hand.)
    let quotas: Api<k8s_openapi::api::core::v1::ResourceQuota> =
        Api::namespaced(client.clone(), &w.namespace);
    quotas
        .create(
            &PostParams::default(),
            &object(
                json!({"metadata": {"name": "no-secrets"}, "spec": {"hard": {"secrets": "0"}}}),
            ),
        )
        .await
        .unwrap();
    quotas
        .patch_status(
            "no-secrets",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"hard": {"secrets": "0"}, "used": {"secrets": "0"}}})),
        )
        .await
        .unwrap();
    let spec = w.spec(json!({}));
    let d = drivers(w.driver(&spec));
    let refused = run(&spec, &d, w.state.path()).await;
    let text = failures(&refused.events).join("\n");
    assert!(text.contains("apply secret"), "{text}");
    assert!(text.contains("quota"), "{text}");
    let hints: Vec<&String> = refused
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Failed { hint, .. } => hint.as_ref(),
            _ => None,
        })
        .collect();
    assert!(
        hints.iter().any(|h| h.contains("ResourceQuota"))
            && !hints.iter().any(|h| h.contains("lacks")),
        "a quota is not a missing right: {hints:?}"
    );
    let again = run(&spec, &d, w.state.path()).await;
    for c in &again.plan.changes {
        assert!(
            !c.reason.contains("earlier run stopped"),
            "{}: {}",
            c.address.as_str(),
            c.reason
        );
    }
}
