//! Integration tests: one binary, one module per area.

#[cfg(feature = "aws")]
mod aws;
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
mod support;
