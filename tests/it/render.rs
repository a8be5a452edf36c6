//! Rendered chart values: a snapshot per built-in profile and chart line,
//! and the behaviour behind them (air-gap images, private load balancers,
//! auth, user values last, no secrets).

use std::path::Path;

use liftoff::compose::render_inputs;
use liftoff::render;
use liftoff::spec::{self, Spec};
use serde_json::{Value, json};

/// The values of `spec` with its cloud's inputs and no private CA.
fn values_of(spec: &Spec) -> Result<Value, render::RenderError> {
    render::values(spec, &render_inputs(spec, false))
}

pub const CHARTS: [&str; 3] = ["0.37.7", "1.2.0", "2.1.0"];

/// What each profile needs besides itself to be a valid spec.
fn profile_extra(profile: &str) -> &'static str {
    match profile {
        "sandbox" => "",
        "gcp-standard" => "cloud:\n  project: my-project\n",
        "aws-existing-network" => {
            "network:\n  vpcId: vpc-0123456789abcdef0\n  privateSubnetIds: [subnet-a, subnet-b]\n  publicSubnetIds: [subnet-c, subnet-d]\n"
        }
        "airgapped" => {
            "airgap:\n  registry:\n    repository: registry.internal.example.com/astronomer\n    pullSecret: {fromEnv: REGISTRY_AUTH}\n"
        }
        _ => "",
    }
}

/// A valid spec on `profile` for chart `version`, with files in `dir`.
pub fn profile_spec(dir: &Path, profile: &str, version: &str, extra_platform: &str) -> Spec {
    std::fs::write(dir.join("cert.pem"), "").unwrap();
    std::fs::write(dir.join("key.pem"), "").unwrap();
    let tls = if profile == "sandbox" {
        ""
    } else {
        "  tls:\n    certFile: cert.pem\n    keyFile: key.pem\n"
    };
    // An air-gapped install takes the chart from its archive: the real one.
    let repository = if profile == "airgapped" {
        format!(
            "    repository: {}\n",
            crate::chart::chart_archive(version).display()
        )
    } else {
        String::new()
    };
    let text = format!(
        "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: {profile}\nmetadata:\n  name: snap\n{}platform:\n  baseDomain: astro.example.com\n  chart:\n{repository}    version: {version}\n{tls}{extra_platform}",
        profile_extra(profile)
    );
    match spec::load_str("liftoff.yaml", &text, dir) {
        Ok(l) => l.spec,
        Err(spec::SpecError::Invalid(d)) => panic!("{profile}: {d}"),
        Err(e) => panic!("{profile}: {e}"),
    }
}

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

#[test]
fn values_of_every_profile_and_chart_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for (profile, _) in spec::profiles::BUILTIN {
        for version in CHARTS {
            let spec = profile_spec(dir.path(), profile, version, "");
            let inputs = render_inputs(&spec, profile == &"sandbox");
            let yaml = render::values_yaml(&spec, &inputs).unwrap();
            insta::assert_snapshot!(format!("values-{profile}-{version}"), yaml);
            seen += 1;
        }
    }
    assert_eq!(seen, spec::profiles::BUILTIN.len() * CHARTS.len());
}

const FULL: &str = "  privateLoadBalancer: true
  loadBalancerIp: 10.20.30.40
  leastPrivilege: true
  deploymentNamespaces: [airflow-a, airflow-b]
  nodeSelector:
    astronomer.io/multi-tenant: \"false\"
  alertEmails: [ops@example.com, oncall@example.com]
  smtp:
    url: {fromEnv: SMTP_URL}
    from: noreply@example.com
  auth:
    local: false
    providers:
      - {type: google, clientId: g-123}
      - {type: okta, clientId: o-123, discoveryUrl: \"https://acme.okta.com/.well-known/openid-configuration\"}
      - {type: auth0, clientId: a-123, discoveryUrl: \"https://acme.auth0.com/.well-known/openid-configuration\"}
      - {type: oidc, clientId: c-123, discoveryUrl: \"https://sso.acme.example/.well-known/openid-configuration\", displayName: Acme SSO}
  values:
    nginx:
      replicas: 4
    global:
      tlsSecret: user-tls
";

#[test]
fn values_with_every_option_on_gcp() {
    let dir = tempfile::tempdir().unwrap();
    for version in CHARTS {
        let spec = profile_spec(dir.path(), "gcp-standard", version, FULL);
        let yaml = render::values_yaml(&spec, &render_inputs(&spec, true)).unwrap();
        insta::assert_snapshot!(format!("values-full-gcp-{version}"), yaml);
    }
}

#[test]
fn the_chart_lines_differ_where_the_charts_do() {
    let dir = tempfile::tempdir().unwrap();
    let v037 = values_of(&profile_spec(
        dir.path(),
        "existing-cluster",
        "0.37.7",
        FULL,
    ))
    .unwrap();
    let v1 = values_of(&profile_spec(dir.path(), "existing-cluster", "1.2.0", FULL)).unwrap();
    let v2 = values_of(&profile_spec(dir.path(), "existing-cluster", "2.1.0", FULL)).unwrap();
    // 0.37 and 1.2 turn the in-chart database off with postgresqlEnabled
    // (the subchart's condition), 2.x with postgresql.enabled.
    for v in [&v037, &v1] {
        assert_eq!(at(v, "global.postgresqlEnabled"), &json!(false));
        assert_eq!(at(v, "global.postgresql"), &Value::Null);
    }
    assert_eq!(at(&v2, "global.postgresql.enabled"), &json!(false));
    assert_eq!(at(&v2, "global.postgresqlEnabled"), &Value::Null);
    for v in [&v1, &v2] {
        assert_eq!(at(v, "global.plane.mode"), &json!("unified"));
    }
    assert_eq!(at(&v037, "global.plane"), &Value::Null);
    assert_eq!(
        at(&v037, "global.features.namespacePools.enabled"),
        &json!(true)
    );
    assert_eq!(
        at(&v1, "global.features.namespacePools.enabled"),
        &json!(true)
    );
    assert_eq!(
        at(&v2, "global.namespaceManagement.namespacePools.enabled"),
        &json!(true)
    );
    assert_eq!(
        at(&v037, "astronomer.houston.config.publicSignups"),
        &json!(false)
    );
    assert_eq!(
        at(&v2, "astronomer.houston.config.publicSignups.enabled"),
        &json!(false)
    );
    for v in [&v037, &v1, &v2] {
        assert_eq!(at(v, "global.clusterRoles"), &json!(false));
        assert_eq!(at(v, "elasticsearch.curator.age.unit"), &json!("days"));
        assert_eq!(at(v, "elasticsearch.curator.age.unit_count"), &json!(15));
        // The user's values come last: they win over liftoff's.
        assert_eq!(at(v, "global.tlsSecret"), &json!("user-tls"));
        assert_eq!(at(v, "nginx.replicas"), &json!(4));
        assert_eq!(
            at(v, "astronomer.houston.config.auth.local.enabled"),
            &json!(false)
        );
        let oidc = at(v, "astronomer.houston.config.auth.openidConnect");
        assert_eq!(oidc["google"]["clientId"], json!("g-123"));
        assert_eq!(oidc["custom"]["displayName"], json!("Acme SSO"));
        assert_eq!(
            at(v, "astronomer.houston.secret"),
            &json!([{"envName": "EMAIL__SMTP_URL", "secretName": render::SMTP_SECRET, "secretKey": "connection"}])
        );
        // An existing cluster's cloud is unknown: no cloud annotations, no static IP.
        assert_eq!(at(v, "nginx.privateLoadBalancer"), &json!(true));
        assert_eq!(at(v, "nginx.ingressAnnotations"), &json!({}));
        assert_eq!(at(v, "nginx.loadBalancerIP"), &Value::Null);
    }
}

#[test]
fn private_load_balancers_get_their_cloud_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let aws = values_of(&profile_spec(
        dir.path(),
        "aws-standard",
        "0.37.7",
        "  privateLoadBalancer: true\n",
    ))
    .unwrap();
    // Without the AWS Load Balancer Controller: the in-tree provider's NLB;
    // the chart itself adds `aws-load-balancer-internal: "true"` for
    // privateLoadBalancer.
    assert_eq!(
        at(&aws, "nginx.ingressAnnotations"),
        &json!({"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"})
    );
    // With it: the annotations the controller acts on.
    let spec = profile_spec(
        dir.path(),
        "aws-standard",
        "0.37.7",
        "  privateLoadBalancer: true\n",
    );
    let inputs = render::Inputs {
        load_balancer_controller: true,
        ..render_inputs(&spec, false)
    };
    let with_controller = render::values(&spec, &inputs).unwrap();
    assert_eq!(
        at(&with_controller, "nginx.ingressAnnotations"),
        &json!({
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        })
    );
    assert_eq!(at(&aws, "nginx.privateLoadBalancer"), &json!(true));

    let gcp = values_of(&profile_spec(dir.path(), "gcp-standard", "1.2.0", FULL)).unwrap();
    assert_eq!(
        at(&gcp, "nginx.ingressAnnotations"),
        &json!({"networking.gke.io/load-balancer-type": "Internal"})
    );
    assert_eq!(at(&gcp, "nginx.loadBalancerIP"), &json!("10.20.30.40"));
}

/// Every string under `v` with its dotted path.
pub fn strings(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((path, s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                strings(x, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                strings(x, format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn air_gapped_values_name_only_the_private_registry() {
    let dir = tempfile::tempdir().unwrap();
    for version in CHARTS {
        let v = values_of(&profile_spec(dir.path(), "airgapped", version, "")).unwrap();
        let reg = "registry.internal.example.com/astronomer";
        assert_eq!(at(&v, "global.privateRegistry.enabled"), &json!(true));
        assert_eq!(at(&v, "global.privateRegistry.repository"), &json!(reg));
        assert_eq!(
            at(&v, "global.privateRegistry.secretName"),
            &json!(render::REGISTRY_SECRET)
        );
        assert_eq!(
            at(&v, "astronomer.commander.airGapped.enabled"),
            &json!(true)
        );
        assert_eq!(
            at(&v, "astronomer.houston.updateCheck.enabled"),
            &json!(false)
        );
        assert_eq!(
            at(&v, "astronomer.houston.updateRuntimeCheck.enabled"),
            &json!(false)
        );
        assert_eq!(
            at(&v, "astronomer.houston.updateAirflowCheck"),
            &Value::Null
        );
        assert_eq!(
            at(&v, "global.gitSyncRelay.images.gitSync.repository"),
            &json!(format!("{reg}/ap-git-sync-relay"))
        );
        assert_eq!(at(&v, "global.airflow.images.airflow"), &Value::Null);
        let mut all = Vec::new();
        strings(&v, String::new(), &mut all);
        let repos: Vec<_> = all
            .iter()
            .filter(|(p, _)| p.ends_with(".repository") || p.ends_with("Repository"))
            .collect();
        assert!(repos.len() >= 8, "{version}: {repos:?}");
        for (path, repo) in repos {
            assert!(repo.starts_with(reg), "{version}: {path} = {repo}");
        }
        assert!(
            at(
                &v,
                "astronomer.houston.config.deployments.helm.airflow.defaultAirflowRepository"
            )
            .as_str()
            .unwrap()
            .starts_with(reg)
        );
        assert_eq!(
            at(&v, "global.certgenerator.images.repository"),
            &json!(format!("{reg}/ap-certgenerator"))
        );
    }
}

#[test]
fn private_ca_is_trusted_only_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let spec = profile_spec(dir.path(), "existing-cluster", "0.37.7", "");
    let with = render::values(&spec, &render_inputs(&spec, true)).unwrap();
    let without = render::values(&spec, &render_inputs(&spec, false)).unwrap();
    assert_eq!(
        at(&with, "global.privateCaCerts"),
        &json!([render::PRIVATE_CA_SECRET])
    );
    assert_eq!(at(&without, "global.privateCaCerts"), &Value::Null);
    // Sign-ups stay closed by default; e-mail confirmation needs SMTP.
    assert_eq!(
        at(&without, "astronomer.houston.config.publicSignups"),
        &json!(false)
    );
    assert_eq!(
        at(&without, "astronomer.houston.config.emailConfirmation"),
        &json!(false)
    );
}

#[test]
fn unsupported_chart_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // validate refuses it first (tests/it/chart.rs); render refuses it too.
    let mut spec = profile_spec(dir.path(), "existing-cluster", "0.37.7", "");
    spec.platform.chart.version = "0.36.4".into();
    let e = values_of(&spec).unwrap_err();
    assert_eq!(
        e.to_string(),
        "chart version `0.36.4` is not supported: liftoff has values for the chart lines 0.37.x, 1.x and 2.x"
    );
    assert!(e.hint().unwrap().contains("platform.chart.version"));
}

#[test]
fn manifests_are_adoptable_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let spec = profile_spec(
        dir.path(),
        "airgapped",
        "0.37.7",
        "  namespace: astro\n  releaseName: platform\n  smtp:\n    url: {fromEnv: SMTP_URL}\n",
    );
    let m = render::manifests::manifests(&spec, true);
    let names: Vec<_> = m
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "Namespace/astro",
            "Secret/astronomer-tls",
            "Secret/astronomer-bootstrap",
            "Secret/astronomer-smtp",
            "Secret/private-root-ca",
            "Secret/astronomer-registry",
        ]
    );
    // The namespace install applies: the installation label, no Helm
    // metadata (the release goes into it; Helm does not own it).
    assert_eq!(
        m[0]["metadata"],
        json!({"name": "astro", "labels": {"liftoff.dev/installation": "snap"}})
    );
    for o in &m[1..] {
        let md = &o["metadata"];
        assert_eq!(md["labels"]["app.kubernetes.io/managed-by"], json!("Helm"));
        assert_eq!(
            md["annotations"]["meta.helm.sh/release-name"],
            json!("platform")
        );
        assert_eq!(
            md["annotations"]["meta.helm.sh/release-namespace"],
            json!("astro")
        );
        if o["kind"] == "Secret" {
            assert_eq!(md["namespace"], json!("astro"));
            for (_, v) in o["data"].as_object().unwrap() {
                assert_eq!(v, &json!(render::manifests::REDACTED));
            }
        }
    }
    assert_eq!(
        m[4]["data"],
        json!({"cert.pem": render::manifests::REDACTED})
    );
    let without = render::manifests::manifests(
        &profile_spec(dir.path(), "existing-cluster", "0.37.7", ""),
        false,
    );
    assert_eq!(without.len(), 3);
}

/// `render --manifests` lists exactly the objects install applies: the
/// cluster graph's namespace and secrets, for every profile, with and
/// without a private CA, SMTP and an air-gap registry that is switched off.
#[test]
fn render_manifests_list_what_install_applies() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = [
        "aws-standard",
        "aws-existing-network",
        "gcp-standard",
        "existing-cluster",
        "airgapped",
        "sandbox",
    ];
    let extras = ["", "  smtp:\n    url: {fromEnv: SMTP_URL}\n"];
    let mut compared = 0;
    for profile in profiles {
        for extra in extras {
            let base = profile_spec(dir.path(), profile, "0.37.7", extra);
            for private_ca in [false, true] {
                for airgap_off in [false, true] {
                    let mut spec = base.clone();
                    if airgap_off {
                        // A registry given but the air gap off: no pull secret.
                        let Some(a) = spec.airgap.as_mut() else {
                            continue;
                        };
                        a.enabled = false;
                    }
                    let facts = liftoff::cluster::graph::Facts {
                        private_ca,
                        ..Default::default()
                    };
                    let install: Vec<String> =
                        liftoff::cluster::graph::resources(&spec, &[], &facts)
                            .iter()
                            .filter_map(|r| match r.kind.as_str() {
                                "cluster.namespace" => {
                                    Some(format!("Namespace/{}", r.props["name"].as_str().unwrap()))
                                }
                                "cluster.secret" => {
                                    Some(format!("Secret/{}", r.props["name"].as_str().unwrap()))
                                }
                                _ => None,
                            })
                            .collect();
                    let rendered: Vec<String> = render::manifests::manifests(&spec, private_ca)
                        .iter()
                        .map(|o| {
                            format!(
                                "{}/{}",
                                o["kind"].as_str().unwrap(),
                                o["metadata"]["name"].as_str().unwrap()
                            )
                        })
                        .collect();
                    assert_eq!(
                        rendered, install,
                        "{profile} {extra:?} private CA {private_ca} air gap off {airgap_off}"
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared >= 24, "{compared}");
}

#[test]
fn overriding_a_secret_name_in_values_draws_a_warning_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "").unwrap();
    std::fs::write(dir.path().join("key.pem"), "").unwrap();
    let text = "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: existing-cluster\nmetadata:\n  name: w\nplatform:\n  baseDomain: astro.example.com\n  tls: {certFile: cert.pem, keyFile: key.pem}\n  values:\n    global:\n      tlsSecret: mine\n";
    let loaded = spec::load_str("liftoff.yaml", text, dir.path()).unwrap();
    let w: Vec<_> = loaded.warnings.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        w,
        [
            "liftoff.yaml:11:18: warning: platform.values overrides global.tlsSecret, a secret name liftoff sets (at `platform.values.global.tlsSecret`)\n    hint: liftoff creates the secrets astronomer-tls, private-root-ca and astronomer-registry; remove the override unless you create the renamed secret yourself"
        ]
    );
}

#[test]
fn manifests_include_the_namespaces_for_airflow_deployments() {
    let dir = tempfile::tempdir().unwrap();
    let spec = profile_spec(
        dir.path(),
        "existing-cluster",
        "2.1.0",
        "  leastPrivilege: true\n  deploymentNamespaces: [airflow-a, airflow-b]\n",
    );
    let m = render::manifests::manifests(&spec, false);
    let namespaces: Vec<_> = m
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap(),
                o["metadata"]["labels"]["liftoff.dev/installation"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        namespaces,
        [
            ("astronomer", "snap"),
            ("airflow-a", "snap"),
            ("airflow-b", "snap")
        ]
    );
    let v = values_of(&spec).unwrap();
    assert_eq!(
        at(
            &v,
            "global.namespaceManagement.namespacePools.namespaces.names"
        ),
        &json!(["airflow-a", "airflow-b"])
    );
    assert_eq!(at(&v, "global.clusterRoles"), &json!(false));
}
