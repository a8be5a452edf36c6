//! The database password of the platform's user (`postgres`): generated at
//! random, kept only as the secret `<installation>.db-password` beside the
//! state (a 0600 file in the state folder, or an encrypted object in the
//! state's bucket), written before the instance is created so a rerun
//! reuses it, and handed to Cloud SQL; it never reaches a log, plan, state
//! document or error.

use crate::plan::driver::DriverError;
use crate::secret::{Redacted, Vault};

/// The database user the platform connects as.
pub const USER: &str = "postgres";

/// The name the generated password of `installation` is kept under.
pub fn name(installation: &str) -> String {
    format!("{installation}.db-password")
}

/// The kept password, for a reader: never generates one.
pub fn read(secrets: &dyn Vault, installation: &str) -> Result<Redacted<String>, DriverError> {
    let name = name(installation);
    let missing = || {
        DriverError::permanent(format!(
            "cannot read the database password from {}",
            secrets.location(&name)
        ))
        .with_hint("liftoff keeps it there when it creates the Cloud SQL instance; restore it, or set a new password for `postgres` in Cloud SQL and keep it there (mode 0600 in a state folder)")
    };
    match secrets.read(&name) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(missing()),
        Err(e) => Err(missing().with_source(e)),
    }
}

/// The kept password, or a new random one kept before use.
pub fn password(secrets: &dyn Vault, installation: &str) -> Result<Redacted<String>, DriverError> {
    let name = name(installation);
    let cannot = |e: crate::secret::VaultError| {
        DriverError::permanent(format!("cannot keep {}", e.location)).with_source(e)
    };
    if let Some(kept) = secrets.read(&name).map_err(cannot)? {
        return Ok(kept);
    }
    let value = Redacted::new(crate::random::alphanumeric(32));
    secrets.write(&name, &value).map_err(cannot)?;
    Ok(value)
}
