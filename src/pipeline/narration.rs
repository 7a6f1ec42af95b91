//! Narration step: case contexts in, validated output records out.
//!
//! The offline narrator is the default and runs synchronously. With `narrator.kind = "llm"`
//! a batch of cases is narrated concurrently (bounded by the LLM concurrency cap) on a private
//! tokio runtime, and records come back in case order. Every narrative is validated (schema,
//! grounding, catalogs, sizes) before it leaves; what validation repaired is recorded.

use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;

use crate::config::Config;
use crate::context::types::CaseContext;
use crate::narrate::Audience;
use crate::narrate::llm::audit::{AuditSink, JsonlAudit};
use crate::narrate::llm::{Hooks, LlmNarrator, LlmTotals};
use crate::narrate::offline::OfflineNarrator;
use crate::narrate::schema::Narrative;
use crate::narrate::validate::{repair, validate};
use crate::pipeline::stats::Stats;
use crate::sink::record::{Generation, OutputRecord};

/// Version tag of the offline narrator's templates, recorded in every output.
pub const OFFLINE_PROMPT_VERSION: &str = "offline-v1";

pub struct Narration {
    offline: OfflineNarrator,
    audience: String,
    /// Present when the LLM narrator is configured.
    llm: Option<LlmBackend>,
}

struct LlmBackend {
    narrator: Arc<LlmNarrator>,
    /// Drives the HTTP calls; replay itself stays synchronous.
    rt: tokio::runtime::Runtime,
}

impl Narration {
    pub fn from_config(cfg: &Config) -> anyhow::Result<Self> {
        Self::with_hooks(cfg, None)
    }

    /// Like [`Narration::from_config`], with test or embedding seams for the LLM narrator.
    pub fn with_hooks(cfg: &Config, hooks: Option<Hooks>) -> anyhow::Result<Self> {
        let audience = parse_audience(&cfg.narrator.audience);
        let llm = match cfg.narrator.kind.as_str() {
            "llm" => Some(LlmBackend::new(cfg, audience, hooks)?),
            _ => None,
        };
        Ok(Narration {
            offline: OfflineNarrator::new(audience)?,
            audience: cfg.narrator.audience.clone(),
            llm,
        })
    }

    /// True when cases are worth batching (the LLM narrator runs them concurrently).
    pub fn is_llm(&self) -> bool {
        self.llm.is_some()
    }

    /// LLM call, token and cost totals (LLM narrator only).
    pub fn llm_totals(&self) -> Option<LlmTotals> {
        self.llm.as_ref().map(|b| b.narrator.totals())
    }

    /// Narrate, validate and wrap one case.
    pub fn narrate(&mut self, ctx: &CaseContext, mode: &str, stats: &mut Stats) -> OutputRecord {
        let mut out = self.narrate_batch(std::slice::from_ref(ctx), mode, stats);
        out.pop().expect("one record per case")
    }

    /// Narrate a batch; records come back in the order of `cases`.
    pub fn narrate_batch(
        &mut self,
        cases: &[CaseContext],
        mode: &str,
        stats: &mut Stats,
    ) -> Vec<OutputRecord> {
        let produced: Vec<(Narrative, Generation)> = match &self.llm {
            Some(b) => b.narrate_all(cases),
            None => cases
                .iter()
                .map(|c| {
                    let g = Generation::offline(&self.audience, OFFLINE_PROMPT_VERSION);
                    (self.offline.narrate(c), g)
                })
                .collect(),
        };
        cases
            .iter()
            .zip(produced)
            .map(|(ctx, (n, g))| finish(ctx, n, g, mode, stats))
            .collect()
    }
}

impl LlmBackend {
    fn new(cfg: &Config, audience: Audience, hooks: Option<Hooks>) -> anyhow::Result<Self> {
        let mut hooks = hooks.unwrap_or_default();
        if let Some(path) = &cfg.llm.audit_file {
            let sink: Arc<dyn AuditSink> = Arc::new(JsonlAudit::open(path.as_ref())?);
            hooks.audit = sink;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the LLM runtime")?;
        let narrator = Arc::new(LlmNarrator::new(&cfg.llm, audience, hooks)?);
        if cfg.llm.startup_probe
            && let Some(reason) = rt.block_on(narrator.probe())
        {
            tracing::error!(
                reason = %reason,
                "LLM startup check failed; narrating offline for this run"
            );
        }
        Ok(LlmBackend { narrator, rt })
    }

    fn narrate_all(&self, cases: &[CaseContext]) -> Vec<(Narrative, Generation)> {
        let n = &self.narrator;
        self.rt.block_on(
            futures::stream::iter(cases)
                .map(|c| async move {
                    let r = n.narrate(c).await;
                    (r.narrative, r.generation)
                })
                .buffered(n.concurrency())
                .collect(),
        )
    }
}

/// Validates, repairs what needs no model, counts and wraps one narrative.
fn finish(
    ctx: &CaseContext,
    mut narrative: Narrative,
    mut generation: Generation,
    mode: &str,
    stats: &mut Stats,
) -> OutputRecord {
    let issues = validate(&narrative, ctx);
    if !issues.is_empty() {
        tracing::warn!(
            window_id = %ctx.window_id,
            issues = issues.len(),
            generator = %generation.generator,
            "narrative repaired"
        );
        repair(&mut narrative, ctx);
        stats.validation_repairs += 1;
        generation
            .validation_issues
            .extend(issues.iter().map(|i| format!("{:?}: {}", i.kind, i.detail)));
    }
    stats.narratives += 1;
    Stats::bump(&mut stats.generators, &generation.generator);
    OutputRecord::new(ctx, narrative, generation, mode)
}

pub fn parse_audience(name: &str) -> Audience {
    match name {
        "hunter" => Audience::Hunter,
        _ => Audience::Tier1,
    }
}
