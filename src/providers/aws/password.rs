//! The database master password: generated at random, kept only in
//! `<state dir>/<installation>.db-password` (mode 0600, written before the
//! database is created so a rerun reuses it) and handed to AWS; it never
//! reaches a log, plan, state file or error.

use std::path::{Path, PathBuf};

use super::Aws;
use crate::plan::driver::DriverError;
use crate::secret::Redacted;

/// The database's master user.
pub const MASTER_USER: &str = "liftoff_admin";

/// Where the generated master password of `installation` is kept.
pub fn path_in(state_dir: &Path, installation: &str) -> PathBuf {
    state_dir.join(format!("{installation}.db-password"))
}

/// Where the generated master password is kept.
pub fn password_path(a: &Aws) -> PathBuf {
    path_in(&a.opts.state_dir, &a.opts.installation)
}

/// The kept password, for a reader (the hand-off to the cluster phase):
/// never generates one, since the database was created with the kept one.
pub fn read(path: &Path) -> Result<Redacted<String>, DriverError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Redacted::new(text.trim().to_string())),
        Err(e) => Err(DriverError::permanent(format!(
            "cannot read the database master password from {}",
            path.display()
        ))
        .with_source(e)
        .with_hint(
            "liftoff keeps it there when it creates the database; restore the file from a backup, \
             or reset the password in RDS and write it there (mode 0600)",
        )),
    }
}

/// The kept password, or a new random one written (0600) before use, so a
/// rerun after a crash reuses it.
pub fn password(a: &Aws) -> Result<Redacted<String>, DriverError> {
    let path = password_path(a);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(Redacted::new(text.trim().to_string()));
    }
    let value = crate::random::alphanumeric(32);
    crate::files::create_private_dir(&a.opts.state_dir)
        .and_then(|()| crate::files::write_atomic(&path, value.as_bytes()))
        .map_err(|e| {
            DriverError::permanent(format!("cannot write {}", path.display())).with_source(e)
        })?;
    Ok(Redacted::new(value))
}
