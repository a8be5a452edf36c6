//! After the install: the load balancer's address from the nginx Service,
//! and what to tell the user (URLs and next steps).

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::Api;

use super::ClusterError;
use crate::plan::driver::{DriverError, Failure, Recorder};
use crate::spec::Spec;
use crate::wait::{self, Backoff, Poll};

/// The nginx Service of the release: `<release>-nginx` for chart 0.x,
/// `<release>-cp-nginx` for 1.x and 2.x.
pub fn nginx_service(spec: &Spec) -> String {
    let p = &spec.platform;
    let major = p.chart.version.trim_start_matches('v').split('.').next();
    match major {
        Some("0") => format!("{}-nginx", p.release_name),
        _ => format!("{}-cp-nginx", p.release_name),
    }
}

/// A load balancer controller a cloud offers as a cluster add-on (the AWS
/// Load Balancer Controller, say): when the cluster serves its API group,
/// the nginx Service gets the annotations that controller acts on. Given by
/// the cloud ([`crate::cluster::Handoff`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    pub name: &'static str,
    /// The API group its resources are served under (only when installed).
    pub api_group: &'static str,
    /// What happens when it runs.
    pub with: &'static str,
    /// What makes the load balancer when it does not.
    pub without: &'static str,
}

/// Whether the cluster runs `controller`, by API discovery (every
/// authenticated identity may read it).
pub async fn controller_installed(
    client: &kube::Client,
    controller: &Controller,
) -> Result<bool, ClusterError> {
    let groups = client
        .list_api_groups()
        .await
        .map_err(ClusterError::api("list the API groups".to_string()))?;
    Ok(groups.groups.iter().any(|g| g.name == controller.api_group))
}

/// The Service's load balancer hostname (or IP), if it has one yet.
pub async fn address(
    client: &kube::Client,
    namespace: &str,
    service: &str,
) -> Result<Option<String>, ClusterError> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let svc = api
        .get_opt(service)
        .await
        .map_err(ClusterError::api(format!(
            "read service {namespace}/{service}"
        )))?;
    Ok(svc
        .and_then(|s| s.status)
        .and_then(|s| s.load_balancer)
        .and_then(|lb| lb.ingress)
        .into_iter()
        .flatten()
        .find_map(|i| i.hostname.or(i.ip)))
}

/// The spec key that sets how long to wait for the load balancer.
pub const TIMEOUT_KEY: &str = "loadBalancer";

/// Waits for the load balancer's address until `deadline`
/// (`timeouts.loadBalancer`), polling with `backoff` and reporting progress
/// through `recorder`. A failed read is retried while it is transient.
pub async fn wait(
    client: &kube::Client,
    namespace: &str,
    service: &str,
    deadline: Duration,
    backoff: Backoff,
    recorder: &dyn Recorder,
) -> Result<String, DriverError> {
    wait::until(
        &format!("load balancer of {service}"),
        TIMEOUT_KEY,
        deadline,
        backoff,
        recorder,
        || async {
            match address(client, namespace, service).await {
                Ok(Some(a)) => Ok(Poll::Ready(a)),
                Ok(None) => Ok(Poll::Pending("no address yet".into())),
                Err(e) => Err(super::driver::to_driver(e, namespace)),
            }
        },
    )
    .await
    .map_err(|e| match e.failure {
        Failure::Timeout => DriverError::new(
            Failure::Timeout,
            format!(
                "service {namespace}/{service} got no load balancer address within {}s",
                deadline.as_secs()
            ),
        )
        .with_hint(format!(
            "check the cloud's load balancer controller and the service's events; raise `timeouts.{TIMEOUT_KEY}` in the spec, or re-run to wait again"
        )),
        _ => e,
    })
}

/// The URLs and next steps printed after a successful install.
pub fn next_steps(spec: &Spec, load_balancer: Option<&str>) -> String {
    let base = spec.platform.base_domain.trim_end_matches('.');
    let mut s = format!(
        "Astronomer is installed.\n  UI:       https://app.{base}\n  Houston:  https://houston.{base}/v1\n"
    );
    if let Some(lb) = load_balancer {
        s.push_str(&format!("  Load balancer: {lb}\n"));
    }
    if spec.dns.is_none() {
        s.push_str(&format!(
            "\nPoint a wildcard DNS record `*.{base}` at the load balancer.\n"
        ));
    }
    s.push_str(&format!(
        "\nNext steps:\n  1. Open https://app.{base} and sign in. The first user to sign in becomes the system admin, so do it now.\n  2. liftoff created no default password anywhere: there is nothing to rotate.\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(version: &str, dns: bool) -> Spec {
        let mut v = serde_json::json!({
            "apiVersion": "liftoff.dev/v1", "kind": "Installation", "metadata": {"name": "a"},
            "cloud": {"provider": "existing"}, "cluster": {"mode": "existing"},
            "platform": {"chart": {"repository": "r", "version": version}, "baseDomain": "astro.example.com", "tls": {}},
        });
        if dns {
            v["dns"] = serde_json::json!({"zone": "example.com"});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn nginx_service_follows_the_chart_major() {
        assert_eq!(nginx_service(&spec("0.37.7", false)), "astronomer-nginx");
        assert_eq!(nginx_service(&spec("1.1.0", false)), "astronomer-cp-nginx");
        assert_eq!(nginx_service(&spec("2.0.0", false)), "astronomer-cp-nginx");
    }

    #[test]
    fn next_steps_name_the_urls_and_the_first_admin() {
        let s = next_steps(&spec("0.37.7", false), Some("lb.example"));
        assert!(s.contains("https://app.astro.example.com"));
        assert!(s.contains("Load balancer: lb.example"));
        assert!(s.contains("*.astro.example.com"));
        assert!(s.contains("first user to sign in becomes the system admin"));
        assert!(s.contains("no default password"));
        assert!(!next_steps(&spec("0.37.7", true), None).contains("Point a wildcard"));
    }
}
