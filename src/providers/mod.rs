//! The drivers for each external system, chosen by the spec and by the
//! cargo features this binary was built with.

use crate::plan::driver::Drivers;
use crate::spec::Spec;

/// The drivers a spec needs. Kinds without a driver fail at plan time with a
/// clear message.
pub fn drivers(_spec: &Spec) -> Drivers {
    Drivers::new()
}
