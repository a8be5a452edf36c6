//! The database master password: generated at random, kept only as the
//! secret `<installation>.db-password` beside the state (a 0600 file in the
//! state folder, or an encrypted object in the state's bucket), written
//! before the database is created so a rerun reuses it, and handed to AWS;
//! it never reaches a log, plan, state document or error.

use super::Aws;
use crate::plan::driver::DriverError;
use crate::secret::{Redacted, Vault};

/// The database's master user.
pub const MASTER_USER: &str = "liftoff_admin";

/// The name the generated master password of `installation` is kept under.
pub fn name(installation: &str) -> String {
    format!("{installation}.db-password")
}

/// Where the generated master password is kept (a path or a URL).
pub fn password_path(a: &Aws) -> String {
    a.opts.secrets.location(&name(&a.opts.installation))
}

/// The kept password, for a reader (the hand-off to the cluster phase):
/// never generates one, since the database was created with the kept one.
pub fn read(secrets: &dyn Vault, installation: &str) -> Result<Redacted<String>, DriverError> {
    let name = name(installation);
    let missing = |e: Option<crate::secret::VaultError>| {
        let error = DriverError::permanent(format!(
            "cannot read the database master password from {}",
            secrets.location(&name)
        ))
        .with_hint(
            "liftoff keeps it there when it creates the database; restore it from a backup, \
             or reset the password in RDS and keep it there (mode 0600 in a state folder)",
        );
        match e {
            Some(e) => error.with_source(e),
            None => error,
        }
    };
    match secrets.read(&name) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(missing(None)),
        Err(e) => Err(missing(Some(e))),
    }
}

/// The kept password, or a new random one kept before use, so a rerun
/// after a crash reuses it.
pub fn password(a: &Aws) -> Result<Redacted<String>, DriverError> {
    let name = name(&a.opts.installation);
    let cannot = |e: crate::secret::VaultError| {
        DriverError::permanent(format!("cannot keep {}", e.location)).with_source(e)
    };
    if let Some(kept) = a.opts.secrets.read(&name).map_err(cannot)? {
        return Ok(kept);
    }
    let value = Redacted::new(crate::random::alphanumeric(32));
    a.opts.secrets.write(&name, &value).map_err(cannot)?;
    Ok(value)
}
