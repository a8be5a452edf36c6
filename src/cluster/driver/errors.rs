//! Turning the cluster phase's failures into the engine's errors: the
//! API's message once, a hint that follows the Status reason.

use super::super::ClusterError;
use super::super::api_error::{self, describe};
use super::super::helm::HelmError;
use crate::plan::driver::{DriverError, Failure};

pub(crate) fn to_driver(e: ClusterError, namespace: &str) -> DriverError {
    match e {
        ClusterError::Read { path, source } => {
            DriverError::permanent(format!("cannot read {}", path.display())).with_source(source)
        }
        ClusterError::Handoff(e) => e,
        ClusterError::Connect(m) => DriverError::new(Failure::Transient, format!("cannot connect to Kubernetes: {m}"))
            .with_hint("check the kubeconfig and context (cluster.kubeconfig, cluster.context) and network access"),
        ClusterError::Api { what, source } => api_err(what, namespace)(source.0),
        ClusterError::Input(m) => DriverError::permanent(m),
    }
}

/// `what: <the API's message>`, transient for 429 and 5xx.
pub(super) fn api_err(
    what: impl Into<String>,
    namespace: &str,
) -> impl FnOnce(kube::Error) -> DriverError {
    let what = what.into();
    let namespace = namespace.to_string();
    move |e| {
        let failure = match &e {
            kube::Error::Api(s) if s.code == 429 || s.code >= 500 => Failure::Transient,
            kube::Error::Api(_) => Failure::Permanent,
            _ => Failure::Transient,
        };
        let mut d = DriverError::new(failure, format!("{what}: {}", describe(&e)));
        if let Some(h) = api_error::hint(&e, &namespace) {
            d = d.with_hint(h);
        }
        d
    }
}

pub(super) fn helm_err(e: HelmError) -> DriverError {
    let hint = match &e {
        HelmError::Spawn { .. } => {
            "install Helm 3.6 or later and put it on PATH (or set LIFTOFF_HELM)"
        }
        HelmError::Failed { output, .. } if output.contains("forbidden") => {
            "the Kubernetes identity lacks a right Helm needs: `liftoff doctor` checks every right and names the missing ones"
        }
        HelmError::Failed { .. } => "see Helm's message above",
    };
    DriverError::permanent(e.to_string()).with_hint(hint)
}
