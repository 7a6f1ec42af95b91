//! A local Logs Ingestion endpoint that enforces the contract the service documents: POST to
//! `/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01`, `Authorization: Bearer`,
//! `Content-Type: application/json`, optional `Content-Encoding: gzip`, a client request id, a body
//! of at most 1 MB as sent, a JSON array of objects whose keys are declared columns. Failure
//! modes are scripted per request.

use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

pub const TOKEN: &str = "ingest-test-token";
pub const MAX_BODY: usize = 1_048_576;

/// What the peer answers to the next request instead of accepting it.
#[derive(Debug, Clone)]
pub enum Script {
    Status(u16),
    RetryAfter(u16, &'static str),
    Body(u16, &'static str),
}

/// One request as the peer saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub stream: String,
    pub status: u16,
    pub bytes: usize,
    pub gzip: bool,
    pub rows: usize,
}

#[derive(Default)]
pub struct PeerState {
    pub columns: Vec<String>,
    /// Keys must equal the declared columns exactly (false: a subset is fine).
    pub exact_keys: bool,
    /// Accept undeclared columns with 204 and drop them, as Azure does.
    pub drop_unknown_columns: bool,
    pub scripts: VecDeque<Script>,
    pub accepted: Vec<Value>,
    pub seen: Vec<Seen>,
    pub dropped_columns: Vec<String>,
}

pub type Shared = Arc<Mutex<PeerState>>;

/// Start the peer; returns its base URL and state.
pub async fn start(columns: &[String], exact_keys: bool) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(PeerState {
        columns: columns.to_vec(),
        exact_keys,
        ..PeerState::default()
    }));
    let app = Router::new()
        .route("/dataCollectionRules/{dcr}/streams/{stream}", post(ingest))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

fn reply(
    state: &Shared,
    (stream, bytes, gzip): (&str, usize, bool),
    rows: usize,
    r: (u16, Response),
) -> Response {
    state.lock().unwrap().seen.push(Seen {
        stream: stream.to_owned(),
        status: r.0,
        bytes,
        gzip,
        rows,
    });
    r.1
}

fn status(code: u16, body: &str) -> (u16, Response) {
    let s = StatusCode::from_u16(code).unwrap();
    (code, (s, body.to_owned()).into_response())
}

async fn ingest(
    State(state): State<Shared>,
    Path((dcr, stream)): Path<(String, String)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let gzip = h("content-encoding") == "gzip";
    let sent = body.len();
    let r = |code, msg: &str| reply(&state, (&stream, sent, gzip), 0, status(code, msg));
    if q.get("api-version").map(String::as_str) != Some("2023-01-01") {
        return r(400, "bad api-version");
    }
    if !dcr.starts_with("dcr-") || !stream.starts_with("Custom-") {
        return r(404, "unknown DCR or stream");
    }
    if h("authorization") != format!("Bearer {TOKEN}") {
        return r(401, "bad token");
    }
    if h("content-type") != "application/json" {
        return r(415, "content type");
    }
    if uuid::Uuid::parse_str(&h("x-ms-client-request-id")).is_err() {
        return r(400, "x-ms-client-request-id is not a GUID");
    }
    if sent > MAX_BODY {
        return r(413, "payload too large");
    }
    let raw = if gzip {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .is_err()
        {
            return r(400, "bad gzip");
        }
        out
    } else {
        body.to_vec()
    };
    let rows: Vec<Value> = match serde_json::from_slice::<Value>(&raw) {
        Ok(Value::Array(a)) if a.iter().all(Value::is_object) => a,
        _ => return r(400, "{\"error\":{\"code\":\"InvalidPayload\"}}"),
    };
    if let Some(problem) = check_keys(&state, &rows) {
        return r(400, &problem);
    }
    let script = state.lock().unwrap().scripts.pop_front();
    let n = rows.len();
    let resp = match script {
        Some(Script::Status(c)) => status(c, "scripted"),
        Some(Script::Body(c, b)) => status(c, b),
        Some(Script::RetryAfter(c, secs)) => {
            let s = StatusCode::from_u16(c).unwrap();
            (c, (s, [("retry-after", secs)], "slow down").into_response())
        }
        None => {
            state.lock().unwrap().accepted.extend(rows);
            (204, StatusCode::NO_CONTENT.into_response())
        }
    };
    reply(&state, (&stream, sent, gzip), n, resp)
}

/// Unknown keys: 400, or dropped silently when the peer imitates Azure.
fn check_keys(state: &Shared, rows: &[Value]) -> Option<String> {
    let mut st = state.lock().unwrap();
    for row in rows {
        let obj = row.as_object()?;
        let unknown: Vec<String> = obj
            .keys()
            .filter(|k| !st.columns.contains(k))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            if st.drop_unknown_columns {
                st.dropped_columns.extend(unknown);
                continue;
            }
            return Some(format!("{{\"error\":\"undeclared columns {unknown:?}\"}}"));
        }
        if st.exact_keys && obj.len() != st.columns.len() {
            return Some(format!(
                "row has {} of {} columns",
                obj.len(),
                st.columns.len()
            ));
        }
    }
    None
}
