//! Chat-completions responses: lenient parsing and classification into a [`Reply`].
//!
//! Parsing tolerates unknown fields, a missing `usage`, missing `*_details`, `choices: []`,
//! error bodies without `type` and numeric `code`s. [`classify`] turns status, headers and body
//! into one typed [`Reply`] that the retry policy branches on; it never fails.
//!
//! Content policy: a reply wrapped in one Markdown code fence is unwrapped; any other text
//! around the JSON object (prose before or after it) makes the reply malformed. Truncated text
//! (`finish_reason: length`) is never parsed.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Token counts reported by the service (zero when absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

#[derive(Debug, Default, Deserialize)]
struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Default, Deserialize)]
struct Choice {
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    content_filter_results: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    error: Option<ErrorBody>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    innererror: Option<InnerError>,
}

#[derive(Debug, Default, Deserialize)]
struct InnerError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    content_filter_result: Option<Value>,
}

/// What one HTTP exchange amounted to.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `finish_reason: stop` with text content.
    Content { text: String, usage: Usage },
    /// 429; `hint` is the wait the server asked for, if any.
    RateLimited { hint: Option<Duration> },
    /// 5xx, 408 or a transport error/timeout.
    Transient { detail: String },
    /// 400 `content_filter` on the prompt.
    FilteredPrompt { categories: Vec<String> },
    /// 200 with `finish_reason: content_filter`.
    FilteredCompletion {
        categories: Vec<String>,
        usage: Usage,
    },
    /// 200 with `finish_reason: length`.
    Truncated { usage: Usage },
    /// `message.refusal`, or empty content.
    Refused { detail: String, usage: Usage },
    /// 200 with `choices: []` or an unreadable body.
    Empty { detail: String, usage: Usage },
    /// 400 saying the api-version or the structured-output schema is not supported.
    Unsupported { detail: String },
    /// Anything else that retrying will not fix (401, 403, 404, other 400s).
    Fatal { status: u16, detail: String },
}

/// Classifies one response. `headers` are lower-cased names.
pub fn classify(status: u16, headers: &[(String, String)], body: &str) -> Reply {
    match status {
        200..=299 => classify_ok(body),
        429 => Reply::RateLimited {
            hint: retry_hint(headers).or_else(|| hint_from_message(&error_message(body))),
        },
        408 | 500..=599 => Reply::Transient {
            detail: format!("HTTP {status}: {}", error_message(body)),
        },
        400 => classify_400(body),
        _ => Reply::Fatal {
            status,
            detail: error_message(body),
        },
    }
}

fn classify_ok(body: &str) -> Reply {
    let parsed: ChatResponse = match serde_json::from_str(body) {
        Ok(r) => r,
        Err(e) => {
            return Reply::Empty {
                detail: format!("unreadable response body: {e}"),
                usage: Usage::default(),
            };
        }
    };
    let usage = parsed.usage.unwrap_or_default();
    let Some(choice) = parsed.choices.into_iter().next() else {
        return Reply::Empty {
            detail: "no choices in the response".into(),
            usage,
        };
    };
    let message = choice.message.unwrap_or_default();
    match choice.finish_reason.as_deref() {
        Some("content_filter") => Reply::FilteredCompletion {
            categories: filtered_categories(choice.content_filter_results.as_ref()),
            usage,
        },
        Some("length") => Reply::Truncated { usage },
        _ => match (message.refusal, message.content) {
            (Some(r), _) if !r.is_empty() => Reply::Refused { detail: r, usage },
            (_, Some(c)) if !c.trim().is_empty() => Reply::Content { text: c, usage },
            _ => Reply::Refused {
                detail: "empty content".into(),
                usage,
            },
        },
    }
}

fn classify_400(body: &str) -> Reply {
    let error = serde_json::from_str::<ErrorEnvelope>(body)
        .ok()
        .and_then(|e| e.error)
        .unwrap_or_default();
    let code = error.code.as_ref().map(code_text).unwrap_or_default();
    let message = error.message.clone().unwrap_or_default();
    let inner = error.innererror.as_ref();
    let inner_code = inner.and_then(|i| i.code.as_deref()).unwrap_or_default();
    if code == "content_filter" || inner_code == "ResponsibleAIPolicyViolation" {
        let result = inner.and_then(|i| i.content_filter_result.as_ref());
        return Reply::FilteredPrompt {
            categories: filtered_categories(result),
        };
    }
    let lower = message.to_lowercase();
    let unsupported = lower.contains("api-version")
        || lower.contains("api version")
        || (lower.contains("response_format") || lower.contains("json_schema"))
            && (lower.contains("not available") || lower.contains("not supported"))
        || lower.contains("invalid schema");
    if unsupported {
        Reply::Unsupported { detail: message }
    } else {
        Reply::Fatal {
            status: 400,
            detail: format!("{code}: {message}"),
        }
    }
}

fn code_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Names of content-filter categories marked `filtered: true`, sorted.
fn filtered_categories(results: Option<&Value>) -> Vec<String> {
    let Some(Value::Object(map)) = results else {
        return Vec::new();
    };
    let mut cats: Vec<String> = map
        .iter()
        .filter(|(_, v)| v.get("filtered").and_then(Value::as_bool) == Some(true))
        .map(|(k, _)| k.clone())
        .collect();
    cats.sort();
    cats
}

fn error_message(body: &str) -> String {
    serde_json::from_str::<ErrorEnvelope>(body)
        .ok()
        .and_then(|e| e.error)
        .and_then(|e| e.message)
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// The wait a 429 asks for: `retry-after-ms`, `retry-after` (seconds or HTTP date), then the
/// `x-ratelimit-reset-*` / `x-rate-limit-reset-*` headers. Zero or negative values are no hint.
pub fn retry_hint(headers: &[(String, String)]) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return positive_secs(ms / 1000.0);
    }
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<f64>() {
            return positive_secs(secs);
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            let secs = (at.timestamp_millis() - chrono::Utc::now().timestamp_millis()) as f64;
            return positive_secs(secs / 1000.0);
        }
    }
    [
        "x-ratelimit-reset-tokens",
        "x-ratelimit-reset-requests",
        "x-rate-limit-reset-tokens",
        "x-rate-limit-reset-requests",
    ]
    .iter()
    .filter_map(|h| get(h).and_then(parse_reset))
    .max()
}

/// `55`, `55s`, `250ms`, `1m30s`.
fn parse_reset(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.parse::<f64>() {
        return positive_secs(secs);
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        total += match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                n / 1000.0
            }
            ('m', _) => n * 60.0,
            ('s', _) => n,
            ('h', _) => n * 3600.0,
            _ => return None,
        };
    }
    positive_secs(total)
}

fn positive_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// "... retry after 20 seconds" in the error message.
fn hint_from_message(message: &str) -> Option<Duration> {
    let lower = message.to_lowercase();
    let at = lower.find("retry after ")? + "retry after ".len();
    let digits: String = lower[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    positive_secs(digits.parse().ok()?)
}

/// The JSON object in a reply, under the content policy in the module doc.
pub fn extract_json(text: &str) -> Result<&str, String> {
    let mut t = text.trim();
    if let Some(rest) = t.strip_prefix("```") {
        let rest = rest.strip_prefix("json").unwrap_or(rest);
        t = rest
            .trim()
            .strip_suffix("```")
            .ok_or("unterminated code fence")?
            .trim();
    }
    if t.starts_with('{') && t.ends_with('}') {
        Ok(t)
    } else {
        Err("the reply holds text outside one JSON object".into())
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
