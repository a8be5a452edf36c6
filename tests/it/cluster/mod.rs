//! The cluster phase against a fake Kubernetes API, a recording fake
//! `helm`, moto's Route53 and a throwaway PostgreSQL.
//!
//! The behaviour on a real API server and Helm engine is tested in
//! `tests/it/k8s`. What stays here needs what the real server cannot give:
//! pods in Pending, ImagePullBackOff or CrashLoopBackOff (there is no
//! kubelet), any Kubernetes version (the real one is 1.25), an exact log
//! of every request (to prove a re-run writes nothing), the exact helm
//! command line (the recording helm), and runs without `../shared/k8s`.

mod apply;
mod cli;
mod database;
#[cfg(feature = "aws")]
mod dns;
pub(crate) mod harness;
mod preflight;
mod state_format;
