//! Scripted answers and the normal answer of the mock.
//!
//! A script file is `{"steps": [{"status": 429, "headers": {...}, "body": {...},
//! "delay_ms": 0}, ...]}` (the `response` objects of the field-case fixtures fit as steps).
//! [`named`] maps a fault name from the `x-mock-fault` header or `fault` query to a step.
//! [`normal_answer`] parses the fenced case out of the prompt and returns the offline
//! narrator's narrative for it as the message content.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::narrate::Audience;
use crate::narrate::llm::prompt::{estimate_tokens, parse_data_block};
use crate::narrate::offline::OfflineNarrator;

/// One scripted answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub delay_ms: u64,
}

#[derive(Debug, Deserialize)]
struct Script {
    steps: Vec<Step>,
}

/// Reads a script file.
pub fn load_script(path: &Path) -> anyhow::Result<Vec<Step>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading mock script {}", path.display()))?;
    let script: Script = serde_json::from_str(&text)
        .with_context(|| format!("parsing mock script {}", path.display()))?;
    Ok(script.steps)
}

impl Step {
    pub async fn respond(self) -> Response {
        if self.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let text = match &self.body {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut resp = (status, text).into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.to_lowercase().as_bytes()),
                HeaderValue::from_str(v),
            ) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

/// Steps by name: `rate_limit:<secs>`, `server_error`, `prompt_filter`, `completion_filter`,
/// `truncated`, `refusal`. (`slow:<ms>` is handled by the server: a normal answer, late.)
pub fn named(name: &str) -> Option<Step> {
    let (kind, arg) = name.split_once(':').unwrap_or((name, ""));
    let step = |status: u16, headers: &[(&str, String)], body: Value| Step {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        body,
        delay_ms: 0,
    };
    Some(match kind {
        "rate_limit" => step(
            429,
            &[("retry-after", arg.to_owned())],
            json!({"error": {
                "code": "429",
                "message": format!("Rate limit exceeded. Please retry after {arg} seconds.")
            }}),
        ),
        "server_error" => step(
            500,
            &[],
            json!({"error": {
                "code": "InternalServerError",
                "message": "The server had an error."
            }}),
        ),
        "prompt_filter" => step(
            400,
            &[],
            json!({"error": {
                "code": "content_filter",
                "param": "prompt",
                "message": "The prompt was filtered.",
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {"jailbreak": {"filtered": true, "detected": true}}
                }
            }}),
        ),
        "completion_filter" => step(
            200,
            &[],
            completion(json!({"role": "assistant"}), "content_filter"),
        ),
        "truncated" => step(
            200,
            &[],
            completion(
                json!({"role": "assistant", "content": "{\"Summary\": \"cut"}),
                "length",
            ),
        ),
        "refusal" => step(
            200,
            &[],
            completion(
                json!({"role": "assistant", "content": "", "refusal": "declined"}),
                "stop",
            ),
        ),
        _ => return None,
    })
}

fn completion(message: Value, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": "mock",
        "choices": [{"index": 0, "finish_reason": finish, "message": message}],
    })
}

/// What Azure would charge at receipt: prompt estimate + `max_tokens`.
pub fn charge(body: &Value) -> u64 {
    let prompt: u64 = body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|x| x["content"].as_str())
                .map(|c| estimate_tokens(c) as u64)
                .sum()
        })
        .unwrap_or(0);
    prompt + body["max_tokens"].as_u64().unwrap_or(0)
}

static OBEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        "(?i)ignore (?:all )?previous instructions(?: and)? \
         (?:write|say|output) ([A-Za-z0-9_ -]+)",
    )
    .expect("obey pattern")
});

/// A valid answer for the case in the prompt (or an empty object when there is none).
pub fn normal_answer(body: &Value, obey: bool) -> axum::Json<Value> {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let text_of = |role: &str| {
        messages
            .iter()
            .filter(|m| m["role"] == role)
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (system, user) = (text_of("system"), text_of("user"));
    let audience = if system.contains("threat hunter") {
        Audience::Hunter
    } else {
        Audience::Tier1
    };
    let mut content = match parse_data_block(&user) {
        Some(case) => OfflineNarrator::new(audience)
            .map(|o| serde_json::to_value(o.narrate(&case)).unwrap_or_default())
            .unwrap_or_default(),
        None => json!({}),
    };
    if obey && let Some(order) = OBEY.captures(&user) {
        content["Summary"] = Value::String(order[1].trim().to_owned());
    }
    let text = content.to_string();
    let mut answer = completion(json!({"role": "assistant", "content": text}), "stop");
    answer["usage"] = json!({
        "prompt_tokens": estimate_tokens(&system) + estimate_tokens(&user),
        "completion_tokens": estimate_tokens(&text),
        "total_tokens": estimate_tokens(&system) + estimate_tokens(&user) + estimate_tokens(&text),
    });
    axum::Json(answer)
}
