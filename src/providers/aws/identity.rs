//! Who liftoff acts as on AWS, found once before anything else: the
//! credentials from the usual chain and the caller identity (account and
//! ARN, from STS GetCallerIdentity), each under a short deadline. Without
//! credentials the run stops at once, saying what was tried; the plan
//! header shows the account it is about to change.

use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError};

use super::error;
use crate::plan::driver::{DriverError, Failure};

/// How long finding credentials and asking STS who they belong to may take.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// The AWS identity a run acts as.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub region: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AWS account {} as {} in {}",
            self.account, self.arn, self.region
        )
    }
}

/// Where the SDK's default chain looks for credentials, in order.
const TRIED: &str = "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), \
the profile in ~/.aws/config and ~/.aws/credentials (AWS_PROFILE, else `default`) \
including SSO and credential_process, a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE), \
container credentials (ECS), and EC2 instance metadata (IMDS)";

const HINT: &str = "set AWS_PROFILE to a profile in ~/.aws/config (run `aws sso login --profile NAME` \
first if it uses SSO), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; \
`aws sts get-caller-identity` shows what the AWS CLI finds";

/// Resolves the credentials and the caller identity for `region`.
pub async fn resolve(region: &str) -> Result<Identity, DriverError> {
    let sdk = super::config_loader()
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await;
    let provider = sdk.credentials_provider().ok_or_else(|| {
        DriverError::permanent(format!("no AWS credentials: nothing to look in ({TRIED})"))
            .with_hint(HINT)
    })?;
    match tokio::time::timeout(DEADLINE, provider.provide_credentials()).await {
        Err(_) => {
            return Err(DriverError::new(
                Failure::Timeout,
                format!(
                    "no AWS credentials found within {}s; tried {TRIED}",
                    DEADLINE.as_secs()
                ),
            )
            .with_hint(HINT));
        }
        Ok(Err(e)) => return Err(credentials_error(&e)),
        Ok(Ok(_)) => {}
    }
    let sts = aws_sdk_sts::Client::new(&sdk);
    let answer = tokio::time::timeout(DEADLINE, sts.get_caller_identity().send()).await;
    let out = match answer {
        Err(_) => {
            return Err(DriverError::new(
                Failure::Timeout,
                format!(
                    "AWS STS did not answer GetCallerIdentity within {}s",
                    DEADLINE.as_secs()
                ),
            )
            .with_hint("check the network path to AWS (proxy, VPN, AWS_ENDPOINT_URL) and the region, then rerun"));
        }
        Ok(r) => r.map_err(|e| error::map("STS GetCallerIdentity", e))?,
    };
    Ok(Identity {
        account: out.account().unwrap_or("unknown").to_string(),
        arn: out.arn().unwrap_or("unknown").to_string(),
        region: region.to_string(),
    })
}

/// One plain sentence for a failed credentials chain: what was tried and,
/// when the chain says more than "nothing found", its own reason.
fn credentials_error(e: &CredentialsError) -> DriverError {
    let reason = match e {
        CredentialsError::CredentialsNotLoaded(_) => None,
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text = s.to_string();
                source = s.source();
            }
            Some(text)
        }
    };
    let message = match reason {
        None => format!("no AWS credentials found; tried {TRIED}"),
        Some(r) => format!("AWS credentials could not be loaded: {r}; looked in {TRIED}"),
    };
    DriverError::permanent(message).with_hint(HINT)
}
