//! The cluster phase against a fake Kubernetes API, a recording fake
//! `helm`, moto's Route53 and a throwaway PostgreSQL.

mod apply;
mod cli;
mod database;
#[cfg(feature = "aws")]
mod dns;
pub(crate) mod harness;
mod preflight;
mod state_format;
