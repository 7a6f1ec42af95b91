//! Audit trail of every LLM exchange, tokenized as sent.
//!
//! One [`AuditEntry`] per HTTP attempt: the request body exactly as sent (identifiers already
//! tokenized), the response body, model, prompt version, tokens, latency, outcome and attempt
//! number. Headers are not recorded, so keys and bearer tokens never reach the audit.
//! [`AuditSink`] is the seam for other destinations (a Kafka audit topic); [`JsonlAudit`]
//! appends JSON Lines to a file.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub time: DateTime<Utc>,
    pub window_id: String,
    pub attempt: u32,
    pub model: String,
    pub prompt_version: String,
    pub audience: String,
    /// The request body as sent (tokenized).
    pub request: serde_json::Value,
    pub status: u16,
    /// The response body as received (raw text).
    pub response: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_ms: u64,
    /// `ok`, `rate_limited`, `transient`, `filtered_prompt`, `invalid_output`...
    pub outcome: String,
}

/// Where audit entries go. Implementations must not block for long.
pub trait AuditSink: Send + Sync {
    fn record(&self, entry: &AuditEntry);
}

/// Discards entries (no `--audit` given).
#[derive(Debug, Default)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _entry: &AuditEntry) {}
}

/// Appends one JSON object per line; flushed after every entry.
pub struct JsonlAudit {
    /// Serialises writers from concurrent narrations.
    out: Mutex<BufWriter<File>>,
}

impl JsonlAudit {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening audit file {}", path.display()))?;
        Ok(JsonlAudit {
            out: Mutex::new(BufWriter::new(file)),
        })
    }
}

impl AuditSink for JsonlAudit {
    fn record(&self, entry: &AuditEntry) {
        let line = match serde_json::to_string(entry) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "audit entry not serialisable");
                return;
            }
        };
        let Ok(mut out) = self.out.lock() else {
            tracing::error!("audit writer poisoned");
            return;
        };
        let written = writeln!(out, "{line}").and_then(|_| out.flush());
        if let Err(e) = written {
            tracing::error!(error = %e, window_id = %entry.window_id, "audit write failed");
        }
    }
}

/// Keeps entries in memory (tests, embedding).
#[derive(Debug, Default)]
pub struct MemoryAudit {
    pub entries: Mutex<Vec<AuditEntry>>,
}

impl AuditSink for MemoryAudit {
    fn record(&self, entry: &AuditEntry) {
        if let Ok(mut e) = self.entries.lock() {
            e.push(entry.clone());
        }
    }
}
