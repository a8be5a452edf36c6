//! Integration tests: one binary, one module per area.

#[cfg(feature = "aws")]
mod aws;
mod chart;
mod cli;
mod cli_render;
mod cli_ux;
mod cluster;
mod engine;
mod helm;
mod render;
mod scripts;
mod spec;
mod support;
mod tls;
