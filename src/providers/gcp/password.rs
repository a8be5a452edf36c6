//! The database password of the platform's user (`postgres`): generated at
//! random, kept only in `<state dir>/<installation>.db-password` (mode 0600,
//! written before the instance is created so a rerun reuses it) and handed
//! to Cloud SQL; it never reaches a log, plan, state file or error.

use std::path::{Path, PathBuf};

use crate::plan::driver::DriverError;
use crate::secret::Redacted;

/// The database user the platform connects as.
pub const USER: &str = "postgres";

/// Where the generated password of `installation` is kept.
pub fn path_in(state_dir: &Path, installation: &str) -> PathBuf {
    state_dir.join(format!("{installation}.db-password"))
}

/// The kept password, for a reader: never generates one.
pub fn read(path: &Path) -> Result<Redacted<String>, DriverError> {
    std::fs::read_to_string(path)
        .map(|t| Redacted::new(t.trim().to_string()))
        .map_err(|e| {
            DriverError::permanent(format!("cannot read the database password from {}", path.display()))
                .with_source(e)
                .with_hint("liftoff keeps it there when it creates the Cloud SQL instance; restore the file, or set a new password for `postgres` in Cloud SQL and write it there (mode 0600)")
        })
}

/// The kept password, or a new random one written (0600) before use.
pub fn password(state_dir: &Path, installation: &str) -> Result<Redacted<String>, DriverError> {
    let path = path_in(state_dir, installation);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(Redacted::new(text.trim().to_string()));
    }
    let value = crate::random::alphanumeric(32);
    crate::files::create_private_dir(state_dir)
        .and_then(|()| crate::files::write_atomic(&path, value.as_bytes()))
        .map_err(|e| {
            DriverError::permanent(format!("cannot write {}", path.display())).with_source(e)
        })?;
    Ok(Redacted::new(value))
}
