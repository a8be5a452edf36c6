//! liftoff: installs the Astronomer platform from one declarative spec.
//!
//! The spec ([`spec`]) resolves into desired resources, the cloud's
//! ([`providers`]) and the cluster phase's ([`cluster`]), joined in
//! [`compose`]; a plan compares them with what exists ([`plan::compute`])
//! and the engine carries it out ([`plan::apply`]) through drivers. See
//! docs/architecture.md.

pub mod bundle;
pub mod chain;
pub mod cli;
pub mod cluster;
pub mod compose;
pub mod error;
pub mod files;
pub mod plan;
pub mod providers;
pub mod random;
pub mod render;
pub mod secret;
pub mod spec;
pub mod state;
pub mod tls;
pub mod wait;

pub use error::Error;
