//! Test helpers shared by the areas: fake servers, fake tools, an
//! in-memory cloud, and moto behind a recording, fault-injecting proxy.

pub mod helm;
pub mod kube;
pub mod memory;
#[cfg(feature = "aws")]
pub mod moto;
pub mod procs;
#[cfg(feature = "aws")]
pub mod proxy;
pub mod realkube;
