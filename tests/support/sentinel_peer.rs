//! A local Sentinel REST peer: PUT incidents, incident comments and watchlist items under
//! `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/
//! {ws}/providers/Microsoft.SecurityInsights/...?api-version=2025-09-01`, checking the bearer
//! token, the content type and the body shape; PUT semantics (same path = same object).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub const TOKEN: &str = "arm-test-token";
pub const PREFIX: &str = "/subscriptions/sub-1/resourceGroups/rg-1/providers/\
                          Microsoft.OperationalInsights/workspaces/ws-1/providers/\
                          Microsoft.SecurityInsights/";

#[derive(Default)]
pub struct PeerState {
    /// Answers (status, retry-after) for the next requests.
    pub scripts: VecDeque<(u16, Option<&'static str>)>,
    /// Path tail → body of the last PUT.
    pub objects: BTreeMap<String, Value>,
    pub requests: Vec<(String, u16)>,
}

pub type Shared = Arc<Mutex<PeerState>>;

pub async fn start() -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(PeerState::default()));
    let app = Router::new().fallback(handle).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let code = check(&state, &method, &path, &q, &headers, &body);
    let scripted = if code == 200 {
        state.lock().unwrap().scripts.pop_front()
    } else {
        None
    };
    let mut st = state.lock().unwrap();
    let (code, retry) = scripted.unwrap_or((code, None));
    st.requests.push((path.clone(), code));
    if code == 200 {
        let tail = path.trim_start_matches(PREFIX).to_owned();
        let created = !st.objects.contains_key(&tail);
        let v: Value = serde_json::from_slice(&body).unwrap();
        st.objects.insert(tail, v.clone());
        let s = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return (s, axum::Json(v)).into_response();
    }
    let s = StatusCode::from_u16(code).unwrap();
    match retry {
        Some(r) => (s, [("retry-after", r)], "throttled").into_response(),
        None => (s, "refused").into_response(),
    }
}

fn check(
    _state: &Shared,
    method: &Method,
    path: &str,
    q: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> u16 {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    if method != Method::PUT {
        return 405;
    }
    if q.get("api-version").map(String::as_str) != Some("2025-09-01") {
        return 400;
    }
    if h("authorization") != format!("Bearer {TOKEN}") {
        return 401;
    }
    if !h("content-type").starts_with("application/json") {
        return 415;
    }
    let Some(tail) = path.strip_prefix(PREFIX) else {
        return 404;
    };
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return 400;
    };
    let p = &v["properties"];
    let parts: Vec<&str> = tail.split('/').collect();
    let ok = match parts.as_slice() {
        ["incidents", _, "comments", id] => {
            uuid::Uuid::parse_str(id).is_ok()
                && p["message"]
                    .as_str()
                    .is_some_and(|m| m.chars().count() <= 30_000)
        }
        ["incidents", id] => {
            uuid::Uuid::parse_str(id).is_ok()
                && p["title"].is_string()
                && p["severity"] == "Low"
                && p["status"] == "New"
        }
        ["watchlists", _, "watchlistItems", id] => {
            uuid::Uuid::parse_str(id).is_ok() && p["itemsKeyValue"].is_object()
        }
        _ => return 404,
    };
    if ok { 200 } else { 400 }
}
