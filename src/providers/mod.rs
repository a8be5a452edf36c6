//! The clouds liftoff installs into. Each cloud is one [`Cloud`]: everything
//! liftoff knows about it (its resources for a spec, its drivers, what it
//! hands the cluster phase, its checks, outputs, names and ownership
//! encoding) sits behind that trait, in its own folder. The rest of liftoff
//! asks [`for_provider`] and knows no cloud by name.
//!
//! A cloud's pure knowledge (resource graph, names, outputs, annotations) is
//! always compiled; its drivers need the cloud's SDK and its cargo feature.

pub mod aws;
#[cfg(feature = "gcp")]
pub mod gcp;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::cluster::Handoff;
use crate::cluster::preflight::ZoneLookup;
use crate::plan::driver::{DriverError, Drivers, Records};
use crate::plan::state::State;
use crate::plan::{Address, Resource};
pub use crate::render::LoadBalancer;
use crate::spec::{CloudRules, Provider, Spec};

/// What the command line tells the drivers besides the spec.
#[derive(Clone)]
pub struct Setup {
    /// Where generated secrets (database passwords) are kept: beside the
    /// state, in its backend, never in it.
    pub secrets: Arc<dyn crate::secret::Vault>,
    /// `destroy --skip-final-snapshot`: delete databases without a final snapshot.
    pub skip_final_snapshot: bool,
    /// `upgrade --kubernetes`: the cluster's Kubernetes version may change
    /// in place (control plane one minor at a time, then node groups); any
    /// other run refuses that change at plan time.
    pub kubernetes_upgrade: bool,
    /// The run's state as it is written: the hand-off to the cluster phase
    /// reads the cloud's recorded outputs here.
    pub records: Option<Arc<dyn Records>>,
}

impl Setup {
    /// The outputs this run's state records for `address`, when it has them.
    pub fn recorded_outputs(&self, address: &str) -> Option<Value> {
        self.records.as_ref()?.outputs(&Address::new(address))
    }
}

/// What the checks of existing cloud resources found before planning.
#[derive(Debug, Default)]
pub struct Preflight {
    /// What was done on request (e.g. subnets tagged with `--tag-subnets`).
    pub notes: Vec<String>,
    /// One line per problem; any problem stops the run.
    pub problems: Vec<String>,
    /// How to get past the problems.
    pub hint: Option<String>,
}

/// How a cloud marks a resource as belonging to an installation and an
/// address: each cloud has its own rules for tag or label keys and values.
pub trait Ownership: Send + Sync {
    /// The key/value pairs set on a resource at create.
    fn marks(&self, installation: &str, address: &str) -> Vec<(String, String)>;
    /// Whether `marks` (as found on a resource) say it is ours at `address`.
    fn owns<'a>(
        &self,
        installation: &str,
        address: &str,
        marks: &mut dyn Iterator<Item = (&'a str, &'a str)>,
    ) -> bool {
        let want = self.marks(installation, address);
        let mut seen = vec![false; want.len()];
        for (k, v) in marks {
            for (i, (wk, wv)) in want.iter().enumerate() {
                seen[i] |= k == wk && v == wv;
            }
        }
        seen.into_iter().all(|s| s)
    }
}

/// A database snapshot taken before an upgrade.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The cloud's name for it.
    pub id: String,
    /// Where to find it, in words (kind, name, database, region, ARN).
    pub location: String,
}

/// Why a cloud cannot give this run its drivers.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CloudError {
    pub message: String,
    pub hint: Option<String>,
}

/// One cloud: the seam every cloud-specific piece of liftoff goes through.
#[async_trait]
pub trait Cloud: CloudRules + Send + Sync {
    /// Its short name, e.g. `aws`: the prefix of its addresses and kinds,
    /// and the key of its outputs.
    fn key(&self) -> &'static str;

    /// The cloud resources a spec asks for, dependencies first.
    fn desired(&self, spec: &Spec) -> Vec<Resource>;

    /// The kinds the cluster phase must wait for: the Kubernetes cluster,
    /// its nodes, the database.
    fn cluster_prerequisite_kinds(&self) -> &'static [&'static str];

    /// Of `resources` (its own), those of [`Cloud::cluster_prerequisite_kinds`].
    fn cluster_prerequisites(&self, resources: &[Resource]) -> Vec<Address> {
        let kinds = self.cluster_prerequisite_kinds();
        resources
            .iter()
            .filter(|r| kinds.contains(&r.kind.as_str()))
            .map(|r| r.address.clone())
            .collect()
    }

    /// Whether `address` is one of this cloud's.
    fn owns_address(&self, address: &Address) -> bool {
        address
            .as_str()
            .strip_prefix(self.key())
            .is_some_and(|rest| rest.starts_with('.'))
    }

    /// Registers its drivers (resources, DNS records) for a run, and returns
    /// what it hands the cluster phase.
    fn register(
        &self,
        spec: &Spec,
        setup: &Setup,
        drivers: &mut Drivers,
    ) -> Result<Handoff, CloudError>;

    /// Looks up DNS zones for the preflight, when the spec asks for a record
    /// and the cloud manages DNS.
    fn zone_lookup(&self, spec: &Spec) -> Option<Arc<dyn ZoneLookup>>;

    /// Checks existing resources the spec names (an existing network) before
    /// anything is planned. `tag_subnets`: add missing load-balancer tags.
    async fn preflight(&self, spec: &Spec, tag_subnets: bool) -> Result<Preflight, DriverError>;

    /// Snapshots the database this installation created (before a
    /// platform upgrade) and waits until it can be restored from; `None`
    /// when the state records no database of this cloud. `label` goes into
    /// the snapshot's name. A cloud that cannot do it refuses.
    async fn snapshot_database(
        &self,
        spec: &Spec,
        setup: &Setup,
        label: &str,
        recorder: &dyn crate::plan::driver::Recorder,
    ) -> Result<Option<Snapshot>, DriverError> {
        let _ = (spec, setup, label, recorder);
        Err(DriverError::permanent(format!(
            "liftoff cannot snapshot a {} database yet",
            self.key()
        ))
        .with_hint("take a backup yourself, then re-run with --skip-snapshot"))
    }

    /// After a destroy: what still carries the installation's ownership
    /// marks (one line each: what, id, address), so that a destroy never
    /// reports success with something left. Default: nothing known.
    async fn leftovers(&self, _spec: &Spec) -> Result<Vec<String>, DriverError> {
        Ok(Vec::new())
    }

    /// What an install leaves the user with (addresses to allow-list, ids,
    /// endpoints, where secrets are kept), from the state; `None` when the
    /// state holds none of its resources.
    fn outputs(&self, state: &State) -> Option<Value>;

    /// [`Cloud::outputs`] as text lines.
    fn outputs_text(&self, outputs: &Value) -> String;

    /// The load balancer Service settings for a public or private platform.
    fn load_balancer(&self, private: bool) -> LoadBalancer;

    /// Whether it makes the wildcard record in the spec's DNS zone.
    fn dns_records(&self) -> bool;

    /// Its load balancer controller add-on, when it has one.
    fn load_balancer_controller(&self) -> Option<crate::cluster::loadbalancer::Controller>;

    /// How it marks what an installation owns.
    fn ownership(&self) -> &dyn Ownership;
}

/// The cloud of a provider, when this build has one.
pub fn for_provider(provider: Provider) -> Option<&'static dyn Cloud> {
    match provider {
        Provider::Aws => Some(&aws::AwsCloud),
        #[cfg(feature = "gcp")]
        Provider::Gcp => Some(&gcp::GcpCloud),
        _ => None,
    }
}

/// Every cloud this build knows.
pub fn all() -> Vec<&'static dyn Cloud> {
    vec![
        &aws::AwsCloud,
        #[cfg(feature = "gcp")]
        &gcp::GcpCloud,
    ]
}
