//! Waiting for Google Cloud operations: compute operations through the SDK's
//! poller, GKE and Cloud SQL operations with `get_operation`; each with
//! liftoff's backoff, progress lines and a deadline from the spec's
//! `timeouts`.

use std::time::Duration;

use google_cloud_lro::{Poller, PollingResult};
use tokio::time::Instant;

use super::driver::Gcp;
use super::error;
use crate::plan::driver::{DriverError, Failure, Recorder};
use crate::wait::{self, Poll};

/// Drives a compute operation's poller (which starts it) until it is done,
/// `limit` passes, or it fails. A delete (`missing_ok`) of something
/// already gone is done.
pub async fn compute<P>(
    missing_ok: bool,
    g: &Gcp,
    recorder: &dyn Recorder,
    what: &str,
    timeout_key: &str,
    limit: Duration,
    mut poller: P,
) -> Result<(), DriverError>
where
    P: Poller<google_cloud_compute_v1::model::Operation, google_cloud_compute_v1::model::Operation>,
{
    let start = Instant::now();
    let mut attempt = 0u32;
    let mut transient = 0u32;
    loop {
        match poller.poll().await {
            None => return Ok(()),
            Some(PollingResult::Completed(Ok(_))) => return Ok(()),
            Some(PollingResult::Completed(Err(e))) if missing_ok && error::is_not_found(&e) => {
                return Ok(());
            }
            Some(PollingResult::Completed(Err(e))) => {
                let mapped = error::map(what, e);
                return Err(if mapped.failure == Failure::Transient {
                    DriverError::permanent(mapped.message.clone())
                        .with_hint(mapped.hint.clone().unwrap_or_default())
                } else {
                    mapped
                });
            }
            Some(PollingResult::InProgress(_)) => {
                transient = 0;
                recorder.progress(&format!("{what}: running ({}s)", start.elapsed().as_secs()));
            }
            Some(PollingResult::PollingError(e)) => {
                let mapped = error::map(what, e);
                if mapped.failure != Failure::Transient || transient >= wait::MAX_TRANSIENT {
                    return Err(mapped);
                }
                transient += 1;
            }
        }
        let waited = start.elapsed();
        if waited >= limit {
            return Err(DriverError::new(
                Failure::Timeout,
                format!("{what} was not done after {}s", waited.as_secs()),
            )
            .with_hint(wait::timeout_hint(timeout_key)));
        }
        let delay = g.opts.backoff.delay(attempt).min(limit - waited);
        attempt = attempt.saturating_add(1);
        tokio::time::sleep(delay).await;
    }
}

/// Polls a GKE operation (`projects/…/locations/…/operations/…`) until DONE.
pub async fn gke(
    g: &Gcp,
    recorder: &dyn Recorder,
    what: &str,
    timeout_key: &str,
    name: &str,
) -> Result<(), DriverError> {
    use google_cloud_container_v1::model::operation::Status;
    let limit = g.limit(timeout_key);
    wait::until(
        what,
        timeout_key,
        limit,
        g.opts.backoff,
        recorder,
        || async {
            let op =
                g.c.container
                    .get_operation()
                    .set_name(name)
                    .send()
                    .await
                    .map_err(|e| error::map("GetOperation", e))?;
            if op.status != Status::Done {
                return Ok(Poll::Pending(format!("{:?}", op.status).to_lowercase()));
            }
            match op.error.filter(|s| s.code != 0) {
                Some(s) => Err(error::operation_failed(what, &s.message)),
                None => Ok(Poll::Ready(())),
            }
        },
    )
    .await
}

/// Polls a Cloud SQL operation until DONE; the finished operation (a
/// backup's names its backup run).
pub async fn sql(
    g: &Gcp,
    recorder: &dyn Recorder,
    what: &str,
    timeout_key: &str,
    name: &str,
) -> Result<google_cloud_sql_v1::model::Operation, DriverError> {
    use google_cloud_sql_v1::model::operation::SqlOperationStatus;
    let limit = g.limit(timeout_key);
    wait::until(
        what,
        timeout_key,
        limit,
        g.opts.backoff,
        recorder,
        || async {
            let op =
                g.c.sql_operations
                    .get()
                    .set_project(&g.opts.project)
                    .set_operation(name)
                    .send()
                    .await
                    .map_err(|e| error::map("operations.get", e))?;
            if op.status != SqlOperationStatus::Done {
                return Ok(Poll::Pending(format!("{:?}", op.status).to_lowercase()));
            }
            match op.error.as_ref().and_then(|e| e.errors.first()) {
                Some(e) => Err(error::operation_failed(
                    what,
                    &format!("{} ({})", e.message, e.code),
                )),
                None => Ok(Poll::Ready(op)),
            }
        },
    )
    .await
}
