//! After the install: the load balancer's address from the nginx Service,
//! and what to tell the user (URLs and next steps).

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::Api;

use super::ClusterError;
use crate::spec::Spec;

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

/// Waits for the load balancer's address until `deadline`, reporting
/// progress every poll.
pub async fn wait(
    client: &kube::Client,
    namespace: &str,
    service: &str,
    deadline: Duration,
    poll: Duration,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<String, ClusterError> {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(a) = address(client, namespace, service).await? {
            return Ok(a);
        }
        let waited = start.elapsed();
        if waited >= deadline {
            return Err(ClusterError::Input(format!(
                "service {namespace}/{service} got no load balancer address within {}s",
                deadline.as_secs()
            )));
        }
        progress(&format!(
            "waiting for the load balancer of {service} ({}s)",
            waited.as_secs()
        ));
        tokio::time::sleep(poll.min(deadline - waited)).await;
    }
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
