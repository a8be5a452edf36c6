//! The state file: one per installation, JSON, written atomically with mode
//! 0600 and guarded by an advisory lock that the kernel drops when the
//! holder dies (so a killed run never leaves a stale lock behind).
//!
//! A create is recorded twice: its intent (with the idempotency token)
//! before the call, and its id as soon as the call returns, before any
//! waiting. A crash at any point leaves enough to find the resource again.
//!
//! The file carries its format version ([`STATE_FORMAT`]); an older one is
//! upgraded on reading ([`super::format`]) and kept beside it as
//! `<file>.format-N` before the first write; a newer one is refused.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Address;
use super::format::{Format, FormatError};

/// The state file format this liftoff writes.
pub const STATE_FORMAT: u32 = 1;

/// The state file's format and the steps from each older one.
pub const STATE_FILE: Format = Format {
    what: "state file",
    current: STATE_FORMAT,
    // One step per format after 1, in order (see `super::format`).
    steps: &[],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The create call is about to be made (or was made and we crashed).
    Intent,
    /// The create returned an id; the resource may still be coming up.
    Creating,
    Ready,
    Deleting,
}

/// What liftoff knows about one resource it manages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The idempotency token of the create in flight.
    pub token: String,
    #[serde(default)]
    pub props: Value,
    #[serde(default)]
    pub outputs: Value,
    #[serde(default)]
    pub deps: Vec<Address>,
    /// See [`super::Resource::delete_after`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_after: Vec<Address>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    pub installation: String,
    /// Bumped on every write.
    pub serial: u64,
    pub resources: BTreeMap<Address, Entry>,
    /// The latest commands that changed the installation besides applying
    /// a plan (`upgrade`, `rollback`), oldest first; `status` shows the
    /// last. An older file without them reads as none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Operation>,
}

/// How many operations the state keeps.
pub const OPERATIONS_KEPT: usize = 20;

/// One command's run: recorded when it starts (outcome `running`) and
/// again when it ends, so a run killed half-way shows as such.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// `upgrade`, `rollback`, …
    pub command: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// `running`, `succeeded`, `failed`, `rolled-back`.
    pub outcome: String,
    /// What the command reports about itself (versions, revisions, where a
    /// snapshot is): never a secret.
    #[serde(default)]
    pub detail: Value,
}

/// Now, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_utc() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

impl State {
    pub fn empty(installation: &str) -> Self {
        State {
            format: STATE_FORMAT,
            installation: installation.into(),
            serial: 0,
            resources: BTreeMap::new(),
            operations: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("another liftoff run holds the lock on {}", path.display())]
    Locked { path: PathBuf },
    #[error("cannot use state file {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state file {} is corrupt", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read state file {}", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: FormatError,
    },
    #[error("state file {} belongs to installation `{found}`, not `{expected}`", path.display())]
    WrongInstallation {
        path: PathBuf,
        found: String,
        expected: String,
    },
}

/// The open, locked state of one installation.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    state: Mutex<State>,
    _lock: File,
}

impl Store {
    /// `<dir>/<installation>.state.json`, locked through `<…>.lock`.
    pub fn open(dir: &Path, installation: &str) -> Result<Store, StateError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StateError::Io { path, source }
        };
        create_private_dir(dir).map_err(io(dir))?;
        let path = dir.join(format!("{installation}.state.json"));
        let lock_path = dir.join(format!("{installation}.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateError::Locked { path: lock_path });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        let state = match std::fs::read(&path) {
            Ok(bytes) => {
                let s = read_state(&path, &bytes)?;
                if s.installation != installation {
                    return Err(StateError::WrongInstallation {
                        path,
                        found: s.installation,
                        expected: installation.into(),
                    });
                }
                s
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::empty(installation),
            Err(e) => return Err(io(&path)(e)),
        };
        Ok(Store {
            path,
            state: Mutex::new(state),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn snapshot(&self) -> State {
        self.state.lock().expect("state lock").clone()
    }

    pub fn get(&self, address: &Address) -> Option<Entry> {
        self.state
            .lock()
            .expect("state lock")
            .resources
            .get(address)
            .cloned()
    }

    /// Sets (or with `None` removes) one entry and writes the file.
    pub fn put(&self, address: &Address, entry: Option<Entry>) -> Result<(), StateError> {
        let mut state = self.state.lock().expect("state lock");
        match entry {
            Some(e) => state.resources.insert(address.clone(), e),
            None => state.resources.remove(address),
        };
        state.serial += 1;
        tracing::debug!(%address, serial = state.serial, "state written");
        write_atomic(
            &self.path,
            &serde_json::to_vec_pretty(&*state).expect("state serializes"),
        )
        .map_err(|source| StateError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Records an operation and writes the file: it replaces the last one
    /// when that is the same run (same command and start), else it is added
    /// (the oldest dropped beyond [`OPERATIONS_KEPT`]).
    pub fn put_operation(&self, op: Operation) -> Result<(), StateError> {
        let mut state = self.state.lock().expect("state lock");
        match state.operations.last_mut() {
            Some(last) if last.command == op.command && last.started == op.started => *last = op,
            _ => state.operations.push(op),
        }
        let excess = state.operations.len().saturating_sub(OPERATIONS_KEPT);
        state.operations.drain(..excess);
        state.serial += 1;
        write_atomic(
            &self.path,
            &serde_json::to_vec_pretty(&*state).expect("state serializes"),
        )
        .map_err(|source| StateError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Removes the state file once nothing is left in it.
    pub fn remove_if_empty(&self) -> Result<(), StateError> {
        let state = self.state.lock().expect("state lock");
        if state.resources.is_empty() && self.path.exists() {
            std::fs::remove_file(&self.path).map_err(|source| StateError::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// The state of `installation` in `dir` as last written, for reading only
/// (`status`): takes no lock and creates nothing, so it works while another
/// run holds the lock. Writes are atomic renames, so the file read is
/// always whole. No file yet: an empty state.
pub fn read_unlocked(dir: &Path, installation: &str) -> Result<(PathBuf, State), StateError> {
    let path = dir.join(format!("{installation}.state.json"));
    let state = match std::fs::read(&path) {
        Ok(bytes) => {
            // An older format is upgraded in memory only: reading writes nothing.
            let corrupt = |source| StateError::Corrupt {
                path: path.clone(),
                source,
            };
            let mut value: Value = serde_json::from_slice(&bytes).map_err(corrupt)?;
            STATE_FILE
                .upgrade(&mut value)
                .map_err(|source| StateError::Format {
                    path: path.clone(),
                    source,
                })?;
            let state: State = serde_json::from_value(value).map_err(corrupt)?;
            if state.installation != installation {
                return Err(StateError::WrongInstallation {
                    path,
                    found: state.installation,
                    expected: installation.into(),
                });
            }
            state
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::empty(installation),
        Err(source) => return Err(StateError::Io { path, source }),
    };
    Ok((path, state))
}

/// Parses a state file, upgrading an older format: the original is kept
/// as `<file>.format-N` (once) before anything is written over it.
fn read_state(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    let corrupt = |source| StateError::Corrupt {
        path: path.to_path_buf(),
        source,
    };
    let mut value: Value = serde_json::from_slice(bytes).map_err(corrupt)?;
    let found = STATE_FILE
        .upgrade(&mut value)
        .map_err(|source| StateError::Format {
            path: path.to_path_buf(),
            source,
        })?;
    if found != STATE_FORMAT {
        let mut backup = path.as_os_str().to_owned();
        backup.push(format!(".format-{found}"));
        let backup = PathBuf::from(backup);
        if !backup.exists() {
            write_atomic(&backup, bytes).map_err(|source| StateError::Io {
                path: backup.clone(),
                source,
            })?;
        }
        tracing::info!(
            "upgraded state file {} from format {found} to {STATE_FORMAT}",
            path.display()
        );
    }
    serde_json::from_value(value).map_err(corrupt)
}

/// Creates `dir` and its missing parents readable by the owner alone
/// (0700): the state folder holds the state and the secrets' 0600 files. A
/// folder that exists already keeps its mode.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Writes `bytes` to `path` through a 0600 temporary file, fsync and rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state")
    ));
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_0600_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let a = Address::new("net.vpc");
        {
            let s = Store::open(dir.path(), "demo").unwrap();
            let e = Entry {
                kind: "net.vpc".into(),
                status: Status::Creating,
                id: Some("vpc-1".into()),
                token: "t".into(),
                props: Value::Null,
                outputs: Value::Null,
                deps: vec![],
                delete_after: vec![],
            };
            s.put(&a, Some(e)).unwrap();
            let mode = std::fs::metadata(s.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let s = Store::open(dir.path(), "demo").unwrap();
        assert_eq!(s.get(&a).unwrap().id.as_deref(), Some("vpc-1"));
        assert_eq!(s.snapshot().serial, 1);
    }

    #[test]
    fn a_second_holder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _held = Store::open(dir.path(), "demo").unwrap();
        assert!(matches!(
            Store::open(dir.path(), "demo"),
            Err(StateError::Locked { .. })
        ));
    }

    #[test]
    fn reading_unlocked_works_under_a_held_lock_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nothing-here");
        let (_, state) = read_unlocked(&missing, "demo").unwrap();
        assert!(state.resources.is_empty());
        assert!(!missing.exists(), "reading created the folder");
        let held = Store::open(dir.path(), "demo").unwrap();
        held.put(
            &Address::new("net.vpc"),
            Some(Entry {
                kind: "net.vpc".into(),
                status: Status::Ready,
                id: Some("vpc-1".into()),
                token: "t".into(),
                props: Value::Null,
                outputs: Value::Null,
                deps: vec![],
                delete_after: vec![],
            }),
        )
        .unwrap();
        let (_, state) = read_unlocked(dir.path(), "demo").unwrap();
        assert_eq!(state.resources.len(), 1);
    }

    #[test]
    fn a_newer_format_is_refused_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let mut newer = serde_json::to_value(State::empty("demo")).unwrap();
        newer["format"] = (STATE_FORMAT + 1).into();
        std::fs::write(dir.path().join("demo.state.json"), newer.to_string()).unwrap();
        let e = Store::open(dir.path(), "demo").unwrap_err();
        let StateError::Format { source, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(matches!(source, FormatError::TooNew { .. }));
        assert_eq!(
            crate::chain::one_line(&e),
            format!(
                "cannot read state file {}: the state file has format {}, newer than this liftoff reads (up to {STATE_FORMAT})",
                dir.path().join("demo.state.json").display(),
                STATE_FORMAT + 1
            )
        );
    }

    #[test]
    fn the_steps_match_the_format() {
        assert_eq!(STATE_FILE.steps.len() + 1, STATE_FORMAT as usize);
    }

    #[test]
    fn refuses_another_installations_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("demo.state.json"),
            serde_json::to_vec(&State::empty("other")).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            Store::open(dir.path(), "demo"),
            Err(StateError::WrongInstallation { .. })
        ));
    }
}
