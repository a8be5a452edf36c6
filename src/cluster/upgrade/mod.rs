//! What `liftoff upgrade` knows that is not a Helm call: the path of an
//! upgrade through the chart's minor versions ([`hops`]), the values and
//! manifest diffs shown before anything changes ([`diff`]), and the API
//! versions a Kubernetes upgrade removes ([`apis`]). The Helm side (one
//! hop, the health check, the automatic rollback) is
//! [`crate::cluster::driver::upgrade`].

pub mod apis;
pub mod diff;
pub mod hops;
