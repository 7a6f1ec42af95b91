//! Sentinel incident comments, optional incidents, and watchlist items (active mode only).
//!
//! For each record in `active` mode: find the incident named by its triggers (a SecurityAlert
//! trigger's `SystemAlertId`, mapped to an incident through `[sentinel] alert_incidents`), or
//! create a low-severity incident when `create_incidents` is on; put a comment whose id is a
//! UUID derived from the RecordId (so a retry updates the same comment); and turn a watchlist
//! proposal into a watchlist item. In `audit` mode nothing is written here: the record itself is
//! the output. Every call is a PUT with a client-chosen id, so every retry is idempotent.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{ARM_SCOPE, TokenProvider};
use crate::sink::fanout::{Sink, SinkDeadLetter, SinkReport};
use crate::sink::http::{self, RetryPolicy, Sleeper, StatusClass, TokioSleeper};
use crate::sink::record::OutputRecord;

pub const API_VERSION: &str = "2025-09-01";
/// Longest comment the portal shows whole.
pub const MAX_COMMENT_CHARS: usize = 30_000;
/// Namespace for the UUIDs derived from RecordIds.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f1d_2a4e_8c3b_4e7a_9d10_5b2c_7e8f_a1c3);

/// The `[sentinel]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentinelConfig {
    /// ARM endpoint; tests point it at a local peer.
    pub base_url: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub workspace_name: String,
    pub api_version: String,
    pub scope: String,
    pub comment_max_chars: usize,
    /// Create a low-severity incident when a record names none.
    pub create_incidents: bool,
    /// SystemAlertId → incident id (the incident's name in the REST path).
    pub alert_incidents: BTreeMap<String, String>,
    pub retry: RetryPolicy,
}

impl Default for SentinelConfig {
    fn default() -> Self {
        SentinelConfig {
            base_url: "https://management.azure.com".into(),
            subscription_id: String::new(),
            resource_group: String::new(),
            workspace_name: String::new(),
            api_version: API_VERSION.into(),
            scope: ARM_SCOPE.into(),
            comment_max_chars: MAX_COMMENT_CHARS,
            create_incidents: false,
            alert_incidents: BTreeMap::new(),
            retry: RetryPolicy::default(),
        }
    }
}

/// Comment id for a record: the same RecordId always gives the same comment.
pub fn comment_id(record_id: &str) -> Uuid {
    Uuid::new_v5(&ID_NAMESPACE, format!("comment:{record_id}").as_bytes())
}

/// Incident id created for a record that names none.
pub fn incident_id(record_id: &str) -> Uuid {
    Uuid::new_v5(&ID_NAMESPACE, format!("incident:{record_id}").as_bytes())
}

/// Watchlist item id for a record's proposal.
pub fn watchlist_item_id(record_id: &str, item_key: &str) -> Uuid {
    Uuid::new_v5(
        &ID_NAMESPACE,
        format!("watchlist:{record_id}:{item_key}").as_bytes(),
    )
}

/// SystemAlertIds cited by the record's SecurityAlert triggers.
pub fn alert_ids(rec: &OutputRecord) -> Vec<String> {
    let mut ids: Vec<String> = rec
        .triggers
        .iter()
        .filter(|t| t.kind == "security_alert")
        .flat_map(|t| t.evidence_ids.iter())
        .filter_map(|e| e.strip_prefix("SecurityAlert:"))
        .map(str::to_owned)
        .collect();
    ids.dedup();
    ids
}

/// The comment text: summary, key facts and the RecordId, at most `max_chars` characters.
pub fn comment_text(rec: &OutputRecord, max_chars: usize) -> String {
    let mut facts = vec![
        format!("Entity: {} ({})", rec.entity, rec.entity_type),
        format!(
            "Risk: {} ({}), confidence {:.2}",
            rec.risk_level, rec.risk_score, rec.confidence
        ),
        format!("Window: {} to {}", rec.window_start, rec.window_end),
        format!("Triggers: {}", rec.trigger_types.join(", ")),
    ];
    if let Some(h) = rec.hypotheses.first() {
        facts.push(format!("Leading hypothesis: {}", h.title));
    }
    let tail = format!(
        "\n\nFull record: UEBA_AI_Context_CL | where RecordId == \"{}\"\nGenerator: {} ({})",
        rec.record_id, rec.generator, rec.prompt_version
    );
    let head = format!(
        "UEBA investigation starter\n\n{}\n\n{}",
        rec.summary,
        facts.join("\n")
    );
    let budget = max_chars.saturating_sub(tail.chars().count());
    let head_chars = head.chars().count();
    let head = if head_chars > budget {
        let keep: String = head.chars().take(budget.saturating_sub(1)).collect();
        format!("{keep}…")
    } else {
        head
    };
    format!("{head}{tail}")
}

enum Put {
    Done,
    Poison(u16, String),
    GaveUp(String),
}

/// [`Sink`] writing to the Sentinel REST API.
pub struct IncidentSink {
    http: reqwest::Client,
    cfg: SentinelConfig,
    tokens: Arc<dyn TokenProvider>,
    sleeper: Arc<dyn Sleeper>,
}

impl IncidentSink {
    pub fn new(cfg: &SentinelConfig, tokens: Arc<dyn TokenProvider>) -> anyhow::Result<Self> {
        for (name, v) in [
            ("subscription_id", &cfg.subscription_id),
            ("resource_group", &cfg.resource_group),
            ("workspace_name", &cfg.workspace_name),
        ] {
            anyhow::ensure!(!v.is_empty(), "[sentinel] {name} is empty");
        }
        Ok(IncidentSink {
            http: http::client(&cfg.retry)?,
            cfg: cfg.clone(),
            tokens,
            sleeper: Arc::new(TokioSleeper),
        })
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// `{base}/subscriptions/../workspaces/{ws}/providers/Microsoft.SecurityInsights/{tail}`
    /// followed by `?api-version=..`
    pub fn url(&self, tail: &str) -> String {
        let c = &self.cfg;
        format!(
            "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/\
             workspaces/{}/providers/Microsoft.SecurityInsights/{tail}?api-version={}",
            c.base_url.trim_end_matches('/'),
            c.subscription_id,
            c.resource_group,
            c.workspace_name,
            c.api_version
        )
    }

    /// The calls a record needs, in order: (path tail, body).
    pub fn plan(&self, rec: &OutputRecord) -> Vec<(String, Value)> {
        let mut calls = Vec::new();
        if rec.mode != "active" {
            return calls;
        }
        let mut incidents: Vec<String> = alert_ids(rec)
            .iter()
            .filter_map(|a| self.cfg.alert_incidents.get(a).cloned())
            .collect();
        incidents.dedup();
        if incidents.is_empty() && self.cfg.create_incidents {
            let id = incident_id(&rec.record_id).to_string();
            calls.push((format!("incidents/{id}"), new_incident(rec)));
            incidents.push(id);
        }
        let message = comment_text(rec, self.cfg.comment_max_chars);
        let cid = comment_id(&rec.record_id);
        for inc in &incidents {
            let body = json!({"properties": {"message": message}});
            calls.push((format!("incidents/{inc}/comments/{cid}"), body));
        }
        if let Some(w) = &rec.watchlist_proposal {
            let item = watchlist_item_id(&rec.record_id, &w.item_key);
            let body = json!({"properties": {"itemsKeyValue": {
                "ItemKey": w.item_key, "Reason": w.reason, "Entity": rec.entity,
                "RecordId": rec.record_id,
            }}});
            calls.push((
                format!("watchlists/{}/watchlistItems/{item}", w.watchlist),
                body,
            ));
        }
        calls
    }

    async fn put(&self, tail: &str, body: &Value) -> Put {
        let url = self.url(tail);
        let policy = &self.cfg.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (why, hint) = match self.attempt(&url, body).await {
                Ok(resp) => match http::classify(resp.status()) {
                    StatusClass::Delivered => return Put::Done,
                    StatusClass::Transient => {
                        let hint = http::retry_after(resp.headers());
                        (format!("HTTP {}", resp.status().as_u16()), hint)
                    }
                    StatusClass::TooLarge | StatusClass::Poison => {
                        let status = resp.status().as_u16();
                        return Put::Poison(status, resp.text().await.unwrap_or_default());
                    }
                },
                Err(e) => (format!("{e:#}"), None),
            };
            if attempt >= policy.max_attempts.max(1) {
                return Put::GaveUp(why);
            }
            self.sleeper.sleep(policy.delay(attempt, hint)).await;
        }
    }

    async fn attempt(&self, url: &str, body: &Value) -> anyhow::Result<reqwest::Response> {
        let token = self.tokens.token(&self.cfg.scope).await?;
        Ok(self
            .http
            .put(url)
            .bearer_auth(&token.value)
            .json(body)
            .send()
            .await?)
    }
}

fn new_incident(rec: &OutputRecord) -> Value {
    let title: String = format!("UEBA: {}", rec.summary).chars().take(250).collect();
    json!({"properties": {
        "title": title,
        "severity": "Low",
        "status": "New",
        "description": format!("Opened by ueba-narrator for RecordId {}.", rec.record_id),
        "labels": [{"labelName": "ueba-narrator", "labelType": "User"}],
    }})
}

#[async_trait]
impl Sink for IncidentSink {
    fn name(&self) -> &str {
        "incidents"
    }

    async fn deliver(&self, records: &[OutputRecord]) -> SinkReport {
        let mut report = SinkReport::default();
        'records: for rec in records {
            for (tail, body) in self.plan(rec) {
                match self.put(&tail, &body).await {
                    Put::Done => {}
                    Put::Poison(status, text) => {
                        tracing::warn!(
                            record_id = %rec.record_id,
                            status,
                            %tail,
                            "Sentinel refused a call"
                        );
                        report.dead.push(SinkDeadLetter {
                            reason: "rejected".into(),
                            sink: "incidents".into(),
                            record_id: rec.record_id.clone(),
                            status: Some(status.to_string()),
                            detail: text.chars().take(4096).collect(),
                        });
                        continue 'records;
                    }
                    Put::GaveUp(why) => {
                        tracing::warn!(
                            record_id = %rec.record_id,
                            error = %why,
                            "Sentinel retries exhausted"
                        );
                        report.pending.push(rec.record_id.clone());
                        continue 'records;
                    }
                }
            }
            report.delivered.push(rec.record_id.clone());
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample::sample_record;

    fn sink(create: bool) -> IncidentSink {
        let mut cfg = SentinelConfig {
            base_url: "http://127.0.0.1:9".into(),
            subscription_id: "sub".into(),
            resource_group: "rg".into(),
            workspace_name: "ws".into(),
            create_incidents: create,
            ..SentinelConfig::default()
        };
        cfg.alert_incidents.insert(
            "1b3f6e0a-2c1d-4e5f-8a9b-0c1d2e3f4a5b".into(),
            "inc-42".into(),
        );
        IncidentSink::new(&cfg, Arc::new(crate::auth::StaticToken::new("t"))).unwrap()
    }

    #[test]
    fn comment_id_is_stable_and_distinct() {
        assert_eq!(comment_id("r1"), comment_id("r1"));
        assert_ne!(comment_id("r1"), comment_id("r2"));
        assert_eq!(comment_id("r1").get_version_num(), 5);
    }

    #[test]
    fn mapped_alert_gets_a_comment_on_its_incident() {
        let rec = sample_record("r1");
        let plan = sink(false).plan(&rec);
        assert_eq!(plan.len(), 1);
        assert_eq!(
            plan[0].0,
            format!("incidents/inc-42/comments/{}", comment_id("r1"))
        );
        let msg = plan[0].1["properties"]["message"].as_str().unwrap();
        assert!(msg.contains("RecordId == \"r1\""), "{msg}");
        assert!(msg.contains("Risk: high (72)"), "{msg}");
    }

    #[test]
    fn unmapped_record_creates_an_incident_only_when_configured() {
        let mut rec = sample_record("r2");
        rec.triggers[0].evidence_ids = vec!["SecurityAlert:unknown".into()];
        assert!(sink(false).plan(&rec).is_empty());
        let plan = sink(true).plan(&rec);
        let inc = incident_id("r2");
        assert_eq!(plan[0].0, format!("incidents/{inc}"));
        assert_eq!(plan[0].1["properties"]["severity"], "Low");
        assert_eq!(plan[0].1["properties"]["status"], "New");
        assert_eq!(
            plan[1].0,
            format!("incidents/{inc}/comments/{}", comment_id("r2"))
        );
    }

    #[test]
    fn audit_mode_writes_nothing() {
        let mut rec = sample_record("r3");
        rec.mode = "audit".into();
        assert!(sink(true).plan(&rec).is_empty());
    }

    #[test]
    fn comment_is_capped_and_keeps_the_record_id() {
        let mut rec = sample_record("r4");
        rec.summary = "ä".repeat(50_000);
        let text = comment_text(&rec, MAX_COMMENT_CHARS);
        assert_eq!(text.chars().count(), MAX_COMMENT_CHARS);
        assert!(text.contains("RecordId == \"r4\""));
    }

    #[test]
    fn url_has_the_sentinel_path() {
        assert_eq!(
            sink(false).url("incidents/x/comments/y"),
            "http://127.0.0.1:9/subscriptions/sub/resourceGroups/rg/providers/\
             Microsoft.OperationalInsights/workspaces/ws/providers/Microsoft.SecurityInsights/\
             incidents/x/comments/y?api-version=2025-09-01"
        );
    }
}
