//! Google Cloud: a VPC network with Cloud NAT and Private Services Access,
//! Cloud SQL for PostgreSQL and GKE, through the official google-cloud-rust
//! crates (Service Networking through its REST API), with Application
//! Default Credentials and every endpoint overridable
//! (`LIFTOFF_GCP_ENDPOINT`, `LIFTOFF_GCP_<SERVICE>_ENDPOINT`).
//!
//! Pure (no SDK): the graph ([`graph`]), kinds, typed props, names,
//! ownership marks and outputs. The driver and one module per family sit
//! behind the SDK; its errors are known only to [`error`].

pub mod graph;
pub mod kind;
pub mod names;
pub mod outputs;
pub mod ownership;
pub mod props;

mod backup;
mod changes;
pub mod dns;
pub mod driver;
pub mod error;
mod existing;
mod gke;
mod handoff;
mod network;
mod operations;
pub mod password;
mod router;
mod services;
mod setup;
mod sql;
mod support;

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

/// Google Cloud.
pub struct GcpCloud;

impl CloudRules for GcpCloud {
    fn derived_names(&self, spec: &Spec) -> Vec<DerivedName> {
        names::derived(&spec.metadata.name)
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
        &[kind::GKE_CLUSTER, kind::NODE_POOL, kind::SQL_INSTANCE]
    }

    fn register(
        &self,
        spec: &Spec,
        setup: &Setup,
        drivers: &mut Drivers,
    ) -> Result<Handoff, CloudError> {
        Ok(setup::register(spec, setup, drivers))
    }

    fn zone_lookup(&self, spec: &Spec) -> Option<Arc<dyn ZoneLookup>> {
        setup::cloud_dns(spec).map(|d| d as Arc<dyn ZoneLookup>)
    }

    async fn preflight(&self, spec: &Spec, _: bool) -> Result<Preflight, DriverError> {
        existing::preflight(spec).await
    }

    /// A Cloud SQL backup run of the instance liftoff created, waited for
    /// until SUCCESSFUL.
    async fn snapshot_database(
        &self,
        spec: &Spec,
        setup: &Setup,
        label: &str,
        recorder: &dyn crate::plan::driver::Recorder,
    ) -> Result<Option<super::Snapshot>, DriverError> {
        backup::take(spec, setup, label, recorder).await
    }

    /// Each resource of the spec looked up again by its name and ownership
    /// marks (or its owned parent), as a rerun would find it.
    async fn leftovers(&self, spec: &Spec) -> Result<Vec<String>, DriverError> {
        use crate::plan::driver::{Driver, Lookup};
        // Lookups only: no secret is read or written.
        let opts = driver::Options::from_spec(
            spec,
            std::sync::Arc::new(crate::secret::FolderVault(std::path::PathBuf::new())),
        );
        let gcp = driver::GcpDriver::new(opts);
        let mut left = Vec::new();
        for r in graph::desired(spec) {
            let lookup = Lookup {
                installation: &spec.metadata.name,
                address: &r.address,
                kind: &r.kind,
                props: Some(&r.props),
                recorded: None,
            };
            if let Some(o) = gcp.read(&lookup).await? {
                left.push(format!("{} {} ({})", r.kind, o.id, r.address));
            }
        }
        Ok(left)
    }

    fn outputs(&self, state: &State) -> Option<Value> {
        outputs::summary(state)
    }

    fn outputs_text(&self, outputs: &Value) -> String {
        outputs::text(outputs)
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
        true
    }

    fn load_balancer_controller(&self) -> Option<crate::cluster::loadbalancer::Controller> {
        None
    }

    fn ownership(&self) -> &dyn Ownership {
        &ownership::Labels
    }
}
