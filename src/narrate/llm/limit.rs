//! Client-side rate limits: requests per minute, tokens per minute and a concurrency cap.
//!
//! Azure charges TPM at receipt on `prompt + max_tokens`, so [`Limits::acquire`] charges the
//! same estimate before sending and [`Limits::correct`] charges any excess that `usage` shows
//! afterwards. Both buckets run at 90% of the configured rate with a burst of 1/12 of it, so
//! no 60 s window can exceed 98% of the limit (leaving room for network jitter). A request
//! larger than the token burst is clamped by the caller (see [`Limits::token_burst`]) rather
//! than failed.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Share of the configured rate the buckets refill at.
const RATE_SHARE: f64 = 0.9;

pub struct Limits {
    /// Requests per minute.
    requests: DefaultDirectRateLimiter,
    /// Tokens per minute (prompt estimate + max_tokens).
    tokens: DefaultDirectRateLimiter,
    /// Requests in flight.
    in_flight: Arc<Semaphore>,
    token_burst: u32,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("token_burst", &self.token_burst)
            .finish_non_exhaustive()
    }
}

fn bucket(per_minute: u32) -> (DefaultDirectRateLimiter, u32) {
    let per_minute = per_minute.max(1);
    let burst = (per_minute / 12).max(1);
    let period = Duration::from_secs_f64(60.0 / (per_minute as f64 * RATE_SHARE));
    let quota = Quota::with_period(period)
        .expect("a positive period")
        .allow_burst(NonZeroU32::new(burst).expect("burst is at least 1"));
    (RateLimiter::direct(quota), burst)
}

impl Limits {
    pub fn new(rpm: u32, tpm: u32, concurrency: usize) -> Self {
        let (requests, _) = bucket(rpm);
        let (tokens, token_burst) = bucket(tpm);
        Limits {
            requests,
            tokens,
            in_flight: Arc::new(Semaphore::new(concurrency.max(1))),
            token_burst,
        }
    }

    /// The most tokens one request may be charged.
    pub fn token_burst(&self) -> u32 {
        self.token_burst
    }

    /// A concurrency slot; held for the whole exchange.
    pub async fn slot(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.in_flight)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    /// Waits until one request charged `tokens` may be sent (clamped to the burst).
    pub async fn acquire(&self, tokens: u32) {
        self.requests.until_ready().await;
        self.charge(tokens).await;
    }

    /// Charges what `usage` showed beyond the estimate.
    pub async fn correct(&self, estimated: u32, actual: u64) {
        let extra = actual.saturating_sub(estimated as u64).min(u32::MAX as u64) as u32;
        if extra > 0 {
            self.charge(extra).await;
        }
    }

    async fn charge(&self, tokens: u32) {
        let n = tokens.clamp(1, self.token_burst);
        let n = NonZeroU32::new(n).expect("clamped to at least 1");
        if self.tokens.until_n_ready(n).await.is_err() {
            tracing::warn!(tokens, "token charge above the bucket size");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_are_a_twelfth_of_the_limit() {
        let l = Limits::new(60, 60_000, 2);
        assert_eq!(l.token_burst(), 5_000);
        let l = Limits::new(5, 9, 1);
        assert_eq!(l.token_burst(), 1);
    }

    #[tokio::test]
    async fn a_charge_within_the_burst_is_immediate_and_drains_it() {
        let l = Limits::new(600, 120_000, 2);
        assert_eq!(l.token_burst(), 10_000);
        l.acquire(5_000).await;
        let n = |v| NonZeroU32::new(v).expect("non-zero");
        assert_eq!(l.tokens.check_n(n(5_000)).map(|r| r.is_ok()), Ok(true));
        assert_eq!(l.tokens.check_n(n(100)).map(|r| r.is_ok()), Ok(false));
    }
}
