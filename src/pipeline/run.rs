//! `run`: the streaming pipeline on Kafka / Event Hubs with at-least-once delivery.
//!
//! One task consumes export messages, splits each body into rows, feeds the [`Engine`] (tagging
//! rows with the message's sequence number), narrates emitted cases and hands records and dead
//! letters to the producer. Delivery reports land in the [`ledger::Ledger`]; after every step the
//! offsets whose outputs are all acknowledged are stored, and librdkafka commits stored offsets
//! on its timer, on revocation and at shutdown.
//!
//! Backpressure: when more than `max_in_flight` outputs await acknowledgement the assigned
//! partitions are paused until half of them are acknowledged. A processing-time tick moves the
//! watermark while the input is quiet, and (optionally) closes every case after a long quiet.
//! Shutdown: stop consuming, wait for in-flight outputs (bounded), store, commit; open cases are
//! not flushed: their messages are re-read after a restart and RecordIds are deterministic.

pub mod bare;
mod context;
pub mod ledger;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use serde::Serialize;

use crate::config::kafka::KafkaConfig;
use crate::config::{Config, ConfigErrors};
use crate::decode::envelope::split_body;
use crate::decode::event::Origin;
use crate::ops::{self, Status, mirror::StatsMirror};
use crate::pipeline::engine::{Emitted, Engine};
use crate::pipeline::narration::Narration;
use crate::pipeline::stats::Stats;
use crate::sink::kafka::{
    KafkaSink, MAX_MESSAGE_BYTES, Token, dead_letter_message, record_messages,
};
use crate::source::kafka::{TokenCache, consumer_config, oauth, profile, version};
use context::{Acks, RunContext, Shared, store_safe};
use ledger::{Ledger, Tp};

/// Ticks between consumer-lag refreshes.
const LAG_EVERY_TICKS: u64 = 10;

/// What a run did, printed at exit.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub librdkafka: String,
    pub messages: u64,
    /// Cases and dead letters not emitted again during warm-up.
    pub suppressed: u64,
    pub records_sent: u64,
    pub dead_letters_sent: u64,
    /// Seconds from the first to the last consumed message.
    pub busy_secs: f64,
    /// Rows read per busy second.
    pub rows_per_sec: f64,
    /// Trigger-to-output latency percentiles (consumption of the message completing a case's
    /// trigger to the broker's acknowledgement of its record), in milliseconds.
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub stats: Stats,
}

/// Run until `shutdown` resolves (or a delivery fails for good).
pub async fn run(
    cfg: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<RunReport> {
    let k = cfg.kafka.clone();
    let problems = k.problems();
    if !problems.is_empty() {
        return Err(ConfigErrors(problems).into());
    }
    let librdkafka = version::check_linked()?;
    let metrics = ops::recorder()?;
    let status = Arc::new(Status::default());
    let tokens = start_tokens(&k).await?;
    let shared = Arc::new(Shared {
        ledger: Mutex::new(Ledger::default()),
        status: status.clone(),
        warmup_messages: k.warmup_messages,
        drain_deadline: Duration::from_millis(k.drain_deadline_ms),
        latencies: Mutex::new(Vec::new()),
    });
    let consumer: StreamConsumer<RunContext> = consumer_config(&k)
        .create_with_context(RunContext {
            shared: shared.clone(),
            tokens: tokens.clone(),
        })
        .context("creating the Kafka consumer")?;
    let sink = KafkaSink::new(&k, Acks(shared.clone()), tokens)?;
    let topics: Vec<&str> = k.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .with_context(|| format!("subscribing to {topics:?}"))?;
    tracing::info!(topics = ?topics, group = %k.group_id, profile = %k.profile, "run started");

    let (ops_stop, ops_stopped) = tokio::sync::oneshot::channel::<()>();
    let ops_task = if cfg.ops.listen.is_empty() {
        None
    } else {
        let stop = async {
            let _ = ops_stopped.await;
        };
        Some(ops::serve(&cfg.ops.listen, status.clone(), metrics, stop).await?)
    };

    let mut pipe = Pipe::new(&cfg, sink, shared.clone(), librdkafka)?;
    status.consuming.store(true, Ordering::Relaxed);
    let result = pipe.main_loop(&consumer, shutdown).await;
    status.stopping.store(true, Ordering::Relaxed);
    pipe.close(&consumer);
    let _ = ops_stop.send(());
    if let Some(t) = ops_task {
        let _ = t.await;
    }
    result?;
    Ok(pipe.report())
}

async fn start_tokens(k: &KafkaConfig) -> anyhow::Result<Option<TokenCache>> {
    if k.profile != "eventhubs" || k.auth != "entra" {
        return Ok(None);
    }
    let cred = oauth::credential(k)?;
    let cache = TokenCache::start(cred, profile::token_scope(k)).await?;
    Ok(Some(cache))
}

/// The pipeline task's state.
struct Pipe {
    engine: Engine,
    narration: Narration,
    sink: KafkaSink<Acks>,
    shared: Arc<Shared>,
    k: KafkaConfig,
    mode: String,
    /// Sequence tag of the last consumed message.
    seq: u64,
    emitted: Vec<Emitted>,
    mirror: StatsMirror,
    /// When the last message arrived, and the watermark right after it.
    last_input: Instant,
    wm_at_input: Option<chrono::DateTime<chrono::Utc>>,
    /// Partitions are paused for backpressure.
    paused: bool,
    /// Consumption time of recent messages by tag (ascending), for latency measurement.
    arrivals: std::collections::VecDeque<(u64, Instant)>,
    first_input: Option<Instant>,
    ticks: u64,
    report: RunReport,
}

impl Pipe {
    fn new(
        cfg: &Config,
        sink: KafkaSink<Acks>,
        shared: Arc<Shared>,
        librdkafka: String,
    ) -> anyhow::Result<Self> {
        Ok(Pipe {
            engine: Engine::new(crate::pipeline::settings(cfg)),
            narration: Narration::from_config(cfg)?,
            sink,
            shared,
            k: cfg.kafka.clone(),
            mode: cfg.narrator.mode.clone(),
            seq: 0,
            emitted: Vec::new(),
            mirror: StatsMirror::default(),
            last_input: Instant::now(),
            wm_at_input: None,
            paused: false,
            arrivals: std::collections::VecDeque::new(),
            first_input: None,
            ticks: 0,
            report: RunReport {
                librdkafka,
                messages: 0,
                suppressed: 0,
                records_sent: 0,
                dead_letters_sent: 0,
                busy_secs: 0.0,
                rows_per_sec: 0.0,
                latency_p50_ms: None,
                latency_p99_ms: None,
                stats: Stats::default(),
            },
        })
    }

    async fn main_loop(
        &mut self,
        consumer: &StreamConsumer<RunContext>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(Duration::from_millis(self.k.tick_ms.max(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => {
                    tracing::info!("shutdown requested; draining");
                    return Ok(());
                }
                _ = tick.tick() => self.on_tick(consumer).await?,
                () = tokio::time::sleep(Duration::from_millis(20)), if self.paused => {}
                m = consumer.recv() => match m {
                    Ok(msg) => self.on_message(msg.detach()).await?,
                    Err(e) => {
                        metrics::counter!("ueba_consumer_errors_total").increment(1);
                        tracing::warn!(error = %e, "consumer error");
                    }
                },
            }
            if let Some(why) = self.shared.ledger().failure() {
                anyhow::bail!("stopping: {why}");
            }
            self.backpressure(consumer);
            store_safe(&self.shared, consumer);
        }
    }

    async fn on_message(&mut self, msg: OwnedMessage) -> anyhow::Result<()> {
        self.seq += 1;
        self.report.messages += 1;
        self.engine.set_tag(self.seq);
        let tp: Tp = (msg.topic().to_owned(), msg.partition());
        let offset = msg.offset();
        let warm = {
            let mut l = self.shared.ledger();
            let warm = l.is_warmup(&tp, offset);
            if !warm {
                l.consumed(tp.clone(), offset, self.seq);
            }
            warm
        };
        let payload = msg.payload().unwrap_or_default();
        metrics::counter!("ueba_messages_in_total").increment(1);
        metrics::counter!("ueba_bytes_in_total").increment(payload.len() as u64);
        let now = Instant::now();
        self.arrivals.push_back((self.seq, now));
        self.first_input.get_or_insert(now);
        self.ingest_body(&tp, offset, payload);
        self.last_input = now;
        self.wm_at_input = self.engine.watermark();
        self.deliver(warm).await
    }

    fn ingest_body(&mut self, tp: &Tp, offset: i64, payload: &[u8]) {
        let origin = |index: usize| Origin::Kafka {
            topic: tp.0.clone(),
            partition: tp.1,
            offset,
            index: u32::try_from(index).unwrap_or(u32::MAX),
        };
        let out = &mut self.emitted;
        match split_body(payload) {
            Ok(rows) => {
                for (i, row) in rows.into_iter().enumerate() {
                    match row {
                        Ok(fields) => self.engine.ingest(&fields, origin(i), out),
                        Err(e) => {
                            let reason = e.reason.as_str();
                            self.engine
                                .reject(reason, e.detail, origin(i), String::new(), out)
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(
                    topic = %tp.0,
                    partition = tp.1,
                    offset,
                    detail = %e.detail,
                    "unusable message"
                );
                let raw = String::from_utf8_lossy(payload).into_owned();
                self.engine
                    .reject(e.reason.as_str(), e.detail, origin(0), raw, out);
            }
        }
    }

    /// Narrate and send what the engine emitted; during warm-up, drop it (already delivered).
    async fn deliver(&mut self, warm: bool) -> anyhow::Result<()> {
        let items = std::mem::take(&mut self.emitted);
        for item in items {
            if warm {
                self.report.suppressed += 1;
                continue;
            }
            match item {
                Emitted::Case { ctx, min_tag } => {
                    let record = self
                        .narration
                        .narrate(&ctx, &self.mode, &mut self.engine.stats);
                    for msg in record_messages(&record, MAX_MESSAGE_BYTES)? {
                        self.send_tracked(min_tag, "record", &msg).await?;
                    }
                    self.report.records_sent += 1;
                }
                Emitted::Dead(d) => {
                    let tag = self.shared.ledger().oldest_unstored(self.seq);
                    let msg = dead_letter_message(&d)?;
                    self.send_tracked(tag, "dead_letter", &msg).await?;
                    self.report.dead_letters_sent += 1;
                }
            }
        }
        let floor = self.engine.min_pending_tag();
        let safe = {
            let mut l = self.shared.ledger();
            l.set_engine_floor(floor);
            l.safe_tag().min(self.seq)
        };
        while self.arrivals.front().is_some_and(|a| a.0 < safe) {
            self.arrivals.pop_front();
        }
        Ok(())
    }

    /// When the message with `tag` was consumed (now, if no longer known).
    fn arrived(&self, tag: u64) -> Instant {
        let i = self.arrivals.partition_point(|a| a.0 < tag);
        match self.arrivals.get(i) {
            Some(a) if a.0 == tag => a.1,
            _ => Instant::now(),
        }
    }

    async fn send_tracked(
        &mut self,
        tag: u64,
        kind: &'static str,
        msg: &crate::sink::kafka::OutMessage,
    ) -> anyhow::Result<()> {
        let topic = if kind == "record" {
            self.sink.records_topic.clone()
        } else {
            self.sink.dead_letter_topic.clone()
        };
        self.shared.ledger().sent(tag);
        let token = Token {
            tag,
            kind,
            sent: Instant::now(),
            arrived: self.arrived(tag),
        };
        self.sink.send(&topic, msg, token).await
    }

    async fn on_tick(&mut self, consumer: &StreamConsumer<RunContext>) -> anyhow::Result<()> {
        self.ticks += 1;
        let quiet = self.last_input.elapsed();
        let flush_after = Duration::from_secs(self.k.idle_flush_secs);
        let grace = Duration::from_secs(u64::try_from(self.k.tick_grace_secs).unwrap_or(0));
        if self.k.idle_flush_secs > 0
            && quiet >= flush_after
            && self.engine.min_pending_tag().is_some()
        {
            tracing::info!(
                quiet_secs = quiet.as_secs(),
                "input quiet; closing open cases"
            );
            self.engine.finish(&mut self.emitted);
        } else if quiet > grace
            && let Some(wm) = self.wm_at_input
        {
            let ahead = chrono::Duration::from_std(quiet - grace).unwrap_or_default();
            self.engine.tick(wm + ahead, &mut self.emitted);
        }
        self.deliver(false).await?;
        self.mirror.sync(self.engine.stats());
        let in_flight = self.shared.ledger().in_flight();
        metrics::gauge!("ueba_outputs_in_flight").set(in_flight as f64);
        if self.ticks % LAG_EVERY_TICKS == 1 {
            publish_lag(consumer);
        }
        Ok(())
    }

    fn backpressure(&mut self, consumer: &StreamConsumer<RunContext>) {
        let in_flight = self.shared.ledger().in_flight();
        let max = self.k.max_in_flight;
        let change = if !self.paused && in_flight >= max {
            Some(true)
        } else if self.paused && in_flight <= max / 2 {
            Some(false)
        } else {
            None
        };
        let Some(pause) = change else {
            return;
        };
        let Ok(assignment) = consumer.assignment() else {
            return;
        };
        let r = if pause {
            consumer.pause(&assignment)
        } else {
            consumer.resume(&assignment)
        };
        match r {
            Ok(()) => {
                self.paused = pause;
                metrics::gauge!("ueba_consumer_paused").set(if pause { 1.0 } else { 0.0 });
                tracing::debug!(pause, in_flight, "backpressure");
            }
            Err(e) => tracing::warn!(error = %e, pause, "pausing or resuming partitions failed"),
        }
    }

    /// Wait for in-flight outputs (bounded), store what is safe and commit.
    fn close(&mut self, consumer: &StreamConsumer<RunContext>) {
        let deadline = Duration::from_millis(self.k.drain_deadline_ms);
        if let Err(e) = self.sink.flush(deadline) {
            tracing::warn!(error = %format!("{e:#}"), "outputs still in flight at the deadline");
        }
        let stored = store_safe(&self.shared, consumer);
        if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(error = %e, "final commit");
        }
        self.mirror.sync(self.engine.stats());
        tracing::info!(stored, messages = self.report.messages, "run stopped");
    }

    fn report(&self) -> RunReport {
        let mut r = self.report.clone();
        r.stats = self.engine.stats().clone();
        if let Some(first) = self.first_input {
            r.busy_secs = (self.last_input - first).as_secs_f64();
        }
        if r.busy_secs > 0.0 {
            r.rows_per_sec = (r.stats.total_read() as f64 / r.busy_secs).round();
        }
        r.latency_p50_ms = self.shared.latency_ms(50.0);
        r.latency_p99_ms = self.shared.latency_ms(99.0);
        r
    }
}

/// Consumer lag per assigned partition (high watermark minus position).
fn publish_lag(consumer: &StreamConsumer<RunContext>) {
    let Ok(position) = consumer.position() else {
        return;
    };
    for e in position.elements() {
        let rdkafka::Offset::Offset(at) = e.offset() else {
            continue;
        };
        let timeout = Duration::from_millis(200);
        if let Ok((_, high)) = consumer.fetch_watermarks(e.topic(), e.partition(), timeout) {
            metrics::gauge!(
                "ueba_consumer_lag",
                "topic" => e.topic().to_owned(),
                "partition" => e.partition().to_string()
            )
            .set((high - at).max(0) as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::pipeline::engine::{Emitted, Engine};

    fn trigger_row() -> serde_json::Map<String, serde_json::Value> {
        let v = serde_json::json!({
            "TenantId": "ws", "SourceRecordId": "tick-1",
            "TimeGenerated": "2025-03-04T09:00:00.0000000Z",
            "ActivityType": "LogOn", "ActionType": "Sign-in",
            "UserPrincipalName": "quiet@contoso.com", "InvestigationPriority": 9,
            "Type": "BehaviorAnalytics"
        });
        match v {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("object literal"),
        }
    }

    #[test]
    fn processing_time_tick_closes_cases_on_a_quiet_input() {
        let mut engine = Engine::new(crate::pipeline::settings(&Config::default()));
        let mut out = Vec::new();
        engine.set_tag(7);
        let origin = crate::decode::event::Origin::Kafka {
            topic: "in".into(),
            partition: 0,
            offset: 0,
            index: 0,
        };
        engine.ingest(&trigger_row(), origin, &mut out);
        assert!(out.is_empty(), "the case is still open");
        assert_eq!(engine.min_pending_tag(), Some(7));
        let wm = engine.watermark().expect("watermark after a row");
        // A tick that does not move the watermark does nothing.
        engine.tick(wm, &mut out);
        assert!(out.is_empty());
        engine.tick(wm + chrono::Duration::hours(3), &mut out);
        assert_eq!(out.len(), 1);
        let Emitted::Case { ctx, min_tag } = &out[0] else {
            panic!("expected a case, got {:?}", out[0]);
        };
        assert_eq!(*min_tag, 7);
        assert_eq!(ctx.entity.key, "quiet@contoso.com");
        assert_eq!(engine.min_pending_tag(), None);
    }
}
