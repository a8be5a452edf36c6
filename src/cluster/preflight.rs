//! Preflight: everything checked before the cluster phase changes
//! anything, each check passing, warning or failing with a hint. `liftoff
//! doctor` runs them alone.

use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde::Serialize;

use super::helm::Helm;
use super::inputs::DbLogin;
use crate::spec::Spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not checked, with the reason in the message.
    Skip,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    pub fn new(name: &str, status: Status, message: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            status,
            message: message.into(),
            hint: None,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Every check's result, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failed(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .collect()
    }
    pub fn passed(&self) -> bool {
        self.failed().is_empty()
    }
    /// One line per check, for the terminal.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for c in &self.checks {
            let tag = match c.status {
                Status::Pass => "pass",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            s.push_str(&format!("[{tag}] {}: {}\n", c.name, c.message));
            if let Some(h) = &c.hint
                && c.status != Status::Pass
            {
                s.push_str(&format!("       hint: {h}\n"));
            }
        }
        s
    }
}

/// The hook for the certificate checks of the TLS phase (`tls::load`'s
/// warnings and validation): they join the report like any other check.
pub fn add_certificate_checks(report: &mut Report, checks: Vec<Check>) {
    report.checks.extend(checks);
}

/// Finds a DNS zone (Route53 on AWS).
#[async_trait]
pub trait ZoneLookup: Send + Sync {
    /// The zone's id when found; an error message when the lookup failed.
    async fn find_zone(&self, zone: &str) -> Result<Option<String>, String>;
}

/// What the checks need besides the cluster.
pub struct Env<'a> {
    pub helm: &'a Helm,
    /// The database login, when this run has one.
    pub database: Option<&'a DbLogin>,
    /// The DNS zone lookup, when records are requested and a lookup exists.
    pub dns: Option<&'a dyn ZoneLookup>,
    /// The cloud's load balancer controller add-on, when it has one.
    pub load_balancer_controller: Option<&'a super::loadbalancer::Controller>,
}

/// Runs every check. Nothing here changes anything.
pub async fn run(client: &kube::Client, spec: &Spec, env: &Env<'_>) -> Report {
    let mut checks = vec![kubernetes_version(client, spec).await];
    checks.extend(permissions(client, spec).await);
    checks.push(storage_class(client).await);
    if let Some(controller) = env.load_balancer_controller {
        checks.push(load_balancer_controller(client, controller).await);
    }
    checks.push(helm(env.helm).await);
    checks.push(database(env.database).await);
    if let Some(dns) = &spec.dns {
        checks.push(match env.dns {
            None => Check::new(
                "dns-zone",
                Status::Skip,
                format!(
                    "zone {} not checked: this build has no DNS provider for the cloud",
                    dns.zone
                ),
            ),
            Some(lookup) => dns_zone(lookup, &dns.zone).await,
        });
    }
    Report { checks }
}

/// Which controller will make the platform's load balancer, so the nginx
/// Service gets the annotations that one acts on.
async fn load_balancer_controller(
    client: &kube::Client,
    controller: &super::loadbalancer::Controller,
) -> Check {
    const NAME: &str = "load-balancer-controller";
    let (name, group) = (controller.name, controller.api_group);
    match super::loadbalancer::controller_installed(client, controller).await {
        Ok(true) => Check::new(
            NAME,
            Status::Pass,
            format!(
                "the {name} runs in the cluster (API group {group}): {}",
                controller.with
            ),
        ),
        Ok(false) => Check::new(
            NAME,
            Status::Pass,
            format!(
                "no {name} (API group {group} not served): {}",
                controller.without
            ),
        ),
        Err(e) => Check::new(NAME, Status::Fail, format!("cannot list the API groups: {e}"))
            .hint("the identity must be able to read API discovery (every authenticated user can by default)"),
    }
}

/// The Kubernetes minor versions a chart version was tested with.
pub fn tested_range(chart_version: &str) -> Option<(u32, u32)> {
    let v = chart_version.trim_start_matches('v');
    let mut it = v.split('.');
    match (it.next()?, it.next()?) {
        ("0", "37") => Some((31, 34)),
        ("1" | "2", _) => Some((31, 35)),
        _ => None,
    }
}

fn forced(spec: &Spec) -> bool {
    spec.platform.values.get("forceIncompatibleKubernetes") == Some(&serde_json::Value::Bool(true))
}

/// Parses the minor version the API reports (`31`, `31+` on EKS).
pub fn parse_minor(minor: &str) -> Option<u32> {
    minor.trim_end_matches('+').parse().ok()
}

pub async fn kubernetes_version(client: &kube::Client, spec: &Spec) -> Check {
    const NAME: &str = "kubernetes-version";
    let info = match client.apiserver_version().await {
        Ok(i) => i,
        Err(e) => {
            return Check::new(
                NAME,
                Status::Fail,
                format!("cannot reach the API server: {e}"),
            )
            .hint("check the kubeconfig, context and network access to the cluster");
        }
    };
    let chart = &spec.platform.chart.version;
    let (Some(minor), Some((lo, hi))) = (parse_minor(&info.minor), tested_range(chart)) else {
        return Check::new(
            NAME,
            Status::Warn,
            format!(
                "Kubernetes {} with chart {chart}: no tested range known",
                info.git_version
            ),
        );
    };
    let found = format!("Kubernetes {}.{minor}", info.major);
    if info.major == "1" && (lo..=hi).contains(&minor) {
        return Check::new(
            NAME,
            Status::Pass,
            format!("{found}, chart {chart} is tested with 1.{lo}–1.{hi}"),
        );
    }
    let msg = format!("{found} is outside 1.{lo}–1.{hi}, the range chart {chart} is tested with");
    if forced(spec) {
        Check::new(
            NAME,
            Status::Warn,
            format!("{msg} (forced by platform.values.forceIncompatibleKubernetes)"),
        )
    } else {
        Check::new(NAME, Status::Fail, msg).hint(
            "use a cluster in the tested range or another chart version; set platform.values.forceIncompatibleKubernetes: true to install anyway",
        )
    }
}

/// What the install creates in the platform's namespace.
const NAMESPACED: &[(&str, &str)] = &[
    ("", "secrets"),
    ("", "configmaps"),
    ("", "services"),
    ("", "serviceaccounts"),
    ("", "persistentvolumeclaims"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("networking.k8s.io", "ingresses"),
    ("networking.k8s.io", "networkpolicies"),
    ("policy", "poddisruptionbudgets"),
];

/// What the install creates cluster-wide (not in `leastPrivilege` mode).
const CLUSTER: &[(&str, &str)] = &[
    ("", "namespaces"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
];

/// `(verb, group, resource, namespace)` the caller needs.
pub fn required_rights(
    spec: &Spec,
) -> Vec<(&'static str, &'static str, &'static str, Option<String>)> {
    let ns = &spec.platform.namespace;
    let mut out = Vec::new();
    for (g, r) in NAMESPACED {
        for verb in ["create", "get", "patch", "delete"] {
            out.push((verb, *g, *r, Some(ns.clone())));
        }
    }
    out.push(("list", "", "pods", Some(ns.clone())));
    if !spec.platform.least_privilege {
        for (g, r) in CLUSTER {
            for verb in ["create", "get", "patch"] {
                out.push((verb, *g, *r, None));
            }
        }
    }
    out
}

pub async fn permissions(client: &kube::Client, spec: &Spec) -> Vec<Check> {
    const NAME: &str = "permissions";
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let rights = required_rights(spec);
    let reviews = rights.iter().map(|(verb, group, resource, ns)| {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some((*verb).into()),
                    group: Some((*group).into()),
                    resource: Some((*resource).into()),
                    namespace: ns.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api = api.clone();
        async move { api.create(&PostParams::default(), &review).await }
    });
    let mut denied = Vec::new();
    for (r, (verb, group, resource, ns)) in join_all(reviews).await.into_iter().zip(&rights) {
        let what = format!(
            "{verb} {}{resource}{}",
            if group.is_empty() {
                String::new()
            } else {
                format!("{group}/")
            },
            ns.as_ref()
                .map(|n| format!(" in {n}"))
                .unwrap_or_else(|| " (cluster-wide)".into())
        );
        match r {
            Ok(review) if review.status.as_ref().is_some_and(|s| s.allowed) => {}
            Ok(_) => denied.push(what),
            Err(e) => {
                return vec![Check::new(
                    NAME,
                    Status::Fail,
                    format!("cannot review access: {e}"),
                )];
            }
        }
    }
    let mut out = vec![if denied.is_empty() {
        Check::new(
            NAME,
            Status::Pass,
            format!("all {} rights the install needs are granted", rights.len()),
        )
    } else {
        Check::new(NAME, Status::Fail, format!("missing: {}", denied.join(", "))).hint(
            if spec.platform.least_privilege {
                "grant these rights in the platform's namespace (a Role and RoleBinding)"
            } else {
                "use a cluster-admin identity, or set platform.leastPrivilege: true with a pre-created namespace"
            },
        )
    }];
    if spec.platform.least_privilege {
        out.push(namespace_exists(client, &spec.platform.namespace).await);
    }
    out
}

async fn namespace_exists(client: &kube::Client, ns: &str) -> Check {
    const NAME: &str = "namespace";
    match Api::<Namespace>::all(client.clone()).get_opt(ns).await {
        Ok(Some(_)) => Check::new(NAME, Status::Pass, format!("namespace {ns} exists")),
        Ok(None) => Check::new(NAME, Status::Fail, format!("namespace {ns} does not exist"))
            .hint("in leastPrivilege mode an administrator creates the namespace first"),
        Err(e) => Check::new(
            NAME,
            Status::Warn,
            format!("cannot read namespace {ns}: {e}"),
        ),
    }
}

pub async fn storage_class(client: &kube::Client) -> Check {
    const NAME: &str = "storage-class";
    let list = match Api::<StorageClass>::all(client.clone())
        .list(&ListParams::default())
        .await
    {
        Ok(l) => l,
        Err(e) => {
            return Check::new(
                NAME,
                Status::Warn,
                format!("cannot list storage classes: {e}"),
            );
        }
    };
    let default = list.items.iter().find(|sc| {
        sc.metadata.annotations.as_ref().is_some_and(|a| {
            [
                "storageclass.kubernetes.io/is-default-class",
                "storageclass.beta.kubernetes.io/is-default-class",
            ]
            .iter()
            .any(|k| a.get(*k).map(String::as_str) == Some("true"))
        })
    });
    match default {
        Some(sc) => Check::new(
            NAME,
            Status::Pass,
            format!("default storage class {}", sc.metadata.name.as_deref().unwrap_or("?")),
        ),
        None => Check::new(NAME, Status::Fail, "no default storage class").hint(
            "the platform's volumes need one: annotate a StorageClass with storageclass.kubernetes.io/is-default-class=true",
        ),
    }
}

pub async fn helm(helm: &Helm) -> Check {
    const NAME: &str = "helm";
    match helm.version().await {
        Ok((v, text)) if v.major >= 4 => Check::new(
            NAME,
            Status::Pass,
            format!("helm {text}; Helm 4: liftoff passes --server-side=false for this chart"),
        ),
        Ok((v, text)) if v.major == 3 && v.minor >= 6 => {
            Check::new(NAME, Status::Pass, format!("helm {text}"))
        }
        Ok((_, text)) => Check::new(NAME, Status::Fail, format!("helm {text} is older than 3.6"))
            .hint("install Helm 3.6 or later"),
        Err(e) => Check::new(NAME, Status::Fail, e.to_string())
            .hint("install Helm 3.6 or later and put it on PATH (or set LIFTOFF_HELM)"),
    }
}

/// Reaches the database: TCP, then a login (with TLS when `ssl`, as
/// libpq's `sslmode=require`) and the rights the platform needs. A private
/// database (no public endpoint) is skipped, saying why: from outside its
/// network it cannot be reached, and trying would only wait for a timeout.
pub async fn database(login: Option<&DbLogin>) -> Check {
    const NAME: &str = "database";
    let Some(login) = login else {
        return Check::new(NAME, Status::Skip, "no database login in this run");
    };
    let target = login.host_port();
    if login.private {
        return Check::new(
            NAME,
            Status::Skip,
            format!(
                "skipped: {target} is private (no public endpoint), so it cannot be reached from here; the platform's migration hook reaches it from inside the network"
            ),
        );
    }
    let connect = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((login.host.as_str(), login.port)),
    )
    .await;
    match connect {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if login.private => {
            return Check::new(
                NAME,
                Status::Skip,
                format!(
                    "skipped: {target} is private and not reachable from here ({e}); the platform reaches it from inside the network"
                ),
            );
        }
        Err(_) if login.private => {
            return Check::new(
                NAME,
                Status::Skip,
                format!(
                    "skipped: {target} is private and did not answer from here; the platform reaches it from inside the network"
                ),
            );
        }
        Ok(Err(e)) => {
            return Check::new(
                NAME,
                Status::Fail,
                format!("cannot connect to {target}: {e}"),
            )
            .hint("check the host, port and firewall or security group rules");
        }
        Err(_) => {
            return Check::new(
                NAME,
                Status::Fail,
                format!("no answer from {target} within 5s"),
            )
            .hint("check the host, port and firewall or security group rules");
        }
    }
    let mut config = tokio_postgres::Config::new();
    config
        .host(&login.host)
        .port(login.port)
        .user(&login.user)
        .password(login.password.expose())
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(5));
    let connected = if login.ssl {
        config.ssl_mode(tokio_postgres::config::SslMode::Require);
        match super::pgtls::require() {
            Ok(tls) => config
                .connect(tls)
                .await
                .map(|(c, conn)| (c, tokio::spawn(async move { conn.await.map(|_| ()) }))),
            Err(e) => {
                return Check::new(NAME, Status::Fail, format!("cannot set up TLS: {e}"));
            }
        }
    } else {
        config
            .connect(tokio_postgres::NoTls)
            .await
            .map(|(c, conn)| (c, tokio::spawn(async move { conn.await.map(|_| ()) })))
    };
    let (client, conn) = match connected {
        Ok(c) => c,
        Err(e) => {
            let msg = match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => crate::chain::one_line(&e),
            };
            let hint = if login.ssl {
                "check the database user and password, and that the server accepts TLS (database.ssl)"
            } else {
                "check the database user and password"
            };
            return Check::new(
                NAME,
                Status::Fail,
                format!("login as {} at {target} failed: {msg}", login.user),
            )
            .hint(hint);
        }
    };
    let row = client
        .query_one(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await;
    drop(client);
    let _ = conn.await;
    match row {
        Ok(r) => {
            let (sup, db, role): (bool, bool, bool) = (r.get(0), r.get(1), r.get(2));
            if sup {
                Check::new(
                    NAME,
                    Status::Pass,
                    format!("logged in to {target} as superuser {}", login.user),
                )
            } else if db && role {
                Check::new(
                    NAME,
                    Status::Pass,
                    format!(
                        "logged in to {target} as {}, who can create databases and roles",
                        login.user
                    ),
                )
            } else {
                Check::new(NAME, Status::Fail, format!(
                    "{} at {target} can neither create databases and roles nor is a superuser", login.user
                ))
                .hint("the platform creates a database and a role per deployment: use a superuser or a user with CREATEDB and CREATEROLE")
            }
        }
        Err(e) => Check::new(
            NAME,
            Status::Fail,
            format!("cannot read the rights of {}: {e}", login.user),
        ),
    }
}

pub async fn dns_zone(lookup: &dyn ZoneLookup, zone: &str) -> Check {
    const NAME: &str = "dns-zone";
    match lookup.find_zone(zone).await {
        Ok(Some(id)) => Check::new(NAME, Status::Pass, format!("zone {zone} found ({id})")),
        Ok(None) => Check::new(NAME, Status::Fail, format!("zone {zone} not found")).hint(
            "create the hosted zone, or remove dns.zone and create the wildcard record yourself",
        ),
        Err(e) => Check::new(
            NAME,
            Status::Fail,
            format!("cannot look up zone {zone}: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tested_ranges() {
        assert_eq!(tested_range("0.37.7"), Some((31, 34)));
        assert_eq!(tested_range("1.1.0"), Some((31, 35)));
        assert_eq!(tested_range("2.0.3"), Some((31, 35)));
        assert_eq!(tested_range("0.36.0"), None);
        assert_eq!(parse_minor("31+"), Some(31));
    }
}
