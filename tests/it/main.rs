//! Integration tests: one binary, one module per area.

#[cfg(feature = "aws")]
mod aws;
mod chart;
mod cli;
mod cli_render;
mod cluster;
mod engine;
mod helm;
mod k8s;
mod render;
mod spec;
mod support;
mod tls;
