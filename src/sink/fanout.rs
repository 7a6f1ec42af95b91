//! The [`Sink`] trait every output implements, and [`FanOut`], which hands each batch of records
//! to every sink and acknowledges a record only when all of them have dealt with it.
//!
//! "Dealt with" means delivered, or rejected as poison and written to dead letters with the
//! response. A record that any sink could not deliver (retries exhausted, connection lost) stays
//! pending, so the source does not commit its offset and the record is delivered again later;
//! the deterministic `RecordId` makes the repeat harmless.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde::Serialize;

use crate::sink::record::OutputRecord;

/// A record a sink refused for good, with the peer's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SinkDeadLetter {
    /// `rejected` (4xx), `too_large`, `undeclared_columns`...
    pub reason: String,
    pub sink: String,
    pub record_id: String,
    /// HTTP status or AMQP condition, when there was one.
    pub status: Option<String>,
    /// Response body or error text (truncated).
    pub detail: String,
}

/// What one sink did with a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SinkReport {
    /// Record ids delivered.
    pub delivered: Vec<String>,
    /// Records refused for good.
    pub dead: Vec<SinkDeadLetter>,
    /// Record ids not delivered this time (retry later).
    pub pending: Vec<String>,
}

impl SinkReport {
    pub fn merge(&mut self, other: SinkReport) {
        self.delivered.extend(other.delivered);
        self.dead.extend(other.dead);
        self.pending.extend(other.pending);
    }
}

/// An output for enriched records.
#[async_trait]
pub trait Sink: Send + Sync {
    /// Short name for logs and dead letters (`logs_ingestion`, `amqp`, `incidents`...).
    fn name(&self) -> &str;

    /// Deliver a batch. Every record id appears in exactly one list of the report.
    async fn deliver(&self, records: &[OutputRecord]) -> SinkReport;
}

/// What the fan-out did with a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FanOutReport {
    /// Record ids every sink delivered or dead-lettered: safe to acknowledge upstream.
    pub acked: Vec<String>,
    /// Record ids at least one sink still owes.
    pub pending: Vec<String>,
    pub dead: Vec<SinkDeadLetter>,
    /// Per sink: delivered count.
    pub delivered: BTreeMap<String, usize>,
}

/// Sends every batch to every sink, one sink after the other.
#[derive(Default)]
pub struct FanOut {
    sinks: Vec<Box<dyn Sink>>,
}

impl FanOut {
    pub fn new(sinks: Vec<Box<dyn Sink>>) -> Self {
        FanOut { sinks }
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.sinks.iter().map(|s| s.name().to_owned()).collect()
    }

    pub async fn deliver(&self, records: &[OutputRecord]) -> FanOutReport {
        let mut report = FanOutReport::default();
        let mut owed: BTreeSet<String> = BTreeSet::new();
        for sink in &self.sinks {
            let r = sink.deliver(records).await;
            tracing::debug!(
                sink = sink.name(),
                delivered = r.delivered.len(),
                dead = r.dead.len(),
                pending = r.pending.len(),
                "sink batch done"
            );
            report
                .delivered
                .insert(sink.name().to_owned(), r.delivered.len());
            owed.extend(r.pending);
            report.dead.extend(r.dead);
        }
        for rec in records {
            if owed.contains(&rec.record_id) {
                report.pending.push(rec.record_id.clone());
            } else {
                report.acked.push(rec.record_id.clone());
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivers everything except the ids it is told to keep pending or reject.
    struct Scripted {
        name: &'static str,
        pending: Vec<&'static str>,
        reject: Vec<&'static str>,
    }

    #[async_trait]
    impl Sink for Scripted {
        fn name(&self) -> &str {
            self.name
        }
        async fn deliver(&self, records: &[OutputRecord]) -> SinkReport {
            let mut r = SinkReport::default();
            for rec in records {
                let id = rec.record_id.as_str();
                if self.pending.contains(&id) {
                    r.pending.push(id.to_owned());
                } else if self.reject.contains(&id) {
                    r.dead.push(SinkDeadLetter {
                        reason: "rejected".into(),
                        sink: self.name.into(),
                        record_id: id.into(),
                        status: Some("400".into()),
                        detail: "bad".into(),
                    });
                } else {
                    r.delivered.push(id.to_owned());
                }
            }
            r
        }
    }

    fn rec(id: &str) -> OutputRecord {
        crate::sink::sample::sample_record(id)
    }

    #[tokio::test]
    async fn record_is_acked_only_when_every_sink_dealt_with_it() {
        let fan = FanOut::new(vec![
            Box::new(Scripted {
                name: "a",
                pending: vec!["r2"],
                reject: vec![],
            }),
            Box::new(Scripted {
                name: "b",
                pending: vec![],
                reject: vec!["r3"],
            }),
        ]);
        let recs = [rec("r1"), rec("r2"), rec("r3")];
        let r = fan.deliver(&recs).await;
        assert_eq!(r.acked, vec!["r1".to_string(), "r3".to_string()]);
        assert_eq!(r.pending, vec!["r2".to_string()]);
        assert_eq!(r.dead.len(), 1);
        assert_eq!(r.dead[0].record_id, "r3");
        assert_eq!(r.delivered["a"], 2);
        assert_eq!(r.delivered["b"], 2);
    }
}
