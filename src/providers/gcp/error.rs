//! The only place that knows the Google Cloud SDK's errors: each is turned
//! into a [`DriverError`] with a classification (retry, blocked, for good)
//! and a hint, and asked whether it means "not found" or "exists already".

use google_cloud_gax::error::Error;
use google_cloud_gax::error::rpc::Code;

use crate::plan::driver::{DriverError, Failure};

fn code(e: &Error) -> Option<Code> {
    e.status().map(|s| s.code)
}

/// The resource is not there (404, NOT_FOUND).
pub fn is_not_found(e: &Error) -> bool {
    code(e) == Some(Code::NotFound) || e.http_status_code() == Some(404)
}

/// The resource exists already (409, ALREADY_EXISTS).
/// A get's answer: the resource, `None` when Google says it does not exist,
/// or the mapped error naming `call`.
pub fn found<T>(call: &str, answer: Result<T, Error>) -> Result<Option<T>, DriverError> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(map(call, e)),
    }
}

pub fn is_conflict(e: &Error) -> bool {
    code(e) == Some(Code::AlreadyExists) || e.http_status_code() == Some(409)
}

/// Something else still uses the resource (compute's
/// `resourceInUseByAnotherResource`, "is already being used by").
pub fn is_in_use(e: &Error) -> bool {
    let message = e.status().map(|s| s.message.as_str()).unwrap_or_default();
    message.contains("already being used by") || message.contains("resourceInUseByAnotherResource")
}

/// A readable message for `e`: the service's own message, else the error.
pub fn message(e: &Error) -> String {
    match e.status() {
        Some(s) if !s.message.is_empty() => s.message.clone(),
        _ => e.to_string(),
    }
}

/// `e` from `call` as a driver error.
pub fn map(call: &str, e: Error) -> DriverError {
    let text = format!("GCP {call}: {}", message(&e));
    let transient = e.is_timeout()
        || e.is_io()
        || e.is_transport() && e.http_status_code().is_none()
        || matches!(
            code(&e),
            Some(Code::Unavailable | Code::ResourceExhausted | Code::Internal | Code::Aborted)
        )
        || matches!(e.http_status_code(), Some(429 | 500..=599));
    let failure = if is_in_use(&e) {
        Failure::Blocked
    } else if transient {
        Failure::Transient
    } else {
        Failure::Permanent
    };
    let hint = match (code(&e), e.http_status_code()) {
        _ if failure == Failure::Blocked => {
            "something liftoff did not create still uses it (named above): delete that, then run `liftoff destroy` again"
        }
        (Some(Code::Unauthenticated), _) | (_, Some(401)) => {
            "liftoff uses Application Default Credentials: run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a key file"
        }
        (Some(Code::PermissionDenied), _) | (_, Some(403)) => {
            "grant the caller the roles docs/gcp.md lists (and enable the API in the project)"
        }
        (Some(Code::ResourceExhausted), _) => {
            "raise the project's quota for it, or try another region"
        }
        _ if failure == Failure::Transient => "rerun: liftoff picks up where it stopped",
        _ => "check the spec's GCP settings (docs/gcp.md)",
    };
    let mut err = DriverError::new(failure, text).with_hint(hint);
    err.source = Some(Box::new(e));
    err
}

/// An operation that ended with an error.
pub fn operation_failed(what: &str, message: &str) -> DriverError {
    DriverError::permanent(format!("{what} failed: {message}"))
        .with_hint("fix what GCP reports (quota, permissions, settings), then rerun")
}

/// The credentials could not be built (no ADC, an unreadable key file).
pub fn credentials(e: impl std::fmt::Display) -> DriverError {
    DriverError::permanent(format!("no Google Cloud credentials: {e}")).with_hint(
        "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file",
    )
}

/// A client could not be built.
pub fn client(service: &str, e: impl std::fmt::Display) -> DriverError {
    DriverError::permanent(format!("cannot make the {service} client: {e}"))
        .with_hint("check LIFTOFF_GCP_ENDPOINT and the credentials")
}
