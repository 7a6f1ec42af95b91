//! `mock-llm`: a local stand-in for Azure OpenAI and OpenAI-compatible chat completions.
//!
//! It checks requests the way the service does (route, `api-version` on the classic route,
//! `api-key` or bearer header, a JSON body with `messages` and `response_format`) and answers
//! 404 / 400 / 401 otherwise. It enforces requests and tokens per minute over a sliding 60 s
//! window, charging prompt estimate + `max_tokens` like Azure, with real 429s and headers. A
//! script (JSON file, or the `x-mock-fault` header / `fault` query) injects faults; otherwise it
//! answers with a valid narrative built by the offline narrator from the case in the prompt.
//! Received bodies are kept (and appended to a record file when configured).

mod faults;
mod quota;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

pub use faults::{Step, load_script};
use quota::Quota;

/// How the mock behaves.
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// Accepted key (`api-key` header or bearer); empty accepts any non-empty credential.
    pub api_key: String,
    /// Added to every answer.
    pub latency: Duration,
    pub rpm: Option<u32>,
    pub tpm: Option<u32>,
    /// Scripted answers, used in order before normal answers.
    pub script: Vec<Step>,
    /// Append every received body here (JSON Lines).
    pub record: Option<PathBuf>,
    /// Naively follow instructions found anywhere in the prompt (to prove the defences).
    pub obey: bool,
}

pub(crate) struct MockState {
    opts: MockOptions,
    /// Remaining scripted steps.
    script: Mutex<VecDeque<Step>>,
    /// Every body received, in order.
    received: Mutex<Vec<Value>>,
    quota: Quota,
    /// 429s sent because a limit was exceeded (not scripted).
    throttled: Mutex<u64>,
}

/// A running mock; dropping it does not stop the server (call [`MockServer::stop`]).
pub struct MockServer {
    pub addr: SocketAddr,
    state: Arc<MockState>,
    task: tokio::task::JoinHandle<()>,
}

impl MockServer {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.state
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// 429s caused by exceeding RPM/TPM.
    pub fn throttled(&self) -> u64 {
        self.state.throttled.lock().map(|t| *t).unwrap_or(0)
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// Binds `listen` and serves in the background.
pub async fn start(listen: SocketAddr, opts: MockOptions) -> anyhow::Result<MockServer> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    let state = Arc::new(MockState {
        quota: Quota::new(opts.rpm, opts.tpm),
        script: Mutex::new(opts.script.iter().cloned().collect()),
        received: Mutex::new(Vec::new()),
        throttled: Mutex::new(0),
        opts,
    });
    let app = router(Arc::clone(&state));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "mock LLM server stopped");
        }
    });
    tracing::info!(%addr, "mock LLM listening");
    Ok(MockServer { addr, state, task })
}

/// Serves until Ctrl-C (the `mock-llm` subcommand).
pub async fn serve(listen: SocketAddr, opts: MockOptions) -> anyhow::Result<()> {
    let server = start(listen, opts).await?;
    eprintln!("mock-llm: listening on {}", server.url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.stop();
    Ok(())
}

fn router(state: Arc<MockState>) -> Router {
    Router::new()
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(classic),
        )
        .route("/openai/v1/chat/completions", post(v1))
        .route("/v1/chat/completions", post(v1))
        .route("/chat/completions", post(v1))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "404", "Resource not found") })
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct Params {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
    fault: Option<String>,
}

async fn classic(
    State(s): State<Arc<MockState>>,
    Query(q): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if q.api_version.as_deref().is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    handle(&s, &headers, &body, q.fault, false).await
}

async fn v1(
    State(s): State<Arc<MockState>>,
    Query(q): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&s, &headers, &body, q.fault, true).await
}

async fn handle(
    s: &MockState,
    headers: &HeaderMap,
    raw: &[u8],
    fault: Option<String>,
    needs_model: bool,
) -> Response {
    if !authorised(&s.opts.api_key, headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint.",
        );
    }
    let body: Value = match serde_json::from_slice(raw) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("invalid JSON: {e}"),
            );
        }
    };
    if let Some(problem) = contract_problem(&body, needs_model) {
        return error(StatusCode::BAD_REQUEST, "BadRequest", &problem);
    }
    record(s, &body);
    if !s.opts.latency.is_zero() {
        tokio::time::sleep(s.opts.latency).await;
    }
    let fault = fault.or_else(|| header(headers, "x-mock-fault"));
    if let Some(ms) = fault.as_deref().and_then(|f| f.strip_prefix("slow:")) {
        let ms = ms.parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let step = fault
        .and_then(|f| faults::named(&f))
        .or_else(|| s.script.lock().ok().and_then(|mut q| q.pop_front()));
    if let Some(step) = step {
        return step.respond().await;
    }
    let charge = faults::charge(&body);
    if let Err(wait) = s.quota.admit(charge) {
        if let Ok(mut t) = s.throttled.lock() {
            *t += 1;
        }
        return quota::too_many(wait, &s.quota);
    }
    let mut resp = faults::normal_answer(&body, s.opts.obey).into_response();
    s.quota.remaining_headers(resp.headers_mut());
    resp
}

fn authorised(expected: &str, headers: &HeaderMap) -> bool {
    let given = header(headers, "api-key").or_else(|| {
        header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned))
    });
    match given {
        Some(k) if expected.is_empty() => !k.is_empty(),
        Some(k) => k == expected,
        None => false,
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn contract_problem(body: &Value, needs_model: bool) -> Option<String> {
    if !body.get("messages").is_some_and(Value::is_array) {
        return Some("'messages' is a required property".into());
    }
    if needs_model && !body.get("model").is_some_and(Value::is_string) {
        return Some("'model' is a required property".into());
    }
    let Some(rf) = body.get("response_format") else {
        return Some("'response_format' is required by this deployment".into());
    };
    let ok = rf.get("type") == Some(&json!("json_schema"))
        && rf
            .pointer("/json_schema/schema")
            .is_some_and(Value::is_object);
    (!ok).then(|| "response_format must be json_schema with a schema".into())
}

fn record(s: &MockState, body: &Value) {
    if let Ok(mut r) = s.received.lock() {
        r.push(body.clone());
    }
    if let Some(path) = &s.opts.record {
        let line = format!("{body}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
        if let Err(e) = written {
            tracing::warn!(error = %e, path = %path.display(), "mock could not record a request");
        }
    }
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}
