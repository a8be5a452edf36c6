//! The drivers for each external system, chosen by the spec and by the
//! cargo features this binary was built with.

#[cfg(feature = "aws")]
pub mod aws;

use std::path::PathBuf;

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

/// The drivers a spec needs. Kinds without a driver fail at plan time with a
/// clear message.
#[allow(unused_mut, unused_variables)]
pub fn drivers(spec: &Spec, setup: &Setup) -> Drivers {
    let mut d = Drivers::new();
    #[cfg(feature = "aws")]
    if spec.cloud.provider == crate::spec::Provider::Aws {
        let opts =
            aws::Options::from_spec(spec, setup.state_dir.clone(), setup.skip_final_snapshot);
        d.register("aws.", std::sync::Arc::new(aws::AwsDriver::new(opts)));
    }
    d
}
