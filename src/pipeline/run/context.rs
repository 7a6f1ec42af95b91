//! The consumer's callbacks: Entra tokens from the cache, warm-up rewind on assignment, and on
//! revocation a bounded wait for in-flight outputs, then storing and committing what is safe.
//!
//! Also the producer's [`AckHandler`]: delivery reports update the [`Ledger`] directly (on the
//! producer's thread), so a revocation can wait for acknowledgements while the pipeline task is
//! blocked inside the consumer's poll.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::client::OAuthToken;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::ledger::{Ledger, Tp};
use crate::ops::Status;
use crate::sink::kafka::{AckHandler, Token};
use crate::source::kafka::TokenCache;

/// Network calls made inside a rebalance.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// State shared by the pipeline task and the client callbacks.
#[derive(Debug)]
pub struct Shared {
    pub ledger: Mutex<Ledger>,
    pub status: Arc<Status>,
    /// Messages per partition re-read before the committed offset on assignment.
    pub warmup_messages: i64,
    /// Longest wait for in-flight outputs on revocation.
    pub drain_deadline: Duration,
    /// Trigger-to-output latencies (seconds) of acknowledged records, up to [`MAX_SAMPLES`].
    pub latencies: Mutex<Vec<f32>>,
}

/// Latency samples kept for the end-of-run percentiles.
pub const MAX_SAMPLES: usize = 200_000;

impl Shared {
    /// The p-th percentile (0..=100) of the latency samples, in milliseconds.
    pub fn latency_ms(&self, p: f64) -> Option<f64> {
        let mut v = self
            .latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f32::total_cmp);
        let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        Some((f64::from(v[i.min(v.len() - 1)]) * 1000.0).round())
    }
}

impl Shared {
    pub fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panic while holding the lock leaves plain counters; keep going with them.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait (up to `deadline`) until no output is in flight.
    pub fn wait_acks(&self, deadline: Duration) -> bool {
        let until = Instant::now() + deadline;
        loop {
            if self.ledger().in_flight() == 0 {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Store every safe offset on `consumer`.
pub fn store_safe<C: Consumer<X>, X: ConsumerContext>(shared: &Shared, consumer: &C) -> usize {
    let storable = shared.ledger().take_storable();
    if storable.is_empty() {
        return 0;
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), next) in &storable {
        if let Err(e) = tpl.add_partition_offset(topic, *partition, Offset::Offset(*next)) {
            tracing::warn!(topic, partition, error = %e, "cannot list an offset to store");
        }
    }
    if let Err(e) = consumer.store_offsets(&tpl) {
        tracing::warn!(error = %e, "storing offsets failed (partition no longer assigned?)");
    }
    storable.len()
}

/// Delivery reports into the ledger.
#[derive(Debug, Clone)]
pub struct Acks(pub Arc<Shared>);

impl AckHandler for Acks {
    fn delivered(&self, token: Token, result: Result<(), String>) {
        if result.is_ok() && token.kind == "record" {
            let secs = token.arrived.elapsed().as_secs_f64();
            metrics::histogram!("ueba_trigger_to_output_seconds").record(secs);
            let mut v = self.0.latencies.lock().unwrap_or_else(|e| e.into_inner());
            if v.len() < MAX_SAMPLES {
                v.push(secs as f32);
            }
        }
        let mut l = self.0.ledger();
        match result {
            Ok(()) => l.acked(token.tag),
            Err(e) => {
                tracing::error!(kind = token.kind, tag = token.tag, error = %e, "delivery failed");
                l.failed(format!("{} delivery failed: {e}", token.kind));
            }
        }
    }
}

/// The consumer context.
pub struct RunContext {
    pub shared: Arc<Shared>,
    pub tokens: Option<TokenCache>,
}

impl ClientContext for RunContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        crate::source::kafka::oauth::callback_token(self.tokens.as_ref())
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<Tp> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

impl RunContext {
    /// Move each assigned partition back by the warm-up span and remember where live input
    /// starts.
    fn rewind(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        let committed = match consumer.committed_offsets(tpl.clone(), CALL_TIMEOUT) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "no committed offsets for warm-up; starting without it");
                return;
            }
        };
        for e in committed.elements() {
            let Offset::Offset(at) = e.offset() else {
                continue;
            };
            let (topic, p) = (e.topic().to_owned(), e.partition());
            let low = consumer
                .fetch_watermarks(&topic, p, CALL_TIMEOUT)
                .map_or(0, |w| w.0);
            let start = (at - self.shared.warmup_messages).max(low);
            if start >= at {
                continue;
            }
            if tpl
                .set_partition_offset(&topic, p, Offset::Offset(start))
                .is_ok()
            {
                tracing::info!(
                    topic,
                    partition = p,
                    from = start,
                    committed = at,
                    "warm-up rewind"
                );
                self.shared.ledger().set_warmup((topic, p), at);
            }
        }
    }

    /// Wait for in-flight outputs, store what is safe, commit, forget the partitions.
    fn drain(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let drained = self.shared.wait_acks(self.shared.drain_deadline);
        let stored = store_safe(&self.shared, consumer);
        if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(error = %e, "commit on revocation");
        }
        self.shared.ledger().revoke(&partitions(tpl));
        self.shared.status.assigned.store(false, Ordering::Relaxed);
        tracing::info!(
            partitions = tpl.count(),
            drained,
            stored,
            "partitions revoked"
        );
    }
}

impl ConsumerContext for RunContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let result: KafkaResult<()> = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                if self.shared.warmup_messages > 0 {
                    self.rewind(consumer, tpl);
                }
                let r = consumer.assign(tpl);
                self.shared
                    .status
                    .assigned
                    .store(tpl.count() > 0, Ordering::Relaxed);
                tracing::info!(partitions = ?partitions(tpl), "partitions assigned");
                r
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.drain(consumer, tpl);
                consumer.unassign()
            }
            other => {
                tracing::warn!(error = ?other, "rebalance error");
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "applying a rebalance failed");
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, _: &Rebalance<'_>) {}
}
