//! What can go wrong with the state's storage, each with its hint and exit
//! code (rendered once, at the top, by `crate::error`).

use super::backend::BackendError;
use crate::plan::state::StateError;

/// The kinds of storage failure, each with its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Another run holds the lock.
    Locked,
    /// The bucket is missing, refused access, or cannot be reached.
    Unreachable,
    /// A bad location, a missing build feature, a refused replacement.
    Input,
    /// Anything else (a lost race, a lost lock, a corrupt state).
    Failure,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "another liftoff run holds the lock on {url}{}",
        held_by(holder, since, lease_left)
    )]
    Locked {
        url: String,
        /// Who: user, host, process, command, liftoff version.
        holder: Option<String>,
        since: Option<String>,
        lease_left: Option<String>,
    },
    #[error("this run no longer holds the lock on {url}: {reason}; it stopped before writing")]
    LockLost { url: String, reason: String },
    #[error(
        "the state {url} was changed by someone else after this run read it; it was not overwritten"
    )]
    LostRace { url: String },
    #[error("bucket `{bucket}` does not exist (state {url})")]
    NoBucket { url: String, bucket: String },
    #[error("no permission to {action} {url}: {detail}")]
    Denied {
        action: &'static str,
        url: String,
        detail: String,
    },
    #[error("cannot {action} {url}")]
    Backend {
        action: &'static str,
        url: String,
        #[source]
        source: BackendError,
    },
    #[error("the lock {url} is unreadable")]
    CorruptLock {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid state location `{text}`: {reason}")]
    BadLocation { text: String, reason: String },
    #[error(
        "this liftoff was built without the `{backend}` state backend (cargo feature `{feature}`)"
    )]
    NotBuilt {
        backend: &'static str,
        feature: &'static str,
    },
    #[error(
        "{url} already holds a different state of `{installation}` (serial {serial}); nothing was written"
    )]
    TargetHolds {
        url: String,
        installation: String,
        serial: u64,
    },
    #[error(
        "the pushed state is older (serial {pushed}) than the one at {url} (serial {stored}); nothing was written"
    )]
    OlderPush {
        url: String,
        pushed: u64,
        stored: u64,
    },
    #[error(
        "the copy at {url} does not read back as written (digest {found}, expected {expected})"
    )]
    Unverified {
        url: String,
        found: String,
        expected: String,
    },
    #[error("{url} is not locked")]
    NotLocked { url: String },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot read {what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn held_by(holder: &Option<String>, since: &Option<String>, left: &Option<String>) -> String {
    let mut text = String::new();
    if let Some(h) = holder {
        text.push_str(&format!(": {h}"));
    }
    if let Some(s) = since {
        text.push_str(&format!(", since {s}"));
    }
    if let Some(l) = left {
        text.push_str(&format!(", lease left {l}"));
    }
    text
}

impl StorageError {
    /// Maps a storage call's failure to what liftoff says about it.
    pub fn from_backend(action: &'static str, url: String, bucket: &str, e: BackendError) -> Self {
        match e {
            BackendError::NoBucket => StorageError::NoBucket {
                url,
                bucket: bucket.to_string(),
            },
            BackendError::Denied(detail) => StorageError::Denied {
                action,
                url,
                detail,
            },
            source => StorageError::Backend {
                action,
                url,
                source,
            },
        }
    }

    /// What kind of failure it is (the exit code is chosen from it at the
    /// top, in `crate::error`).
    pub fn kind(&self) -> Kind {
        match self {
            StorageError::Locked { .. } => Kind::Locked,
            StorageError::NoBucket { .. }
            | StorageError::Denied { .. }
            | StorageError::Backend { .. } => Kind::Unreachable,
            StorageError::BadLocation { .. }
            | StorageError::NotBuilt { .. }
            | StorageError::TargetHolds { .. }
            | StorageError::OlderPush { .. } => Kind::Input,
            _ => Kind::Failure,
        }
    }

    pub fn hint(&self) -> Option<String> {
        Some(match self {
            StorageError::Locked { lease_left: None, .. } => {
                "wait for the other run to finish; the lock is released as soon as that process ends, even if it was killed".into()
            }
            StorageError::Locked { .. } => {
                "wait for the other run to finish (the lock is released when it ends). A holder that was killed keeps it until its lease runs out, then the next run takes over; if you are sure no run is working, `liftoff state unlock --force`".into()
            }
            StorageError::LockLost { .. } => {
                "another run took the lock over (its lease ran out: a paused or cut-off process?). Check `liftoff state show`, then re-run: finished work is adopted".into()
            }
            StorageError::LostRace { .. } => {
                "another run wrote the state (was the lock forced or taken over?). Check `liftoff state show` and re-run plan: liftoff adopts what exists by tag".into()
            }
            StorageError::NoBucket { bucket, .. } => format!(
                "create the bucket `{bucket}` first, with versioning on (docs/state.md), or fix `state.bucket` / `--state`"
            ),
            StorageError::Denied { .. } => {
                "the credentials need read, write and delete on the state prefix and read of the bucket's versioning (docs/state.md lists the policy)".into()
            }
            StorageError::Backend { .. } => {
                "check the credentials and network access to the bucket, then re-run".into()
            }
            StorageError::CorruptLock { .. } => {
                "if no run is working, remove it with `liftoff state unlock --force`".into()
            }
            StorageError::BadLocation { .. } => {
                "use `s3://BUCKET/PREFIX`, `gs://BUCKET/PREFIX` or a folder path".into()
            }
            StorageError::NotBuilt { feature, .. } => {
                format!("use a liftoff built with `--features {feature}` (the default build has it)")
            }
            StorageError::TargetHolds { .. } => {
                "migrate refuses to replace another state: pick another prefix, or remove that state first if it is really unused".into()
            }
            StorageError::OlderPush { .. } => {
                "pull the current state and merge by hand, or pass --force to replace it (a bucket with versioning keeps the old one)".into()
            }
            StorageError::Unverified { .. } => "run the migrate again; the source was kept".into(),
            StorageError::NotLocked { .. } => return None,
            StorageError::State(StateError::Format { source, .. }) => return source.hint(),
            StorageError::State(StateError::Corrupt { .. }) => {
                "restore the state from its backup (a bucket's older version), or move it away and re-run: liftoff adopts what it finds by tag".into()
            }
            StorageError::State(_) | StorageError::Io { .. } => return None,
        })
    }
}
