//! Retry timing: how long to wait after a 429 or a transient failure, a circuit breaker for
//! waits that exceed the ceiling (daily quotas), and the [`Clock`] that sleeps.
//!
//! [`RetryPolicy::delay`] honours the server's hint plus up to 25% jitter (at most 5 s), and
//! without a hint backs off exponentially from `base` with full jitter. A hint above `ceiling`
//! is never slept: the caller opens the [`Circuit`] until the hinted time instead. Tests inject
//! a [`Clock`] that records sleeps and advances virtual time without waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

/// Sleeps and tells the time; injectable so tests never wait.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Instant;
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Real time through tokio.
#[derive(Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Virtual time: sleeping returns at once, records the duration and advances `now`.
#[derive(Debug)]
pub struct RecordingClock {
    start: Instant,
    /// Total virtual time slept and every sleep in order.
    state: Mutex<(Duration, Vec<Duration>)>,
}

impl Default for RecordingClock {
    fn default() -> Self {
        RecordingClock {
            start: Instant::now(),
            state: Mutex::new((Duration::ZERO, Vec::new())),
        }
    }
}

impl RecordingClock {
    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().map(|s| s.1.clone()).unwrap_or_default()
    }

    /// Moves virtual time forward without a recorded sleep.
    pub fn advance(&self, d: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.0 += d;
        }
    }
}

impl Clock for RecordingClock {
    fn now(&self) -> Instant {
        let offset = self.state.lock().map(|s| s.0).unwrap_or_default();
        self.start + offset
    }

    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        if let Ok(mut s) = self.state.lock() {
            s.0 += d;
            s.1.push(d);
        }
        Box::pin(std::future::ready(()))
    }
}

/// Backoff settings for one HTTP peer.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First step when the server gives no hint; doubles per attempt.
    pub base: Duration,
    /// Longest wait ever slept; a longer hint opens the circuit.
    pub ceiling: Duration,
    /// Attempts per case for 429 / 5xx / timeouts.
    pub max_attempts: u32,
}

/// What to do after a throttled or failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wait {
    /// Sleep this long, then try again.
    Sleep(Duration),
    /// The server asked for longer than the ceiling: stop and open the circuit this long.
    OpenCircuit(Duration),
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32, hint: Option<Duration>, rng: &mut impl Rng) -> Wait {
        match hint {
            Some(h) if h > self.ceiling => Wait::OpenCircuit(h),
            Some(h) => {
                let spread = (h / 4).min(Duration::from_secs(5));
                let jitter = spread.mul_f64(rng.random::<f64>());
                Wait::Sleep((h + jitter).min(self.ceiling))
            }
            None => {
                let step = self.base * 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
                let jitter = step.mul_f64(rng.random::<f64>());
                Wait::Sleep((step + jitter).min(self.ceiling))
            }
        }
    }
}

/// Open while the service has told us to stay away longer than we are willing to sleep.
#[derive(Debug, Default)]
pub struct Circuit {
    open_until: Mutex<Option<Instant>>,
}

impl Circuit {
    pub fn open(&self, until: Instant) {
        if let Ok(mut g) = self.open_until.lock() {
            *g = Some(g.map_or(until, |u| u.max(until)));
        }
    }

    /// True while open; closes itself once the time has passed.
    pub fn is_open(&self, now: Instant) -> bool {
        let Ok(mut g) = self.open_until.lock() else {
            return false;
        };
        match *g {
            Some(until) if now < until => true,
            Some(_) => {
                *g = None;
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(2),
            ceiling: Duration::from_secs(300),
            max_attempts: 5,
        }
    }

    #[test]
    fn fc25_retry_after_20_waits_20_to_25_s() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let Wait::Sleep(d) = policy().delay(1, Some(Duration::from_secs(20)), &mut rng) else {
                panic!("expected a sleep");
            };
            assert!(
                d >= Duration::from_secs(20) && d <= Duration::from_secs(25),
                "{d:?}"
            );
        }
    }

    #[test]
    fn fc25_no_hint_first_gap_within_1_to_10_s() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        for _ in 0..200 {
            let Wait::Sleep(d) = policy().delay(1, None, &mut rng) else {
                panic!("expected a sleep");
            };
            assert!(
                d >= Duration::from_secs(1) && d <= Duration::from_secs(10),
                "{d:?}"
            );
        }
    }

    #[test]
    fn fc25_daily_quota_opens_the_circuit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let hint = Duration::from_secs(86_400);
        assert_eq!(
            policy().delay(1, Some(hint), &mut rng),
            Wait::OpenCircuit(hint)
        );
        let c = Circuit::default();
        let now = Instant::now();
        c.open(now + hint);
        assert!(c.is_open(now + Duration::from_secs(3600)));
        assert!(!c.is_open(now + hint));
    }
}
