//! What the GCP cloud sets up for a run: its driver (resources under
//! `gcp.`), the hand-off to the cluster phase, and the check of an existing
//! network before planning.

use std::sync::Arc;

use super::dns::CloudDns;
use super::driver::{GcpDriver, Options};
use super::handoff::{GkeConnector, SqlLogin};
use super::kind;
use crate::cluster::Handoff;
use crate::cluster::graph::DNS_RECORD;
use crate::plan::Address;
use crate::plan::driver::Drivers;
use crate::providers::Setup;
use crate::spec::{DatabaseMode, Mode, Spec};

/// Registers the GCP driver and returns the hand-off.
pub fn register(spec: &Spec, setup: &Setup, drivers: &mut Drivers) -> Handoff {
    let mut opts = Options::from_spec(spec, setup.secrets.clone());
    opts.kubernetes_upgrade = setup.kubernetes_upgrade;
    let driver = Arc::new(GcpDriver::new(opts));
    drivers.register(kind::PREFIX, driver.clone());
    let mut handoff = Handoff::default();
    if spec.cluster.mode == Mode::Create {
        handoff.connector = Some(Arc::new(GkeConnector(driver.clone())));
    }
    if let (Some(db), Some(records)) = (
        spec.database
            .as_ref()
            .filter(|d| d.mode == DatabaseMode::Create),
        &setup.records,
    ) {
        handoff.database = Some(Arc::new(SqlLogin {
            records: records.clone(),
            address: Address::new(kind::SQL_INSTANCE),
            secrets: setup.secrets.clone(),
            installation: spec.metadata.name.clone(),
            ssl: db.ssl,
        }));
    }
    if let Some(dns) = cloud_dns(spec) {
        handoff.zones = Some(dns.clone());
        drivers.register(DNS_RECORD, dns);
    }
    handoff
}

/// Cloud DNS for the spec's managed zone, when it names one.
pub fn cloud_dns(spec: &Spec) -> Option<Arc<CloudDns>> {
    spec.dns
        .as_ref()
        .map(|_| Arc::new(CloudDns::new(super::names::project(spec))))
}
