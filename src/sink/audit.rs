//! Audit sink: every LLM exchange (prompt as sent, response, model, prompt version, tokens,
//! latency, outcome) as a row of `UEBA_AI_Audit_CL`, sent through the Logs Ingestion API.
//!
//! Entries are JSON objects whose keys are the columns in `infra/columns/ueba-ai-audit.json`;
//! an entry with an undeclared key is dead-lettered rather than silently losing the column.
//! The row id is the entry's `AuditId` (or a content hash when it has none).

use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::TokenProvider;
use crate::sink::columns;
use crate::sink::fanout::SinkReport;
use crate::sink::http::Sleeper;
use crate::sink::logs_ingestion::{IngestionClient, LogsIngestionConfig, Row};

/// Sends audit entries to the audit stream.
pub struct AuditSink {
    client: IngestionClient,
}

impl AuditSink {
    pub fn new(cfg: &LogsIngestionConfig, tokens: Arc<dyn TokenProvider>) -> anyhow::Result<Self> {
        let client =
            IngestionClient::new(cfg, &cfg.audit_stream, columns::audit_columns(), tokens)?;
        Ok(AuditSink { client })
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.client = self.client.with_sleeper(sleeper);
        self
    }

    /// Send entries; ids in the report are the entries' `AuditId`s.
    pub async fn send(&self, entries: Vec<Value>) -> SinkReport {
        let rows = entries.into_iter().map(entry_row).collect();
        self.client.upload(rows).await
    }
}

/// The row for one entry; non-objects become `{"Error": <text>}` so they are still seen.
pub fn entry_row(entry: Value) -> Row {
    let columns = match entry {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert(
                "Error".into(),
                Value::String(format!("not an object: {other}")),
            );
            m
        }
    };
    let id = match columns.get("AuditId").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => {
            let bytes = serde_json::to_vec(&columns).unwrap_or_default();
            hex::encode(&Sha256::digest(&bytes)[..16])
        }
    };
    Row { id, columns }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audit_id_names_the_row() {
        let r = entry_row(json!({"AuditId": "a-1", "Outcome": "ok"}));
        assert_eq!(r.id, "a-1");
        assert_eq!(r.columns["Outcome"], "ok");
    }

    #[test]
    fn entry_without_id_gets_a_stable_hash() {
        let a = entry_row(json!({"Outcome": "ok", "Model": "m"}));
        let b = entry_row(json!({"Model": "m", "Outcome": "ok"}));
        assert_eq!(a.id, b.id);
        assert_eq!(a.id.len(), 32);
    }
}
