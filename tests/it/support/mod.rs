//! Test helpers shared by the areas: fake servers, fake tools and an
//! in-memory cloud.

pub mod helm;
pub mod kube;
pub mod memory;
#[cfg(feature = "aws")]
pub mod moto;
pub mod procs;
