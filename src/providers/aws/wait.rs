//! Polling until a resource reaches a state: capped exponential backoff with
//! jitter, a deadline from the spec's `timeouts.*`, progress lines through
//! [`Recorder::progress`], and a bounded number of retries when a poll
//! fails transiently (throttling, 5xx).

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::plan::driver::{DriverError, Failure, Recorder};

/// Consecutive transient poll failures tolerated before giving up.
pub const MAX_TRANSIENT: u32 = 8;

/// What one poll saw.
pub enum Poll<T> {
    Ready(T),
    /// Not there yet; the text is the state AWS reports ("pending").
    Pending(String),
}

/// How long to wait between polls.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// Base from `LIFTOFF_AWS_POLL_MS` (tests make it tiny), else 2 s; the
    /// cap is 15 bases (30 s by default).
    pub fn from_env() -> Self {
        let base = std::env::var("LIFTOFF_AWS_POLL_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Duration::from_secs(2), Duration::from_millis);
        Backoff {
            base,
            cap: base.saturating_mul(15),
        }
    }

    /// How long to keep retrying a call AWS refuses for a passing reason
    /// (a resource still in use, a role not yet propagated): 150 base
    /// delays, 5 minutes by default, never under 5 seconds.
    pub fn patience(&self) -> Duration {
        self.base.saturating_mul(150).max(Duration::from_secs(5))
    }

    /// The delay before poll number `attempt` (0-based): `base * 2^attempt`,
    /// capped, with "equal jitter" (between half and all of it).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.min(16));
        let full = exp.min(self.cap);
        let half = full / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

/// A deadline from a spec duration (`30m`), else `fallback`.
pub fn deadline(text: &str, fallback: Duration) -> Duration {
    crate::spec::parse_duration(text).unwrap_or(fallback)
}

/// Polls `poll` until it is ready, the deadline passes (`Failure::Timeout`)
/// or it fails for good. `what` names the resource in progress lines;
/// `timeout_key` names the spec field that sets the deadline (empty when
/// none does).
pub async fn until<T, F, Fut>(
    what: &str,
    timeout_key: &str,
    limit: Duration,
    backoff: Backoff,
    recorder: &dyn Recorder,
    mut poll: F,
) -> Result<T, DriverError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, DriverError>>,
{
    let start = Instant::now();
    let mut attempt = 0u32;
    let mut transient = 0u32;
    loop {
        match poll().await {
            Ok(Poll::Ready(v)) => return Ok(v),
            Ok(Poll::Pending(state)) => {
                transient = 0;
                recorder.progress(&format!("{what}: {state} ({}s)", start.elapsed().as_secs()));
            }
            Err(e) if e.failure == Failure::Transient && transient < MAX_TRANSIENT => {
                transient += 1;
                recorder.progress(&format!(
                    "{what}: {} (retry {transient}/{MAX_TRANSIENT})",
                    e.message
                ));
            }
            Err(e) => return Err(e),
        }
        let delay = backoff.delay(attempt);
        attempt = attempt.saturating_add(1);
        if start.elapsed() + delay > limit {
            return Err(DriverError::new(
                Failure::Timeout,
                format!(
                    "{what} was not ready after {}s",
                    start.elapsed().as_secs()
                ),
            )
            .with_hint(if timeout_key.is_empty() {
                "rerun later: liftoff finds the resource again and picks up where it stopped".to_string()
            } else {
                format!(
                    "raise `timeouts.{timeout_key}` in the spec, or rerun: liftoff finds the resource again and resumes waiting"
                )
            }));
        }
        tokio::time::sleep(delay).await;
    }
}

/// Runs `call` again while it fails transiently, at most [`MAX_TRANSIENT`]
/// extra times (for idempotent calls, such as reads).
pub async fn retry<T, F, Fut>(backoff: Backoff, mut call: F) -> Result<T, DriverError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DriverError>>,
{
    let mut attempt = 0u32;
    loop {
        match call().await {
            Err(e) if e.failure == Failure::Transient && attempt < MAX_TRANSIENT => {
                tracing::debug!("retrying after a transient error: {}", e.message);
                tokio::time::sleep(backoff.delay(attempt)).await;
                attempt += 1;
            }
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use serde_json::Value;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);
    #[async_trait]
    impl Recorder for Lines {
        async fn created(&self, _: &str, _: Value) -> Result<(), DriverError> {
            Ok(())
        }
        fn progress(&self, m: &str) {
            self.0.lock().unwrap().push(m.into());
        }
    }

    fn fast() -> Backoff {
        Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(4),
        }
    }

    #[test]
    fn delays_grow_are_capped_and_jittered() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let d0 = b.delay(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d3 = b.delay(3);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
            let d20 = b.delay(20);
            assert!(d20 >= Duration::from_millis(500) && d20 <= Duration::from_millis(1000));
        }
    }

    #[tokio::test]
    async fn pending_then_ready_reports_progress() {
        let lines = Lines::default();
        let mut n = 0;
        let v = until("nat", "nat", Duration::from_secs(5), fast(), &lines, || {
            n += 1;
            let r = if n < 3 {
                Ok(Poll::Pending("pending".to_string()))
            } else {
                Ok(Poll::Ready(n))
            };
            async move { r }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
        let l = lines.0.lock().unwrap();
        assert_eq!(l.len(), 2);
        assert!(l[0].starts_with("nat: pending"));
    }

    #[tokio::test]
    async fn transient_errors_are_retried_but_bounded() {
        let lines = Lines::default();
        let mut n = 0u32;
        let r: Result<(), _> = until(
            "db",
            "database",
            Duration::from_secs(5),
            fast(),
            &lines,
            || {
                n += 1;
                async { Err(DriverError::new(Failure::Transient, "Throttling")) }
            },
        )
        .await;
        assert_eq!(r.unwrap_err().failure, Failure::Transient);
        assert_eq!(n, MAX_TRANSIENT + 1);
    }

    #[tokio::test]
    async fn retry_gives_up_after_the_bound_and_keeps_permanent_errors() {
        let mut n = 0u32;
        let r: Result<(), _> = retry(fast(), || {
            n += 1;
            async { Err(DriverError::new(Failure::Transient, "503")) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(n, MAX_TRANSIENT + 1);
        let mut m = 0u32;
        let r: Result<(), _> = retry(fast(), || {
            m += 1;
            async { Err(DriverError::permanent("bad input")) }
        })
        .await;
        assert_eq!(r.unwrap_err().failure, Failure::Permanent);
        assert_eq!(m, 1);
        let mut k = 0u32;
        let v = retry(fast(), || {
            k += 1;
            let r = if k < 3 {
                Err(DriverError::new(Failure::Transient, "Throttling"))
            } else {
                Ok(k)
            };
            async move { r }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn a_passed_deadline_is_a_timeout_naming_the_setting() {
        let lines = Lines::default();
        let r: Result<(), _> = until(
            "cluster",
            "cluster",
            Duration::from_millis(0),
            fast(),
            &lines,
            || async { Ok(Poll::Pending("CREATING".to_string())) },
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(e.failure, Failure::Timeout);
        assert!(e.hint.unwrap().contains("timeouts.cluster"));
    }
}
