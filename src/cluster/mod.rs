//! The cluster phase: connect to Kubernetes, check it is fit for the
//! platform (preflight), apply the namespace and the platform's secrets,
//! install the Helm chart, then wait for the load balancer and point the
//! wildcard DNS record at it.
//!
//! The engine sees this phase as resources under `cluster.` (and
//! `dns.record.wildcard`), built by [`graph::resources`] and carried out by
//! [`driver::ClusterDriver`]. Secret values reach it only through
//! [`inputs::Inputs`], as [`Redacted`](crate::secret::Redacted) values, and
//! never land in props, outputs, plans, state or errors.

pub mod api_error;
pub mod connect;
pub mod driver;
pub mod graph;
pub mod helm;
pub mod inputs;
pub mod loadbalancer;
pub mod objects;
mod pgtls;
pub mod pods;
pub mod preflight;
pub mod upgrade;

pub use connect::{Connection, Connector, DatabaseSource};
pub use driver::ClusterDriver;
pub use inputs::{DbLogin, Inputs};

/// The field manager of every server-side apply liftoff makes.
pub const FIELD_MANAGER: &str = "liftoff";

/// Why something in the cluster phase failed. Messages never hold secrets.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot connect to Kubernetes: {0}")]
    Connect(String),
    #[error("{what}")]
    Api {
        what: String,
        #[source]
        source: api_error::KubeError,
    },
    #[error("{0}")]
    Input(String),
    /// A file the run needs could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// What the cloud phase hands over could not be had (its own message
    /// and hint).
    #[error(transparent)]
    Handoff(crate::plan::driver::DriverError),
}

impl ClusterError {
    pub(crate) fn api(what: impl Into<String>) -> impl FnOnce(kube::Error) -> ClusterError {
        let what = what.into();
        move |source| ClusterError::Api {
            what,
            source: api_error::KubeError(source),
        }
    }
}

/// Registers the cluster phase's driver for a spec (`cluster.`; the
/// `dns.record` driver comes from the cloud, see [`Handoff`]). The
/// connection is the spec's kubeconfig for an existing cluster; for a
/// cluster the cloud phase creates, `connector` must come from that phase
/// (see [`Connector`]), else reads find nothing and writes fail saying so.
/// Secrets the spec names by file or variable are read now; why one could
/// not be read is a failed preflight check. `extra` brings the other
/// phases' products (TLS material, chart values); `certificate_checks`
/// join the preflight.
pub fn register(
    drivers: &mut crate::plan::driver::Drivers,
    spec: &crate::spec::Spec,
    base_dir: &std::path::Path,
    handoff: Handoff,
    extra: Inputs,
    certificate_checks: Vec<preflight::Check>,
) {
    let driver = build(spec, base_dir, handoff, extra, certificate_checks);
    drivers.register(graph::PREFIX, std::sync::Arc::new(driver));
}

/// The cluster driver as install and doctor both use it (`upgrade` and
/// `rollback` call its release methods directly).
pub fn build(
    spec: &crate::spec::Spec,
    base_dir: &std::path::Path,
    handoff: Handoff,
    extra: Inputs,
    certificate_checks: Vec<preflight::Check>,
) -> ClusterDriver {
    use std::sync::Arc;
    let Handoff {
        connector,
        database,
        zones,
        load_balancer_controller,
    } = handoff;
    let (mut inputs, problems) = inputs::from_spec_partial(spec, base_dir);
    inputs.merge(extra);
    let connector = connector.unwrap_or_else(|| match spec.cluster.mode {
        crate::spec::Mode::Existing => Arc::new(Connection::from_spec(spec, base_dir)),
        crate::spec::Mode::Create => Arc::new(NotYet),
    });
    let mut driver = ClusterDriver::new(spec.clone(), base_dir.to_path_buf(), connector, inputs)
        .with_input_problems(problems.iter().map(|p| crate::chain::one_line(p)).collect())
        .with_extra_checks(certificate_checks);
    if let Some(source) = database {
        driver = driver.with_database_source(source);
    }
    if let Some(zones) = zones {
        driver = driver.with_zone_lookup(zones);
    }
    if let Some(controller) = load_balancer_controller {
        driver = driver.with_load_balancer_controller(controller);
    }
    driver
}

/// What the cloud phase hands the cluster phase, when it creates the cluster
/// or the database: how to connect, where the database login comes from,
/// and the DNS zones (when the cloud runs the spec's DNS zone).
#[derive(Default)]
pub struct Handoff {
    pub connector: Option<std::sync::Arc<dyn Connector>>,
    pub database: Option<std::sync::Arc<dyn DatabaseSource>>,
    pub zones: Option<std::sync::Arc<dyn preflight::ZoneLookup>>,
    /// The cloud's load balancer controller add-on, when it has one.
    pub load_balancer_controller: Option<loadbalancer::Controller>,
}

/// The connector of a cluster no phase has provided yet.
pub struct NotYet;

#[async_trait::async_trait]
impl Connector for NotYet {
    async fn connection(&self) -> Result<Option<Connection>, ClusterError> {
        Ok(None)
    }
}

/// `liftoff doctor`: every preflight check an install runs, changing
/// nothing, through the same connection the install uses (`handoff` from
/// the cloud phase for a cluster liftoff creates). When the cluster cannot
/// be reached, or does not exist yet, the checks that do not need it
/// still run.
pub async fn doctor(
    spec: &crate::spec::Spec,
    base_dir: &std::path::Path,
    handoff: Handoff,
    extra: Inputs,
    certificate_checks: Vec<preflight::Check>,
) -> preflight::Report {
    build(spec, base_dir, handoff, extra, certificate_checks)
        .preflight_report()
        .await
}
