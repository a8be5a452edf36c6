//! Google Cloud: the resource graph of a spec (kept as data), names and
//! their limits, load-balancer annotations and the label encoding of
//! ownership. No driver executes the graph yet: `plan` stops saying so.

pub mod graph;
pub mod ownership;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{Cloud, CloudError, LoadBalancer, Ownership, Preflight, Setup};
use crate::cluster::Handoff;
use crate::cluster::preflight::ZoneLookup;
use crate::plan::Resource;
use crate::plan::driver::{DriverError, Drivers};
use crate::plan::state::State;
use crate::spec::{CloudRules, DerivedName, Spec};

/// The Cloud SQL instance name.
pub fn database_name(installation: &str) -> String {
    format!("{installation}-db")
}

/// Google Cloud.
pub struct GcpCloud;

impl CloudRules for GcpCloud {
    fn derived_names(&self, spec: &Spec) -> Vec<DerivedName> {
        let n = &spec.metadata.name;
        vec![
            DerivedName {
                name: n.clone(),
                what: "GKE cluster name",
                limit: 40,
            },
            DerivedName {
                name: database_name(n),
                what: "Cloud SQL instance name",
                limit: 98,
            },
        ]
    }

    /// One subnetwork takes the whole range: nothing is cut.
    fn subnet_prefix(&self, _: &Spec, _: u8, _: u8) -> Option<u8> {
        None
    }
}

#[async_trait]
impl Cloud for GcpCloud {
    fn key(&self) -> &'static str {
        "gcp"
    }

    fn desired(&self, spec: &Spec) -> Vec<Resource> {
        graph::desired(spec)
    }

    fn cluster_prerequisite_kinds(&self) -> &'static [&'static str] {
        &[graph::GKE_CLUSTER, graph::NODE_POOL, graph::SQL_INSTANCE]
    }

    fn register(&self, _: &Spec, _: &Setup, _: &mut Drivers) -> Result<Handoff, CloudError> {
        Err(CloudError {
            message: "installing on GCP is not implemented yet".into(),
            hint: Some(
                "use `cloud.provider: aws`, or `existing` with a kubeconfig for a GKE cluster you made"
                    .into(),
            ),
        })
    }

    fn zone_lookup(&self, _: &Spec) -> Option<Arc<dyn ZoneLookup>> {
        None
    }

    async fn preflight(&self, _: &Spec, _: bool) -> Result<Preflight, DriverError> {
        Ok(Preflight::default())
    }

    fn outputs(&self, _: &State) -> Option<Value> {
        None
    }

    fn outputs_text(&self, _: &Value) -> String {
        String::new()
    }

    fn load_balancer(&self, private: bool) -> LoadBalancer {
        let annotations = private
            .then(|| {
                (
                    "networking.gke.io/load-balancer-type".to_string(),
                    Value::from("Internal"),
                )
            })
            .into_iter()
            .collect();
        LoadBalancer {
            annotations,
            controller_annotations: None,
            static_ip: true,
        }
    }

    fn dns_records(&self) -> bool {
        false
    }

    fn load_balancer_controller(&self) -> Option<crate::cluster::loadbalancer::Controller> {
        None
    }

    fn ownership(&self) -> &dyn Ownership {
        &ownership::Labels
    }
}
