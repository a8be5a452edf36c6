//! Test helpers shared by the areas: fake servers and tools.

pub mod helm;
pub mod kube;
#[cfg(feature = "aws")]
pub mod moto;
pub mod procs;
