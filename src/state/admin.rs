//! What `liftoff state …` does with a stored state: who holds the lock,
//! the raw document, replacing it, moving it (with the secret files) to
//! another place, and removing a dead run's lock.

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::backend::{Backend, BackendError, Condition};
use super::lease::{now_ms, read_lock, span, timestamp};
use super::{
    Location, Settings, StorageError, bridge, connect, local, lock_name, open, state_name,
};
use crate::plan::state::State;
use crate::secret::Vault;

/// Who holds the lock, as read.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockInfo {
    pub url: String,
    pub holder: Option<String>,
    pub since: Option<String>,
    /// None for a local (kernel) lock: it has no lease.
    pub lease_left: Option<String>,
    pub expired: bool,
}

/// The lock of `installation`, if someone holds it. Reads only (a local
/// lock is tried and let go at once).
pub fn lock_info(
    location: &Location,
    installation: &str,
) -> Result<Option<LockInfo>, StorageError> {
    let name = lock_name(installation);
    match location {
        Location::Local(dir) => {
            if !dir.join(&name).exists() {
                return Ok(None);
            }
            match local::lock(dir, &name, "") {
                Ok(_free) => Ok(None),
                Err(local::LockOutcome::Held(who)) => {
                    let who = serde_json::from_str::<super::lease::Holder>(&who).ok();
                    Ok(Some(LockInfo {
                        url: dir.join(&name).display().to_string(),
                        since: who.as_ref().map(|h| timestamp(h.started_at)),
                        holder: who.map(|h| h.to_string()),
                        lease_left: None,
                        expired: false,
                    }))
                }
                Err(local::LockOutcome::Io(source)) => Err(StorageError::Io {
                    what: dir.join(&name).display().to_string(),
                    source,
                }),
            }
        }
        _ => {
            let backend = connect(location)?;
            let url = backend.url(&name);
            let Some(object) = super::read_object(&backend, location.bucket(), &name)? else {
                return Ok(None);
            };
            let held = read_lock(&object.bytes, &url)?;
            let left = held.lease_left(now_ms());
            Ok(Some(LockInfo {
                url,
                holder: Some(held.holder.to_string()),
                since: Some(timestamp(held.acquired_at)),
                lease_left: Some(span(left)),
                expired: left == 0,
            }))
        }
    }
}

/// The stored document as it is (no upgrade), and where it is.
pub fn pull(
    location: &Location,
    installation: &str,
) -> Result<(String, Option<Vec<u8>>), StorageError> {
    let backend = connect(location)?;
    let name = state_name(installation);
    let object = super::read_object(&backend, location.bucket(), &name)?;
    Ok((backend.url(&name), object.map(|o| o.bytes)))
}

/// Replaces the stored state with `bytes` under the lock. Refused for
/// another installation's document, and for one older than what is stored
/// (a lower serial) unless `force`. Returns the new serial.
pub fn push(
    settings: &Settings,
    installation: &str,
    bytes: &[u8],
    force: bool,
) -> Result<(u64, Vec<String>), StorageError> {
    let opened = open(settings, installation)?;
    let location = opened.store.location();
    let (pushed, _) = crate::plan::state::parse("the pushed file", installation, bytes)?;
    let stored = opened.store.snapshot();
    if pushed.serial < stored.serial && !force {
        return Err(StorageError::OlderPush {
            url: location,
            pushed: pushed.serial,
            stored: stored.serial,
        });
    }
    opened.store.replace(pushed)?;
    Ok((opened.store.snapshot().serial, opened.warnings))
}

/// A digest of what a state records (not its serial or layout).
pub fn digest(state: &State) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(&state.resources).expect("state serializes"),
    ))
}

/// What `migrate` did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Migrated {
    pub from: String,
    pub to: String,
    pub resources: usize,
    pub digest: String,
    pub secrets: Vec<String>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Moves the state of `installation` and its secret files from `settings`'
/// place to `to`, both locked meanwhile: copies, reads the copy back and
/// compares digests, then removes the source. Refused when `to` holds a
/// different state of this installation.
pub fn migrate(
    settings: &Settings,
    installation: &str,
    to: Location,
) -> Result<Migrated, StorageError> {
    let source = open(settings, installation)?;
    let target_settings = Settings {
        location: to.clone(),
        lease: settings.lease,
    };
    let target = open(&target_settings, installation)?;
    let state = source.store.snapshot();
    let held = target.store.snapshot();
    let want = digest(&state);
    if !held.resources.is_empty() && digest(&held) != want {
        return Err(StorageError::TargetHolds {
            url: target.store.location(),
            installation: installation.into(),
            serial: held.serial,
        });
    }
    let vault_error = |e: crate::secret::VaultError| StorageError::Io {
        what: e.location.clone(),
        source: std::io::Error::other(e.source.to_string()),
    };
    let mut secrets = Vec::new();
    for name in super::secret_names(installation) {
        let Some(value) = source.secrets.read(&name).map_err(vault_error)? else {
            continue;
        };
        target.secrets.write(&name, &value).map_err(vault_error)?;
        let back = target.secrets.read(&name).map_err(vault_error)?;
        if back.as_ref().map(|b| b.expose()) != Some(value.expose()) {
            return Err(StorageError::Unverified {
                url: target.secrets.location(&name),
                found: "(differs)".into(),
                expected: "(the source's)".into(),
            });
        }
        secrets.push(name);
    }
    // A source that never stored a state has no document to move.
    let stored = state.serial > 0;
    if stored {
        target.store.replace(state.clone())?;
        let (url, copy) = super::read(&to, installation)?;
        let found = digest(&copy);
        if found != want {
            return Err(StorageError::Unverified {
                url,
                found,
                expected: want,
            });
        }
        // Verified: the source goes, so one place holds the state.
        source.store.remove()?;
    }
    for name in &secrets {
        source.secrets.remove(name).map_err(vault_error)?;
    }
    let mut warnings = source.warnings;
    warnings.extend(target.warnings);
    Ok(Migrated {
        from: settings.location.display(),
        to: to.display(),
        resources: state.resources.len(),
        digest: want,
        secrets,
        warnings,
    })
}

/// Removes the lock of `installation`: one whose lease ran out, or with
/// `force` any. Returns whom it belonged to. A local lock is the kernel's:
/// it goes with its process, so it is never removed by hand.
pub fn unlock(
    location: &Location,
    installation: &str,
    force: bool,
) -> Result<String, StorageError> {
    let name = lock_name(installation);
    if location.is_local() {
        return match lock_info(location, installation)? {
            None => Err(StorageError::NotLocked {
                url: location.display(),
            }),
            Some(info) => Err(StorageError::Locked {
                url: info.url,
                holder: info.holder,
                since: info.since,
                lease_left: None,
            }),
        };
    }
    let backend: Arc<dyn Backend> = connect(location)?;
    let url = backend.url(&name);
    let Some(object) = super::read_object(&backend, location.bucket(), &name)? else {
        return Err(StorageError::NotLocked { url });
    };
    let holder = match read_lock(&object.bytes, &url) {
        Ok(held) => {
            let left = held.lease_left(now_ms());
            if left > 0 && !force {
                return Err(StorageError::Locked {
                    url,
                    holder: Some(held.holder.to_string()),
                    since: Some(timestamp(held.acquired_at)),
                    lease_left: Some(span(left)),
                });
            }
            held.holder.to_string()
        }
        Err(_) if force => "an unreadable lock".to_string(),
        Err(e) => return Err(e),
    };
    let (b, n, v) = (backend.clone(), name.clone(), object.version);
    match bridge::block(async move { b.delete(&n, Condition::Matches(v)).await }) {
        Ok(()) => Ok(holder),
        Err(BackendError::PreconditionFailed) => Err(StorageError::Locked {
            url,
            holder: None,
            since: None,
            lease_left: None,
        }),
        Err(e) => Err(StorageError::from_backend(
            "remove",
            url,
            location.bucket(),
            e,
        )),
    }
}
