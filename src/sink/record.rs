//! The enriched output record: one row of the `UEBA_AI_Context_CL` table.
//!
//! Field names are the table's column names. `schemas/output-record.schema.json`, the table and
//! DCR definitions in `infra/`, and this struct are one definition; a test fails if they drift,
//! because Log Analytics silently drops columns it does not know.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::context::types::CaseContext;
use crate::narrate::schema::{
    Claim, Hypothesis, KqlQuery, MitreTechnique, Narrative, WatchlistProposal,
};
use crate::trigger::hit::TriggerHit;

/// Version of the record layout; bump when columns change.
pub const SCHEMA_VERSION: &str = "1.0";

/// How a narrative was produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// `offline`, `llm`, or `fallback` (offline after the LLM failed).
    pub generator: String,
    /// Why this generator: `configured`, `llm_ok`, `quota_exhausted`, `filtered_prompt`...
    pub reason: String,
    /// `not_used`, `ok`, `repaired`, `truncated`, `refused`, `filtered_prompt`...
    pub llm_status: String,
    pub prompt_version: String,
    pub audience: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_ms: u64,
    /// Validation findings that were repaired before output.
    pub validation_issues: Vec<String>,
}

impl Generation {
    pub fn offline(audience: &str, prompt_version: &str) -> Self {
        Generation {
            generator: "offline".into(),
            reason: "configured".into(),
            llm_status: "not_used".into(),
            prompt_version: prompt_version.into(),
            audience: audience.into(),
            model: String::new(),
            prompt_tokens: 0,
            completion_tokens: 0,
            latency_ms: 0,
            validation_issues: Vec::new(),
        }
    }
}

/// One trigger as recorded in the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TriggerRecord {
    pub kind: String,
    pub time: String,
    pub severity: u8,
    pub evidence_ids: Vec<String>,
    pub facts: std::collections::BTreeMap<String, String>,
}

impl From<&TriggerHit> for TriggerRecord {
    fn from(t: &TriggerHit) -> Self {
        TriggerRecord {
            kind: t.kind.as_str().to_owned(),
            time: ts(t.time),
            severity: t.severity,
            evidence_ids: t.evidence_ids.clone(),
            facts: t.facts.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OutputRecord {
    pub time_generated: String,
    pub record_id: String,
    pub window_id: String,
    pub version: u32,
    pub workspace_id: String,
    pub entity_type: String,
    pub entity: String,
    pub entity_key: String,
    pub entity_object_id: String,
    pub entity_display_name: String,
    pub department: String,
    pub window_start: String,
    pub window_end: String,
    pub trigger_types: Vec<String>,
    pub triggers: Vec<TriggerRecord>,
    pub coalesced_triggers: u32,
    pub risk_level: String,
    pub risk_score: u8,
    pub confidence: f64,
    pub summary: String,
    pub narrative: String,
    pub baseline_comparison: String,
    pub peer_comparison: String,
    pub hypotheses: Vec<Hypothesis>,
    pub kql_queries: Vec<KqlQuery>,
    pub mitre_techniques: Vec<MitreTechnique>,
    pub playbooks: Vec<String>,
    pub watchlist_proposal: Option<WatchlistProposal>,
    pub interview_questions: Vec<String>,
    pub claims: Vec<Claim>,
    pub evidence_ids: Vec<String>,
    pub evidence_truncated: bool,
    pub instruction_like_content: bool,
    pub flagged_fields: Vec<String>,
    pub generator: String,
    pub generator_reason: String,
    pub llm_status: String,
    pub prompt_version: String,
    pub audience: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_ms: u64,
    pub validation_issues: Vec<String>,
    /// `audit` (records only) or `active` (may also comment on incidents).
    pub mode: String,
    pub schema_version: String,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Deterministic record id: the same case, evidence, version and prompt give the same id on
/// every replay and redelivery, so downstream de-duplication works.
pub fn record_id(ctx: &CaseContext, prompt_version: &str) -> String {
    let mut ids: Vec<&str> = ctx
        .triggers
        .iter()
        .flat_map(|t| t.evidence_ids.iter().map(String::as_str))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut h = Sha256::new();
    for part in [
        ctx.tenant.as_str(),
        ctx.entity.key.as_str(),
        ctx.window_id.as_str(),
        prompt_version,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.update(ctx.version.to_le_bytes());
    for id in ids {
        h.update(id.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..16])
}

impl OutputRecord {
    pub fn new(ctx: &CaseContext, n: Narrative, generation: Generation, mode: &str) -> Self {
        let mut kinds: Vec<String> = ctx
            .triggers
            .iter()
            .map(|t| t.kind.as_str().to_owned())
            .collect();
        kinds.dedup();
        kinds.sort();
        kinds.dedup();
        OutputRecord {
            time_generated: ts(ctx.window_end),
            record_id: record_id(ctx, &generation.prompt_version),
            window_id: ctx.window_id.clone(),
            version: ctx.version,
            workspace_id: ctx.tenant.clone(),
            entity_type: ctx
                .entity
                .kind
                .map(|k| k.as_str())
                .unwrap_or("user")
                .to_owned(),
            entity: ctx.entity.display.clone(),
            entity_key: ctx.entity.key.clone(),
            entity_object_id: ctx.entity.object_id.clone().unwrap_or_default(),
            entity_display_name: ctx.entity.display_name.clone().unwrap_or_default(),
            department: ctx.entity.department.clone().unwrap_or_default(),
            window_start: ts(ctx.window_start),
            window_end: ts(ctx.window_end),
            trigger_types: kinds,
            triggers: ctx.triggers.iter().map(TriggerRecord::from).collect(),
            coalesced_triggers: ctx.coalesced,
            risk_level: serde_json::to_value(n.risk_level)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            risk_score: n.risk_score,
            confidence: n.confidence,
            summary: n.summary,
            narrative: n.narrative,
            baseline_comparison: n.baseline_comparison,
            peer_comparison: n.peer_comparison,
            hypotheses: n.hypotheses,
            kql_queries: n.kql_queries,
            mitre_techniques: n.mitre_techniques,
            playbooks: n.playbooks,
            watchlist_proposal: n.watchlist_proposal,
            interview_questions: n.interview_questions,
            claims: n.claims,
            evidence_ids: ctx.evidence.iter().map(|e| e.id.clone()).collect(),
            evidence_truncated: ctx.evidence_truncated,
            instruction_like_content: !ctx.instruction_like_fields.is_empty(),
            flagged_fields: ctx.instruction_like_fields.clone(),
            generator: generation.generator,
            generator_reason: generation.reason,
            llm_status: generation.llm_status,
            prompt_version: generation.prompt_version,
            audience: generation.audience,
            model: generation.model,
            prompt_tokens: generation.prompt_tokens,
            completion_tokens: generation.completion_tokens,
            latency_ms: generation.latency_ms,
            validation_issues: generation.validation_issues,
            mode: mode.to_owned(),
            schema_version: SCHEMA_VERSION.to_owned(),
        }
    }
}
