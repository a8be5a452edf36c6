//! Integration tests: one binary, one module per area.

#[cfg(feature = "aws")]
mod aws;
mod support;
