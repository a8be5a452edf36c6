//! The cloud identity a run acts as, resolved once before anything reads
//! or changes the cloud: no credentials stop the run at once, and the plan
//! header names the account about to be changed.

use super::Cli;
use crate::error::Error;
use crate::spec::Spec;

/// The identity line for the plan header (`None` when no cloud SDK is
/// involved), or the error that stops the run.
pub(super) async fn identify(cli: &Cli, spec: &Spec) -> Result<Option<String>, Error> {
    #[cfg(feature = "aws")]
    if spec.cloud.provider == crate::spec::Provider::Aws {
        let region = spec.cloud.region.as_deref().unwrap_or("us-east-1");
        let identity = crate::providers::aws::identity::resolve(region).await?;
        return Ok(Some(format!("Acting as {identity}.")));
    }
    let _ = (cli, spec);
    Ok(None)
}
