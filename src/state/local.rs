//! The local backend: objects are files in a folder (0700, files 0600,
//! written whole through a rename). A version is the digest of a file's
//! bytes. Its lock is an advisory `flock` on `<name>.lock` that the kernel
//! drops when the holder exits or is killed, so no stale lock survives a
//! crash; the holder writes who it is into that file for the next one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::backend::{Backend, BackendError, Condition, Health, Object, Sensitivity, Version};

pub struct Local {
    dir: PathBuf,
}

impl Local {
    pub fn new(dir: PathBuf) -> Local {
        Local { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn version_of(bytes: &[u8]) -> Version {
    Version(hex::encode(Sha256::digest(bytes)))
}

fn io(e: std::io::Error) -> BackendError {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        BackendError::Denied(e.to_string())
    } else {
        BackendError::other(e)
    }
}

fn read_file(path: &Path) -> Result<Option<Object>, BackendError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(Object {
            version: version_of(&bytes),
            bytes,
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    }
}

fn holds(path: &Path, condition: &Condition) -> Result<bool, BackendError> {
    Ok(match condition {
        Condition::Always => true,
        Condition::Absent => read_file(path)?.is_none(),
        Condition::Matches(v) => read_file(path)?.is_some_and(|o| &o.version == v),
    })
}

#[async_trait]
impl Backend for Local {
    fn url(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    async fn read(&self, name: &str) -> Result<Option<Object>, BackendError> {
        read_file(&self.path(name))
    }

    async fn write(
        &self,
        name: &str,
        bytes: Vec<u8>,
        condition: Condition,
        _sensitivity: Sensitivity,
    ) -> Result<Version, BackendError> {
        let path = self.path(name);
        if !holds(&path, &condition)? {
            return Err(BackendError::PreconditionFailed);
        }
        crate::files::create_private_dir(&self.dir).map_err(io)?;
        crate::files::write_atomic(&path, &bytes).map_err(io)?;
        Ok(version_of(&bytes))
    }

    async fn delete(&self, name: &str, condition: Condition) -> Result<(), BackendError> {
        let path = self.path(name);
        if !holds(&path, &condition)? {
            return Err(BackendError::PreconditionFailed);
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }

    async fn check(&self) -> Result<Health, BackendError> {
        Ok(Health {
            versioning: Some(true),
            versioning_unknown: None,
        })
    }
}

/// A held `flock` on `<dir>/<name>`; released when dropped (or when the
/// process ends, however it ends).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// Takes the lock file `<dir>/<name>` and writes `holder` into it, or says
/// who holds it (what the holder wrote, when it could be read).
pub fn lock(dir: &Path, name: &str, holder: &str) -> Result<FileLock, LockOutcome> {
    let path = dir.join(name);
    crate::files::create_private_dir(dir).map_err(LockOutcome::Io)?;
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(LockOutcome::Io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(LockOutcome::Held(text.trim().to_string()));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(LockOutcome::Io(e)),
    }
    // Who holds it, for the next one to read; the lock itself is the flock.
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(holder.as_bytes()));
    Ok(FileLock { _file: file })
}

/// Why [`lock`] did not take the lock.
#[derive(Debug)]
pub enum LockOutcome {
    /// Another process holds it; what it wrote about itself.
    Held(String),
    Io(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conditional_writes_hold_on_files() {
        let dir = tempfile::tempdir().unwrap();
        let b = Local::new(dir.path().join("s"));
        assert!(b.read("x").await.unwrap().is_none());
        let v1 = b
            .write("x", b"one".to_vec(), Condition::Absent, Sensitivity::Plain)
            .await
            .unwrap();
        assert!(matches!(
            b.write("x", b"two".to_vec(), Condition::Absent, Sensitivity::Plain)
                .await,
            Err(BackendError::PreconditionFailed)
        ));
        let v2 = b
            .write(
                "x",
                b"two".to_vec(),
                Condition::Matches(v1.clone()),
                Sensitivity::Plain,
            )
            .await
            .unwrap();
        assert!(matches!(
            b.write(
                "x",
                b"three".to_vec(),
                Condition::Matches(v1),
                Sensitivity::Plain
            )
            .await,
            Err(BackendError::PreconditionFailed)
        ));
        assert_eq!(b.read("x").await.unwrap().unwrap().version, v2);
        b.delete("x", Condition::Always).await.unwrap();
        b.delete("x", Condition::Always).await.unwrap();
    }

    #[test]
    fn a_held_lock_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path(), "demo.lock", "alice@laptop").unwrap();
        match lock(dir.path(), "demo.lock", "bob@ci") {
            Err(LockOutcome::Held(who)) => assert_eq!(who, "alice@laptop"),
            other => panic!("{other:?}"),
        }
        drop(held);
        lock(dir.path(), "demo.lock", "bob@ci").unwrap();
    }
}
