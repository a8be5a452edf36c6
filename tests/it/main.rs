//! Integration tests: one binary, one module per area.

mod cli;
mod cli_render;
mod cluster;
mod engine;
mod helm;
mod render;
mod spec;
mod support;
mod tls;
