//! Helpers for the tests that run against a real local broker (`UEBA_KAFKA_BOOTSTRAP`): topic
//! creation with the Admin API, producing export bodies, reading topics back, committed offsets,
//! and generated trigger rows.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{Value, json};

use ueba_narrator::config::{self, Config};

pub const PARTITIONS: i32 = 3;

/// The broker address, or `None` (with a message) when the tests should be skipped.
pub fn bootstrap() -> Option<String> {
    match std::env::var("UEBA_KAFKA_BOOTSTRAP") {
        Ok(b) if !b.is_empty() => Some(b),
        _ => {
            eprintln!("SKIPPED: UEBA_KAFKA_BOOTSTRAP is not set (start scripts/start-kafka.sh)");
            None
        }
    }
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{t}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

pub async fn create_topics(bootstrap: &str, names: &[&str]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, PARTITIONS, TopicReplication::Fixed(1)))
        .collect();
    let res = admin
        .create_topics(&topics, &AdminOptions::new())
        .await
        .expect("create topics");
    for r in res {
        r.expect("topic created");
    }
}

fn producer(bootstrap: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .set("message.max.bytes", "2000000")
        .create()
        .expect("producer")
}

/// Produce bodies in order to one partition (or any, with `None`).
pub fn produce(bootstrap: &str, topic: &str, partition: Option<i32>, bodies: &[Vec<u8>]) {
    let p = producer(bootstrap);
    for b in bodies {
        let mut rec = BaseRecord::<(), [u8]>::to(topic).payload(b);
        if let Some(part) = partition {
            rec = rec.partition(part);
        }
        p.send(rec).map_err(|(e, _)| e).expect("send");
    }
    p.flush(Duration::from_secs(30)).expect("flush");
}

/// One message read back.
#[derive(Debug, Clone)]
pub struct Read {
    pub partition: i32,
    pub key: String,
    pub headers: BTreeMap<String, String>,
    pub value: Value,
}

/// Everything on `topic` (all partitions, from the start).
pub fn read_all(bootstrap: &str, topic: &str) -> Vec<Read> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    let highs: Vec<(i32, i64)> = (0..PARTITIONS)
        .map(|p| {
            let (_, high) = c
                .fetch_watermarks(topic, p, Duration::from_secs(5))
                .expect("watermarks");
            (p, high)
        })
        .collect();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    c.assign(&tpl).expect("assign");
    let want: i64 = highs.iter().map(|h| h.1).sum();
    let mut out = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    let mut quiet_since = Instant::now();
    // Read at least up to the high watermarks, then until nothing came for a second.
    while Instant::now() < until
        && ((out.len() as i64) < want || quiet_since.elapsed() < Duration::from_secs(1))
    {
        let Some(m) = c.poll(Duration::from_millis(200)) else {
            continue;
        };
        quiet_since = Instant::now();
        let m = m.expect("message");
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|x| {
                        let v = x.value.map(|v| String::from_utf8_lossy(v).into_owned());
                        (x.key.to_owned(), v.unwrap_or_default())
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Read {
            partition: m.partition(),
            key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
            headers,
            value: serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or(Value::Null),
        });
    }
    out
}

/// Committed offsets of `group` on `topic`, per partition (-1 when none).
pub fn committed(bootstrap: &str, group: &str, topic: &str) -> Vec<i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("offset reader");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition(topic, p);
    }
    let got = c
        .committed_offsets(tpl, Duration::from_secs(5))
        .expect("committed offsets");
    (0..PARTITIONS)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => -1,
        })
        .collect()
}

pub fn high_watermarks(bootstrap: &str, topic: &str) -> Vec<i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("client");
    (0..PARTITIONS)
        .map(|p| {
            c.fetch_watermarks(topic, p, Duration::from_secs(5))
                .expect("watermarks")
                .1
        })
        .collect()
}

/// Wait until every partition's committed offset reaches its high watermark.
pub async fn wait_fully_committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    limit: Duration,
) -> bool {
    let until = Instant::now() + limit;
    let highs = high_watermarks(bootstrap, topic);
    while Instant::now() < until {
        let c = committed(bootstrap, group, topic);
        if c.iter().zip(&highs).all(|(c, h)| *h == 0 || c >= h) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    false
}

/// A BehaviorAnalytics row that fires the UEBA priority trigger for `user_{i}`, at minute `i`.
pub fn trigger_row(i: usize) -> Value {
    let minute = i % 60;
    let hour = 8 + i / 60;
    json!({
        "TenantId": "a0a0a0a0-1111-4222-8333-444455556666",
        "SourceRecordId": format!("trig-{i}"),
        "TimeGenerated": format!("2025-03-04T{hour:02}:{minute:02}:00.0000000Z"),
        "ActivityType": "LogOn", "ActionType": "Sign-in",
        "UserName": format!("user{i}"),
        "UserPrincipalName": format!("user{i}@contoso.com"),
        "SourceIPAddress": "198.51.100.7",
        "InvestigationPriority": 9,
        "Type": "BehaviorAnalytics"
    })
}

pub fn body(rows: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "records": rows })).expect("body")
}

/// Evidence ids named by the triggers of output records.
pub fn trigger_evidence(records: &[Read]) -> std::collections::BTreeSet<String> {
    records
        .iter()
        .flat_map(|r| r.value["Triggers"].as_array().cloned().unwrap_or_default())
        .flat_map(|t| t["EvidenceIds"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The TOML of a test configuration.
pub fn config_text(bootstrap: &str, input: &str, output: &str, dlq: &str, group: &str) -> String {
    format!(
        r#"
[window]
window_secs = 60
debounce_secs = 60
max_wait_secs = 120
allowed_lateness_secs = 86400
[kafka]
bootstrap = "{bootstrap}"
topics = ["{input}"]
group_id = "{group}"
output_topic = "{output}"
dead_letter_topic = "{dlq}"
commit_interval_ms = 300
tick_ms = 200
idle_flush_secs = 2
session_timeout_ms = 10000
drain_deadline_ms = 5000
[ops]
listen = ""
"#
    )
}

pub fn config(text: &str) -> Config {
    config::from_sources(text, std::iter::empty()).expect("test config")
}
