//! The offline narrator: deterministic templates over a [`CaseContext`], no network.
//!
//! [`OfflineNarrator::narrate`] fills every field of a [`Narrative`] from product-computed facts:
//! text fields through the minijinja templates in `prompts/offline/` (tier-1 and hunter
//! variants), the rest (hypotheses, KQL, MITRE, playbooks, watchlist, interview questions,
//! scores, claims) through the pure functions of the submodules. The same context always gives
//! a byte-identical narrative. Evidence ids cited anywhere come from `ctx.evidence` only;
//! untrusted strings appear only quoted, and instruction-like fields never appear.

mod assess;
mod compare;
mod facts;
mod hypotheses;
mod queries;
mod render;
mod sentences;

use std::cmp::Reverse;
use std::collections::BTreeSet;

use minijinja::{Environment, context};

use self::facts::{day, hhmm, usual_hours};
use super::Audience;
use super::schema::{Claim, Hypothesis, HypothesisKind, Narrative, RiskLevel};
use crate::context::types::{CaseContext, TriggerHit};

pub use self::queries::kql_str;

/// Evidence lines shown to each audience.
const TIER1_TIMELINE: usize = 5;
const HUNTER_TIMELINE: usize = 15;

/// Deterministic narrator over compiled templates.
pub struct OfflineNarrator {
    audience: Audience,
    /// Compiled `prompts/offline/*.j2` templates, built once.
    env: Environment<'static>,
}

impl OfflineNarrator {
    pub fn new(audience: Audience) -> anyhow::Result<Self> {
        Ok(OfflineNarrator {
            audience,
            env: render::environment()?,
        })
    }

    /// Deterministic: the same context gives a byte-identical Narrative.
    pub fn narrate(&self, ctx: &CaseContext) -> Narrative {
        let score = assess::risk_score(ctx);
        let level = assess::risk_level(score);
        let strongest = strongest(ctx);
        let playbooks = assess::playbooks(ctx);
        let timeline = self.timeline(ctx);
        let trigger_sentences: Vec<String> = ctx
            .triggers
            .iter()
            .map(sentences::trigger_sentence)
            .collect();
        let summary = self.summary(ctx, strongest, score, assess::level_word(level));
        let hypotheses = hypotheses::hypotheses(ctx);
        let first = first_action(level, &hypotheses, &playbooks);
        let narrative = self.narrative(ctx, strongest, &trigger_sentences, &timeline, first);
        Narrative {
            summary,
            narrative,
            baseline_comparison: self.baseline(ctx, strongest),
            peer_comparison: self.peers(ctx),
            risk_level: level,
            risk_score: score,
            hypotheses,
            kql_queries: queries::queries(ctx, self.audience),
            mitre_techniques: assess::mitre(ctx),
            playbooks,
            watchlist_proposal: assess::watchlist(ctx, level),
            interview_questions: assess::interview_questions(ctx),
            confidence: assess::confidence(ctx),
            claims: claims(ctx, &trigger_sentences, &timeline),
        }
    }

    /// Evidence lines for this audience: `(evidence id, line)` in time order.
    fn timeline(&self, ctx: &CaseContext) -> Vec<(String, String)> {
        let (limit, rows): (usize, Vec<_>) = match self.audience {
            Audience::Tier1 => (
                TIER1_TIMELINE,
                ctx.evidence.iter().filter(|e| e.is_trigger).collect(),
            ),
            Audience::Hunter => (HUNTER_TIMELINE, ctx.evidence.iter().collect()),
        };
        rows.into_iter()
            .take(limit)
            .map(|e| (e.id.clone(), sentences::evidence_line(ctx, e)))
            .collect()
    }

    fn summary(
        &self,
        ctx: &CaseContext,
        strongest: Option<&TriggerHit>,
        score: u8,
        level: &str,
    ) -> String {
        let time = strongest.map_or(ctx.window_start, |t| t.time);
        let headline = strongest.map_or_else(|| "UEBA activity".to_string(), facts::headline);
        let view = context! {
            entity => ctx.entity.display,
            headline,
            time => hhmm(time),
            date => day(time),
            more_triggers => ctx.triggers.len().saturating_sub(1),
            risk_level => level,
            risk_score => score,
        };
        render::render(&self.env, render::SUMMARY, view)
            .map(|t| render::normalise(&t, " "))
            .unwrap_or_else(|| {
                format!(
                    "{}: case at {} on {}.",
                    ctx.entity.display,
                    hhmm(time),
                    day(time)
                )
            })
    }

    fn narrative(
        &self,
        ctx: &CaseContext,
        strongest: Option<&TriggerHit>,
        trigger_sentences: &[String],
        timeline: &[(String, String)],
        first_action: Option<&str>,
    ) -> String {
        let (name, shown_limit) = match self.audience {
            Audience::Tier1 => (render::NARRATIVE_TIER1, TIER1_TIMELINE),
            Audience::Hunter => (render::NARRATIVE_HUNTER, HUNTER_TIMELINE),
        };
        let view = context! {
            who => who(ctx),
            when => when(ctx, strongest),
            first_action,
            profile => profile(ctx),
            trigger_sentences,
            trigger_count => ctx.triggers.len(),
            coalesced => ctx.coalesced,
            timeline => timeline.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(),
            hidden_lines => ctx.evidence.len().saturating_sub(timeline.len().min(shown_limit)),
            evidence_truncated => ctx.evidence_truncated,
            injection_note => injection_note(ctx),
        };
        render::render(&self.env, name, view)
            .map(|t| render::normalise(&t, "\n"))
            .unwrap_or_else(|| trigger_sentences.join("\n"))
    }

    fn baseline(&self, ctx: &CaseContext, strongest: Option<&TriggerHit>) -> String {
        let view = context! {
            entity => ctx.entity.display,
            has_history => compare::has_history(ctx),
            sentences => compare::baseline_sentences(ctx, strongest),
        };
        render::render(&self.env, render::BASELINE, view)
            .map(|t| render::normalise(&t, " "))
            .unwrap_or_else(|| compare::baseline_sentences(ctx, strongest).join(" "))
    }

    fn peers(&self, ctx: &CaseContext) -> String {
        let view = context! {
            entity => ctx.entity.display,
            audience => self.audience.as_str(),
            peer_count => ctx.peers.peer_count,
            lookback_days => ctx.peers.lookback_days,
            closest => ctx.peers.closest.iter().take(5).collect::<Vec<_>>(),
            sentences => compare::peer_sentences(ctx),
        };
        render::render(&self.env, render::PEERS, view)
            .map(|t| render::normalise(&t, " "))
            .unwrap_or_else(|| compare::peer_sentences(ctx).join(" "))
    }
}

/// The most severe trigger; the earliest wins a tie.
fn strongest(ctx: &CaseContext) -> Option<&TriggerHit> {
    ctx.triggers
        .iter()
        .enumerate()
        .max_by_key(|(i, t)| (t.severity, Reverse(*i)))
        .map(|(_, t)| t)
}

/// What the analyst should do first. Containment leads only for high and critical cases; below
/// that, the deciding check of the leading compromise hypothesis comes first, so a likely
/// business trip does not open with revoking the user's sessions.
fn first_action<'a>(
    level: RiskLevel,
    hypotheses: &'a [Hypothesis],
    playbooks: &'a [String],
) -> Option<&'a str> {
    let contain = playbooks.first().map(String::as_str);
    if matches!(level, RiskLevel::High | RiskLevel::Critical) {
        return contain;
    }
    hypotheses
        .iter()
        .filter(|h| h.kind == HypothesisKind::Malicious)
        .fold(None::<&Hypothesis>, |best, h| match best {
            Some(b) if b.likelihood >= h.likelihood => Some(b),
            _ => Some(h),
        })
        .and_then(|h| h.verification_steps.first())
        .map(String::as_str)
        .or(contain)
}

fn who(ctx: &CaseContext) -> String {
    let e = &ctx.entity;
    let role: Vec<&str> = [e.job_title.as_deref(), e.department.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    match role.as_slice() {
        [] => format!("Case for {}.", e.display),
        [one] => format!("Case for {} ({one}).", e.display),
        [title, dept, ..] => format!("Case for {} ({title}, {dept}).", e.display),
    }
}

fn when(ctx: &CaseContext, strongest: Option<&TriggerHit>) -> String {
    let Some(t) = strongest else {
        return format!(
            "The case window starts at {} on {}.",
            hhmm(ctx.window_start),
            day(ctx.window_start)
        );
    };
    let base = format!(
        "The strongest trigger, {}, came at {} on {}",
        facts::headline(t),
        hhmm(t.time),
        day(t.time)
    );
    match usual_hours(&ctx.baseline.usual_hours_utc) {
        Some(hours) if compare::in_usual_hours(ctx, t) => {
            format!("{base}, inside the usual hours ({hours}).")
        }
        Some(hours) => format!("{base}, outside the usual hours ({hours})."),
        None => format!("{base}; no usual-hours baseline exists yet."),
    }
}

fn profile(ctx: &CaseContext) -> Option<String> {
    let e = &ctx.entity;
    let parts: Vec<String> = [
        e.manager.as_ref().map(|m| format!("Manager: {m}.")),
        (!e.roles.is_empty()).then(|| format!("Directory roles: {}.", e.roles.join(", "))),
        e.blast_radius
            .as_ref()
            .map(|b| format!("Blast radius: {b}.")),
        e.user_state
            .as_ref()
            .map(|s| format!("Account state: {s}.")),
        e.country
            .as_ref()
            .map(|c| format!("Directory country: {c}.")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn injection_note(ctx: &CaseContext) -> Option<String> {
    if ctx.instruction_like_fields.is_empty() {
        return None;
    }
    let names: BTreeSet<&str> = ctx
        .instruction_like_fields
        .iter()
        .map(|f| f.trim())
        .collect();
    let list = names.into_iter().collect::<Vec<_>>().join(", ");
    Some(format!(
        "Caution: evidence field(s) {list} contain instruction-like text; it was treated as data \
         and is not reproduced here."
    ))
}

/// One claim per trigger sentence and per timeline line, citing only known evidence.
fn claims(
    ctx: &CaseContext,
    trigger_sentences: &[String],
    timeline: &[(String, String)],
) -> Vec<Claim> {
    let known: BTreeSet<&str> = ctx.evidence.iter().map(|e| e.id.as_str()).collect();
    let mut out: Vec<Claim> = ctx
        .triggers
        .iter()
        .zip(trigger_sentences)
        .map(|(t, text)| Claim {
            text: text.clone(),
            evidence_ids: t
                .evidence_ids
                .iter()
                .filter(|id| known.contains(id.as_str()))
                .cloned()
                .collect(),
        })
        .collect();
    out.extend(timeline.iter().map(|(id, line)| Claim {
        text: line.clone(),
        evidence_ids: vec![id.clone()],
    }));
    if out.is_empty() {
        out.push(Claim {
            text: format!(
                "No trigger or evidence was recorded for {}.",
                ctx.entity.display
            ),
            evidence_ids: Vec::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hypothesis(kind: HypothesisKind, likelihood: f64, step: &str) -> Hypothesis {
        Hypothesis {
            kind,
            title: String::new(),
            likelihood,
            rationale: String::new(),
            verification_steps: vec![step.to_owned()],
            evidence_ids: Vec::new(),
        }
    }

    #[test]
    fn containment_leads_only_high_and_critical_cases() {
        let hyps = [
            hypothesis(HypothesisKind::Benign, 0.6, "ask the manager about travel"),
            hypothesis(HypothesisKind::Malicious, 0.3, "check the IP"),
            hypothesis(HypothesisKind::Malicious, 0.4, "ask the user out of band"),
        ];
        let books = vec!["Revoke user sessions (Entra ID)".to_owned()];
        assert_eq!(
            first_action(RiskLevel::Medium, &hyps, &books),
            Some("ask the user out of band")
        );
        assert_eq!(
            first_action(RiskLevel::High, &hyps, &books),
            Some("Revoke user sessions (Entra ID)")
        );
        assert_eq!(
            first_action(RiskLevel::Low, &hyps[..1], &books),
            Some("Revoke user sessions (Entra ID)"),
            "without a compromise hypothesis the playbook is all there is"
        );
        assert_eq!(first_action(RiskLevel::Low, &[], &[]), None);
    }
}
