//! What the AWS cloud sets up for a run: its drivers (resources under
//! `aws.`, and the DNS record), the hand-off to the cluster phase, and the
//! check of an existing network before planning.

use std::sync::Arc;

use super::dns::Route53;
use super::driver::{AwsDriver, Options};
use super::handoff::{EksConnector, RdsLogin};
use super::kind;
use crate::cluster::Handoff;
use crate::cluster::graph::DNS_RECORD;
use crate::plan::Address;
use crate::plan::driver::{DriverError, Drivers};
use crate::providers::{Preflight, Setup};
use crate::spec::{DatabaseMode, Mode, Spec};

/// Registers the AWS drivers and returns the hand-off.
pub fn register(spec: &Spec, setup: &Setup, drivers: &mut Drivers) -> Handoff {
    let mut opts = Options::from_spec(spec, setup.secrets.clone(), setup.skip_final_snapshot);
    opts.kubernetes_upgrade = setup.kubernetes_upgrade;
    let driver = Arc::new(AwsDriver::new(opts));
    drivers.register(kind::PREFIX, driver.clone());
    let mut handoff = Handoff {
        load_balancer_controller: crate::providers::Cloud::load_balancer_controller(
            &super::AwsCloud,
        ),
        ..Handoff::default()
    };
    if spec.cluster.mode == Mode::Create {
        handoff.connector = Some(Arc::new(EksConnector(driver.clone())));
    }
    if let (Some(db), Some(records)) = (
        spec.database
            .as_ref()
            .filter(|d| d.mode == DatabaseMode::Create),
        &setup.records,
    ) {
        handoff.database = Some(Arc::new(RdsLogin {
            records: records.clone(),
            address: Address::new(kind::DATABASE),
            secrets: setup.secrets.clone(),
            installation: spec.metadata.name.clone(),
            ssl: db.ssl,
        }));
    }
    if let Some(r53) = route53(spec) {
        handoff.zones = Some(r53.clone());
        drivers.register(DNS_RECORD, r53);
    }
    handoff
}

/// Route53 for the spec's DNS zone, when it names one.
pub fn route53(spec: &Spec) -> Option<Arc<Route53>> {
    spec.dns
        .as_ref()
        .map(|_| Arc::new(Route53::from_env(spec.cloud.region.clone(), None)))
}

/// An existing network is validated (nothing is created or deleted in it).
pub async fn preflight(spec: &Spec, tag_subnets: bool) -> Result<Preflight, DriverError> {
    let Some(net) = spec.network.as_ref().filter(|n| n.mode == Mode::Existing) else {
        return Ok(Preflight::default());
    };
    let region = spec.cloud.region.as_deref().unwrap_or("us-east-1");
    let report = super::existing::validate(region, net, tag_subnets).await?;
    Ok(Preflight {
        notes: report
            .tagged
            .iter()
            .map(|t| format!("tagged subnet {t}"))
            .collect(),
        problems: report.problems,
        hint: Some("fix these in AWS (or the spec), then rerun; liftoff never changes an existing network except for --tag-subnets".into()),
    })
}
