//! Integration tests: one binary, one module per area.
mod helm;
mod render;
mod tls;
