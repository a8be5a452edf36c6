//! The rights the preflight checks, against the API server's own RBAC: an
//! identity holding exactly the listed rights installs; one missing any
//! of them is told which before anything changes.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use liftoff::cluster::helm::Helm;
use liftoff::cluster::preflight::{self, Env, rights};
use liftoff::spec::Spec;
use serde_json::{Value, json};

use super::World;
use crate::cluster::harness::{drivers, failures, run};
use crate::real_cluster;

/// A least-privilege spec whose chart also renders a ClusterRole and its
/// binding (as the platform chart's nginx does): namespaced and
/// cluster-scoped rights both.
fn least_privilege(w: &World) -> Spec {
    let mut spec = w.spec(json!({"fixture": {"clusterRole": true}}));
    spec.platform.least_privilege = true;
    spec
}

/// Every right the preflight checks for `spec`.
async fn listed(w: &World, spec: &Spec) -> Vec<rights::Right> {
    let client = w.cluster.admin().await;
    let helm = Helm {
        program: w.cluster.helm.clone(),
    };
    let inputs = w.inputs(spec);
    let env = Env {
        helm: &helm,
        database: None,
        dns: None,
        values_yaml: inputs.values_yaml.as_deref(),
        base_dir: w.state.path(),
        load_balancer_controller: None,
    };
    let kinds = preflight::chart_kinds(&client, spec, &env).await.unwrap();
    rights::required(spec, &kinds)
}

/// Grants `user` exactly `granted`: a Role in the namespace, a ClusterRole
/// for the cluster-wide ones (replaced on every call).
async fn grant(w: &World, user: &str, granted: &[&rights::Right]) {
    let client = w.cluster.admin().await;
    let name = format!("{}-installer", w.namespace);
    let mut namespaced: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut cluster: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in granted {
        let into = if r.namespace.is_some() {
            &mut namespaced
        } else {
            &mut cluster
        };
        into.entry((r.group.clone(), r.resource.clone()))
            .or_default()
            .push(r.verb.clone());
    }
    let rules = |m: &BTreeMap<(String, String), Vec<String>>| -> Value {
        m.iter()
            .map(|((g, r), verbs)| json!({"apiGroups": [g], "resources": [r], "verbs": verbs}))
            .collect()
    };
    let ssa = PatchParams::apply("test").force();
    let subject = json!([{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}]);
    Api::<Role>::namespaced(client.clone(), &w.namespace)
        .patch(&name, &ssa, &Patch::Apply(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name}, "rules": rules(&namespaced)})))
        .await
        .unwrap();
    Api::<RoleBinding>::namespaced(client.clone(), &w.namespace)
        .patch(&name, &ssa, &Patch::Apply(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}, "subjects": subject})))
        .await
        .unwrap();
    Api::<ClusterRole>::all(client.clone())
        .patch(&name, &ssa, &Patch::Apply(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules(&cluster)})))
        .await
        .unwrap();
    Api::<ClusterRoleBinding>::all(client)
        .patch(&name, &ssa, &Patch::Apply(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}, "subjects": subject})))
        .await
        .unwrap();
}

/// What the preflight finds denied for the identity, once the API server's
/// RBAC cache shows `expected` (it follows the Role within moments).
async fn denied_once(
    client: &kube::Client,
    all: &[rights::Right],
    expected: &[rights::Right],
) -> Vec<rights::Right> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let denied = rights::denied(client, all).await.unwrap();
        if denied == expected || tokio::time::Instant::now() > deadline {
            return denied;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn exactly_the_listed_rights_install_and_each_missing_one_is_named() {
    let cluster = real_cluster!();
    let mut w = World::new(cluster);
    let spec = least_privilege(&w);
    // Least privilege: an administrator made the namespace.
    Api::<Namespace>::all(cluster.admin().await)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": w.namespace}})).unwrap(),
        )
        .await
        .unwrap();
    let all = listed(&w, &spec).await;
    // Helm's release records, the chart's kinds, and the cluster-scoped
    // kinds even in least-privilege mode.
    let has = |verb: &str, resource: &str, cluster_wide: bool| {
        all.iter().any(|r| {
            r.verb == verb && r.resource == resource && r.namespace.is_none() == cluster_wide
        })
    };
    assert!(has("list", "secrets", false) && has("update", "secrets", false));
    assert!(has("watch", "deployments", false) && has("patch", "configmaps", false));
    assert!(has("create", "clusterroles", true) && has("create", "clusterrolebindings", true));
    assert!(
        !has("create", "namespaces", true),
        "least privilege creates no namespace"
    );

    let tmp = tempfile::tempdir().unwrap();
    let (kubeconfig, user) = cluster.identity(tmp.path()).await;
    w.kubeconfig = kubeconfig.clone();
    w.context = None;
    let me = liftoff::cluster::Connection::Kubeconfig {
        path: Some(kubeconfig),
        context: None,
    }
    .client()
    .await
    .unwrap();

    // Each right taken away alone is the one the preflight names.
    for (i, missing) in all.iter().enumerate() {
        let granted: Vec<&rights::Right> = all
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, r)| r)
            .collect();
        grant(&w, &user, &granted).await;
        let denied = denied_once(&me, &all, std::slice::from_ref(missing)).await;
        assert_eq!(denied, std::slice::from_ref(missing), "without {missing}");
    }

    // Without `update secrets` (Helm could not record the release), the
    // install stops at the preflight, naming it, and changes nothing.
    let update = all
        .iter()
        .position(|r| r.verb == "update" && r.resource == "secrets")
        .unwrap();
    let granted: Vec<&rights::Right> = all
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != update)
        .map(|(_, r)| r)
        .collect();
    grant(&w, &user, &granted).await;
    denied_once(&me, &all, std::slice::from_ref(&all[update])).await;
    let d = drivers(w.driver(&spec));
    let refused = run(&spec, &d, w.state.path()).await;
    let text = failures(&refused.events).join("\n");
    assert!(
        text.contains("preflight failed, nothing was changed"),
        "{text}"
    );
    assert!(
        text.contains(&format!("missing: update secrets in {}", w.namespace)),
        "{text}"
    );
    assert!(w.release_status().is_none());
    let secrets =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(cluster.admin().await, &w.namespace);
    assert!(secrets.get_opt("astronomer-tls").await.unwrap().is_none());

    // With exactly the listed rights, the install goes through.
    let granted: Vec<&rights::Right> = all.iter().collect();
    grant(&w, &user, &granted).await;
    denied_once(&me, &all, &[]).await;
    let d = drivers(w.driver(&spec));
    let done = run(&spec, &d, w.state.path()).await;
    assert_eq!(done.summary.failed, 0, "{:?}", failures(&done.events));
    assert_eq!(w.release_status().unwrap()["info"]["status"], "deployed");
    // And a re-plan as that identity is a no-op.
    assert!(run(&spec, &d, w.state.path()).await.plan.is_noop());
}

/// In least-privilege mode with namespaces for Airflow deployments, the
/// chart's Roles and RoleBindings there and the namespaces liftoff creates
/// are part of what the preflight checks (found through the real `helm
/// template` and the API server's discovery).
#[tokio::test]
async fn least_privilege_rights_reach_the_deployment_namespaces() {
    let cluster = real_cluster!();
    let w = World::new(cluster);
    let team = format!("{}-team", w.namespace);
    let mut spec = w.spec(json!({"fixture": {"deploymentNamespaces": [team]}}));
    spec.platform.least_privilege = true;
    let without = listed(&w, &spec).await;
    spec.platform.deployment_namespaces = vec![team.clone()];
    let all = listed(&w, &spec).await;
    let has = |rights: &[rights::Right], verb: &str, resource: &str, namespace: Option<&str>| {
        rights.iter().any(|r| {
            r.verb == verb && r.resource == resource && r.namespace.as_deref() == namespace
        })
    };
    for resource in ["roles", "rolebindings"] {
        for verb in ["create", "patch", "delete"] {
            assert!(
                has(&all, verb, resource, Some(&team)),
                "{verb} {resource} in {team}: {all:?}"
            );
        }
    }
    assert!(has(&all, "create", "namespaces", None), "{all:?}");
    assert!(!has(&without, "create", "namespaces", None), "{without:?}");
    assert!(
        !all.iter()
            .any(|r| r.resource == "configmaps" && r.namespace.as_deref() == Some(&team)),
        "only the kinds the chart puts there: {all:?}"
    );
}
