//! Narration step: a case context in, a validated output record out.
//!
//! The offline narrator is the default. Every narrative is validated (schema, grounding,
//! catalogs, sizes) before it leaves; what validation repaired is recorded in the output.

use crate::config::Config;
use crate::context::types::CaseContext;
use crate::narrate::Audience;
use crate::narrate::offline::OfflineNarrator;
use crate::narrate::validate::{repair, validate};
use crate::pipeline::stats::Stats;
use crate::sink::record::{Generation, OutputRecord};

/// Version tag of the offline narrator's templates, recorded in every output.
pub const OFFLINE_PROMPT_VERSION: &str = "offline-v1";

pub struct Narration {
    offline: OfflineNarrator,
    audience: String,
}

impl Narration {
    pub fn from_config(cfg: &Config) -> anyhow::Result<Self> {
        let audience = parse_audience(&cfg.narrator.audience);
        Ok(Narration {
            offline: OfflineNarrator::new(audience)?,
            audience: cfg.narrator.audience.clone(),
        })
    }

    /// Narrate, validate and wrap one case.
    pub fn narrate(&mut self, ctx: &CaseContext, mode: &str, stats: &mut Stats) -> OutputRecord {
        let mut narrative = self.offline.narrate(ctx);
        let mut generation = Generation::offline(&self.audience, OFFLINE_PROMPT_VERSION);
        let issues = validate(&narrative, ctx);
        if !issues.is_empty() {
            tracing::warn!(window_id = %ctx.window_id, issues = issues.len(), "offline narrative repaired");
            repair(&mut narrative, ctx);
            stats.validation_repairs += 1;
            generation.validation_issues = issues
                .iter()
                .map(|i| format!("{:?}: {}", i.kind, i.detail))
                .collect();
        }
        stats.narratives += 1;
        Stats::bump(&mut stats.generators, &generation.generator);
        OutputRecord::new(ctx, narrative, generation, mode)
    }
}

pub fn parse_audience(name: &str) -> Audience {
    match name {
        "hunter" => Audience::Hunter,
        _ => Audience::Tier1,
    }
}
