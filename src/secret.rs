//! `Redacted<T>`: a secret that cannot leak through Debug, Display or serde.

use std::fmt;

/// Holds a secret value. Debug and Display print `(redacted)`; it does not
/// implement Serialize, so it cannot end up in a plan or the state file.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    pub fn new(value: T) -> Self {
        Redacted(value)
    }
    /// The secret itself: call only where it is handed to its destination.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// Where liftoff keeps the secrets it generates (the database password,
/// the sandbox CA key): beside the state, in its backend, never in it.
pub trait Vault: Send + Sync + fmt::Debug {
    /// Where `name` is kept, for messages (a path or a URL).
    fn location(&self, name: &str) -> String;
    /// The kept value, or `None` when nothing is kept under `name`.
    fn read(&self, name: &str) -> Result<Option<Redacted<String>>, VaultError>;
    /// Keeps `value` under `name` (replacing what was there).
    fn write(&self, name: &str, value: &Redacted<String>) -> Result<(), VaultError>;
    /// Forgets `name` (no error when nothing is kept).
    fn remove(&self, name: &str) -> Result<(), VaultError>;
}

/// Secrets in a local folder: `<dir>/<name>`, 0600 in a 0700 folder, each
/// written whole.
#[derive(Debug, Clone)]
pub struct FolderVault(pub std::path::PathBuf);

impl Vault for FolderVault {
    fn location(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn read(&self, name: &str) -> Result<Option<Redacted<String>>, VaultError> {
        match std::fs::read_to_string(self.0.join(name)) {
            Ok(text) => Ok(Some(Redacted::new(text.trim().to_string()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(VaultError::new(self.location(name), e)),
        }
    }

    fn write(&self, name: &str, value: &Redacted<String>) -> Result<(), VaultError> {
        crate::files::create_private_dir(&self.0)
            .and_then(|()| {
                crate::files::write_atomic(&self.0.join(name), value.expose().as_bytes())
            })
            .map_err(|e| VaultError::new(self.location(name), e))
    }

    fn remove(&self, name: &str) -> Result<(), VaultError> {
        match std::fs::remove_file(self.0.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(VaultError::new(self.location(name), e))
            }
            _ => Ok(()),
        }
    }
}

/// A kept secret could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the secret kept at {location}")]
pub struct VaultError {
    pub location: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl VaultError {
    pub fn new(
        location: String,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        VaultError {
            location,
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Redacted::new("hunter2".to_string());
        assert_eq!(
            format!("{s} {s:?} {:?}", Some(&s)),
            "(redacted) (redacted) Some((redacted))"
        );
        assert_eq!(s.expose(), "hunter2");
    }
}
