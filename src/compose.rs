//! The composition root: where the spec's cloud ([`providers`]) and the
//! cluster phase ([`cluster`]) are joined into one installation — the
//! spec's validation with the cloud's rules, the desired resources of both,
//! their drivers, and which part of an installation a command works on.
//! The engine ([`plan`]) knows neither side.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cluster::graph::Facts;
use crate::plan::driver::Drivers;
use crate::plan::state::State;
use crate::plan::{Address, Resource};
use crate::providers::{self, Cloud, CloudError, Setup};
use crate::spec::{self, CloudRules, DerivedName, Loaded, Provider, Spec, SpecError};

/// Which part of an installation a command works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Everything.
    #[default]
    All,
    /// The cloud: network, database, Kubernetes cluster and node groups.
    Cloud,
    /// Inside the cluster: namespace, secrets, the Helm release, DNS.
    Cluster,
}

impl Phase {
    /// Whether the resource at `address` belongs to this phase: the cluster
    /// phase's addresses are told by the cluster side, the rest are the
    /// cloud's.
    pub fn includes(self, address: &Address) -> bool {
        let cluster_side = crate::cluster::graph::is_cluster_address(address);
        match self {
            Phase::All => true,
            Phase::Cloud => !cluster_side,
            Phase::Cluster => cluster_side,
        }
    }

    /// The part of `state` this phase covers.
    pub fn state(self, state: &State) -> State {
        let mut s = state.clone();
        s.resources.retain(|a, _| self.includes(a));
        s
    }
}

/// The spec's cloud, when it names one this build has.
pub fn cloud(spec: &Spec) -> Option<&'static dyn Cloud> {
    providers::for_provider(spec.cloud.provider)
}

/// Every cloud's validation rules, each applied to specs for that cloud.
pub struct Rules;

impl CloudRules for Rules {
    fn derived_names(&self, spec: &Spec) -> Vec<DerivedName> {
        cloud(spec).map_or_else(Vec::new, |c| c.derived_names(spec))
    }
    fn subnet_prefix(&self, spec: &Spec, vpc_prefix: u8, zones: u8) -> Option<u8> {
        cloud(spec).and_then(|c| c.subnet_prefix(spec, vpc_prefix, zones))
    }
}

/// Reads, merges and validates the spec at `path`, with its cloud's rules.
pub fn load(path: &Path) -> Result<Loaded, SpecError> {
    spec::load_with(path, &Rules)
}

/// Like [`load`], from text.
pub fn load_str(file: &str, text: &str, base_dir: &Path) -> Result<Loaded, SpecError> {
    spec::load_str_with(file, text, base_dir, &Rules)
}

/// What `liftoff validate` checks: the spec at `path` ([`load`]) and its
/// certificate, which is read and verified here rather than in every load.
pub fn validate(path: &Path) -> Result<Loaded, SpecError> {
    load(path).and_then(with_certificate_checked)
}

/// Like [`validate`], from text.
pub fn validate_str(file: &str, text: &str, base_dir: &Path) -> Result<Loaded, SpecError> {
    load_str(file, text, base_dir).and_then(with_certificate_checked)
}

/// The certificate's errors fail the spec; its warnings join the spec's.
fn with_certificate_checked(mut loaded: Loaded) -> Result<Loaded, SpecError> {
    let (errors, warnings): (Vec<_>, Vec<_>) =
        crate::tls::diagnose(&loaded.spec, &loaded.tree, &loaded.base_dir)
            .into_iter()
            .partition(|d| d.severity == spec::Severity::Error);
    loaded.warnings.extend(warnings);
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(SpecError::Invalid(spec::Diagnostics(
            errors.into_iter().chain(loaded.warnings).collect(),
        )))
    }
}

/// The cluster phase's facts for a spec, given the certificate's.
pub fn facts(spec: &Spec, private_ca: bool) -> Facts {
    Facts {
        private_ca,
        dns_records: spec.dns.is_some() && cloud(spec).is_some_and(|c| c.dns_records()),
    }
}

/// Every resource the spec asks for, dependencies first: the cloud's, then
/// the cluster phase's, which waits for the cloud's cluster, nodes and
/// database.
pub fn desired(spec: &Spec, facts: &Facts) -> Vec<Resource> {
    let mut out = Vec::new();
    let mut after = Vec::new();
    if let Some(cloud) = cloud(spec) {
        out = cloud.desired(spec);
        after = cloud.cluster_prerequisites(&out);
    }
    out.extend(crate::cluster::graph::resources(spec, &after, facts));
    out
}

/// The drivers for a run: the cloud's (and what it hands the cluster
/// phase), then the cluster phase's.
pub fn drivers(
    loaded: &Loaded,
    setup: &Setup,
    inputs: crate::cluster::Inputs,
    checks: Vec<crate::cluster::preflight::Check>,
) -> Result<Drivers, CloudError> {
    let spec = &loaded.spec;
    let mut drivers = Drivers::new();
    let handoff = match cloud(spec) {
        Some(c) => c.register(spec, setup, &mut drivers)?,
        None if spec.cloud.provider == Provider::Existing => Default::default(),
        None => {
            let name = serde_json::to_value(spec.cloud.provider)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{:?}", spec.cloud.provider));
            return Err(CloudError {
                message: format!(
                    "this build of liftoff has no support for cloud.provider `{name}`"
                ),
                hint: Some(
                    "build liftoff with that cloud's cargo feature (aws and gcp are on by default)"
                        .into(),
                ),
            });
        }
    };
    crate::cluster::register(
        &mut drivers,
        spec,
        &loaded.base_dir,
        handoff,
        inputs,
        checks,
    );
    Ok(drivers)
}

/// What the chart values need from the cloud: the load balancer settings.
pub fn render_inputs(spec: &Spec, private_ca: bool) -> crate::render::Inputs {
    let load_balancer = cloud(spec)
        .map(|c| c.load_balancer(spec.platform.private_load_balancer))
        .unwrap_or_default();
    crate::render::Inputs {
        private_ca,
        load_balancer,
        load_balancer_controller: false,
    }
}
