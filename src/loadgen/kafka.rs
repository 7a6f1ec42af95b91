//! Producing a generated tenant to Kafka as Log Analytics export messages.
//!
//! Rows from [`generate`] are grouped per topic into `{"records":[...]}` bodies of at most
//! `batch_rows` rows and never more than [`MAX_BODY_BYTES`], like the workspace export does, and
//! sent without a key (the export sends none). A target rate (rows per second) is held by
//! sleeping when ahead of schedule. The report says the rate achieved.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{GroundTruth, TenantSpec, generate};

/// Largest export body produced.
pub const MAX_BODY_BYTES: usize = 1_000_000;
const ENVELOPE_BYTES: usize = r#"{"records":[]}"#.len();

/// Where rows go.
#[derive(Debug, Clone, PartialEq)]
pub enum TopicMode {
    /// One topic per table, `am-<Table>`, as an export rule without a hub name.
    PerTable,
    /// Every table on one topic.
    One(String),
}

impl TopicMode {
    pub fn topic_for(&self, table: &str) -> String {
        match self {
            TopicMode::PerTable => format!("am-{table}"),
            TopicMode::One(t) => t.clone(),
        }
    }
}

/// How to produce.
#[derive(Debug, Clone)]
pub struct KafkaLoad {
    pub bootstrap: String,
    pub topics: TopicMode,
    /// Rows per second; 0 is as fast as possible.
    pub rate: u64,
    pub batch_rows: usize,
}

/// What was produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub rows: u64,
    pub messages: u64,
    pub bytes: u64,
    pub rows_per_topic: BTreeMap<String, u64>,
    pub skipped_oversized_rows: u64,
    pub elapsed_secs: f64,
    pub rows_per_sec: f64,
    #[serde(skip)]
    pub truth: GroundTruth,
}

struct Batcher {
    producer: ThreadedProducer<DefaultProducerContext>,
    load: KafkaLoad,
    open: BTreeMap<String, (Vec<String>, usize)>,
    started: Instant,
    report: LoadReport,
    error: Option<anyhow::Error>,
}

impl Batcher {
    fn add(&mut self, table: &str, row: Map<String, Value>) -> anyhow::Result<()> {
        let text = serde_json::to_string(&row).context("serialising a row")?;
        if text.len() + ENVELOPE_BYTES > MAX_BODY_BYTES {
            self.report.skipped_oversized_rows += 1;
            return Ok(());
        }
        let topic = self.load.topics.topic_for(table);
        let (rows, bytes) = self.open.entry(topic.clone()).or_default();
        let grown = *bytes + text.len() + usize::from(!rows.is_empty());
        if !rows.is_empty() && grown + ENVELOPE_BYTES > MAX_BODY_BYTES {
            self.flush_topic(&topic)?;
        }
        let (rows, bytes) = self.open.entry(topic.clone()).or_default();
        *bytes += text.len() + usize::from(!rows.is_empty());
        rows.push(text);
        *self.report.rows_per_topic.entry(topic.clone()).or_default() += 1;
        if rows.len() >= self.load.batch_rows {
            self.flush_topic(&topic)?;
        }
        Ok(())
    }

    fn flush_topic(&mut self, topic: &str) -> anyhow::Result<()> {
        let Some((rows, _)) = self.open.remove(topic) else {
            return Ok(());
        };
        if rows.is_empty() {
            return Ok(());
        }
        let body = format!("{{\"records\":[{}]}}", rows.join(","));
        self.send(topic, body.as_bytes())?;
        self.report.rows += rows.len() as u64;
        self.report.messages += 1;
        self.report.bytes += body.len() as u64;
        self.pace();
        Ok(())
    }

    fn send(&self, topic: &str, body: &[u8]) -> anyhow::Result<()> {
        loop {
            match self
                .producer
                .send(BaseRecord::<(), [u8]>::to(topic).payload(body))
            {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(e).with_context(|| format!("producing to {topic}")),
            }
        }
    }

    /// Sleep while ahead of the target rate.
    fn pace(&self) {
        if self.load.rate == 0 {
            return;
        }
        let due = Duration::from_secs_f64(self.report.rows as f64 / self.load.rate as f64);
        if let Some(wait) = due.checked_sub(self.started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}

/// Generate `spec` and produce it; blocks until every message is delivered.
pub fn produce(spec: &TenantSpec, load: &KafkaLoad) -> anyhow::Result<LoadReport> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &load.bootstrap)
        .set("message.max.bytes", MAX_BODY_BYTES.to_string())
        .set("linger.ms", "5")
        .set("queue.buffering.max.kbytes", "262144")
        .create()
        .context("creating the load producer")?;
    let mut b = Batcher {
        producer,
        load: KafkaLoad {
            batch_rows: load.batch_rows.max(1),
            ..load.clone()
        },
        open: BTreeMap::new(),
        started: Instant::now(),
        report: LoadReport::default(),
        error: None,
    };
    let truth = generate(spec, &mut |table, row| {
        if b.error.is_none()
            && let Err(e) = b.add(table, row)
        {
            b.error = Some(e);
        }
    });
    if let Some(e) = b.error.take() {
        return Err(e);
    }
    let topics: Vec<String> = b.open.keys().cloned().collect();
    for t in topics {
        b.flush_topic(&t)?;
    }
    b.producer
        .flush(Duration::from_secs(120))
        .context("waiting for the broker to acknowledge")?;
    let elapsed = b.started.elapsed().as_secs_f64();
    b.report.elapsed_secs = elapsed;
    b.report.rows_per_sec = if elapsed > 0.0 {
        (b.report.rows as f64 / elapsed).round()
    } else {
        0.0
    };
    b.report.truth = truth;
    Ok(b.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert_eq!(TopicMode::PerTable.topic_for("SigninLogs"), "am-SigninLogs");
        assert_eq!(TopicMode::One("hub".into()).topic_for("SigninLogs"), "hub");
    }
}
