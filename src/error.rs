//! The top-level error: every failure a command can end with, its exit code
//! and its hint. Its source chain is printed by the one renderer in
//! [`crate::chain`] (re-exported here as [`causes`], [`one_line`],
//! [`render_chain`]).

use std::path::PathBuf;

use crate::plan::compute::{ObserveError, PlanError};
use crate::plan::driver::DriverError;
use crate::plan::state::StateError;
use crate::render::RenderError;
use crate::spec::SpecError;
use crate::tls::TlsError;

/// Exit codes, documented in the README.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const INVALID_INPUT: i32 = 3;
    pub const APPLY_FAILED: i32 = 4;
    pub const STALE_PLAN: i32 = 5;
    pub const LOCKED: i32 = 6;
    pub const UNREACHABLE: i32 = 7;
    /// `doctor`: at least one preflight check failed.
    pub const CHECKS_FAILED: i32 = 8;
    /// A bundle was refused: a checksum, the signature or an unsafe entry.
    pub const BUNDLE_REFUSED: i32 = 9;
    /// `upgrade`/`rollback` refused before changing anything.
    pub const UPGRADE_REFUSED: i32 = 10;
    /// `upgrade` failed; the release was rolled back (or the message says
    /// why not).
    pub const UPGRADE_FAILED: i32 = 11;
    pub const INTERRUPTED: i32 = 130;
    /// Standard output was closed by its reader (`| head`): 128 + SIGPIPE,
    /// what a shell reports for a tool stopped by a closed pipe.
    pub const PIPE_CLOSED: i32 = 141;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    #[error("cannot find out what exists")]
    Observe(#[from] ObserveError),
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error(transparent)]
    Plan(PlanError),
    #[error("cannot read saved plan {}", path.display())]
    PlanFile {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("saved plan {} is stale: {reason}", path.display())]
    StalePlan { path: PathBuf, reason: String },
    #[error("{failed} change(s) failed and {skipped} were skipped")]
    ApplyFailed { failed: usize, skipped: usize },
    #[error("destroy left {} resource(s) carrying this installation's tags:{}", .0.len(), .0.iter().map(|l| format!("\n  - {l}")).collect::<String>())]
    Leftovers(Vec<String>),
    #[error("{}", if *applying {
        "interrupted (Ctrl-C) while applying: the changes in flight were stopped; what was created is recorded, run the same command again to continue"
    } else {
        "interrupted (Ctrl-C) while reading what exists: nothing was changed; run the same command again to start over"
    })]
    Interrupted { applying: bool },
    #[error("{0} preflight check(s) failed")]
    ChecksFailed(usize),
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(String, Option<String>),
    /// `upgrade` or `rollback` refused before changing anything: a skipped
    /// minor version, Kubernetes outside the tested range, API versions the
    /// target removes, a downgrade.
    #[error("{message}")]
    UpgradeRefused { message: String, hint: String },
    /// An upgrade or rollback that failed once it had started.
    #[error("{message}")]
    UpgradeFailed {
        message: String,
        hint: String,
        #[source]
        cause: Option<DriverError>,
    },
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Driver(d) => Error::Driver(d),
            refused => Error::Plan(refused),
        }
    }
}

impl From<crate::providers::CloudError> for Error {
    fn from(e: crate::providers::CloudError) -> Self {
        Error::Input(e.message, e.hint)
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Spec(_)
            | Error::Tls(_)
            | Error::PlanFile { .. }
            | Error::Input(..)
            | Error::Plan(_) => exit::INVALID_INPUT,
            Error::Render(RenderError::UnsupportedChart(_) | RenderError::ValuesNotMapping) => {
                exit::INVALID_INPUT
            }
            Error::Render(_) => exit::FAILURE,
            Error::State(StateError::Locked { .. }) => exit::LOCKED,
            Error::State(_) | Error::Io { .. } => exit::FAILURE,
            Error::Observe(_) | Error::Driver(_) => exit::UNREACHABLE,
            Error::StalePlan { .. } => exit::STALE_PLAN,
            Error::ApplyFailed { .. } | Error::Leftovers(_) => exit::APPLY_FAILED,
            Error::Interrupted { .. } => exit::INTERRUPTED,
            Error::ChecksFailed(_) => exit::CHECKS_FAILED,
            Error::UpgradeRefused { .. } => exit::UPGRADE_REFUSED,
            Error::UpgradeFailed { .. } => exit::UPGRADE_FAILED,
            Error::Bundle(b) if b.is_refusal() => exit::BUNDLE_REFUSED,
            Error::Bundle(b) if b.is_input() => exit::INVALID_INPUT,
            Error::Bundle(b) if b.is_registry() => exit::UNREACHABLE,
            Error::Bundle(_) => exit::FAILURE,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Spec(e) => e.hint(),
            Error::Tls(e) => e.hint(),
            Error::Render(e) => e.hint(),
            Error::Bundle(e) => e.hint(),
            Error::State(StateError::Locked { .. }) => Some(
                "wait for the other run to finish; the lock is released as soon as that process ends, even if it was killed".into(),
            ),
            Error::State(StateError::Format { source, .. }) => source.hint(),
            Error::State(StateError::Corrupt { .. }) => {
                Some("restore the file from its backup, or move it away and re-run: liftoff adopts what it finds by tag".into())
            }
            Error::State(_) => None,
            Error::Observe(e) => e.source.hint.clone().or_else(|| Some("check credentials, region and network access, then re-run".into())),
            Error::Driver(e) => e.hint.clone(),
            Error::Plan(e) => e.hint(),
            Error::PlanFile { source, .. } => source
                .downcast_ref::<crate::plan::format::FormatError>()
                .and_then(|f| f.hint())
                .or_else(|| Some("create it again with `liftoff plan --out FILE`".into())),
            Error::StalePlan { .. } => Some("make a new plan with `liftoff plan --out FILE`, review it, and install that".into()),
            Error::ApplyFailed { .. } => {
                Some("fix the cause shown above and run the same command again: finished work is kept and adopted".into())
            }
            Error::Leftovers(_) => Some(
                "liftoff deletes only what carries both its ownership tags (installation and address) and could not delete these; see the errors above, or check them in the cloud console and delete them there".into(),
            ),
            // The message says it all, on one line.
            Error::Interrupted { .. } => None,
            Error::ChecksFailed(_) => {
                Some("fix the failed checks above, then run `liftoff doctor` again".into())
            }
            Error::Io { .. } => None,
            Error::Input(_, hint) => hint.clone(),
            Error::UpgradeRefused { hint, .. } | Error::UpgradeFailed { hint, .. } => {
                Some(hint.clone())
            }
        }
    }

    /// `error: …`, each distinct cause on its own line, then the hint
    /// (after the spec's diagnostics, when it has them).
    pub fn render(&self) -> String {
        let out = render_chain(self, self.hint().as_deref());
        match self {
            Error::Spec(SpecError::Invalid(d)) => format!("{d}{out}"),
            _ => out,
        }
    }
}

pub use crate::chain::{causes, one_line, render_chain};

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a message and an optional source.
    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    fn chain(texts: &[&'static str]) -> E {
        texts
            .iter()
            .rev()
            .fold(None, |source: Option<E>, t| {
                Some(E(t, source.map(Box::new)))
            })
            .unwrap()
    }

    #[test]
    fn each_cause_is_printed_once_then_the_hint() {
        let e = chain(&[
            "cannot read state file s.json",
            "permission denied",
            "os error 13",
        ]);
        assert_eq!(
            render_chain(&e, Some("fix the rights")),
            "error: cannot read state file s.json\n  caused by: permission denied\n  caused by: os error 13\nhint: fix the rights"
        );
        assert_eq!(
            one_line(&e),
            "cannot read state file s.json: permission denied: os error 13"
        );
    }

    #[test]
    fn a_cause_the_line_before_already_says_is_skipped() {
        // A wrapper printing its source (`#[error("{0}")]` with `#[from]`).
        let e = chain(&[
            "s.yaml:3:1: mapping values are not allowed",
            "s.yaml:3:1: mapping values are not allowed",
        ]);
        assert_eq!(
            render_chain(&e, None),
            "error: s.yaml:3:1: mapping values are not allowed"
        );
        let e = chain(&[
            "AWS CreateVpc failed: dispatch failure: io error",
            "dispatch failure",
            "io error",
            "connection refused",
        ]);
        assert_eq!(causes(&e), vec!["connection refused".to_string()]);
    }

    #[test]
    fn a_driver_error_prints_its_message_once() {
        let io = std::io::Error::other("connection reset");
        let e = Error::Driver(
            DriverError::new(
                crate::plan::driver::Failure::Transient,
                "AWS DescribeVpcs failed",
            )
            .with_hint("retry")
            .with_source(io),
        );
        assert_eq!(
            e.render(),
            "error: AWS DescribeVpcs failed\n  caused by: connection reset\nhint: retry"
        );
    }
}
