//! The platform chart's values, rendered from the spec with the Tera
//! templates in `templates/` (embedded in the binary), then the user's
//! `platform.values` deep-merged last.
//!
//! Three chart lines are supported, each with its own template, chosen by
//! the chart's version (the pinned `platform.chart.version`, which
//! validation holds equal to a local archive's own Chart.yaml): 0.37.x,
//! 1.x and 2.x. Every key a template sets is one the real chart declares
//! (tests/it/chart.rs renders the real charts and compares). Secrets are
//! referenced by name only: no secret value is ever part of the values.

pub mod manifests;
pub mod migrate;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::cluster::objects::SecretKind;
use crate::spec::{AuthKind, Spec};

// The secrets' names, which the values refer to: from their one source,
// [`SecretKind::name`].
pub const TLS_SECRET: &str = SecretKind::Tls.name();
pub const BOOTSTRAP_SECRET: &str = SecretKind::Bootstrap.name();
pub const SMTP_SECRET: &str = SecretKind::Smtp.name();
pub const PRIVATE_CA_SECRET: &str = SecretKind::PrivateCa.name();
pub const REGISTRY_SECRET: &str = SecretKind::Registry.name();

const TEMPLATE_0_37: &str = include_str!("../../templates/values-0.37.yaml.tera");
const TEMPLATE_1_X: &str = include_str!("../../templates/values-1.x.yaml.tera");
const TEMPLATE_2_X: &str = include_str!("../../templates/values-2.x.yaml.tera");

/// The chart lines liftoff has a template for, as shown to users.
pub use crate::spec::chart::{ChartLine, SUPPORTED_LINES, UnsupportedChart};

/// What the values depend on besides the spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    /// The certificate chain ends in a private CA (see [`crate::tls::Material`]):
    /// the platform is told to trust the `private-root-ca` secret.
    pub private_ca: bool,
    /// The cloud's load balancer settings (none without a cloud).
    pub load_balancer: LoadBalancer,
    /// The cloud's own load balancer controller runs in the cluster (the
    /// AWS Load Balancer Controller, found by the preflight): the nginx
    /// Service gets the annotations that controller acts on.
    pub load_balancer_controller: bool,
}

/// The Service annotations (and static address support) the cloud's load
/// balancer controller reads; each cloud gives its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadBalancer {
    /// What the cloud provider built into Kubernetes acts on.
    pub annotations: Map<String, Value>,
    /// What the cloud's add-on load balancer controller acts on, when it
    /// has one and it runs in the cluster (see [`Inputs::load_balancer_controller`]).
    pub controller_annotations: Option<Map<String, Value>>,
    /// Whether `platform.loadBalancerIp` (a reserved static address) applies.
    pub static_ip: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    UnsupportedChart(#[from] UnsupportedChart),
    #[error("cannot render template {template}")]
    Template {
        template: String,
        #[source]
        source: tera::Error,
    },
    #[error("template {template} rendered invalid YAML")]
    Yaml {
        template: String,
        #[source]
        source: crate::spec::yaml::SyntaxError,
    },
    #[error("platform.values must be a mapping")]
    ValuesNotMapping,
}

impl RenderError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RenderError::UnsupportedChart(e) => Some(e.hint()),
            RenderError::Template { .. } | RenderError::Yaml { .. } => {
                Some("this is a bug in liftoff's templates; please report it with the spec".into())
            }
            RenderError::ValuesNotMapping => Some(
                "write platform.values as chart keys, e.g. `values: {nginx: {replicas: 3}}`".into(),
            ),
        }
    }
}

/// The values template of a chart line.
fn template(line: ChartLine) -> (&'static str, &'static str) {
    match line {
        ChartLine::V0_37 => ("values-0.37.yaml", TEMPLATE_0_37),
        ChartLine::V1 => ("values-1.x.yaml", TEMPLATE_1_X),
        ChartLine::V2 => ("values-2.x.yaml", TEMPLATE_2_X),
    }
}

#[derive(Serialize)]
struct AuthProviderCtx {
    key: String,
    client_id: Option<String>,
    discovery_url: Option<String>,
    display_name: Option<String>,
}

/// Image repositories the platform hands to Airflow deployments, by the
/// chart's key, under `registry`: the same image names as the chart's own
/// defaults (`quay.io/astronomer/<name>`), which the bundle mirrors.
fn images(registry: &str, line: ChartLine) -> Value {
    let r = |image: &str| format!("{}/{image}", registry.trim_end_matches('/'));
    json!({
        "airflow": {
            "statsd": r("ap-statsd-exporter"),
            "redis": r("ap-redis"),
            "pgbouncer": r("ap-pgbouncer"),
            "pgbouncerExporter": r("ap-pgbouncer-exporter"),
            "gitSync": r("ap-git-sync"),
            "xcom": r(match line { ChartLine::V0_37 => "ap-alpine", _ => "ap-init" }),
        },
        "git_sync_relay": {
            "gitDaemon": r("ap-git-daemon"),
            "gitSync": r("ap-git-sync-relay"),
        },
        "certgenerator": r("ap-certgenerator"),
        "default_airflow": r("ap-airflow"),
    })
}

/// The Houston sign-in providers liftoff knows that the spec leaves out:
/// turned off, so the defaults Houston ships with (Google on) do not apply.
const KNOWN_PROVIDERS: [&str; 3] = ["google", "okta", "auth0"];

/// The template context: every variable the templates use, always defined.
fn context(spec: &Spec, inputs: &Inputs, line: ChartLine) -> Value {
    let p = &spec.platform;
    let airgap = spec.airgap.as_ref().filter(|a| a.enabled);
    let registry = spec.airgap.as_ref().and_then(|a| a.registry.as_ref());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let providers: Vec<AuthProviderCtx> = p
        .auth
        .providers
        .iter()
        .map(|a| {
            let base = match a.kind {
                AuthKind::Google => "google",
                AuthKind::Okta => "okta",
                AuthKind::Auth0 => "auth0",
                AuthKind::Oidc => "custom",
            };
            let n = counts.entry(base).or_default();
            *n += 1;
            AuthProviderCtx {
                key: if *n == 1 {
                    base.into()
                } else {
                    format!("{base}{n}")
                },
                client_id: a.client_id.clone(),
                discovery_url: a.discovery_url.clone(),
                display_name: a.display_name.clone(),
            }
        })
        .collect();
    json!({
        "base_domain": p.base_domain,
        "secrets": {
            "tls": TLS_SECRET,
            "bootstrap": BOOTSTRAP_SECRET,
            "smtp": SMTP_SECRET,
            "private_ca": PRIVATE_CA_SECRET,
            "registry": REGISTRY_SECRET,
        },
        "database_ssl": spec.database.as_ref().is_none_or(|d| d.ssl),
        "cluster_roles": !p.least_privilege,
        "deployment_namespaces": p.deployment_namespaces,
        "node_selector": p.node_selector,
        "private_ca": inputs.private_ca,
        // Nodes pull from a registry whose certificate a private CA signed:
        // the chart's DaemonSet adds the CA to containerd on every node.
        "private_ca_add_to_host": inputs.private_ca && airgap.is_some() && registry.is_some(),
        "registry": registry.map(|r| json!({
            "repository": r.repository,
            "pull_secret": r.pull_secret.is_some(),
        })),
        "airgap": airgap.is_some() && registry.is_some(),
        "images": registry.map_or_else(|| json!({"airflow": {}, "git_sync_relay": {}, "certgenerator": "", "default_airflow": ""}), |r| images(&r.repository, line)),
        "private_load_balancer": p.private_load_balancer,
        "ingress_annotations": match (&inputs.load_balancer.controller_annotations, inputs.load_balancer_controller) {
            (Some(a), true) => a,
            _ => &inputs.load_balancer.annotations,
        },
        "load_balancer_ip": p.load_balancer_ip.as_ref().filter(|_| inputs.load_balancer.static_ip),
        "auth": {
            "local": p.auth.local,
            "public_signups": p.auth.public_signups,
            "disabled": KNOWN_PROVIDERS.iter().filter(|k| !providers.iter().any(|p| p.key.as_str() == **k)).collect::<Vec<_>>(),
            "providers": providers,
        },
        "email": {
            "enabled": p.smtp.is_some(),
            "reply": p.smtp.as_ref().and_then(|s| s.from.clone()),
        },
        "alert_emails": p.alert_emails,
        "log_retention_days": p.log_retention_days,
        "upgrade_deployments": p.upgrade_deployments,
    })
}

/// Renders one template with `ctx`; an undefined variable is an error.
pub fn render_template(name: &str, text: &str, ctx: &Value) -> Result<String, RenderError> {
    let template_err = |source: tera::Error| RenderError::Template {
        template: name.into(),
        source,
    };
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_template(name, text).map_err(template_err)?;
    let ctx = tera::Context::from_value(ctx.clone()).map_err(template_err)?;
    tera.render(name, &ctx).map_err(template_err)
}

/// Deep-merges `over` onto `base`: maps merge key by key, anything else
/// replaces, and a null removes the key (as Helm does).
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(slot) = b.get_mut(k) {
                    deep_merge(slot, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// The chart values for `spec`, with `platform.values` merged last.
pub fn values(spec: &Spec, inputs: &Inputs) -> Result<Value, RenderError> {
    let line = ChartLine::of(&spec.platform.chart.version)?;
    let (name, text) = template(line);
    let rendered = render_template(name, text, &context(spec, inputs, line))?;
    let mut values = crate::spec::yaml::parse(name, &rendered)
        .map_err(|source| RenderError::Yaml {
            template: name.into(),
            source,
        })?
        .to_json();
    match &spec.platform.values {
        Value::Null => {}
        over @ Value::Object(_) => deep_merge(&mut values, &migrate::migrate(over, line).0),
        _ => return Err(RenderError::ValuesNotMapping),
    }
    Ok(values)
}

/// What [`values`] moves or drops in `platform.values` for the chart line
/// the spec pins (keys written for an older line; see [`migrate`]).
pub fn migrations(spec: &Spec) -> Vec<migrate::Move> {
    match ChartLine::of(&spec.platform.chart.version) {
        Ok(line) => migrate::migrate(&spec.platform.values, line).1,
        Err(_) => Vec::new(),
    }
}

/// [`values`] as a YAML document.
pub fn values_yaml(spec: &Spec, inputs: &Inputs) -> Result<String, RenderError> {
    let v = values(spec, inputs)?;
    Ok(format!(
        "# Values for the {} chart {}, rendered by liftoff from the spec.\n{}",
        spec.platform.chart.name,
        spec.platform.chart.version,
        crate::spec::to_yaml(&v)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_lines() {
        assert_eq!(ChartLine::of("0.37.7").unwrap(), ChartLine::V0_37);
        assert_eq!(ChartLine::of("1.2.0").unwrap(), ChartLine::V1);
        assert_eq!(ChartLine::of("2.1.0-rc1").unwrap(), ChartLine::V2);
        for bad in ["0.36.4", "3.0.0", "latest", "1"] {
            let e = ChartLine::of(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "chart version `{bad}` is not supported: liftoff has values for the chart lines 0.37.x, 1.x and 2.x"
                )
            );
        }
    }

    #[test]
    fn an_undefined_variable_is_an_error_not_an_empty_string() {
        let e = render_template("t", "a: {{ nope }}\n", &json!({"yes": 1})).unwrap_err();
        let text = crate::chain::one_line(&e);
        assert!(text.contains("nope"), "{text}");
        assert_eq!(
            render_template("t", "a: {{ yes }}\n", &json!({"yes": 1})).unwrap(),
            "a: 1\n"
        );
    }

    #[test]
    fn the_real_templates_fail_on_a_missing_variable() {
        let spec = crate::spec::load_str(
            "t.yaml",
            "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: sandbox\nmetadata: {name: t}\nplatform: {baseDomain: astro.example.com}\n",
            std::path::Path::new("."),
        )
        .unwrap()
        .spec;
        // Variables the templates print on every spec (those only tested by
        // `if` count as false when missing, which is Tera's rule).
        let printed = [
            "base_domain",
            "secrets",
            "database_ssl",
            "cluster_roles",
            "private_load_balancer",
            "ingress_annotations",
            "auth",
            "email",
            "log_retention_days",
        ];
        for line in [ChartLine::V0_37, ChartLine::V1, ChartLine::V2] {
            let (name, text) = template(line);
            let full = context(&spec, &Inputs::default(), line);
            assert!(render_template(name, text, &full).is_ok());
            for key in printed {
                let mut ctx = full.clone();
                assert!(ctx.as_object_mut().unwrap().remove(key).is_some(), "{key}");
                let e = crate::chain::one_line(&render_template(name, text, &ctx).unwrap_err());
                assert!(e.contains(key), "{key}: {e}");
            }
        }
    }

    #[test]
    fn user_values_merge_last_and_null_removes() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "d": [1, 2]});
        deep_merge(&mut base, &json!({"a": {"b": 9, "c": null}, "d": [3]}));
        assert_eq!(base, json!({"a": {"b": 9}, "d": [3]}));
    }
}
