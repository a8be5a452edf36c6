//! The cluster phase against a real kube-apiserver (RBAC on, the namespace
//! controller running) and the real Helm 4 engine, from `../shared/k8s`.
//! One API server serves the whole test process; each test has its own
//! namespace, release and state, so they run in parallel. No pod ever
//! runs: the fake kubelet marks workloads ready and gives LoadBalancer
//! Services an address.
//!
//! The stateful fake API of `tests/it/cluster` stays only for what this
//! server cannot show: pods with scheduling, image-pull and crash-loop
//! states (there is no kubelet to produce them).

mod bundle;
mod cli;
mod failures;
mod install;
mod rights;
mod upgrade;
mod upgrade_bundle;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use liftoff::cluster::helm::Helm;
use liftoff::cluster::{ClusterDriver, Connection, Inputs};
use liftoff::spec::Spec;
use serde_json::{Value, json};

use crate::cluster::harness;
use crate::support::realkube::{RealCluster, unique};

/// One test's installation on the shared cluster.
pub struct World {
    pub cluster: &'static RealCluster,
    pub namespace: String,
    pub release: String,
    pub state: tempfile::TempDir,
    /// The kubeconfig liftoff and helm use (the admin's unless changed).
    pub kubeconfig: PathBuf,
    pub context: Option<String>,
}

impl World {
    pub fn new(cluster: &'static RealCluster) -> World {
        World {
            cluster,
            namespace: unique("ns"),
            release: unique("rel"),
            state: tempfile::tempdir().unwrap(),
            kubeconfig: cluster.kubeconfig(),
            context: Some("admin".into()),
        }
    }

    /// The harness spec on the fixture chart in this world's namespace and
    /// release; `values` become `platform.values`.
    pub fn spec(&self, values: Value) -> Spec {
        let mut values = values;
        values["forceIncompatibleKubernetes"] = true.into();
        harness::spec(|v| {
            v["platform"]["chart"]["repository"] = self.cluster.chart.display().to_string().into();
            v["platform"]["namespace"] = self.namespace.clone().into();
            v["platform"]["releaseName"] = self.release.clone().into();
            v["platform"]["values"] = values;
        })
    }

    /// The harness inputs with chart values made from `spec`.
    pub fn inputs(&self, spec: &Spec) -> Inputs {
        let mut values = json!({"global": {"baseDomain": spec.platform.base_domain, "tlsSecret": "astronomer-tls"}});
        for (k, v) in spec.platform.values.as_object().into_iter().flatten() {
            values[k] = v.clone();
        }
        Inputs {
            values_yaml: Some(values.to_string()),
            ..harness::inputs()
        }
    }

    pub fn driver(&self, spec: &Spec) -> ClusterDriver {
        self.driver_with_inputs(spec, self.inputs(spec))
    }

    /// The driver with these chart values (e.g. liftoff's own rendering).
    pub fn driver_with_values(&self, spec: &Spec, values_yaml: String) -> ClusterDriver {
        let inputs = Inputs {
            values_yaml: Some(values_yaml),
            ..self.inputs(spec)
        };
        self.driver_with_inputs(spec, inputs)
    }

    fn driver_with_inputs(&self, spec: &Spec, inputs: Inputs) -> ClusterDriver {
        ClusterDriver::new(
            spec.clone(),
            self.state.path().to_path_buf(),
            Arc::new(Connection::Kubeconfig {
                path: Some(self.kubeconfig.clone()),
                context: self.context.clone(),
            }),
            inputs,
        )
        .with_helm(Helm {
            program: self.cluster.helm.clone(),
        })
        .with_load_balancer_wait(Duration::from_secs(60), Duration::from_millis(100))
    }

    /// `helm status -o json` as the admin.
    pub fn release_status(&self) -> Option<Value> {
        let out =
            self.cluster
                .helm(&["status", &self.release, "-n", &self.namespace, "-o", "json"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || err.contains("not found"),
            "helm status: {err}"
        );
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }
}
