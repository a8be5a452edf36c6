//! Helpers shared by the integration tests.

pub mod moto;
pub mod proxy;
