//! Logs Ingestion API sink: rows of `UEBA_AI_Context_CL` (and, through [`IngestionClient`], the
//! audit stream) sent to a data collection rule.
//!
//! `POST {endpoint}/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01` with a
//! bearer token for `https://monitor.azure.com/.default`, a JSON array body (optionally gzip),
//! and a fresh `x-ms-client-request-id` per call. Invariants: a body never passes
//! `max_batch_bytes` as sent; a 413 splits the batch and resends the halves; 408/429/5xx/401/403
//! are retried honouring `Retry-After`; any other 4xx dead-letters the batch with the response;
//! every row id ends up delivered, dead-lettered or pending, never lost.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::{MONITOR_SCOPE, TokenProvider};
use crate::sink::batch::{self, Batch, EncodedRow};
use crate::sink::columns::{self, Column};
use crate::sink::fanout::{Sink, SinkDeadLetter, SinkReport};
use crate::sink::http::{self, RetryPolicy, Sleeper, StatusClass, TokioSleeper};
use crate::sink::record::OutputRecord;

pub const API_VERSION: &str = "2023-01-01";
/// Largest body per call (the service limit is 1 MB; stay a little under it).
pub const MAX_BATCH_BYTES: usize = 1_000_000;
/// Largest field value the service keeps whole.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// What `TimeGenerated` is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimeGeneratedPolicy {
    /// Event time (window end) while it is recent; ingestion time once it is older than
    /// `max_event_age_hours`. The event time always stays in `WindowStart`/`WindowEnd`.
    #[default]
    EventWhenRecent,
    /// Always the event time.
    Event,
    /// Always the time of sending.
    Ingestion,
}

/// The `[logs_ingestion]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsIngestionConfig {
    /// DCR logs-ingestion endpoint or DCE, e.g. `https://my-dce.eastus-1.ingest.monitor.azure.com`.
    pub endpoint: String,
    /// `dcr-...` immutable id.
    pub dcr_immutable_id: String,
    pub stream: String,
    pub audit_stream: String,
    pub gzip: bool,
    pub max_batch_bytes: usize,
    pub max_field_bytes: usize,
    pub time_generated: TimeGeneratedPolicy,
    pub max_event_age_hours: i64,
    /// Token scope (`.azure.us` / `.azure.cn` in sovereign clouds).
    pub scope: String,
    pub retry: RetryPolicy,
}

impl Default for LogsIngestionConfig {
    fn default() -> Self {
        LogsIngestionConfig {
            endpoint: String::new(),
            dcr_immutable_id: String::new(),
            stream: "Custom-UEBA_AI_Context".into(),
            audit_stream: "Custom-UEBA_AI_Audit".into(),
            gzip: true,
            max_batch_bytes: MAX_BATCH_BYTES,
            max_field_bytes: MAX_FIELD_BYTES,
            time_generated: TimeGeneratedPolicy::default(),
            max_event_age_hours: 47,
            scope: MONITOR_SCOPE.into(),
            retry: RetryPolicy::default(),
        }
    }
}

/// A row ready for upload: its id and its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub columns: Map<String, Value>,
}

/// Posts rows to one stream of a DCR.
pub struct IngestionClient {
    http: reqwest::Client,
    url: String,
    cfg: LogsIngestionConfig,
    columns: &'static [Column],
    tokens: Arc<dyn TokenProvider>,
    sleeper: Arc<dyn Sleeper>,
    name: String,
}

/// The result of one attempt series for a batch.
enum Sent {
    Delivered,
    TooLarge,
    Poison { status: u16, body: String },
    GaveUp(String),
}

impl IngestionClient {
    pub fn new(
        cfg: &LogsIngestionConfig,
        stream: &str,
        columns: &'static [Column],
        tokens: Arc<dyn TokenProvider>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !cfg.endpoint.is_empty(),
            "[logs_ingestion] endpoint is empty"
        );
        anyhow::ensure!(
            !cfg.dcr_immutable_id.is_empty(),
            "[logs_ingestion] dcr_immutable_id is empty"
        );
        let url = format!(
            "{}/dataCollectionRules/{}/streams/{}?api-version={API_VERSION}",
            cfg.endpoint.trim_end_matches('/'),
            cfg.dcr_immutable_id,
            stream
        );
        Ok(IngestionClient {
            http: http::client(&cfg.retry)?,
            url,
            cfg: cfg.clone(),
            columns,
            tokens,
            sleeper: Arc::new(TokioSleeper),
            name: format!("logs_ingestion:{stream}"),
        })
    }

    /// Replace the clock used between retries (tests).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Upload rows; every id ends in exactly one list of the report.
    pub async fn upload(&self, rows: Vec<Row>) -> SinkReport {
        let mut report = SinkReport::default();
        let encoded = self.prepare(rows, &mut report);
        let packed = batch::pack(encoded, self.cfg.max_batch_bytes, self.cfg.gzip);
        for row in packed.too_large {
            report
                .dead
                .push(self.dead(&row.id, "too_large", None, "row over the call limit"));
        }
        // Depth-first so order is kept: the front half of a split goes first.
        let mut stack: Vec<Batch> = packed.batches.into_iter().rev().collect();
        while let Some(b) = stack.pop() {
            match self.send(&b.body).await {
                Sent::Delivered => report.delivered.extend(b.rows.into_iter().map(|r| r.id)),
                Sent::TooLarge if b.rows.len() > 1 => {
                    let (front, back) = batch::split_half(b.rows);
                    tracing::info!(rows = front.len() + back.len(), "413 from ingestion: split");
                    for half in [back, front] {
                        let body = batch::encode_body(&half, self.cfg.gzip);
                        stack.push(Batch { rows: half, body });
                    }
                }
                Sent::TooLarge => {
                    let id = &b.rows[0].id;
                    report
                        .dead
                        .push(self.dead(id, "too_large", Some(413), "single row refused"));
                }
                Sent::Poison { status, body } => {
                    tracing::warn!(status, rows = b.rows.len(), "ingestion rejected a batch");
                    for r in &b.rows {
                        report
                            .dead
                            .push(self.dead(&r.id, "rejected", Some(status), &body));
                    }
                }
                Sent::GaveUp(why) => {
                    tracing::warn!(
                        rows = b.rows.len(),
                        error = %why,
                        "ingestion retries exhausted"
                    );
                    report.pending.extend(b.rows.into_iter().map(|r| r.id));
                }
            }
        }
        report
    }

    /// Trim, check against the declared columns, serialise.
    fn prepare(&self, rows: Vec<Row>, report: &mut SinkReport) -> Vec<EncodedRow> {
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            let trimmed = batch::trim_fields(&mut row.columns, self.cfg.max_field_bytes);
            if !trimmed.is_empty() {
                tracing::info!(record_id = %row.id, fields = ?trimmed, "trimmed long fields");
            }
            let problems = columns::check_row(self.columns, &row.columns);
            if !problems.is_empty() {
                let detail = problems.join("; ");
                report
                    .dead
                    .push(self.dead(&row.id, "undeclared_columns", None, &detail));
                continue;
            }
            match serde_json::to_vec(&row.columns) {
                Ok(json) => out.push(EncodedRow { id: row.id, json }),
                Err(e) => {
                    report
                        .dead
                        .push(self.dead(&row.id, "unserialisable", None, &e.to_string()))
                }
            }
        }
        out
    }

    async fn send(&self, body: &[u8]) -> Sent {
        let policy = &self.cfg.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (why, wait_hint) = match self.attempt(body).await {
                Ok(resp) => match http::classify(resp.status()) {
                    StatusClass::Delivered => return Sent::Delivered,
                    StatusClass::TooLarge => return Sent::TooLarge,
                    StatusClass::Poison => {
                        let status = resp.status().as_u16();
                        let body = resp.text().await.unwrap_or_default();
                        return Sent::Poison {
                            status,
                            body: cap(body),
                        };
                    }
                    StatusClass::Transient => {
                        let hint = http::retry_after(resp.headers());
                        (format!("HTTP {}", resp.status().as_u16()), hint)
                    }
                },
                Err(e) => (format!("{e:#}"), None),
            };
            if attempt >= policy.max_attempts.max(1) {
                return Sent::GaveUp(why);
            }
            let wait = policy.delay(attempt, wait_hint);
            tracing::debug!(
                attempt,
                wait_ms = wait.as_millis() as u64,
                reason = %why,
                "retrying ingestion"
            );
            self.sleeper.sleep(wait).await;
        }
    }

    async fn attempt(&self, body: &[u8]) -> anyhow::Result<reqwest::Response> {
        let token = self.tokens.token(&self.cfg.scope).await?;
        let mut req = self
            .http
            .post(&self.url)
            .bearer_auth(&token.value)
            .header(CONTENT_TYPE, "application/json")
            .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
            .body(body.to_vec());
        if self.cfg.gzip {
            req = req.header(CONTENT_ENCODING, "gzip");
        }
        Ok(req.send().await?)
    }

    fn dead(&self, id: &str, reason: &str, status: Option<u16>, detail: &str) -> SinkDeadLetter {
        SinkDeadLetter {
            reason: reason.into(),
            sink: self.name.clone(),
            record_id: id.into(),
            status: status.map(|s| s.to_string()),
            detail: cap(detail.to_owned()),
        }
    }
}

fn cap(mut s: String) -> String {
    const MAX: usize = 4096;
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// The row for a record, with `TimeGenerated` set by the policy.
pub fn record_row(
    rec: &OutputRecord,
    cfg: &LogsIngestionConfig,
    now: DateTime<Utc>,
) -> anyhow::Result<Row> {
    let Value::Object(mut columns) = serde_json::to_value(rec)? else {
        anyhow::bail!("an output record did not serialise to an object");
    };
    let event = crate::decode::time::parse_instant(&rec.time_generated);
    let use_now = match cfg.time_generated {
        TimeGeneratedPolicy::Event => false,
        TimeGeneratedPolicy::Ingestion => true,
        TimeGeneratedPolicy::EventWhenRecent => {
            event.is_none_or(|t| now - t > ChronoDuration::hours(cfg.max_event_age_hours))
        }
    };
    if use_now {
        let text = now.to_rfc3339_opts(SecondsFormat::Micros, true);
        columns.insert("TimeGenerated".into(), Value::String(text));
    }
    Ok(Row {
        id: rec.record_id.clone(),
        columns,
    })
}

/// [`Sink`] for enriched records.
pub struct LogsIngestionSink {
    client: IngestionClient,
    cfg: LogsIngestionConfig,
}

impl LogsIngestionSink {
    pub fn new(cfg: &LogsIngestionConfig, tokens: Arc<dyn TokenProvider>) -> anyhow::Result<Self> {
        let client = IngestionClient::new(cfg, &cfg.stream, columns::context_columns(), tokens)?;
        Ok(LogsIngestionSink {
            client,
            cfg: cfg.clone(),
        })
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.client = self.client.with_sleeper(sleeper);
        self
    }
}

#[async_trait]
impl Sink for LogsIngestionSink {
    fn name(&self) -> &str {
        "logs_ingestion"
    }

    async fn deliver(&self, records: &[OutputRecord]) -> SinkReport {
        let now = Utc::now();
        let mut report = SinkReport::default();
        let mut rows = Vec::with_capacity(records.len());
        for rec in records {
            match record_row(rec, &self.cfg, now) {
                Ok(r) => rows.push(r),
                Err(e) => report.dead.push(self.client.dead(
                    &rec.record_id,
                    "unserialisable",
                    None,
                    &e.to_string(),
                )),
            }
        }
        report.merge(self.client.upload(rows).await);
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample::sample_record;

    fn at(s: &str) -> DateTime<Utc> {
        crate::decode::time::parse_instant(s).unwrap()
    }

    #[test]
    fn recent_event_time_is_kept() {
        let rec = sample_record("r1");
        let row = record_row(
            &rec,
            &LogsIngestionConfig::default(),
            at("2024-09-27T05:30:00Z"),
        )
        .unwrap();
        assert_eq!(row.columns["TimeGenerated"], "2024-09-26T05:30:00.000000Z");
    }

    #[test]
    fn old_event_time_becomes_ingestion_time_and_window_keeps_event_time() {
        let rec = sample_record("r1");
        let now = at("2024-10-30T00:00:00Z");
        let row = record_row(&rec, &LogsIngestionConfig::default(), now).unwrap();
        assert_eq!(row.columns["TimeGenerated"], "2024-10-30T00:00:00.000000Z");
        assert_eq!(row.columns["WindowEnd"], "2024-09-26T05:30:00.000000Z");
        let keep = LogsIngestionConfig {
            time_generated: TimeGeneratedPolicy::Event,
            ..LogsIngestionConfig::default()
        };
        let row = record_row(&rec, &keep, now).unwrap();
        assert_eq!(row.columns["TimeGenerated"], "2024-09-26T05:30:00.000000Z");
    }

    #[test]
    fn url_follows_the_contract() {
        let cfg = LogsIngestionConfig {
            endpoint: "https://dce.eastus-1.ingest.monitor.azure.com/".into(),
            dcr_immutable_id: "dcr-0123".into(),
            ..LogsIngestionConfig::default()
        };
        let c = IngestionClient::new(
            &cfg,
            &cfg.stream,
            columns::context_columns(),
            Arc::new(crate::auth::StaticToken::new("t")),
        )
        .unwrap();
        assert_eq!(
            c.url(),
            "https://dce.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123/streams/\
             Custom-UEBA_AI_Context?api-version=2023-01-01"
        );
    }
}
