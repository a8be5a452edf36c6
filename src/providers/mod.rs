//! The drivers for each external system, chosen by the spec and by the
//! cargo features this binary was built with.

#[cfg(feature = "aws")]
pub mod aws;

use std::path::PathBuf;

use crate::cluster::Handoff;
use crate::plan::driver::Drivers;
use crate::spec::Spec;

/// What the command line tells the drivers besides the spec.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Where the state file lives; generated secrets are kept beside it.
    pub state_dir: PathBuf,
    /// `destroy --skip-final-snapshot`: delete databases without a final snapshot.
    pub skip_final_snapshot: bool,
}

/// The cloud drivers a spec needs, and what the cloud phase hands the
/// cluster phase (how to reach the cluster and the database it creates).
/// Kinds without a driver fail at plan time with a clear message.
#[allow(unused_mut, unused_variables)]
pub fn drivers(spec: &Spec, setup: &Setup) -> (Drivers, Handoff) {
    let mut d = Drivers::new();
    let mut handoff = Handoff::default();
    #[cfg(feature = "aws")]
    if spec.cloud.provider == crate::spec::Provider::Aws {
        use std::sync::Arc;
        let opts =
            aws::Options::from_spec(spec, setup.state_dir.clone(), setup.skip_final_snapshot);
        let driver = Arc::new(aws::AwsDriver::new(opts));
        d.register("aws.", driver.clone());
        if spec.cluster.mode == crate::spec::Mode::Create {
            handoff.connector = Some(Arc::new(aws::handoff::EksConnector(driver.clone())));
        }
        if let Some(db) = spec
            .database
            .as_ref()
            .filter(|d| d.mode == crate::spec::DatabaseMode::Create)
        {
            handoff.database = Some(Arc::new(aws::handoff::RdsLogin {
                driver,
                ssl: db.ssl,
            }));
        }
    }
    (d, handoff)
}
