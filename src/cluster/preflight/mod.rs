//! Preflight: everything checked before the cluster phase changes
//! anything, each check passing, warning or failing with a hint. `liftoff
//! doctor` and an install run the same checks
//! ([`ClusterDriver::preflight_report`](super::ClusterDriver::preflight_report)).
//! The rights are in [`rights`], the database login in [`database`].

mod database;
pub mod rights;

use async_trait::async_trait;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

pub use self::database::database;
use super::api_error::describe;
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
    /// The chart values of this run, to render the chart's kinds.
    pub values_yaml: Option<&'a str>,
    /// The spec's folder (a local chart path is relative to it).
    pub base_dir: &'a std::path::Path,
    /// The cloud's load balancer controller add-on, when it has one.
    pub load_balancer_controller: Option<&'a super::loadbalancer::Controller>,
}

/// Runs every check that needs the cluster. Nothing here changes anything.
pub async fn run(client: &kube::Client, spec: &Spec, env: &Env<'_>) -> Report {
    let mut checks = vec![kubernetes_version(client, spec).await];
    let kinds = chart_kinds(client, spec, env).await;
    checks.extend(rights::check(client, spec, kinds).await);
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

/// The kinds the chart renders with this run's values, resolved on the
/// cluster; `Err` says why they could not be.
pub async fn chart_kinds(
    client: &kube::Client,
    spec: &Spec,
    env: &Env<'_>,
) -> Result<Vec<rights::ChartKind>, String> {
    let values = env.values_yaml.ok_or("no chart values in this run")?;
    let version = client.apiserver_version().await.map_err(|e| describe(&e))?;
    let kube_version = format!(
        "{}.{}",
        version.major,
        parse_minor(&version.minor).unwrap_or_default()
    );
    let manifests = env
        .helm
        .template(spec, env.base_dir, values, &kube_version)
        .await
        .map_err(|e| e.to_string())?;
    rights::resolve(client, &rights::rendered_kinds(&manifests)).await
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
                format!("cannot reach the API server: {}", describe(&e)),
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
                format!("cannot list storage classes: {}", describe(&e)),
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
