//! The state document: one per installation, JSON, what liftoff knows about
//! each resource it manages. Where it is stored and how it is locked (a
//! local file, a bucket) is `crate::state`'s business, behind [`Persist`].
//!
//! A create is recorded twice: its intent (with the idempotency token)
//! before the call, and its id as soon as the call returns, before any
//! waiting. A crash at any point leaves enough to find the resource again.
//!
//! The file carries its format version ([`STATE_FORMAT`]); an older one is
//! upgraded on reading ([`super::format`]) and the storage keeps the
//! original beside it as `<file>.format-N`; a newer one is refused.

use std::collections::BTreeMap;
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
    #[error("state file {location} is corrupt")]
    Corrupt {
        location: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read state file {location}")]
    Format {
        location: String,
        #[source]
        source: FormatError,
    },
    #[error("state file {location} belongs to installation `{found}`, not `{expected}`")]
    WrongInstallation {
        location: String,
        found: String,
        expected: String,
    },
    /// The storage refused or failed the write; its error says why.
    #[error("cannot write state file {location}")]
    Write {
        location: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where the state document is kept, as the engine sees it: a place that
/// takes whole documents. The storage (a local file, a bucket) and its
/// lock live behind it (`crate::state`), held as long as the store is.
pub trait Persist: Send + Sync {
    /// Where the document is, for messages (a path or a URL).
    fn location(&self) -> String;
    /// Replaces the stored document with `bytes`, or fails without writing.
    fn write(&self, bytes: Vec<u8>) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
    /// Removes the stored document.
    fn remove(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// The open, locked state of one installation: the document in memory,
/// written through to its storage on every change.
pub struct Store {
    persist: Box<dyn Persist>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.persist.location())
            .finish()
    }
}

impl Store {
    /// A store over `persist`, starting from `state` (as last stored).
    pub fn new(state: State, persist: Box<dyn Persist>) -> Store {
        Store {
            persist,
            state: Mutex::new(state),
        }
    }

    /// Where the document is kept (a path or a URL).
    pub fn location(&self) -> String {
        self.persist.location()
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

    /// Sets (or with `None` removes) one entry and writes the document. A
    /// write that fails leaves the memory as stored.
    pub fn put(&self, address: &Address, entry: Option<Entry>) -> Result<(), StateError> {
        let mut state = self.state.lock().expect("state lock");
        let mut next = state.clone();
        match entry {
            Some(e) => next.resources.insert(address.clone(), e),
            None => next.resources.remove(address),
        };
        next.serial += 1;
        tracing::debug!(%address, serial = next.serial, "state written");
        self.persist
            .write(serde_json::to_vec_pretty(&next).expect("state serializes"))
            .map_err(|source| StateError::Write {
                location: self.persist.location(),
                source,
            })?;
        *state = next;
        Ok(())
    }

    /// Replaces the whole document (`state push`, `state migrate`): its
    /// serial becomes one more than both the stored one and `state`'s.
    pub fn replace(&self, mut next: State) -> Result<(), StateError> {
        let mut state = self.state.lock().expect("state lock");
        next.serial = next.serial.max(state.serial) + 1;
        self.persist
            .write(serde_json::to_vec_pretty(&next).expect("state serializes"))
            .map_err(|source| StateError::Write {
                location: self.persist.location(),
                source,
            })?;
        *state = next;
        Ok(())
    }

    /// Removes the stored document, whatever it holds (`state migrate`,
    /// once the copy is verified).
    pub fn remove(&self) -> Result<(), StateError> {
        let _state = self.state.lock().expect("state lock");
        self.persist.remove().map_err(|source| StateError::Write {
            location: self.persist.location(),
            source,
        })
    }

    /// Records an operation and writes the document: it replaces the last
    /// one when that is the same run (same command and start), else it is
    /// added (the oldest dropped beyond [`OPERATIONS_KEPT`]). A write that
    /// fails leaves the memory as stored.
    pub fn put_operation(&self, op: Operation) -> Result<(), StateError> {
        let mut state = self.state.lock().expect("state lock");
        let mut next = state.clone();
        match next.operations.last_mut() {
            Some(last) if last.command == op.command && last.started == op.started => *last = op,
            _ => next.operations.push(op),
        }
        let excess = next.operations.len().saturating_sub(OPERATIONS_KEPT);
        next.operations.drain(..excess);
        next.serial += 1;
        self.persist
            .write(serde_json::to_vec_pretty(&next).expect("state serializes"))
            .map_err(|source| StateError::Write {
                location: self.persist.location(),
                source,
            })?;
        *state = next;
        Ok(())
    }

    /// Removes the stored document once nothing is left in it.
    pub fn remove_if_empty(&self) -> Result<(), StateError> {
        let state = self.state.lock().expect("state lock");
        if state.resources.is_empty() && state.serial > 0 {
            self.persist.remove().map_err(|source| StateError::Write {
                location: self.persist.location(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Parses a stored state document of `installation`, upgrading an older
/// format in memory. Returns the state and the format it was stored in.
pub fn parse(location: &str, installation: &str, bytes: &[u8]) -> Result<(State, u32), StateError> {
    let corrupt = |source| StateError::Corrupt {
        location: location.to_string(),
        source,
    };
    let mut value: Value = serde_json::from_slice(bytes).map_err(corrupt)?;
    let found = STATE_FILE
        .upgrade(&mut value)
        .map_err(|source| StateError::Format {
            location: location.to_string(),
            source,
        })?;
    let state: State = serde_json::from_value(value).map_err(corrupt)?;
    if state.installation != installation {
        return Err(StateError::WrongInstallation {
            location: location.to_string(),
            found: state.installation,
            expected: installation.into(),
        });
    }
    Ok((state, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A storage in memory that can be told to refuse writes.
    #[derive(Default)]
    struct Memory {
        written: std::sync::Arc<Mutex<Vec<Vec<u8>>>>,
        refuse: bool,
    }

    impl Persist for Memory {
        fn location(&self) -> String {
            "memory".into()
        }
        fn write(&self, bytes: Vec<u8>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            if self.refuse {
                return Err("refused".into());
            }
            self.written.lock().unwrap().push(bytes);
            Ok(())
        }
        fn remove(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            Ok(())
        }
    }

    fn entry() -> Entry {
        Entry {
            kind: "net.vpc".into(),
            status: Status::Creating,
            id: Some("vpc-1".into()),
            token: "t".into(),
            props: Value::Null,
            outputs: Value::Null,
            deps: vec![],
            delete_after: vec![],
        }
    }

    #[test]
    fn every_change_is_written_and_reads_back() {
        let memory = Memory::default();
        let written = memory.written.clone();
        let store = Store::new(State::empty("demo"), Box::new(memory));
        let a = Address::new("net.vpc");
        store.put(&a, Some(entry())).unwrap();
        let last = written.lock().unwrap().last().unwrap().clone();
        let (state, format) = parse("memory", "demo", &last).unwrap();
        assert_eq!(format, STATE_FORMAT);
        assert_eq!(state.serial, 1);
        assert_eq!(state.resources[&a].id.as_deref(), Some("vpc-1"));
    }

    #[test]
    fn a_refused_write_changes_nothing_in_memory() {
        let store = Store::new(
            State::empty("demo"),
            Box::new(Memory {
                refuse: true,
                ..Default::default()
            }),
        );
        let e = store
            .put(&Address::new("net.vpc"), Some(entry()))
            .unwrap_err();
        assert_eq!(
            crate::chain::one_line(&e),
            "cannot write state file memory: refused"
        );
        assert!(store.snapshot().resources.is_empty());
        assert_eq!(store.snapshot().serial, 0);
    }

    #[test]
    fn a_newer_format_is_refused_with_a_hint() {
        let mut newer = serde_json::to_value(State::empty("demo")).unwrap();
        newer["format"] = (STATE_FORMAT + 1).into();
        let e = parse("demo.state.json", "demo", newer.to_string().as_bytes()).unwrap_err();
        let StateError::Format { source, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(matches!(source, FormatError::TooNew { .. }));
        assert_eq!(
            crate::chain::one_line(&e),
            format!(
                "cannot read state file demo.state.json: the state file has format {}, newer than this liftoff reads (up to {STATE_FORMAT})",
                STATE_FORMAT + 1
            )
        );
    }

    #[test]
    fn the_steps_match_the_format() {
        assert_eq!(STATE_FILE.steps.len() + 1, STATE_FORMAT as usize);
    }

    #[test]
    fn refuses_another_installations_document() {
        let bytes = serde_json::to_vec(&State::empty("other")).unwrap();
        assert!(matches!(
            parse("x", "demo", &bytes),
            Err(StateError::WrongInstallation { .. })
        ));
    }
}
