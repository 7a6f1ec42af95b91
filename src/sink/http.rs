//! What the HTTP outputs (Logs Ingestion, Sentinel REST) share: the retry policy, how a response
//! status is classified, `Retry-After` parsing, and an injectable [`Sleeper`] so tests can assert
//! the waits without waiting.
//!
//! Classes: 2xx delivered; 413 too large (the caller splits); 408, 429, 5xx and 401/403 (role
//! assignments take up to 30 minutes to propagate) are transient and retried; every other 4xx is
//! poison and goes to dead letters with the response.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

/// Retry settings for one HTTP peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff when the peer gives no `Retry-After`; doubles per attempt.
    pub base_backoff_ms: u64,
    /// Ceiling of the exponential backoff.
    pub max_backoff_ms: u64,
    /// Ceiling applied to a peer's `Retry-After`.
    pub max_retry_after_secs: u64,
    /// Random extra wait added to every backoff, `0..=jitter_ms`.
    pub jitter_ms: u64,
    /// Per-request timeout.
    pub timeout_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_backoff_ms: 500,
            max_backoff_ms: 60_000,
            max_retry_after_secs: 300,
            jitter_ms: 250,
            timeout_secs: 60,
        }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1` (`attempt` counts from 1).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let base = match retry_after {
            Some(d) => d.min(Duration::from_secs(self.max_retry_after_secs)),
            None => {
                let exp = self
                    .base_backoff_ms
                    .saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
                Duration::from_millis(exp.min(self.max_backoff_ms))
            }
        };
        let jitter = if self.jitter_ms == 0 {
            0
        } else {
            random_u64() % (self.jitter_ms + 1)
        };
        base + Duration::from_millis(jitter)
    }
}

/// A random number for jitter (std's per-instance random hash keys; not for secrets).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// How a response status is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Delivered,
    TooLarge,
    Transient,
    Poison,
}

pub fn classify(status: StatusCode) -> StatusClass {
    match status.as_u16() {
        200..=299 => StatusClass::Delivered,
        413 => StatusClass::TooLarge,
        401 | 403 | 408 | 429 | 500..=599 => StatusClass::Transient,
        _ => StatusClass::Poison,
    }
}

/// `retry-after-ms`, else `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return (ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let v = text("retry-after")?;
    if let Ok(secs) = v.parse::<f64>() {
        return (secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// Waits between attempts; tests substitute a recorder.
#[async_trait]
pub trait Sleeper: Send + Sync {
    async fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// Records the requested waits and returns at once.
#[derive(Debug, Default, Clone)]
pub struct RecordingSleeper(pub Arc<std::sync::Mutex<Vec<Duration>>>);

impl RecordingSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.0.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, d: Duration) {
        if let Ok(mut w) = self.0.lock() {
            w.push(d);
        }
    }
}

/// Build the shared HTTP client.
pub fn client(policy: &RetryPolicy) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(policy.timeout_secs.max(1)))
        .user_agent(concat!("ueba-narrator/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn classes_follow_the_ingestion_contract() {
        let c = |n: u16| classify(StatusCode::from_u16(n).unwrap());
        assert_eq!(c(204), StatusClass::Delivered);
        assert_eq!(c(413), StatusClass::TooLarge);
        for n in [401, 403, 408, 429, 500, 503] {
            assert_eq!(c(n), StatusClass::Transient, "{n}");
        }
        for n in [400, 404, 409, 422] {
            assert_eq!(c(n), StatusClass::Poison, "{n}");
        }
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut d = HeaderMap::new();
        d.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&d), Some(Duration::ZERO));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            jitter_ms: 0,
            base_backoff_ms: 100,
            max_backoff_ms: 350,
            max_retry_after_secs: 10,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(1, None), Duration::from_millis(100));
        assert_eq!(p.delay(2, None), Duration::from_millis(200));
        assert_eq!(p.delay(3, None), Duration::from_millis(350));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(10)
        );
    }
}
