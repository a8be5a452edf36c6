//! The storage seam: a place that keeps named objects and writes them only
//! when a condition holds (the object is absent, or unchanged since it was
//! read). Locking and compare-and-swap state writes are built on that alone,
//! so a bucket needs no extra service. One implementation per storage: a
//! local folder, S3, GCS.

use async_trait::async_trait;

/// The version of a stored object as its storage names it: an S3 ETag, a
/// GCS generation, a digest of a local file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(pub String);

/// An object as read, with its version.
#[derive(Debug, Clone)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub version: Version,
}

/// When a write or delete may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Always.
    Always,
    /// Only when no object has the name (S3 `If-None-Match: *`, GCS
    /// `ifGenerationMatch=0`).
    Absent,
    /// Only when the object is still this version (S3 `If-Match`, GCS
    /// `ifGenerationMatch`).
    Matches(Version),
}

/// What an object holds: secrets are encrypted by the storage (S3 SSE,
/// SSE-KMS with a key) and kept owner-only in a local folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    Plain,
    Secret,
}

/// Why a storage call failed, in the terms liftoff acts on.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The condition did not hold: someone else wrote (or removed) it.
    #[error("the object changed since it was read (precondition failed)")]
    PreconditionFailed,
    #[error("the bucket does not exist")]
    NoBucket,
    #[error("access denied: {0}")]
    Denied(String),
    #[error("{0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl BackendError {
    pub fn other(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        BackendError::Other(e.into())
    }
}

/// What a bucket check found that is worth a warning.
#[derive(Debug, Default)]
pub struct Health {
    /// Object versioning: `Some(false)` when off (an older state cannot be
    /// restored), `None` when it could not be read (and why).
    pub versioning: Option<bool>,
    pub versioning_unknown: Option<String>,
}

/// A storage for the state, its lock and liftoff's secret files.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Where `name` is kept, for messages (`s3://bucket/prefix/name`, a path).
    fn url(&self, name: &str) -> String;
    /// The object, or `None` when there is none.
    async fn read(&self, name: &str) -> Result<Option<Object>, BackendError>;
    /// Writes the whole object when `condition` holds; its new version.
    async fn write(
        &self,
        name: &str,
        bytes: Vec<u8>,
        condition: Condition,
        sensitivity: Sensitivity,
    ) -> Result<Version, BackendError>;
    /// Removes the object (no error when there is none).
    async fn delete(&self, name: &str, condition: Condition) -> Result<(), BackendError>;
    /// Checks the bucket exists and is readable; what deserves a warning.
    async fn check(&self) -> Result<Health, BackendError>;
}
