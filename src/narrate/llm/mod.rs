//! The LLM narrator: Azure OpenAI (classic and v1 routes) or any OpenAI-compatible endpoint,
//! with structured output, tokenization, rate limits, retries, audit, cache and fallback.
//!
//! [`LlmNarrator::narrate`] tokenizes the context, answers repeats from a cache keyed by the
//! tokenized context's fingerprint, and otherwise runs the exchange in [`session`]: compact the
//! case to the budget, wait for rate-limit capacity, post, classify the reply, retry or repair
//! within fixed bounds, de-tokenize and validate. Whatever happens it returns a narrative: when
//! the model cannot deliver, the offline narrator's, marked `fallback` with the reason.
//! An unsupported api-version/schema or an auth failure disables the LLM for the whole run.

pub mod audit;
pub mod config;
pub mod guard;
pub mod limit;
pub mod prompt;
pub mod retry;
mod session;
pub mod strict;
pub mod transport;
pub mod wire;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use self::audit::{AuditSink, NoAudit};
use self::config::LlmConfig;
use self::limit::Limits;
use self::prompt::{PROMPT_VERSION, Prompts};
use self::retry::{Circuit, Clock, RetryPolicy, TokioClock};
use self::transport::{Auth, Transport};
use super::Audience;
use super::offline::OfflineNarrator;
use super::schema::Narrative;
use crate::context::tokenize::Tokenizer;
use crate::context::types::CaseContext;
use crate::sink::record::Generation;

/// Version tag of the offline narrator, recorded on fallback narratives.
pub const FALLBACK_PROMPT_VERSION: &str = "offline-v1";

/// One narrated case and what it cost.
#[derive(Debug, Clone)]
pub struct LlmResult {
    pub narrative: Narrative,
    pub generation: Generation,
    pub calls: u32,
    pub cost: f64,
}

/// Run totals for the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LlmTotals {
    pub narratives: u64,
    pub calls: u64,
    pub cache_hits: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost: f64,
    /// 429 responses received.
    pub throttled: u64,
    /// Narratives by `llm_status`.
    pub statuses: std::collections::BTreeMap<String, u64>,
}

/// Optional seams for tests and embedding.
pub struct Hooks {
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<dyn AuditSink>,
    /// Overrides the auth built from configuration (fake Entra credentials in tests).
    pub auth: Option<Auth>,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            clock: Arc::new(TokioClock),
            audit: Arc::new(NoAudit),
            auth: None,
        }
    }
}

pub struct LlmNarrator {
    cfg: LlmConfig,
    audience: Audience,
    prompts: Prompts,
    /// The strict `response_format` schema, derived once.
    schema: serde_json::Value,
    tokenizer: Tokenizer,
    transport: Transport,
    limits: Limits,
    policy: RetryPolicy,
    /// Open while a daily quota is exhausted; cases fall back meanwhile.
    circuit: Circuit,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditSink>,
    /// Tokenized narratives by context fingerprint (repeats cost nothing).
    cache: moka::sync::Cache<String, serde_json::Value>,
    /// Set once the endpoint proved unusable for this run (unsupported api-version, auth).
    disabled: Mutex<Option<String>>,
    offline: OfflineNarrator,
    totals: Mutex<LlmTotals>,
}

impl std::fmt::Debug for LlmNarrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmNarrator")
            .field("deployment", &self.cfg.deployment)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl LlmNarrator {
    pub fn new(cfg: &LlmConfig, audience: Audience, hooks: Hooks) -> anyhow::Result<Self> {
        let problems = cfg.problems();
        anyhow::ensure!(
            problems.is_empty(),
            "invalid [llm] settings: {}",
            problems.join("; ")
        );
        let auth = match hooks.auth {
            Some(a) => a,
            None => Auth::from_config(cfg)?,
        };
        Ok(LlmNarrator {
            audience,
            prompts: Prompts::new()?,
            schema: strict::strict_schema()?,
            tokenizer: Tokenizer::new(cfg.token_key().expose().as_bytes()),
            transport: Transport::new(cfg, auth)?,
            limits: Limits::new(
                cfg.requests_per_minute,
                cfg.tokens_per_minute,
                cfg.concurrency,
            ),
            policy: RetryPolicy {
                base: Duration::from_millis(cfg.backoff_base_ms),
                ceiling: Duration::from_secs(cfg.max_retry_wait_secs),
                max_attempts: cfg.max_attempts,
            },
            circuit: Circuit::default(),
            clock: hooks.clock,
            audit: hooks.audit,
            cache: moka::sync::Cache::new(cfg.cache_entries),
            disabled: Mutex::new(None),
            offline: OfflineNarrator::new(audience)?,
            totals: Mutex::new(LlmTotals::default()),
            cfg: cfg.clone(),
        })
    }

    pub fn concurrency(&self) -> usize {
        self.cfg.concurrency.max(1)
    }

    pub fn totals(&self) -> LlmTotals {
        self.totals.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Why the LLM is off for this run, if it is.
    pub fn disabled_reason(&self) -> Option<String> {
        self.disabled.lock().ok().and_then(|d| d.clone())
    }

    fn disable(&self, reason: String) {
        tracing::error!(
            reason = %reason,
            "LLM narrator disabled for this run; offline narrator takes over"
        );
        if let Ok(mut d) = self.disabled.lock() {
            d.get_or_insert(reason);
        }
    }

    /// Narrates one case; never fails.
    pub async fn narrate(&self, ctx: &CaseContext) -> LlmResult {
        let result = self.narrate_inner(ctx).await;
        if let Ok(mut t) = self.totals.lock() {
            t.narratives += 1;
            t.calls += result.calls as u64;
            t.prompt_tokens += result.generation.prompt_tokens;
            t.completion_tokens += result.generation.completion_tokens;
            t.cost += result.cost;
            crate::pipeline::stats::Stats::bump(&mut t.statuses, &result.generation.llm_status);
        }
        result
    }

    async fn narrate_inner(&self, ctx: &CaseContext) -> LlmResult {
        if let Some(reason) = self.disabled_reason() {
            return self.fallback(ctx, "llm_disabled", &reason, Default::default());
        }
        if self.circuit.is_open(self.clock.now()) {
            return self.fallback(ctx, "quota_exhausted", "circuit open", Default::default());
        }
        let (tctx, map) = self.tokenizer.tokenize(ctx);
        let key = self.fingerprint(&tctx);
        if let Some(cached) = self.cache.get(&key)
            && let Some(n) = session::accept(&cached, &map, ctx)
        {
            if let Ok(mut t) = self.totals.lock() {
                t.cache_hits += 1;
            }
            let mut g = self.generation("llm", "cache_hit", "ok");
            g.model = self.cfg.deployment.clone();
            return LlmResult {
                narrative: n,
                generation: g,
                calls: 0,
                cost: 0.0,
            };
        }
        session::run(self, ctx, &tctx, &map, &key).await
    }

    fn fingerprint(&self, tctx: &CaseContext) -> String {
        let mut h = Sha256::new();
        for part in [PROMPT_VERSION, self.audience.as_str(), &self.cfg.deployment] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(serde_json::to_vec(tctx).unwrap_or_default());
        hex::encode(h.finalize())
    }

    fn generation(&self, generator: &str, reason: &str, status: &str) -> Generation {
        let mut g = Generation::offline(self.audience.as_str(), PROMPT_VERSION);
        g.generator = generator.into();
        g.reason = reason.into();
        g.llm_status = status.into();
        g
    }

    /// The offline narrative, marked with why the LLM's was not used.
    fn fallback(&self, ctx: &CaseContext, status: &str, detail: &str, spent: Spent) -> LlmResult {
        tracing::warn!(
            window_id = %ctx.window_id,
            status,
            detail,
            "LLM narrative fell back to offline"
        );
        let mut g = self.generation("fallback", status, status);
        g.prompt_version = FALLBACK_PROMPT_VERSION.into();
        g.model = self.cfg.deployment.clone();
        g.prompt_tokens = spent.usage.prompt_tokens;
        g.completion_tokens = spent.usage.completion_tokens;
        g.latency_ms = spent.latency_ms;
        g.validation_issues = spent.notes;
        if !detail.is_empty() {
            g.validation_issues.push(format!("llm: {detail}"));
        }
        LlmResult {
            narrative: self.offline.narrate(ctx),
            calls: spent.calls,
            cost: self.cost(spent.usage),
            generation: g,
        }
    }

    fn cost(&self, u: wire::Usage) -> f64 {
        u.prompt_tokens as f64 / 1000.0 * self.cfg.price_prompt_per_1k
            + u.completion_tokens as f64 / 1000.0 * self.cfg.price_completion_per_1k
    }

    /// One small request at startup; disables the LLM for the run when the endpoint rejects
    /// the api-version, the schema or the credentials. Returns the reason when it did.
    pub async fn probe(&self) -> Option<String> {
        session::probe(self).await;
        self.disabled_reason()
    }
}

/// What a case has used so far.
#[derive(Debug, Clone, Default)]
struct Spent {
    calls: u32,
    usage: wire::Usage,
    latency_ms: u64,
    /// Notes for `validation_issues` (filter categories, repair reasons).
    notes: Vec<String>,
}
