//! Install through the engine: secrets by server-side apply with Helm
//! adoption metadata, the helm command line and values file, the load
//! balancer output, re-runs that change nothing, and failures.

use base64::Engine as _;
use liftoff::plan::Action;
use liftoff::plan::events::Event;
use serde_json::{Value, json};

use super::harness::*;

const SECRETS: &str = "/api/v1/namespaces/astronomer/secrets";

fn b64(v: &Value) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn install_applies_secrets_runs_helm_and_rerun_is_a_noop() {
    let (kube, helm) = world("31", "v3.16.2+g13654a5").await;
    let spec = spec(|_| {});
    let state = tempfile::tempdir().unwrap();
    let drivers = drivers(driver(&spec, &kube, &helm, inputs()));

    let first = run(&spec, &drivers, state.path()).await;
    assert_eq!(first.summary.failed, 0, "{:?}", failures(&first.events));
    assert!(
        first
            .plan
            .changes
            .iter()
            .all(|c| c.action == Action::Create)
    );

    // The namespace and every secret, by server-side apply as `liftoff`:
    // the very objects `render --manifests` shows (secret values aside).
    let rendered = liftoff::render::manifests::manifests(&spec, true);
    let ns = kube.get("/api/v1/namespaces", "astronomer").unwrap();
    assert_eq!(ns["metadata"]["labels"], rendered[0]["metadata"]["labels"]);
    assert_eq!(
        ns["metadata"]["labels"],
        serde_json::json!({"liftoff.dev/installation": "acme"})
    );
    for m in &rendered[1..] {
        let live = kube
            .get(SECRETS, m["metadata"]["name"].as_str().unwrap())
            .unwrap();
        for field in ["name", "namespace", "labels", "annotations"] {
            assert_eq!(live["metadata"][field], m["metadata"][field], "{field}");
        }
        assert_eq!(live["type"], m["type"]);
    }
    let mut names = kube.names(SECRETS);
    names.sort();
    assert_eq!(
        names,
        [
            "astronomer-bootstrap",
            "astronomer-smtp",
            "astronomer-tls",
            "private-root-ca"
        ]
    );
    let writes = kube.writes();
    assert_eq!(writes.len(), 5, "{writes:#?}");
    for w in &writes {
        assert!(w.starts_with("PATCH "), "{w}");
        assert!(w.contains("application/apply-patch+yaml"), "{w}");
        assert!(w.contains("fieldManager=liftoff"), "{w}");
    }
    for name in &names {
        let s = kube.get(SECRETS, name).unwrap();
        assert_eq!(
            s["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm",
            "{name}"
        );
        assert_eq!(
            s["metadata"]["annotations"]["meta.helm.sh/release-name"],
            "astronomer"
        );
        assert_eq!(
            s["metadata"]["annotations"]["meta.helm.sh/release-namespace"],
            "astronomer"
        );
    }
    let tls = kube.get(SECRETS, "astronomer-tls").unwrap();
    assert_eq!(tls["type"], "kubernetes.io/tls");
    assert_eq!(b64(&tls["data"]["tls.crt"]), CHAIN);
    assert_eq!(b64(&tls["data"]["tls.key"]), KEY);
    let ca = kube.get(SECRETS, "private-root-ca").unwrap();
    assert_eq!(ca["type"], "Opaque");
    assert_eq!(b64(&ca["data"]["cert.pem"]), CA);
    let boot = kube.get(SECRETS, "astronomer-bootstrap").unwrap();
    let keys: Vec<&String> = boot["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["connection"]);
    assert_eq!(
        b64(&boot["data"]["connection"]),
        "postgres://astro:pa%3Ass%40word%2F1@db.internal:5432"
    );
    let smtp = kube.get(SECRETS, "astronomer-smtp").unwrap();
    assert_eq!(b64(&smtp["data"]["connection"]), SMTP);

    // One helm upgrade --install with the pinned chart, the values in a
    // 0600 file that is gone afterwards, and a kubeconfig for the same API.
    let upgrades = helm.upgrades();
    assert_eq!(upgrades.len(), 1);
    let argv: Vec<&str> = upgrades[0].split(' ').collect();
    let (values, mode, path) = helm.values();
    assert_eq!(
        argv[..15],
        [
            "upgrade",
            "--install",
            "astronomer",
            "--repo",
            "https://helm.astronomer.io",
            "astronomer",
            "--namespace",
            "astronomer",
            "--version",
            "0.37.7",
            "-f",
            path.to_str().unwrap(),
            "--wait",
            "--timeout",
            "20m",
        ]
    );
    assert_eq!(argv[15], "--kubeconfig");
    assert_eq!(argv.len(), 17, "{argv:?}");
    assert!(!upgrades[0].contains("--no-hooks") && !upgrades[0].contains("--server-side"));
    assert_eq!(values, VALUES);
    assert_eq!(mode, "600");
    assert!(!path.exists(), "values file left behind");
    assert!(
        !std::path::Path::new(argv[16]).exists(),
        "kubeconfig left behind"
    );

    // Helm's output streamed as progress; the load balancer recorded.
    assert!(
        first
            .events
            .iter()
            .any(|e| matches!(e, Event::Progress { message, .. } if message == "STATUS: deployed"))
    );
    let state_text = std::fs::read_to_string(
        std::fs::read_dir(state.path())
            .unwrap()
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "json"))
            .unwrap()
            .path(),
    )
    .unwrap();
    assert!(state_text.contains(LB), "load balancer not in state");

    // A re-run plans no change and writes nothing.
    let second = run(&spec, &drivers, state.path()).await;
    assert!(
        second.plan.is_noop(),
        "{:#?}",
        second
            .plan
            .changes
            .iter()
            .map(|c| (&c.address, c.action, &c.reason))
            .collect::<Vec<_>>()
    );
    assert_eq!(kube.writes().len(), 5);
    assert_eq!(helm.upgrades().len(), 1);

    // No secret value in plans, state or events.
    let everything = format!(
        "{}{}{state_text}{:?}{:?}",
        serde_json::to_string(&first.plan).unwrap(),
        serde_json::to_string(&second.plan).unwrap(),
        first.events,
        second.events
    );
    for secret in [
        "TOPSECRETKEY",
        "pa:ss@word",
        "pa%3Ass",
        "SMTPSECRET",
        "test-token",
    ] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn a_changed_secret_is_applied_again_alone() {
    let (kube, helm) = world("31", "v3.16.2").await;
    let spec = spec(|_| {});
    let state = tempfile::tempdir().unwrap();
    let first = run(
        &spec,
        &drivers(driver(&spec, &kube, &helm, inputs())),
        state.path(),
    )
    .await;
    assert_eq!(first.summary.failed, 0, "{:?}", failures(&first.events));
    let mut changed = inputs();
    changed.smtp_url = Some(liftoff::secret::Redacted::new(
        "smtps://mailer:NEW@smtp.example.com:465".into(),
    ));
    let again = run(
        &spec,
        &drivers(driver(&spec, &kube, &helm, changed)),
        state.path(),
    )
    .await;
    let acted: Vec<(String, Action)> = again
        .plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.address.to_string(), c.action))
        .collect();
    assert_eq!(acted, [("cluster.secret.smtp".to_string(), Action::Update)]);
    assert_eq!(kube.writes().len(), 6);
    let smtp = kube.get(SECRETS, "astronomer-smtp").unwrap();
    assert_eq!(
        b64(&smtp["data"]["connection"]),
        "smtps://mailer:NEW@smtp.example.com:465"
    );
    assert_eq!(helm.upgrades().len(), 1);
}

#[tokio::test]
async fn helm_4_gets_client_side_apply_and_chart_1x_its_service() {
    let kube = crate::support::kube::FakeKube::start("35").await;
    kube.ready_cluster("astro", "platform-cp-nginx", "10.1.2.3");
    let helm = crate::support::helm::FakeHelm::new("v4.0.1+gabc");
    let spec = spec(|v| {
        v["platform"]["chart"] = serde_json::json!({"repository": "oci://registry.example.com/charts", "name": "astronomer", "version": "1.1.0"});
        v["platform"]["releaseName"] = "platform".into();
        v["platform"]["namespace"] = "astro".into();
        v["timeouts"] = serde_json::json!({"helm": "45m"});
    });
    let state = tempfile::tempdir().unwrap();
    let r = run(
        &spec,
        &drivers(driver(&spec, &kube, &helm, inputs())),
        state.path(),
    )
    .await;
    assert_eq!(r.summary.failed, 0, "{:?}", failures(&r.events));
    let up = &helm.upgrades()[0];
    assert!(up.starts_with("upgrade --install platform oci://registry.example.com/charts/astronomer --namespace astro --version 1.1.0 -f "), "{up}");
    assert!(up.contains("--timeout 45m --server-side=false"), "{up}");
    assert!(r.events.iter().any(
        |e| matches!(e, Event::Progress { message, .. } if message == "load balancer 10.1.2.3")
    ));
}

#[tokio::test]
async fn local_chart_archive_is_passed_as_a_path() {
    let (kube, helm) = world("33", "v3.6.0").await;
    let spec =
        spec(|v| v["platform"]["chart"]["repository"] = "charts/astronomer-0.37.7.tgz".into());
    let state = tempfile::tempdir().unwrap();
    let r = run(
        &spec,
        &drivers(driver(&spec, &kube, &helm, inputs())),
        state.path(),
    )
    .await;
    assert_eq!(r.summary.failed, 0, "{:?}", failures(&r.events));
    let want = format!(
        "upgrade --install astronomer {}/charts/astronomer-0.37.7.tgz --namespace",
        helm.path().display()
    );
    assert!(
        helm.upgrades()[0].starts_with(&want),
        "{}",
        helm.upgrades()[0]
    );
}

#[tokio::test]
async fn a_failed_preflight_changes_nothing() {
    // Kubernetes 1.29 is outside chart 0.37's tested range.
    let (kube, helm) = world("29", "v3.16.2").await;
    let spec = spec(|_| {});
    let state = tempfile::tempdir().unwrap();
    let r = run(
        &spec,
        &drivers(driver(&spec, &kube, &helm, inputs())),
        state.path(),
    )
    .await;
    assert!(r.summary.failed >= 1);
    let f = failures(&r.events).join("\n");
    assert!(f.contains("preflight failed, nothing was changed"), "{f}");
    assert!(
        f.contains("kubernetes-version: Kubernetes 1.29 is outside 1.31–1.34"),
        "{f}"
    );
    assert_eq!(kube.writes(), Vec::<String>::new());
    assert!(helm.upgrades().is_empty());

    // Missing rights stop it the same way, naming them.
    let (kube, helm) = world("31", "v3.16.2").await;
    kube.deny("create", "secrets");
    let r = run(
        &spec,
        &drivers(driver(&spec, &kube, &helm, inputs())),
        state.path(),
    )
    .await;
    let f = failures(&r.events).join("\n");
    assert!(
        f.contains("permissions: missing: create secrets in astronomer"),
        "{f}"
    );
    assert_eq!(kube.writes(), Vec::<String>::new());
    assert!(helm.upgrades().is_empty());
}

#[tokio::test]
async fn a_failed_helm_install_shows_helm_and_pod_reasons() {
    let (kube, helm) = world("31", "v3.16.2").await;
    helm.fail_with("Error: UPGRADE FAILED: context deadline exceeded\n");
    let pods = "/api/v1/namespaces/astronomer/pods";
    kube.put(pods, serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "astronomer-houston-0", "namespace": "astronomer"},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/2 nodes are available: 2 Insufficient cpu."}]}}));
    kube.put(pods, serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "astronomer-registry-0", "namespace": "astronomer"},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "registry", "image": "quay.io/astronomer/ap-registry", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}}));
    kube.put(pods, serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "astronomer-nginx-1", "namespace": "astronomer"},
        "status": {"phase": "Running", "containerStatuses": [{"name": "nginx", "image": "x", "imageID": "", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}));
    let spec = spec(|_| {});
    let state = tempfile::tempdir().unwrap();
    let r = run(
        &spec,
        &drivers(driver(&spec, &kube, &helm, inputs())),
        state.path(),
    )
    .await;
    assert_eq!(r.summary.failed, 1);
    let f = failures(&r.events).join("\n");
    assert!(f.starts_with("cluster.helm_release: helm upgrade --install failed: Error: UPGRADE FAILED: context deadline exceeded"), "{f}");
    assert!(
        f.contains(
            "pod astronomer-houston-0: Pending: 0/2 nodes are available: 2 Insufficient cpu."
        ),
        "{f}"
    );
    assert!(
        f.contains(
            "pod astronomer-registry-0 container registry: ImagePullBackOff: Back-off pulling image"
        ),
        "{f}"
    );
    assert!(
        f.contains("pod astronomer-nginx-1 container nginx: CrashLoopBackOff"),
        "{f}"
    );
    assert!(!helm.installed());
    // The values file is removed on failure too.
    assert!(!helm.values().2.exists());
}

#[tokio::test]
async fn air_gap_adds_the_registry_pull_secret() {
    let (kube, helm) = world("31", "v3.16.2").await;
    let spec = spec(|v| {
        v["airgap"] = serde_json::json!({"enabled": true, "registry": {"repository": "registry.local:5000", "pullSecret": {"fromEnv": "PULL"}}});
    });
    let mut inp = inputs();
    inp.registry_dockerconfig = Some(liftoff::secret::Redacted::new(
        r#"{"auths":{"registry.local:5000":{"auth":"eDp5"}}}"#.into(),
    ));
    let state = tempfile::tempdir().unwrap();
    let r = run(
        &spec,
        &drivers(driver(&spec, &kube, &helm, inp)),
        state.path(),
    )
    .await;
    assert_eq!(r.summary.failed, 0, "{:?}", failures(&r.events));
    let reg = kube.get(SECRETS, "astronomer-registry").unwrap();
    assert_eq!(reg["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(
        b64(&reg["data"][".dockerconfigjson"]),
        r#"{"auths":{"registry.local:5000":{"auth":"eDp5"}}}"#
    );
    assert_eq!(
        reg["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
}

#[tokio::test]
async fn connects_through_a_kubeconfig_context() {
    let kube = crate::support::kube::FakeKube::start("32").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: http://127.0.0.1:1\n- name: fake\n  cluster:\n    server: {}\nusers:\n- name: me\n  user:\n    token: abc\ncontexts:\n- name: wrong\n  context:\n    cluster: other\n    user: me\n- name: right\n  context:\n    cluster: fake\n    user: me\ncurrent-context: wrong\n",
        kube.url
    )).unwrap();
    let conn = liftoff::cluster::Connection::Kubeconfig {
        path: Some(path.clone()),
        context: Some("right".into()),
    };
    let info = conn
        .client()
        .await
        .unwrap()
        .apiserver_version()
        .await
        .unwrap();
    assert_eq!(info.minor, "32");
    let target = conn.helm_target().unwrap();
    assert_eq!(
        target.args,
        [
            "--kubeconfig",
            path.to_str().unwrap(),
            "--kube-context",
            "right"
        ]
    );
}

#[tokio::test]
async fn destroy_uninstalls_and_deletes_only_what_liftoff_made() {
    for preexisting in [false, true] {
        let (kube, helm) = world("31", "v3.16.2").await;
        if preexisting {
            kube.put("/api/v1/namespaces", serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "astronomer"}}));
        }
        let spec = spec(|_| {});
        let state = tempfile::tempdir().unwrap();
        let drivers = drivers(driver(&spec, &kube, &helm, inputs()));
        let r = run(&spec, &drivers, state.path()).await;
        assert_eq!(r.summary.failed, 0, "{:?}", failures(&r.events));
        let ns = r
            .plan
            .changes
            .iter()
            .find(|c| c.address.as_str() == "cluster.namespace")
            .unwrap();
        assert_eq!(
            ns.action,
            if preexisting {
                Action::Adopt
            } else {
                Action::Create
            }
        );

        let d = destroy(&spec, &drivers, state.path()).await;
        assert_eq!(d.summary.failed, 0, "{:?}", failures(&d.events));
        assert!(
            helm.calls().iter().any(|c| c
                .starts_with("uninstall astronomer --namespace astronomer --wait --kubeconfig ")),
            "{:?}",
            helm.calls()
        );
        assert!(!helm.installed());
        assert!(kube.names(SECRETS).is_empty(), "{:?}", kube.names(SECRETS));
        assert_eq!(
            kube.get("/api/v1/namespaces", "astronomer").is_some(),
            preexisting,
            "preexisting={preexisting}"
        );
    }
}

/// Hands out a new token on every call, as an EKS connector would.
struct Minting {
    url: String,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl liftoff::cluster::Connector for Minting {
    async fn connection(
        &self,
    ) -> Result<Option<liftoff::cluster::Connection>, liftoff::cluster::ClusterError> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(liftoff::cluster::Connection::Token {
            endpoint: self.url.clone(),
            ca_pem: None,
            token: liftoff::secret::Redacted::new(format!("token-{n}")),
        }))
    }
}

#[tokio::test]
async fn a_token_connector_is_asked_again_for_each_use() {
    let (kube, helm) = world("31", "v3.16.2").await;
    let spec = spec(|_| {});
    let minting = std::sync::Arc::new(Minting {
        url: kube.url.clone(),
        calls: 0.into(),
    });
    let d = liftoff::cluster::ClusterDriver::new(
        spec.clone(),
        helm.path().to_path_buf(),
        minting.clone(),
        inputs(),
    )
    .with_helm(liftoff::cluster::helm::Helm {
        program: helm.program(),
    })
    .with_load_balancer_wait(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(20),
    );
    let state = tempfile::tempdir().unwrap();
    let r = run(&spec, &drivers(d), state.path()).await;
    assert_eq!(r.summary.failed, 0, "{:?}", failures(&r.events));
    // Six reads, the preflight, six writes and the load balancer wait.
    assert!(minting.calls.load(std::sync::atomic::Ordering::SeqCst) >= 14);
}

#[tokio::test]
async fn the_load_balancer_wait_ends_at_its_spec_deadline_naming_the_key() {
    // A ready cluster whose nginx Service never gets an address.
    let kube = crate::support::kube::FakeKube::start("31").await;
    kube.ready_cluster("astronomer", "some-other-service", LB);
    let helm = crate::support::helm::FakeHelm::new("v3.16.2");
    let spec = spec(|v| v["timeouts"] = serde_json::json!({"loadBalancer": "1s"}));
    let conn = liftoff::cluster::Connection::Token {
        endpoint: kube.url.clone(),
        ca_pem: None,
        token: liftoff::secret::Redacted::new("test-token".into()),
    };
    // No `with_load_balancer_wait`: the deadline comes from the spec.
    let d = liftoff::cluster::ClusterDriver::new(
        spec.clone(),
        helm.path().to_path_buf(),
        std::sync::Arc::new(conn),
        inputs(),
    )
    .with_helm(liftoff::cluster::helm::Helm {
        program: helm.program(),
    });
    let state = tempfile::tempdir().unwrap();
    let r = run(&spec, &drivers(d), state.path()).await;
    assert_eq!(r.summary.failed, 1, "{:?}", failures(&r.events));
    let (error, hint) = r
        .events
        .iter()
        .find_map(|e| match e {
            Event::Failed { error, hint, .. } => Some((error.clone(), hint.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        error,
        "service astronomer/astronomer-nginx got no load balancer address within 1s"
    );
    assert!(
        hint.as_deref()
            .is_some_and(|h| h.contains("`timeouts.loadBalancer`")),
        "{hint:?}"
    );
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::Progress { message, .. }
        if message.starts_with("load balancer of astronomer-nginx: no address yet")))
    );
}

/// The values for the AWS Load Balancer Controller go to Helm only when the
/// cluster serves its API group; the namespaces for Airflow deployments are
/// created before the release, labelled as the installation's, and only
/// those liftoff made are deleted.
#[tokio::test]
async fn the_load_balancer_controller_picks_the_values_and_deployment_namespaces_are_made() {
    for controller in [false, true] {
        let (kube, helm) = world("31", "v3.16.2").await;
        if controller {
            kube.serve_group("elbv2.k8s.aws");
        }
        kube.put(
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "airflow-b"}}),
        );
        let spec = spec(|v| {
            v["platform"]["deploymentNamespaces"] = json!(["airflow-a", "airflow-b"]);
        });
        let mut with = inputs();
        with.values_yaml_with_controller = Some("controller: true\n".into());
        let state = tempfile::tempdir().unwrap();
        // The AWS cloud's controller (the spec itself brings its own cluster).
        let aws = liftoff::providers::for_provider(liftoff::spec::Provider::Aws).unwrap();
        let aws_controller = aws.load_balancer_controller().unwrap();
        let drivers = drivers(
            driver(&spec, &kube, &helm, with).with_load_balancer_controller(aws_controller),
        );
        let r = run(&spec, &drivers, state.path()).await;
        assert_eq!(r.summary.failed, 0, "{:?}", failures(&r.events));
        let (values, _, _) = helm.values();
        assert_eq!(
            values,
            if controller {
                "controller: true\n"
            } else {
                VALUES
            },
            "controller {controller}"
        );
        let made = kube.get("/api/v1/namespaces", "airflow-a").unwrap();
        assert_eq!(
            made["metadata"]["labels"]["liftoff.dev/installation"],
            "acme"
        );
        let d = destroy(&spec, &drivers, state.path()).await;
        assert_eq!(d.summary.failed, 0, "{:?}", failures(&d.events));
        assert!(kube.get("/api/v1/namespaces", "airflow-a").is_none());
        // One an administrator made stays.
        assert!(kube.get("/api/v1/namespaces", "airflow-b").is_some());
    }
}
