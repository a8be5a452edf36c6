//! Waiting for something outside liftoff to reach a state (a cloud resource
//! becoming available, an operation finishing, a load balancer getting its
//! address): capped exponential backoff with jitter, a deadline from the
//! spec's `timeouts.*`, progress lines through [`Recorder::progress`], a
//! bounded number of retries when a poll fails transiently (throttling,
//! 5xx), and a timeout error whose hint names the setting to raise.
//!
//! A wait that knows how long the thing usually takes ([`until_fitted`])
//! polls on a schedule fitted to that: twice early (it may be quick), then
//! ever closer as the expected end nears (so it is seen ready within one
//! base delay of it), sparsely in between, capped; past the expected end it
//! backs off again. `LIFTOFF_TIME_SCALE` scales the default base delay and
//! every expected duration alike (benchmarks against an emulator that
//! plays AWS's durations scaled down).
//!
//! Every provider (AWS today, GCP operations next) and the cluster phase wait
//! through here. Time is tokio's, so tests run on paused time
//! (`#[tokio::test(start_paused = true)]`) without sleeping for real.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::time::Instant;

use crate::plan::driver::{DriverError, Failure, Recorder};

/// Consecutive transient poll failures tolerated before giving up.
pub const MAX_TRANSIENT: u32 = 8;

/// What one poll saw.
pub enum Poll<T> {
    Ready(T),
    /// Not there yet; the text is the state the other side reports
    /// ("pending", "CREATING").
    Pending(String),
}

/// How long to wait between polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay (before jitter).
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 2 s, doubling up to 30 s.
    fn default() -> Self {
        Backoff::from_base(Duration::from_secs(2))
    }
}

impl Backoff {
    /// `base`, doubling up to 15 bases.
    pub fn from_base(base: Duration) -> Self {
        Backoff {
            base,
            cap: base.saturating_mul(15),
        }
    }

    /// Base from `LIFTOFF_POLL_MS` (or the older `LIFTOFF_AWS_POLL_MS`;
    /// tests make it tiny), else 2 s (times `LIFTOFF_TIME_SCALE`); the cap
    /// is 15 bases (30 s by default).
    pub fn from_env() -> Self {
        ["LIFTOFF_POLL_MS", "LIFTOFF_AWS_POLL_MS"]
            .iter()
            .find_map(|name| std::env::var(name).ok()?.parse::<u64>().ok())
            .map_or_else(
                || Backoff::from_base(scaled(Duration::from_secs(2))),
                |ms| Backoff::from_base(Duration::from_millis(ms)),
            )
    }

    /// How long to keep retrying a call the other side refuses for a passing
    /// reason (a resource still in use, a role not yet propagated): 150 base
    /// delays, 5 minutes by default, never under 5 seconds.
    pub fn patience(&self) -> Duration {
        self.base.saturating_mul(150).max(Duration::from_secs(5))
    }

    /// The longest delay before poll number `attempt` (0-based):
    /// `base * 2^attempt`, capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        self.base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cap)
    }

    /// The delay before poll number `attempt`: [`Self::ceiling`] with "equal
    /// jitter" (between half and all of it), so many waiters do not poll in
    /// step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let full = self.ceiling(attempt);
        let half = full / 2;
        let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(random_up_to(spread))
    }
}

/// `LIFTOFF_TIME_SCALE` (a positive factor, default 1).
pub fn time_scale() -> f64 {
    static SCALE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *SCALE.get_or_init(|| {
        std::env::var("LIFTOFF_TIME_SCALE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|f| f.is_finite() && *f > 0.0)
            .unwrap_or(1.0)
    })
}

/// A real-world duration as this run plays it (times [`time_scale`]).
pub fn scaled(real: Duration) -> Duration {
    real.mul_f64(time_scale())
}

/// The delay before poll number `attempt` (0-based, `waited` into the
/// wait) of something expected to take `expected`: the backoff's first two
/// delays, then half the time left to the expected end, then a quarter of
/// the overrun past it; never under the base nor over the cap.
pub fn fitted_delay(
    backoff: Backoff,
    expected: Duration,
    attempt: u32,
    waited: Duration,
) -> Duration {
    if attempt < 2 {
        return backoff.ceiling(attempt).min(backoff.cap);
    }
    let d = if waited < expected {
        (expected - waited) / 2
    } else {
        (waited - expected) / 4
    };
    d.clamp(backoff.base, backoff.cap.max(backoff.base))
}

/// A random number in `0..=max`, from the standard library's randomly keyed
/// hasher (good enough for jitter; no generator to carry around).
fn random_up_to(max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(max);
    match max.checked_add(1) {
        Some(n) => hasher.finish() % n,
        None => hasher.finish(),
    }
}

/// A deadline from a spec duration (`30m`), else `fallback`.
pub fn deadline(text: &str, fallback: Duration) -> Duration {
    crate::spec::parse_duration(text).unwrap_or(fallback)
}

/// The hint of a wait that ran out of time: raise `timeouts.<key>` or rerun.
pub fn timeout_hint(timeout_key: &str) -> String {
    if timeout_key.is_empty() {
        "rerun later: liftoff finds the resource again and picks up where it stopped".to_string()
    } else {
        format!(
            "raise `timeouts.{timeout_key}` in the spec, or rerun: liftoff finds the resource again and resumes waiting"
        )
    }
}

/// Polls `poll` until it is ready, the deadline passes (`Failure::Timeout`)
/// or it fails for good. The last poll happens at the deadline itself.
/// `what` names the resource in progress lines; `timeout_key` names the
/// field under the spec's `timeouts` that sets `limit` (empty when none
/// does).
pub async fn until<T, F, Fut>(
    what: &str,
    timeout_key: &str,
    limit: Duration,
    backoff: Backoff,
    recorder: &dyn Recorder,
    poll: F,
) -> Result<T, DriverError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, DriverError>>,
{
    wait(what, timeout_key, limit, backoff, None, recorder, poll).await
}

/// [`until`] for something expected to take `expected` (a real-world
/// duration, scaled by [`time_scale`]): polls on [`fitted_delay`]'s
/// schedule instead of plain backoff.
pub async fn until_fitted<T, F, Fut>(
    what: &str,
    timeout_key: &str,
    limit: Duration,
    backoff: Backoff,
    expected: Duration,
    recorder: &dyn Recorder,
    poll: F,
) -> Result<T, DriverError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, DriverError>>,
{
    let expected = scaled(expected);
    wait(
        what,
        timeout_key,
        limit,
        backoff,
        Some(expected),
        recorder,
        poll,
    )
    .await
}

async fn wait<T, F, Fut>(
    what: &str,
    timeout_key: &str,
    limit: Duration,
    backoff: Backoff,
    expected: Option<Duration>,
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
        let waited = start.elapsed();
        if waited >= limit {
            return Err(DriverError::new(
                Failure::Timeout,
                format!("{what} was not ready after {}s", waited.as_secs()),
            )
            .with_hint(timeout_hint(timeout_key)));
        }
        let delay = match expected {
            Some(expected) => fitted_delay(backoff, expected, attempt, waited),
            None => backoff.delay(attempt),
        }
        .min(limit - waited);
        attempt = attempt.saturating_add(1);
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

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
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
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let d0 = b.delay(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d3 = b.delay(3);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
            let d20 = b.delay(20);
            assert!(d20 >= Duration::from_millis(500) && d20 <= Duration::from_millis(1000));
            seen.insert(d3);
        }
        assert!(seen.len() > 1, "the delays are jittered");
        assert_eq!(Backoff::default().cap, secs(30));
        assert_eq!(b.ceiling(u32::MAX), b.cap);
    }

    /// The polls happen on the backoff schedule: each gap between half and
    /// all of `base * 2^n`, capped; the last poll exactly at the deadline;
    /// then a timeout whose hint names the setting. Paused time: nothing
    /// sleeps for real.
    #[tokio::test(start_paused = true)]
    async fn polls_follow_the_schedule_until_the_deadline() {
        let lines = Lines::default();
        let backoff = Backoff {
            base: secs(2),
            cap: secs(30),
        };
        let start = Instant::now();
        let times = Mutex::new(Vec::new());
        let r: Result<(), _> = until(
            "database demo-db",
            "database",
            secs(300),
            backoff,
            &lines,
            || {
                times.lock().unwrap().push(start.elapsed());
                async { Ok(Poll::Pending("creating".into())) }
            },
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(e.failure, Failure::Timeout);
        assert_eq!(e.message, "database demo-db was not ready after 300s");
        assert!(
            e.hint.as_deref().unwrap().contains("`timeouts.database`"),
            "{:?}",
            e.hint
        );
        let times = times.into_inner().unwrap();
        assert_eq!(times[0], Duration::ZERO);
        assert_eq!(
            *times.last().unwrap(),
            secs(300),
            "the last poll is at the deadline"
        );
        for (n, pair) in times.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            let ceiling = backoff.ceiling(n as u32);
            let last = pair[1] == secs(300);
            assert!(gap <= ceiling, "gap {n} {gap:?} over {ceiling:?}");
            assert!(
                last || gap >= ceiling / 2,
                "gap {n} {gap:?} under half of {ceiling:?}"
            );
        }
        // 2+4+8+16 s at most before the cap, then at least every 15 s.
        assert!(
            times.len() >= 12 && times.len() <= 25,
            "{} polls",
            times.len()
        );
        assert_eq!(lines.0.lock().unwrap().len(), times.len());
        assert!(lines.0.lock().unwrap()[1].starts_with("database demo-db: creating ("));
    }

    #[tokio::test(start_paused = true)]
    async fn ready_before_the_deadline_returns_at_once() {
        let lines = Lines::default();
        let start = Instant::now();
        let mut n = 0;
        let v = until("nat", "nat", secs(600), Backoff::default(), &lines, || {
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
        // Two delays: at most 2 s and 4 s.
        assert!(start.elapsed() <= secs(6), "{:?}", start.elapsed());
        let l = lines.0.lock().unwrap();
        assert_eq!(l.len(), 2);
        assert!(l[0].starts_with("nat: pending"));
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_but_bounded() {
        let lines = Lines::default();
        let mut n = 0u32;
        let r: Result<(), _> = until("db", "database", secs(3600), fast(), &lines, || {
            n += 1;
            async { Err(DriverError::new(Failure::Transient, "Throttling")) }
        })
        .await;
        assert_eq!(r.unwrap_err().failure, Failure::Transient);
        assert_eq!(n, MAX_TRANSIENT + 1);
        assert!(lines.0.lock().unwrap()[0].contains("Throttling (retry 1/8)"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_ends_the_wait() {
        let mut n = 0u32;
        let r: Result<(), _> = until(
            "db",
            "database",
            secs(60),
            fast(),
            &Lines::default(),
            || {
                n += 1;
                async { Err(DriverError::permanent("AccessDenied")) }
            },
        )
        .await;
        assert_eq!(r.unwrap_err().message, "AccessDenied");
        assert_eq!(n, 1);
    }

    #[tokio::test(start_paused = true)]
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

    #[tokio::test(start_paused = true)]
    async fn a_passed_deadline_is_a_timeout_naming_the_setting() {
        let r: Result<(), _> = until(
            "cluster",
            "cluster",
            Duration::ZERO,
            fast(),
            &Lines::default(),
            || async { Ok(Poll::Pending("CREATING".to_string())) },
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(e.failure, Failure::Timeout);
        assert!(e.hint.unwrap().contains("timeouts.cluster"));
        assert!(timeout_hint("").starts_with("rerun later"));
    }

    /// A wait fitted to a 600 s expectation: two quick polls, sparse ones
    /// (capped), then closer and closer; ready at 600 s is seen within one
    /// base delay, with far fewer polls than a fixed 2 s poller's 300.
    #[tokio::test(start_paused = true)]
    async fn a_fitted_wait_is_quick_early_and_near_the_expected_end() {
        let backoff = Backoff::default();
        let start = Instant::now();
        let ready_at = secs(600);
        let mut polls = 0u32;
        let mut times = Vec::new();
        until_fitted(
            "cluster",
            "cluster",
            secs(1800),
            backoff,
            ready_at,
            &Lines::default(),
            || {
                polls += 1;
                times.push(start.elapsed());
                let done = start.elapsed() >= ready_at;
                async move {
                    Ok(if done {
                        Poll::Ready(())
                    } else {
                        Poll::Pending("CREATING".into())
                    })
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(&times[..3], &[secs(0), secs(2), secs(6)]);
        let late = start.elapsed() - ready_at;
        assert!(late <= backoff.base, "seen {late:?} late");
        assert!(polls <= 40, "{polls} polls");
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] <= backoff.cap);
        }
        // Past the expected end it backs off: a quarter of the overrun.
        assert_eq!(fitted_delay(backoff, ready_at, 9, secs(720)), secs(30));
        assert_eq!(fitted_delay(backoff, ready_at, 9, secs(640)), secs(10));
        assert_eq!(fitted_delay(backoff, ready_at, 9, secs(601)), secs(2));
    }

    #[test]
    fn the_base_comes_from_the_environment_else_two_seconds() {
        // Only reads: the variables are not set in unit tests.
        if std::env::var_os("LIFTOFF_POLL_MS").is_none()
            && std::env::var_os("LIFTOFF_AWS_POLL_MS").is_none()
        {
            assert_eq!(Backoff::from_env(), Backoff::default());
        }
        assert_eq!(Backoff::from_base(secs(1)).cap, secs(15));
        assert_eq!(fast().patience(), secs(5));
        assert_eq!(Backoff::default().patience(), secs(300));
    }
}
