//! Integration tests: one binary, one module per area.

#[cfg(feature = "aws")]
mod aws;
mod bad_specs;
mod bundle;
mod bundle_fuzz;
mod chart;
mod cli;
mod cli_render;
mod cli_ux;
mod cluster;
mod engine;
#[cfg(feature = "gcp")]
mod gcp;
#[cfg(feature = "gcp")]
mod gcp_upgrade;
mod helm;
mod k8s;
mod layers;
mod render;
mod scripts;
mod spec;
mod spec_fuzz;
#[cfg(any(feature = "aws", feature = "gcp"))]
mod state;
mod support;
mod tls;
