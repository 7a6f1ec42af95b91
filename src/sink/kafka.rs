//! Kafka / Event Hubs output: records (key = entity key, headers `RecordId` and
//! `SchemaVersion`) and dead letters, through a producer whose delivery reports go to an
//! [`AckHandler`].
//!
//! Size rule: no message handed to librdkafka exceeds [`MAX_MESSAGE_BYTES`]. A record that is
//! larger first loses evidence ids that no claim cites (`EvidenceTruncated=true`); if it is still
//! too large its JSON is cut into parts that share the key and carry `WindowId`, `PartIndex`
//! (1-based) and `PartCount` headers. Nothing is dropped.

use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::ClientContext;
use rdkafka::client::OAuthToken;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use crate::config::kafka::KafkaConfig;
use crate::sink::dead_letter::DeadLetter;
use crate::sink::record::OutputRecord;
use crate::source::kafka::{TokenCache, producer_config};

pub use crate::source::kafka::profile::MAX_MESSAGE_BYTES;

/// One message ready for the producer.
#[derive(Debug, Clone, PartialEq)]
pub struct OutMessage {
    pub key: String,
    pub payload: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// The messages for one record, within the size limit.
pub fn record_messages(record: &OutputRecord, limit: usize) -> anyhow::Result<Vec<OutMessage>> {
    let mut bytes = serde_json::to_vec(record).context("serialising an output record")?;
    if bytes.len() > limit {
        let trimmed = trim_evidence(record, limit)?;
        bytes = serde_json::to_vec(&trimmed).context("serialising an output record")?;
    }
    let base = vec![
        ("RecordId", record.record_id.clone()),
        ("SchemaVersion", record.schema_version.clone()),
    ];
    if bytes.len() <= limit {
        return Ok(vec![OutMessage {
            key: record.entity_key.clone(),
            payload: bytes,
            headers: base,
        }]);
    }
    let count = bytes.len().div_ceil(limit);
    Ok(bytes
        .chunks(limit)
        .enumerate()
        .map(|(i, chunk)| {
            let mut headers = base.clone();
            headers.push(("WindowId", record.window_id.clone()));
            headers.push(("PartIndex", (i + 1).to_string()));
            headers.push(("PartCount", count.to_string()));
            OutMessage {
                key: record.entity_key.clone(),
                payload: chunk.to_vec(),
                headers,
            }
        })
        .collect())
}

/// Drop uncited evidence ids (from the end) until the record fits or none is left to drop.
fn trim_evidence(record: &OutputRecord, limit: usize) -> anyhow::Result<OutputRecord> {
    let cited: std::collections::HashSet<&str> = record
        .claims
        .iter()
        .flat_map(|c| c.evidence_ids.iter().map(String::as_str))
        .collect();
    let mut out = record.clone();
    out.evidence_truncated = true;
    let (keep, spare): (Vec<String>, Vec<String>) = record
        .evidence_ids
        .iter()
        .cloned()
        .partition(|id| cited.contains(id.as_str()));
    // Binary search the number of uncited ids that fit; at least one goes, so the flag
    // never claims a truncation that did not happen.
    let (mut lo, mut hi) = (0usize, spare.len().saturating_sub(1));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        out.evidence_ids = keep.iter().chain(&spare[..mid]).cloned().collect();
        if serde_json::to_vec(&out)?.len() <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut spare_left = lo;
    out.evidence_ids = record
        .evidence_ids
        .iter()
        .filter(|id| {
            if cited.contains(id.as_str()) {
                return true;
            }
            let keep = spare_left > 0;
            spare_left = spare_left.saturating_sub(1);
            keep
        })
        .cloned()
        .collect();
    Ok(out)
}

/// The message for a dead letter (its raw input is capped, so it always fits).
pub fn dead_letter_message(d: &DeadLetter) -> anyhow::Result<OutMessage> {
    Ok(OutMessage {
        key: d.origin.to_string(),
        payload: serde_json::to_vec(d).context("serialising a dead letter")?,
        headers: vec![("Reason", d.reason.clone())],
    })
}

/// What a delivery report is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Source tag the pipeline waits on.
    pub tag: u64,
    /// `record` or `dead_letter`.
    pub kind: &'static str,
    pub sent: Instant,
    /// When the input message that completed the output (its trigger) was consumed.
    pub arrived: Instant,
}

/// Receives delivery reports (on the producer's polling thread).
pub trait AckHandler: Send + Sync + 'static {
    fn delivered(&self, token: Token, result: Result<(), String>);
}

/// Producer context: delivery reports to the handler, tokens from the cache.
pub struct SinkContext<A: AckHandler> {
    acks: A,
    tokens: Option<TokenCache>,
}

impl<A: AckHandler> ClientContext for SinkContext<A> {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        crate::source::kafka::oauth::callback_token(self.tokens.as_ref())
    }
}

impl<A: AckHandler> ProducerContext for SinkContext<A> {
    type DeliveryOpaque = Box<Token>;

    fn delivery(&self, result: &DeliveryResult<'_>, token: Box<Token>) {
        let outcome = result.as_ref().map(|_| ()).map_err(|(e, _)| e.to_string());
        let sink = if token.kind == "record" {
            "kafka"
        } else {
            "kafka_dead_letters"
        };
        let secs = token.sent.elapsed().as_secs_f64();
        metrics::histogram!("ueba_sink_latency_seconds", "sink" => sink).record(secs);
        if outcome.is_err() {
            metrics::counter!("ueba_sink_failures_total", "sink" => sink).increment(1);
        }
        self.acks.delivered(*token, outcome);
    }
}

/// Records and dead letters to their topics.
pub struct KafkaSink<A: AckHandler> {
    producer: ThreadedProducer<SinkContext<A>>,
    pub records_topic: String,
    pub dead_letter_topic: String,
}

impl<A: AckHandler> KafkaSink<A> {
    pub fn new(k: &KafkaConfig, acks: A, tokens: Option<TokenCache>) -> anyhow::Result<Self> {
        let producer = producer_config(k)
            .create_with_context(SinkContext { acks, tokens })
            .context("creating the Kafka producer")?;
        Ok(KafkaSink {
            producer,
            records_topic: k.output_topic.clone(),
            dead_letter_topic: k.dead_letter_topic.clone(),
        })
    }

    /// Enqueue one message; waits while the local queue is full.
    pub async fn send(&self, topic: &str, msg: &OutMessage, token: Token) -> anyhow::Result<()> {
        let mut token = Box::new(token);
        loop {
            let mut headers = OwnedHeaders::new();
            for (k, v) in &msg.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let rec = BaseRecord::with_opaque_to(topic, token)
                .key(msg.key.as_bytes())
                .payload(&msg.payload)
                .headers(headers);
            match self.producer.send(rec) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), rec)) => {
                    token = rec.delivery_opaque;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err((e, _)) => return Err(e).with_context(|| format!("producing to {topic}")),
            }
        }
    }

    /// Wait for every queued message to be delivered (or the timeout).
    pub fn flush(&self, timeout: Duration) -> anyhow::Result<()> {
        self.producer
            .flush(timeout)
            .context("flushing the producer")
    }
}

#[cfg(test)]
mod tests;
