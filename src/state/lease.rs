//! The lock of a bucket backend: an object `<name>.lock` created only when
//! absent (S3 `If-None-Match: *`, GCS `ifGenerationMatch=0`). It names its
//! holder and carries a lease that the holder renews while it runs (a
//! heartbeat, every third of the lease, each renewal conditional on the
//! lock being the one it wrote). A lock whose lease ran out (its holder was
//! killed, or lost its network) is taken over, again conditionally, with a
//! warning naming the old holder. A holder that finds its lock taken over
//! stops writing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::backend::{Backend, BackendError, Condition, Sensitivity, Version};
use super::error::StorageError;

/// Who runs liftoff: written into the lock for the next one to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    pub version: String,
    /// Unix time in milliseconds.
    pub started_at: u64,
}

impl Holder {
    /// This process.
    pub fn me() -> Holder {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let mut command: String = std::env::args()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(200)
            .collect();
        command.insert_str(0, "liftoff ");
        Holder {
            user,
            host,
            pid: std::process::id(),
            command: command.trim().to_string(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: now_ms(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{} (pid {}, `{}`, liftoff {})",
            self.user, self.host, self.pid, self.command, self.version
        )
    }
}

/// The lock object's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockDocument {
    /// Random, fresh for each acquisition: tells this holder's lock apart.
    pub id: String,
    pub holder: Holder,
    /// Unix time in milliseconds the lock was taken.
    pub acquired_at: u64,
    /// Unix time in milliseconds of the last renewal.
    pub renewed_at: u64,
    pub lease_ms: u64,
}

impl LockDocument {
    /// Milliseconds left on the lease at `now` (0: expired).
    pub fn lease_left(&self, now: u64) -> u64 {
        (self.renewed_at + self.lease_ms).saturating_sub(now)
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Unix milliseconds as `2026-12-01 18:30:05 UTC`.
pub fn timestamp(ms: u64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64) else {
        return format!("{ms} ms");
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A duration in milliseconds as `1m 30s` / `4s`.
pub fn span(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m {s}s"),
    }
}

/// A held lease lock; released (deleted) when dropped.
pub struct Lease {
    inner: Arc<Inner>,
    heartbeat: tokio::task::JoinHandle<()>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    name: String,
    document: Mutex<LockDocument>,
    version: Mutex<Version>,
    /// When the last renewal was confirmed (this process's clock).
    renewed: Mutex<Instant>,
    lost: AtomicBool,
}

impl Inner {
    fn url(&self) -> String {
        self.backend.url(&self.name)
    }
}

/// The lock as read, and whether its lease ran out.
pub fn read_lock(document: &[u8], url: &str) -> Result<LockDocument, StorageError> {
    serde_json::from_slice(document).map_err(|source| StorageError::CorruptLock {
        url: url.to_string(),
        source,
    })
}

fn locked(url: String, held: &LockDocument) -> StorageError {
    StorageError::Locked {
        url,
        holder: Some(held.holder.to_string()),
        since: Some(timestamp(held.acquired_at)),
        lease_left: Some(span(held.lease_left(now_ms()))),
    }
}

impl Lease {
    /// Takes the lock `name` for `holder` with a lease of `lease`, taking
    /// over one whose lease ran out. Returns the lock and, after a
    /// takeover, the warning to show.
    pub async fn acquire(
        backend: Arc<dyn Backend>,
        bucket: &str,
        name: &str,
        holder: Holder,
        lease: Duration,
    ) -> Result<(Lease, Option<String>), StorageError> {
        let url = backend.url(name);
        let lease_ms = lease.as_millis().max(1) as u64;
        let fail = |action, e| StorageError::from_backend(action, url.clone(), bucket, e);
        // A few rounds: the lock may vanish or change between our calls.
        for _ in 0..5 {
            let now = now_ms();
            let document = LockDocument {
                id: crate::random::alphanumeric(20),
                holder: holder.clone(),
                acquired_at: now,
                renewed_at: now,
                lease_ms,
            };
            let bytes = serde_json::to_vec_pretty(&document).expect("lock serializes");
            match backend
                .write(name, bytes.clone(), Condition::Absent, Sensitivity::Plain)
                .await
            {
                Ok(version) => {
                    return Ok((Lease::start(backend, name, document, version, lease), None));
                }
                Err(BackendError::PreconditionFailed) => {}
                Err(e) => return Err(fail("take the lock", e)),
            }
            let Some(current) = backend
                .read(name)
                .await
                .map_err(|e| fail("read the lock", e))?
            else {
                continue;
            };
            let held = read_lock(&current.bytes, &url)?;
            if held.lease_left(now_ms()) > 0 {
                return Err(locked(url, &held));
            }
            match backend
                .write(
                    name,
                    bytes,
                    Condition::Matches(current.version),
                    Sensitivity::Plain,
                )
                .await
            {
                Ok(version) => {
                    let warning = format!(
                        "took over the lock on {url} from {} (locked since {}; its lease ran out {} ago without renewal: that run was killed or cut off). \
                         Check that it is not still working before changing anything by hand.",
                        held.holder,
                        timestamp(held.acquired_at),
                        span(now_ms().saturating_sub(held.renewed_at + held.lease_ms)),
                    );
                    return Ok((
                        Lease::start(backend, name, document, version, lease),
                        Some(warning),
                    ));
                }
                Err(BackendError::PreconditionFailed) => {}
                Err(e) => return Err(fail("take the lock over", e)),
            }
        }
        Err(StorageError::Locked {
            url,
            holder: None,
            since: None,
            lease_left: None,
        })
    }

    fn start(
        backend: Arc<dyn Backend>,
        name: &str,
        document: LockDocument,
        version: Version,
        lease: Duration,
    ) -> Lease {
        let inner = Arc::new(Inner {
            backend,
            name: name.to_string(),
            document: Mutex::new(document),
            version: Mutex::new(version),
            renewed: Mutex::new(Instant::now()),
            lost: AtomicBool::new(false),
        });
        let beating = inner.clone();
        let heartbeat = super::bridge::spawn(async move {
            let every = (lease / 3).max(Duration::from_millis(10));
            loop {
                tokio::time::sleep(every).await;
                if !renew(&beating).await {
                    return;
                }
            }
        });
        Lease { inner, heartbeat }
    }

    /// Whether this run still holds the lock: not taken over, and renewed
    /// within its lease (a run that could not renew must assume another
    /// took over).
    pub fn ensure_held(&self) -> Result<(), StorageError> {
        let inner = &self.inner;
        if inner.lost.load(Ordering::SeqCst) {
            return Err(StorageError::LockLost {
                url: inner.url(),
                reason: "another run took it over".into(),
            });
        }
        let lease = Duration::from_millis(inner.document.lock().expect("lock").lease_ms);
        let since = inner.renewed.lock().expect("lock").elapsed();
        if since >= lease {
            return Err(StorageError::LockLost {
                url: inner.url(),
                reason: format!(
                    "its lease ({}) ran out before it could be renewed",
                    span(lease.as_millis() as u64)
                ),
            });
        }
        Ok(())
    }
}

/// One heartbeat: rewrites the lock with a fresh renewal time, only if it
/// is still ours. False when it is not (stop beating).
async fn renew(inner: &Inner) -> bool {
    let version = inner.version.lock().expect("lock").clone();
    let bytes = {
        let mut document = inner.document.lock().expect("lock");
        document.renewed_at = now_ms();
        serde_json::to_vec_pretty(&*document).expect("lock serializes")
    };
    let started = Instant::now();
    match inner
        .backend
        .write(
            &inner.name,
            bytes,
            Condition::Matches(version),
            Sensitivity::Plain,
        )
        .await
    {
        Ok(v) => {
            *inner.version.lock().expect("lock") = v;
            *inner.renewed.lock().expect("lock") = started;
            tracing::debug!(lock = %inner.url(), "lease renewed");
            true
        }
        Err(BackendError::PreconditionFailed) => {
            inner.lost.store(true, Ordering::SeqCst);
            tracing::warn!("the lock {} was taken over by another run", inner.url());
            false
        }
        Err(e) => {
            // Tried again at the next beat; writes stop once the lease ran out.
            tracing::warn!("cannot renew the lock {}: {e}", inner.url());
            true
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.heartbeat.abort();
        if self.inner.lost.load(Ordering::SeqCst) {
            return;
        }
        let inner = self.inner.clone();
        let released = super::bridge::block(async move {
            let version = inner.version.lock().expect("lock").clone();
            inner
                .backend
                .delete(&inner.name, Condition::Matches(version))
                .await
        });
        if let Err(e) = released {
            tracing::warn!(
                "cannot release the lock {}: {e}; the next run takes it over when its lease runs out",
                self.inner.url()
            );
        }
    }
}
