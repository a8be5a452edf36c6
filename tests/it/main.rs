//! Integration tests: one binary, one module per area.
mod cli_render;
mod helm;
mod render;
mod tls;
