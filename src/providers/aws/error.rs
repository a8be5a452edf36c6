//! The one place that knows the SDK's error types: maps them to
//! [`DriverError`] (Transient for throttling and 5xx, Permanent otherwise,
//! with a hint where one helps).

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use crate::plan::driver::{DriverError, Failure};

/// Error codes AWS uses when it is throttling the caller.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// The code (`InvalidVpcID.NotFound`, …) and HTTP status of an SDK error.
pub fn code_of<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<String> {
    err.code().map(str::to_string)
}

/// Whether the error says the resource does not exist.
pub fn is_not_found<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    code_of(err).is_some_and(|c| {
        c.ends_with("NotFound")
            || c.ends_with("NotFoundFault")
            || c == "NoSuchEntity"
            || c == "ResourceNotFoundException"
            || c == "InvalidLaunchTemplateName.NotFoundException"
    })
}

/// Codes, besides "not found", with which AWS answers a retry of a call that
/// takes something away and that it had already applied.
const ALREADY_UNDONE: &[&str] = &["Gateway.NotAttached"];

/// Whether a removing call's error says it is already done.
fn is_already_undone<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    is_not_found(err) || err.code().is_some_and(|c| ALREADY_UNDONE.contains(&c))
}

/// Whether AWS refused because something else still uses the resource.
pub fn is_dependency_violation<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    code_of(err).is_some_and(|c| {
        c == "DependencyViolation" || c == "ResourceInUseException" || c == "InvalidIPAddress.InUse"
    })
}

/// Whether EKS refused a fresh IAM role that has not propagated yet
/// ("Role … cannot be assumed"), which passes within a minute or so.
pub fn is_role_not_ready<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code() == Some("InvalidParameterException")
        && err
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("assume"))
}

/// Maps an SDK error from `what` (e.g. "CreateVpc") to a driver error.
pub fn map<E>(
    what: &str,
    err: SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> DriverError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or("").to_string();
    let text = err.message().unwrap_or("").to_string();
    let failure = classify(&code, status, &err);
    let detail = match (code.is_empty(), text.is_empty()) {
        (true, _) => describe_transport(&err),
        (false, true) => code.clone(),
        (false, false) => format!("{code}: {text}"),
    };
    let mut e = DriverError::new(failure, format!("AWS {what} failed: {detail}"));
    if let Some(h) = hint(&code, failure) {
        e = e.with_hint(h);
    }
    e
}

fn classify<E, R>(code: &str, status: Option<u16>, err: &SdkError<E, R>) -> Failure {
    if THROTTLING.contains(&code) || status.is_some_and(|s| s >= 500) {
        return Failure::Transient;
    }
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Failure::Transient
        }
        _ if code == "DependencyViolation" => Failure::Blocked,
        _ => Failure::Permanent,
    }
}

fn describe_transport<E, R>(err: &SdkError<E, R>) -> String {
    match err {
        SdkError::TimeoutError(_) => "the request timed out".into(),
        SdkError::DispatchFailure(_) => "could not reach AWS (network or endpoint)".into(),
        SdkError::ResponseError(_) => "the response could not be read".into(),
        SdkError::ConstructionFailure(_) => "the request could not be built".into(),
        _ => "unknown error".into(),
    }
}

fn hint(code: &str, failure: Failure) -> Option<String> {
    let h = match code {
        "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" => {
            "the AWS identity in use lacks a permission this step needs; check the IAM policy (see `aws sts get-caller-identity`)"
        }
        "AuthFailure" | "InvalidClientTokenId" | "ExpiredToken" | "UnrecognizedClientException" => {
            "AWS did not accept the credentials; refresh them (AWS_PROFILE, `aws sso login`) and retry"
        }
        "VpcLimitExceeded"
        | "AddressLimitExceeded"
        | "NatGatewayLimitExceeded"
        | "InstanceQuotaExceeded"
        | "LimitExceeded"
        | "ResourceLimitExceededException" => {
            "an AWS service quota is reached; raise it in the Service Quotas console or free some resources"
        }
        _ if failure == Failure::Transient => {
            "AWS is throttling or failing for now; rerun the same command, it picks up where it stopped"
        }
        _ => return None,
    };
    Some(h.into())
}

/// How a delete call ended.
pub enum Deleted {
    /// Gone now, or was already.
    Done,
    /// AWS refused: something else still uses it.
    Blocked,
    Failed(DriverError),
}

/// Classifies the result of a delete call named `what`.
pub fn deleted<T, E>(
    what: &str,
    r: Result<T, SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>>,
) -> Deleted
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(_) => Deleted::Done,
        Err(e) if is_already_undone(&e) => Deleted::Done,
        Err(e) if is_dependency_violation(&e) => Deleted::Blocked,
        Err(e) => Deleted::Failed(map(what, e)),
    }
}

/// The result of a call that takes something away (detach a policy,
/// disassociate a route table, revoke a rule): "not found" is success, since
/// it is what a retry of a call AWS had already applied answers.
pub fn undone<T, E>(
    what: &str,
    r: Result<T, SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>>,
) -> Result<(), DriverError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_already_undone(&e) => Ok(()),
        Err(e) => Err(map(what, e)),
    }
}

/// The result of a call that adds something (a route, an association): an
/// answer saying it is already there is success, since it is what a retry of
/// a call AWS had already applied gets.
pub fn added<T, E>(
    what: &str,
    r: Result<T, SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>>,
) -> Result<(), DriverError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    const ALREADY_THERE: &[&str] = &[
        "RouteAlreadyExists",
        "Resource.AlreadyAssociated",
        "InvalidPermission.Duplicate",
    ];
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code().is_some_and(|c| ALREADY_THERE.contains(&c)) => Ok(()),
        Err(e) => Err(map(what, e)),
    }
}

/// Whether a create failed because what it would make is already there
/// (a retried CreateSubnet that AWS had applied: `InvalidSubnet.Conflict`;
/// a retried CreateSecurityGroup: `InvalidGroup.Duplicate`).
pub fn is_conflict<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(
        err.code(),
        Some("InvalidSubnet.Conflict" | "InvalidGroup.Duplicate")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::error::ErrorMetadata;
    use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;

    fn failed(code: &str, status: u16) -> DriverError {
        let err =
            DescribeVpcsError::generic(ErrorMetadata::builder().code(code).message("m").build());
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), "".into());
        map("DescribeVpcs", SdkError::service_error(err, raw))
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        for (code, status) in [
            ("Throttling", 400),
            ("RequestLimitExceeded", 503),
            ("InternalError", 500),
            ("ThrottlingException", 400),
        ] {
            let e = failed(code, status);
            assert_eq!(e.failure, Failure::Transient, "{code}");
            assert!(e.hint.unwrap().contains("rerun"), "{code}");
        }
    }

    #[test]
    fn other_errors_are_permanent_with_hints_where_known() {
        let e = failed("InvalidParameterValue", 400);
        assert_eq!(e.failure, Failure::Permanent);
        assert_eq!(
            e.message,
            "AWS DescribeVpcs failed: InvalidParameterValue: m"
        );
        let e = failed("UnauthorizedOperation", 403);
        assert_eq!(e.failure, Failure::Permanent);
        assert!(e.hint.unwrap().contains("permission"));
        assert!(
            failed("VpcLimitExceeded", 400)
                .hint
                .unwrap()
                .contains("quota")
        );
        assert_eq!(failed("DependencyViolation", 400).failure, Failure::Blocked);
    }

    #[test]
    fn not_found_and_in_use_are_recognised() {
        let err = |code: &str| {
            let e = DescribeVpcsError::generic(ErrorMetadata::builder().code(code).build());
            SdkError::service_error(
                e,
                HttpResponse::new(StatusCode::try_from(400).unwrap(), "".into()),
            )
        };
        assert!(is_not_found(&err("InvalidVpcID.NotFound")));
        assert!(is_not_found(&err("DBInstanceNotFound")));
        assert!(is_not_found(&err("DBSubnetGroupNotFoundFault")));
        assert!(is_not_found(&err("NoSuchEntity")));
        assert!(is_not_found(&err("InvalidAssociationID.NotFound")));
        assert!(is_not_found(&err("InvalidPermission.NotFound")));
        assert!(!is_not_found(&err("Throttling")));
        assert!(is_dependency_violation(&err("DependencyViolation")));
    }
}
