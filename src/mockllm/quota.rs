//! The mock's RPM/TPM enforcement: a sliding 60-second window of admitted requests, each
//! charged prompt estimate + `max_tokens`, and the 429 it sends when a limit would be passed.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

const WINDOW: Duration = Duration::from_secs(60);

pub(crate) struct Quota {
    rpm: Option<u32>,
    tpm: Option<u32>,
    /// Admitted requests in the last minute: (time, tokens charged).
    window: Mutex<VecDeque<(Instant, u64)>>,
}

impl Quota {
    pub fn new(rpm: Option<u32>, tpm: Option<u32>) -> Self {
        Quota {
            rpm,
            tpm,
            window: Mutex::new(VecDeque::new()),
        }
    }

    /// Admits a request charged `tokens`, or says how long until it would fit.
    pub fn admit(&self, tokens: u64) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(mut w) = self.window.lock() else {
            return Ok(());
        };
        while w
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= WINDOW)
        {
            w.pop_front();
        }
        let used: u64 = w.iter().map(|(_, n)| n).sum();
        let over_requests = self.rpm.is_some_and(|r| w.len() as u64 + 1 > r as u64);
        let over_tokens = self.tpm.is_some_and(|t| used + tokens > t as u64);
        if over_requests || over_tokens {
            let oldest = w.front().map(|(t, _)| *t).unwrap_or(now);
            return Err(WINDOW
                .saturating_sub(now.duration_since(oldest))
                .max(Duration::from_millis(1)));
        }
        w.push_back((now, tokens));
        Ok(())
    }

    fn remaining(&self) -> (Option<u64>, Option<u64>) {
        let now = Instant::now();
        let Ok(w) = self.window.lock() else {
            return (None, None);
        };
        let live: Vec<u64> = w
            .iter()
            .filter(|(t, _)| now.duration_since(*t) < WINDOW)
            .map(|(_, n)| *n)
            .collect();
        let used: u64 = live.iter().sum();
        (
            self.rpm
                .map(|r| (r as u64).saturating_sub(live.len() as u64)),
            self.tpm.map(|t| (t as u64).saturating_sub(used)),
        )
    }

    /// `x-ratelimit-remaining-requests/tokens` on an answer.
    pub fn remaining_headers(&self, h: &mut HeaderMap) {
        let (req, tok) = self.remaining();
        for (name, v) in [
            ("x-ratelimit-remaining-requests", req),
            ("x-ratelimit-remaining-tokens", tok),
        ] {
            if let Some(v) = v.and_then(|v| HeaderValue::from_str(&v.to_string()).ok()) {
                h.insert(name, v);
            }
        }
    }
}

/// A 429 in Azure's shape with `retry-after`, `retry-after-ms` and remaining counts.
pub(crate) fn too_many(wait: Duration, q: &Quota) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let message = format!(
        "Requests to the ChatCompletions_Create Operation have exceeded token rate limit of your \
         current pricing tier. Please retry after {secs} seconds."
    );
    let mut resp = super::error(StatusCode::TOO_MANY_REQUESTS, "429", &message);
    let h = resp.headers_mut();
    for (name, v) in [
        ("retry-after", secs.to_string()),
        ("retry-after-ms", wait.as_millis().to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(name, v);
        }
    }
    q.remaining_headers(h);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_per_minute_charge_max_tokens() {
        let q = Quota::new(Some(100), Some(1000));
        assert!(q.admit(600).is_ok());
        let wait = q.admit(600).expect_err("over the token limit");
        assert!(wait <= WINDOW && wait > Duration::from_secs(59), "{wait:?}");
        assert!(q.admit(400).is_ok());
    }

    #[test]
    fn requests_per_minute() {
        let q = Quota::new(Some(2), None);
        assert!(q.admit(1).is_ok());
        assert!(q.admit(1).is_ok());
        assert!(q.admit(1).is_err());
    }
}
