//! Operations endpoint: `/healthz` (the process is up), `/readyz` (partitions assigned and the
//! consumer polling, not shutting down) and `/metrics` (Prometheus text from the `metrics`
//! recorder).
//!
//! [`Status`] is shared with the pipeline, which flips its flags; [`recorder`] installs the
//! process-wide Prometheus recorder once and returns its handle.

pub mod mirror;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Liveness and readiness flags.
#[derive(Debug, Default)]
pub struct Status {
    /// At least one partition is assigned.
    pub assigned: AtomicBool,
    /// The consumer loop is running.
    pub consuming: AtomicBool,
    /// Shutdown has begun.
    pub stopping: AtomicBool,
}

impl Status {
    pub fn ready(&self) -> bool {
        self.assigned.load(Ordering::Relaxed)
            && self.consuming.load(Ordering::Relaxed)
            && !self.stopping.load(Ordering::Relaxed)
    }
}

/// The process-wide Prometheus recorder (installed on first use).
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);
    let mut slot = HANDLE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = slot.as_ref() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(&[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0])
        .context("metric buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    *slot = Some(handle.clone());
    Ok(handle)
}

#[derive(Clone)]
struct AppState {
    status: Arc<Status>,
    metrics: PrometheusHandle,
}

/// The router; exposed for tests.
pub fn router(status: Arc<Status>, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render))
        .with_state(AppState { status, metrics })
}

async fn readyz(State(s): State<AppState>) -> (StatusCode, &'static str) {
    if s.status.ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn render(State(s): State<AppState>) -> String {
    s.metrics.render()
}

/// Serve the endpoint on `listen` until `shutdown` resolves.
pub async fn serve(
    listen: &str,
    status: Arc<Status>,
    metrics: PrometheusHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the ops endpoint to {listen}"))?;
    tracing::info!(listen, "ops endpoint listening");
    let app = router(status, metrics);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "ops endpoint stopped");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get_path(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out
    }

    #[tokio::test]
    async fn endpoints_answer() {
        let status = Arc::new(Status::default());
        let handle = recorder().expect("recorder");
        metrics::counter!("ueba_ops_selftest_total").increment(3);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = router(status.clone(), handle);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        assert!(get_path(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        assert!(get_path(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        status.assigned.store(true, Ordering::Relaxed);
        status.consuming.store(true, Ordering::Relaxed);
        assert!(get_path(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        status.stopping.store(true, Ordering::Relaxed);
        assert!(get_path(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        let m = get_path(addr, "/metrics").await;
        assert!(m.contains("ueba_ops_selftest_total 3"), "{m}");
        let _ = tx.send(());
        server.await.expect("server task");
    }
}
