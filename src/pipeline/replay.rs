//! `replay`: historical exports from files through the same stages as `run`.
//!
//! A reader thread walks and parses the inputs (event-time merge) and hands batches over a
//! bounded channel; the calling thread runs the engine, narrates each case, validates the
//! narrative and writes records and dead letters as JSON Lines. Output depends only on the
//! input bytes and the configuration, never on timing.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::config::Config;
use crate::pipeline::engine::{Emitted, Engine, Prepared, Preparer};
use crate::pipeline::narration::Narration;
use crate::pipeline::stats::Stats;
use crate::sink::jsonl::JsonlWriter;
use crate::sink::record::OutputRecord;
use crate::sink::setup::{BlockingFanOut, build_fanout};
use crate::source::{ReplayOptions, SourceItem, open_replay};

/// Rows handed from the reader thread to the engine at a time.
const BATCH: usize = 512;
/// Batches in flight between the reader and the engine (backpressure bound).
const CHANNEL_BATCHES: usize = 16;
/// Cases held back for concurrent LLM narration before they are written (in order).
const PENDING_CASES: usize = 64;

/// What to replay and where to write.
#[derive(Debug, Clone)]
pub struct ReplayJob {
    pub inputs: Vec<PathBuf>,
    /// Records go here; `None` is stdout.
    pub out: Option<PathBuf>,
    /// Dead letters go here (created only when there is one).
    pub dead_letters: PathBuf,
    pub config: Config,
    pub source: ReplayOptions,
    pub progress: bool,
}

/// The end-of-run summary.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub stats: Stats,
    pub files: usize,
    pub bytes: u64,
    pub entities: u64,
    pub identities: usize,
    pub elapsed_secs: f64,
    pub records_per_sec: f64,
    pub dead_letters_path: Option<String>,
    /// LLM calls, tokens and cost (LLM narrator only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<crate::narrate::llm::LlmTotals>,
    /// What the configured sinks (`--sink`) did; absent when only JSON Lines are written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryStats>,
}

/// Counts from the configured sinks.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryStats {
    pub sinks: Vec<String>,
    /// Records every sink delivered or dead-lettered.
    pub acked: u64,
    /// Records a sink refused for good (written to the dead letters).
    pub dead: u64,
    /// Records some sink could not deliver before its retries ran out (also written to the
    /// dead letters as `sink_undelivered`, so a later run can resend them).
    pub undelivered: u64,
}

/// Run a replay to completion.
pub fn run(job: &ReplayJob) -> anyhow::Result<ReplayReport> {
    let started = Instant::now();
    let replay = open_replay(&job.inputs, &job.source).context("opening replay inputs")?;
    let (files, total_bytes, bytes_read) =
        (replay.files(), replay.total_bytes(), replay.bytes_counter());
    tracing::info!(files, total_bytes, "replay started");

    // The reader thread parses and decodes; the engine thread only applies state.
    let (batch_tx, batch_rx) = mpsc::sync_channel::<Vec<Prepared>>(CHANNEL_BATCHES);
    let reader = std::thread::Builder::new()
        .name("replay-reader".into())
        .spawn(move || {
            let mut preparer = Preparer::default();
            let mut batch = Vec::with_capacity(BATCH);
            for item in replay {
                batch.push(match item {
                    SourceItem::Record(r) => preparer.prepare(&r.fields, r.origin),
                    SourceItem::Bad {
                        origin,
                        reason,
                        raw,
                    } => Preparer::reject(origin, reason, raw),
                });
                if batch.len() == BATCH
                    && batch_tx
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .is_err()
                {
                    return;
                }
            }
            if !batch.is_empty() {
                let _ = batch_tx.send(batch);
            }
        })
        .context("starting the reader thread")?;

    let bar = progress_bar(job.progress, total_bytes);
    let mut engine = Engine::new(crate::pipeline::settings(&job.config));
    let mut narration = Narration::from_config(&job.config)?;
    let mut output = Output::open(job)?;
    let mut emitted = Vec::new();
    for batch in batch_rx {
        for prepared in batch {
            engine.ingest_prepared(prepared, &mut emitted);
        }
        output.deliver(&mut emitted, &mut narration, engine_stats(&mut engine))?;
        bar.set_position(bytes_read.load(Ordering::Relaxed));
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the replay reader thread panicked"))?;
    engine.finish(&mut emitted);
    output.deliver(&mut emitted, &mut narration, engine_stats(&mut engine))?;
    output.flush(&mut narration, engine_stats(&mut engine))?;
    bar.finish_and_clear();

    let elapsed = started.elapsed();
    let stats = engine.stats().clone();
    let report = ReplayReport {
        records_per_sec: per_sec(stats.total_read(), elapsed),
        files,
        bytes: total_bytes,
        entities: engine.entity_count(),
        identities: engine.directory().identities(),
        elapsed_secs: elapsed.as_secs_f64(),
        dead_letters_path: output.dead_path(),
        llm: narration.llm_totals(),
        delivery: output.delivery.take(),
        stats,
    };
    tracing::info!(
        records = report.stats.total_read(),
        narratives = report.stats.narratives,
        elapsed_secs = report.elapsed_secs,
        "replay finished"
    );
    Ok(report)
}

fn engine_stats(engine: &mut Engine) -> &mut Stats {
    &mut engine.stats
}

fn per_sec(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 { (n as f64 / s).round() } else { 0.0 }
}

fn progress_bar(enabled: bool, total: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{spinner} replay [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Where records, dead letters and sink deliveries go.
struct Output {
    records: JsonlWriter,
    dead_path: PathBuf,
    dead: Option<JsonlWriter>,
    mode: String,
    /// Cases waiting for batched (concurrent) narration, in case order.
    pending_cases: Vec<crate::context::types::CaseContext>,
    /// Configured sinks besides JSON Lines, and the records waiting for them.
    sinks: Option<BlockingFanOut>,
    pending_records: Vec<OutputRecord>,
    batch_records: usize,
    delivery: Option<DeliveryStats>,
}

impl Output {
    fn open(job: &ReplayJob) -> anyhow::Result<Self> {
        let fan = build_fanout(&job.config).context("setting up the configured sinks")?;
        let sinks = if fan.is_empty() {
            None
        } else {
            Some(BlockingFanOut::new(fan)?)
        };
        let delivery = sinks.as_ref().map(|s| DeliveryStats {
            sinks: s.names(),
            ..DeliveryStats::default()
        });
        Ok(Output {
            records: JsonlWriter::open(job.out.as_deref())?,
            dead_path: job.dead_letters.clone(),
            dead: None,
            mode: job.config.narrator.mode.clone(),
            pending_cases: Vec::new(),
            sinks,
            pending_records: Vec::new(),
            batch_records: job.config.delivery.batch_records.max(1),
            delivery,
        })
    }

    fn dead_writer(&mut self) -> anyhow::Result<&mut JsonlWriter> {
        if self.dead.is_none() {
            self.dead = Some(JsonlWriter::open(Some(&self.dead_path))?);
        }
        self.dead
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("dead-letter writer missing"))
    }

    fn deliver(
        &mut self,
        emitted: &mut Vec<Emitted>,
        narration: &mut Narration,
        stats: &mut Stats,
    ) -> anyhow::Result<()> {
        for item in emitted.drain(..) {
            match item {
                Emitted::Case { ctx, .. } => self.pending_cases.push(*ctx),
                Emitted::Dead(d) => self.dead_writer()?.write(&d)?,
            }
        }
        if !narration.is_llm() || self.pending_cases.len() >= PENDING_CASES {
            self.narrate_pending(narration, stats)?;
        }
        Ok(())
    }

    fn narrate_pending(
        &mut self,
        narration: &mut Narration,
        stats: &mut Stats,
    ) -> anyhow::Result<()> {
        let cases = std::mem::take(&mut self.pending_cases);
        for record in narration.narrate_batch(&cases, &self.mode, stats) {
            self.records.write(&record)?;
            if self.sinks.is_some() {
                self.pending_records.push(record);
                if self.pending_records.len() >= self.batch_records {
                    self.flush_sinks()?;
                }
            }
        }
        Ok(())
    }

    /// Hand the waiting records to the configured sinks.
    fn flush_sinks(&mut self) -> anyhow::Result<()> {
        let Some(sinks) = self.sinks.as_ref() else {
            return Ok(());
        };
        if self.pending_records.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending_records);
        let report = sinks.deliver(&batch);
        let undelivered: Vec<&OutputRecord> = batch
            .iter()
            .filter(|r| report.pending.contains(&r.record_id))
            .collect();
        let (acked, dead, lost) = (report.acked.len(), report.dead.len(), undelivered.len());
        if dead + lost > 0 {
            let w = self.dead_writer()?;
            for d in &report.dead {
                w.write(d)?;
            }
            for r in &undelivered {
                w.write(&serde_json::json!({
                    "reason": "sink_undelivered",
                    "record_id": r.record_id,
                    "record": r,
                }))?;
            }
        }
        if let Some(s) = self.delivery.as_mut() {
            s.acked += acked as u64;
            s.dead += dead as u64;
            s.undelivered += lost as u64;
        }
        Ok(())
    }

    fn flush(&mut self, narration: &mut Narration, stats: &mut Stats) -> anyhow::Result<()> {
        self.narrate_pending(narration, stats)?;
        self.flush_sinks()?;
        self.records.flush()?;
        if let Some(d) = self.dead.as_mut() {
            d.flush()?;
        }
        Ok(())
    }

    fn dead_path(&self) -> Option<String> {
        self.dead
            .as_ref()
            .map(|_| self.dead_path.display().to_string())
    }
}

/// The human-readable summary printed after a replay.
pub fn render_summary(r: &ReplayReport) -> String {
    let s = &r.stats;
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(
        &mut out,
        format!(
            "replay: {} records from {} file(s) in {:.2} s ({} records/s)",
            s.total_read(),
            r.files,
            r.elapsed_secs,
            r.records_per_sec
        ),
    );
    line(&mut out, "records read per table:".into());
    for (table, n) in &s.records_read {
        line(&mut out, format!("  {table:<34} {n:>9}"));
    }
    line(
        &mut out,
        format!("ignored tables: {}", join_counts(&s.ignored_types)),
    );
    let where_to = r
        .dead_letters_path
        .as_ref()
        .map(|p| format!(" -> {p}"))
        .unwrap_or_default();
    line(
        &mut out,
        format!(
            "dead letters: {} ({}){where_to}",
            s.total_dead(),
            join_counts(&s.dead_letters)
        ),
    );
    line(
        &mut out,
        format!(
            "duplicates dropped: {}, late records: {}, clock skew: {}, unattributed: {}",
            s.duplicates_dropped, s.late_records, s.clock_skew, s.unattributed
        ),
    );
    line(
        &mut out,
        format!("parse warnings: {}", join_counts(&s.parse_warnings)),
    );
    line(
        &mut out,
        format!(
            "entities: {}, identities: {}, peer rows: {}",
            r.entities, r.identities, s.peer_rows
        ),
    );
    line(
        &mut out,
        format!(
            "triggers: {} ({})",
            s.total_triggers(),
            join_counts(&s.triggers)
        ),
    );
    line(
        &mut out,
        format!(
            "coalesced: {}, cases: {}, revisions: {}, out of scope: {}",
            s.coalesced, s.cases, s.revisions, s.out_of_scope
        ),
    );
    line(
        &mut out,
        format!(
            "narratives: {} ({}), repaired: {}",
            s.narratives,
            join_counts(&s.generators),
            s.validation_repairs
        ),
    );
    if let Some(l) = &r.llm {
        line(
            &mut out,
            format!(
                "llm: {} call(s), {} cache hit(s), {} prompt + {} completion tokens, cost {:.4}, \
                 {} throttled, status: {}",
                l.calls,
                l.cache_hits,
                l.prompt_tokens,
                l.completion_tokens,
                l.cost,
                l.throttled,
                join_counts(&l.statuses)
            ),
        );
    }
    if let Some(d) = &r.delivery {
        line(
            &mut out,
            format!(
                "delivered to {}: {} acked, {} dead-lettered, {} undelivered",
                d.sinks.join(", "),
                d.acked,
                d.dead,
                d.undelivered
            ),
        );
    }
    out
}

fn join_counts(m: &std::collections::BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
