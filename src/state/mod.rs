//! Where the state lives and how it is locked: the storage seam
//! ([`backend::Backend`]: a local folder, S3, GCS) under the engine's state
//! document (`crate::plan::state`). It keeps, per installation, the state
//! document, its lock, and liftoff's own secret files (the generated
//! database password, the sandbox CA key) — never inside the document.
//!
//! Every state write is a compare-and-swap on the version last read or
//! written: a write that lost a race is refused, never silently applied.
//! The lock is the kernel's `flock` for a local folder and a lease object
//! for a bucket ([`lease`]). docs/state.md tells the whole story.

pub mod admin;
pub mod backend;
mod bridge;
pub mod error;
#[cfg(feature = "gcp")]
mod gcs;
pub mod lease;
pub mod local;
#[cfg(feature = "aws")]
mod s3;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backend::{Backend, BackendError, Condition, Object, Sensitivity, Version};
pub use error::StorageError;

use crate::plan::state::{Persist, State, Store};
use crate::secret::Redacted;

/// Where an installation's state is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 {
        bucket: String,
        prefix: String,
        region: Option<String>,
        kms_key: Option<String>,
    },
    Gcs {
        bucket: String,
        prefix: String,
        endpoint: Option<String>,
        kms_key: Option<String>,
    },
}

impl Location {
    /// `s3://bucket/prefix`, `gs://bucket/prefix`, or a folder path
    /// (relative to `base`).
    pub fn parse(text: &str, base: &Path) -> Result<Location, StorageError> {
        let bad = |reason: &str| StorageError::BadLocation {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let split = |rest: &str| {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            (bucket.to_string(), prefix.trim_matches('/').to_string())
        };
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = split(rest);
            if bucket.is_empty() {
                return Err(bad("no bucket"));
            }
            Ok(Location::S3 {
                bucket,
                prefix,
                region: None,
                kms_key: None,
            })
        } else if let Some(rest) = text.strip_prefix("gs://") {
            let (bucket, prefix) = split(rest);
            if bucket.is_empty() {
                return Err(bad("no bucket"));
            }
            Ok(Location::Gcs {
                bucket,
                prefix,
                endpoint: None,
                kms_key: None,
            })
        } else if text.contains("://") {
            Err(bad("unknown scheme"))
        } else if text.is_empty() {
            Err(bad("empty"))
        } else {
            Ok(Location::Local(base.join(text)))
        }
    }

    /// The spec's `state:` section, when it names a backend.
    pub fn from_spec(
        spec: &crate::spec::model::StateSpec,
        base: &Path,
    ) -> Result<Option<Location>, StorageError> {
        use crate::spec::model::StateBackend;
        let bucket = |what: &str| {
            spec.bucket
                .clone()
                .ok_or_else(|| StorageError::BadLocation {
                    text: format!("state.backend: {what}"),
                    reason: "`state.bucket` is required".into(),
                })
        };
        let prefix = spec
            .prefix
            .as_deref()
            .unwrap_or("")
            .trim_matches('/')
            .to_string();
        Ok(match spec.backend {
            StateBackend::Local => spec.dir.as_ref().map(|d| Location::Local(base.join(d))),
            StateBackend::S3 => Some(Location::S3 {
                bucket: bucket("s3")?,
                prefix,
                region: spec.region.clone(),
                kms_key: spec.kms_key.clone(),
            }),
            StateBackend::Gcs => Some(Location::Gcs {
                bucket: bucket("gcs")?,
                prefix,
                endpoint: spec.endpoint.clone(),
                kms_key: spec.kms_key.clone(),
            }),
        })
    }

    /// As given on the command line.
    pub fn display(&self) -> String {
        let with = |scheme: &str, bucket: &str, prefix: &str| match prefix {
            "" => format!("{scheme}://{bucket}"),
            p => format!("{scheme}://{bucket}/{p}"),
        };
        match self {
            Location::Local(dir) => dir.display().to_string(),
            Location::S3 { bucket, prefix, .. } => with("s3", bucket, prefix),
            Location::Gcs { bucket, prefix, .. } => with("gs", bucket, prefix),
        }
    }

    fn bucket(&self) -> &str {
        match self {
            Location::Local(_) => "",
            Location::S3 { bucket, .. } | Location::Gcs { bucket, .. } => bucket,
        }
    }

    /// Whether the lock is the kernel's (a local folder).
    pub fn is_local(&self) -> bool {
        matches!(self, Location::Local(_))
    }
}

/// `prefix/name`, or `name` without a prefix.
#[cfg(any(feature = "aws", feature = "gcp"))]
pub(crate) fn join(prefix: &str, name: &str) -> String {
    match prefix {
        "" => name.to_string(),
        p => format!("{p}/{name}"),
    }
}

/// Where the state is and how long a bucket lock's lease lasts.
#[derive(Debug, Clone)]
pub struct Settings {
    pub location: Location,
    pub lease: Duration,
}

/// The default lease of a bucket lock: renewed every third of it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// The backend for `location`, connected.
pub fn connect(location: &Location) -> Result<Arc<dyn Backend>, StorageError> {
    match location.clone() {
        Location::Local(dir) => Ok(Arc::new(local::Local::new(dir))),
        #[cfg(feature = "aws")]
        Location::S3 {
            bucket,
            prefix,
            region,
            kms_key,
        } => Ok(Arc::new(bridge::block(s3::S3::connect(
            bucket, prefix, region, kms_key,
        )))),
        #[cfg(not(feature = "aws"))]
        Location::S3 { .. } => Err(StorageError::NotBuilt {
            backend: "s3",
            feature: "aws",
        }),
        #[cfg(feature = "gcp")]
        Location::Gcs {
            bucket,
            prefix,
            endpoint,
            kms_key,
        } => {
            let url = location.display();
            let gcs = gcs::Gcs::connect(bucket.clone(), prefix, endpoint, kms_key)
                .map_err(|e| StorageError::from_backend("connect to", url, &bucket, e))?;
            Ok(Arc::new(gcs))
        }
        #[cfg(not(feature = "gcp"))]
        Location::Gcs { .. } => Err(StorageError::NotBuilt {
            backend: "gcs",
            feature: "gcp",
        }),
    }
}

/// The object names of one installation.
pub fn state_name(installation: &str) -> String {
    format!("{installation}.state.json")
}
pub fn lock_name(installation: &str) -> String {
    format!("{installation}.lock")
}

/// The lock this run holds, released when dropped.
enum Guard {
    File(#[allow(dead_code)] local::FileLock),
    Lease(lease::Lease),
}

impl Guard {
    fn ensure_held(&self) -> Result<(), StorageError> {
        match self {
            Guard::File(_) => Ok(()),
            Guard::Lease(l) => l.ensure_held(),
        }
    }
}

/// The state document in its backend: each write is conditional on the
/// version this run last read or wrote.
struct Backed {
    backend: Arc<dyn Backend>,
    name: String,
    bucket: String,
    version: Mutex<Option<Version>>,
    guard: Guard,
}

impl Backed {
    fn condition(&self) -> Condition {
        match self.version.lock().expect("lock").clone() {
            Some(v) => Condition::Matches(v),
            None => Condition::Absent,
        }
    }
}

impl Persist for Backed {
    fn location(&self) -> String {
        self.backend.url(&self.name)
    }

    fn write(&self, bytes: Vec<u8>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.guard.ensure_held()?;
        let (backend, name, condition) =
            (self.backend.clone(), self.name.clone(), self.condition());
        let written = bridge::block(async move {
            backend
                .write(&name, bytes, condition, Sensitivity::Plain)
                .await
        });
        match written {
            Ok(v) => {
                *self.version.lock().expect("lock") = Some(v);
                Ok(())
            }
            Err(BackendError::PreconditionFailed) => Err(Box::new(StorageError::LostRace {
                url: self.location(),
            })),
            Err(e) => Err(Box::new(StorageError::from_backend(
                "write",
                self.location(),
                &self.bucket,
                e,
            ))),
        }
    }

    fn remove(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.guard.ensure_held()?;
        let (backend, name, condition) =
            (self.backend.clone(), self.name.clone(), self.condition());
        match bridge::block(async move { backend.delete(&name, condition).await }) {
            Ok(()) => {
                *self.version.lock().expect("lock") = None;
                Ok(())
            }
            Err(BackendError::PreconditionFailed) => Err(Box::new(StorageError::LostRace {
                url: self.location(),
            })),
            Err(e) => Err(Box::new(StorageError::from_backend(
                "remove",
                self.location(),
                &self.bucket,
                e,
            ))),
        }
    }
}

/// An open, locked state with what was worth a warning on the way.
pub struct Opened {
    pub store: Store,
    pub secrets: Arc<Secrets>,
    pub warnings: Vec<String>,
}

fn read_object(
    backend: &Arc<dyn Backend>,
    bucket: &str,
    name: &str,
) -> Result<Option<Object>, StorageError> {
    let (b, n) = (backend.clone(), name.to_string());
    bridge::block(async move { b.read(&n).await })
        .map_err(|e| StorageError::from_backend("read", backend.url(name), bucket, e))
}

/// The warnings a bucket check gives, or why the bucket cannot be used.
fn check(backend: &Arc<dyn Backend>, location: &Location) -> Result<Vec<String>, StorageError> {
    let b = backend.clone();
    let health = bridge::block(async move { b.check().await }).map_err(|e| {
        StorageError::from_backend("read bucket", location.display(), location.bucket(), e)
    })?;
    let mut warnings = Vec::new();
    if health.versioning != Some(true) {
        let how = match location {
            Location::S3 { bucket, .. } => format!(
                "aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled"
            ),
            Location::Gcs { bucket, .. } => {
                format!("gcloud storage buckets update gs://{bucket} --versioning")
            }
            Location::Local(_) => String::new(),
        };
        let what = match &health.versioning_unknown {
            Some(why) => format!(
                "cannot tell whether object versioning is on for bucket `{}` ({why})",
                location.bucket()
            ),
            None => format!("object versioning is off on bucket `{}`", location.bucket()),
        };
        warnings.push(format!(
            "{what}: without it an older state cannot be restored after a bad write. Turn it on: {how}"
        ));
    }
    Ok(warnings)
}

/// Opens the state of `installation` and takes its lock: the kernel's lock
/// for a local folder; a lease object, renewed while this process runs, for
/// a bucket (taking over one whose lease ran out, with a warning).
pub fn open(settings: &Settings, installation: &str) -> Result<Opened, StorageError> {
    let location = &settings.location;
    let backend = connect(location)?;
    let bucket = location.bucket().to_string();
    let holder = lease::Holder::me();
    let mut warnings = Vec::new();
    let guard = match location {
        Location::Local(dir) => {
            let text = serde_json::to_string(&holder).expect("holder serializes");
            match local::lock(dir, &lock_name(installation), &text) {
                Ok(l) => Guard::File(l),
                Err(local::LockOutcome::Held(who)) => {
                    let who = serde_json::from_str::<lease::Holder>(&who).ok();
                    return Err(StorageError::Locked {
                        url: dir.join(lock_name(installation)).display().to_string(),
                        since: who.as_ref().map(|h| lease::timestamp(h.started_at)),
                        holder: who.map(|h| h.to_string()),
                        lease_left: None,
                    });
                }
                Err(local::LockOutcome::Io(source)) => {
                    return Err(StorageError::Io {
                        what: format!("the lock in {}", dir.display()),
                        source,
                    });
                }
            }
        }
        _ => {
            warnings.extend(check(&backend, location)?);
            let b = backend.clone();
            let (name, bucket, lease) = (lock_name(installation), bucket.clone(), settings.lease);
            let (lease, warning) = bridge::block(async move {
                lease::Lease::acquire(b, &bucket, &name, holder, lease).await
            })?;
            warnings.extend(warning);
            Guard::Lease(lease)
        }
    };
    let name = state_name(installation);
    let (state, version) = match read_object(&backend, &bucket, &name)? {
        None => (State::empty(installation), None),
        Some(object) => {
            let (state, found) =
                crate::plan::state::parse(&backend.url(&name), installation, &object.bytes)?;
            if found != crate::plan::state::STATE_FORMAT {
                // The original is kept beside it (once) before any write.
                let backup = format!("{name}.format-{found}");
                let b = backend.clone();
                let kept = bridge::block(async move {
                    b.write(&backup, object.bytes, Condition::Absent, Sensitivity::Plain)
                        .await
                });
                match kept {
                    Ok(_) | Err(BackendError::PreconditionFailed) => {}
                    Err(e) => {
                        return Err(StorageError::from_backend(
                            "keep the older state beside",
                            backend.url(&name),
                            &bucket,
                            e,
                        ));
                    }
                }
                tracing::info!(
                    "upgraded state {} from format {found} to {}",
                    backend.url(&name),
                    crate::plan::state::STATE_FORMAT
                );
            }
            (state, Some(object.version))
        }
    };
    let secrets = Arc::new(Secrets {
        backend: backend.clone(),
        bucket: bucket.clone(),
    });
    let persist = Backed {
        backend,
        name,
        bucket,
        version: Mutex::new(version),
        guard,
    };
    Ok(Opened {
        store: Store::new(state, Box::new(persist)),
        secrets,
        warnings,
    })
}

/// Opens a local folder's state (tests, and callers without settings).
pub fn open_local(dir: &Path, installation: &str) -> Result<Store, StorageError> {
    open(
        &Settings {
            location: Location::Local(dir.to_path_buf()),
            lease: DEFAULT_LEASE,
        },
        installation,
    )
    .map(|o| o.store)
}

/// The state of `installation` as last written, for reading only: takes no
/// lock and creates nothing, so it answers while another run works. No
/// state yet: an empty one. Returns where it is and the state.
pub fn read(location: &Location, installation: &str) -> Result<(String, State), StorageError> {
    let backend = connect(location)?;
    let name = state_name(installation);
    let url = backend.url(&name);
    Ok(match read_object(&backend, location.bucket(), &name)? {
        None => (url, State::empty(installation)),
        Some(o) => {
            let (state, _) = crate::plan::state::parse(&url, installation, &o.bytes)?;
            (url, state)
        }
    })
}

/// liftoff's own secret files of an installation, kept in the state's
/// backend beside the state, never in it: `<installation>.<what>`. In a
/// bucket they are written with server-side encryption; in a folder, 0600.
pub struct Secrets {
    backend: Arc<dyn Backend>,
    bucket: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("at", &self.backend.url(""))
            .finish()
    }
}

/// The secret files' place for `location`, without taking the lock (for
/// commands that only read them, such as doctor).
pub fn secrets(location: &Location) -> Result<Arc<Secrets>, StorageError> {
    Ok(Arc::new(Secrets {
        backend: connect(location)?,
        bucket: location.bucket().to_string(),
    }))
}

impl Secrets {
    /// Secrets in a local folder.
    pub fn local(dir: &Path) -> Arc<Secrets> {
        Arc::new(Secrets {
            backend: Arc::new(local::Local::new(dir.to_path_buf())),
            bucket: String::new(),
        })
    }
}

impl crate::secret::Vault for Secrets {
    fn location(&self, name: &str) -> String {
        self.backend.url(name)
    }

    fn read(&self, name: &str) -> Result<Option<Redacted<String>>, crate::secret::VaultError> {
        let object = read_object(&self.backend, &self.bucket, name)
            .map_err(|e| crate::secret::VaultError::new(self.location(name), e))?;
        Ok(object.map(|o| Redacted::new(String::from_utf8_lossy(&o.bytes).trim().to_string())))
    }

    fn write(&self, name: &str, value: &Redacted<String>) -> Result<(), crate::secret::VaultError> {
        let (b, n, bytes) = (
            self.backend.clone(),
            name.to_string(),
            value.expose().as_bytes().to_vec(),
        );
        bridge::block(async move {
            b.write(&n, bytes, Condition::Always, Sensitivity::Secret)
                .await
        })
        .map(|_| ())
        .map_err(|e| {
            crate::secret::VaultError::new(
                self.location(name),
                StorageError::from_backend("write", self.location(name), &self.bucket, e),
            )
        })
    }

    fn remove(&self, name: &str) -> Result<(), crate::secret::VaultError> {
        let (b, n) = (self.backend.clone(), name.to_string());
        bridge::block(async move { b.delete(&n, Condition::Always).await }).map_err(|e| {
            crate::secret::VaultError::new(
                self.location(name),
                StorageError::from_backend("remove", self.location(name), &self.bucket, e),
            )
        })
    }
}

/// The secret files liftoff may keep for an installation (moved with its
/// state by `migrate`).
pub fn secret_names(installation: &str) -> Vec<String> {
    ["db-password", "sandbox-tls.key", "sandbox-tls.crt"]
        .iter()
        .map(|what| format!("{installation}.{what}"))
        .collect()
}
