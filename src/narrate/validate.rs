//! Checks a narrative before it leaves the process, and repairs what needs no model.
//!
//! [`validate`] runs four families of checks: the JSON schema (`schemas/narrative.schema.json`,
//! compiled once), grounding (every cited evidence id exists in the [`CaseContext`]), catalogs
//! (MITRE ids and tactics, KQL tables and columns) and sink limits (no field over
//! [`MAX_FIELD_BYTES`]). It also requires at least one benign and one malicious hypothesis.
//! [`repair`] fixes the mechanical problems and reports each fix as an [`Issue`]; what it cannot
//! fix (a missing hypothesis, an empty claim list) is left for the caller to retry or fall back.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde::Serialize;

use super::catalog;
use super::kql::{self, KqlProblem};
use super::schema::{HypothesisKind, Narrative};
use crate::context::types::CaseContext;

/// Log Analytics truncates larger fields silently.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// Appended to a field that was cut to fit [`MAX_FIELD_BYTES`].
pub const TRUNCATED_MARKER: &str = " [truncated]";

const SCHEMA_JSON: &str = include_str!("../../schemas/narrative.schema.json");

static SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(SCHEMA_JSON).expect("embedded narrative schema is valid JSON");
    jsonschema::draft202012::new(&schema).expect("embedded narrative schema compiles")
});

/// One problem found (or fixed) in a narrative.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    pub kind: IssueKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    Schema,
    UnknownEvidenceId,
    UnknownMitreTechnique,
    KqlUnknownTable,
    KqlUnknownColumn,
    FieldTooLarge,
    MissingHypothesis,
}

impl Issue {
    fn new(kind: IssueKind, detail: impl Into<String>) -> Self {
        Issue {
            kind,
            detail: detail.into(),
        }
    }
}

/// Checks a narrative against the JSON schema, the context (grounding) and the catalogs.
pub fn validate(n: &Narrative, ctx: &CaseContext) -> Vec<Issue> {
    let mut issues = schema_issues(n);
    issues.extend(evidence_issues(n, ctx));
    issues.extend(n.mitre_techniques.iter().filter_map(mitre_issue));
    for (i, q) in n.kql_queries.iter().enumerate() {
        issues.extend(kql_issues(i, &q.query));
    }
    issues.extend(size_issues(n));
    issues.extend(hypothesis_issues(n));
    issues
}

/// Fixes what can be fixed without a model: drops unknown evidence ids (and lowers confidence by
/// 0.1 per dropped id, floor 0.1), drops unknown MITRE entries, drops KQL that names unknown
/// tables/columns, trims fields over the cap with a "[truncated]" marker. Returns what it did.
pub fn repair(n: &mut Narrative, ctx: &CaseContext) -> Vec<Issue> {
    let mut fixed = Vec::new();
    let dropped = drop_unknown_evidence(n, ctx, &mut fixed);
    if dropped > 0 {
        let lowered = n.confidence - 0.1 * dropped as f64;
        n.confidence = round2(lowered.max(0.1));
    }
    n.mitre_techniques.retain(|m| match mitre_issue(m) {
        Some(issue) => {
            fixed.push(issue);
            false
        }
        None => true,
    });
    let mut index = 0;
    n.kql_queries.retain(|q| {
        let issues = kql_issues(index, &q.query);
        index += 1;
        fixed.extend(issues.iter().cloned());
        issues.is_empty()
    });
    fixed.extend(clamp_numbers(n));
    fixed.extend(super::trim::trim_oversized(n));
    fixed
}

fn schema_issues(n: &Narrative) -> Vec<Issue> {
    let value = match serde_json::to_value(n) {
        Ok(v) => v,
        Err(e) => {
            return vec![Issue::new(
                IssueKind::Schema,
                format!("not serialisable: {e}"),
            )];
        }
    };
    SCHEMA
        .iter_errors(&value)
        .map(|e| Issue::new(IssueKind::Schema, format!("{}: {e}", e.instance_path)))
        .collect()
}

fn evidence_issues(n: &Narrative, ctx: &CaseContext) -> Vec<Issue> {
    let known = known_ids(ctx);
    let mut issues = Vec::new();
    for (i, h) in n.hypotheses.iter().enumerate() {
        for id in h
            .evidence_ids
            .iter()
            .filter(|id| !known.contains(id.as_str()))
        {
            let detail = format!("hypothesis {i} cites unknown evidence id {id:?}");
            issues.push(Issue::new(IssueKind::UnknownEvidenceId, detail));
        }
    }
    for (i, c) in n.claims.iter().enumerate() {
        for id in c
            .evidence_ids
            .iter()
            .filter(|id| !known.contains(id.as_str()))
        {
            let detail = format!("claim {i} cites unknown evidence id {id:?}");
            issues.push(Issue::new(IssueKind::UnknownEvidenceId, detail));
        }
    }
    issues
}

fn known_ids(ctx: &CaseContext) -> BTreeSet<&str> {
    ctx.evidence.iter().map(|e| e.id.as_str()).collect()
}

fn mitre_issue(m: &super::schema::MitreTechnique) -> Option<Issue> {
    match catalog::mitre(&m.id) {
        None => Some(Issue::new(
            IssueKind::UnknownMitreTechnique,
            format!("unknown technique id {:?}", m.id),
        )),
        Some(entry) if !entry.has_tactic(&m.tactic) => Some(Issue::new(
            IssueKind::UnknownMitreTechnique,
            format!("{} is not a {:?} technique", m.id, m.tactic),
        )),
        Some(_) => None,
    }
}

fn kql_issues(index: usize, query: &str) -> Vec<Issue> {
    kql::check(query)
        .into_iter()
        .map(|p| match p {
            KqlProblem::UnknownTable(t) => Issue::new(
                IssueKind::KqlUnknownTable,
                format!("query {index} names unknown table {t:?}"),
            ),
            KqlProblem::UnknownColumn(c) => Issue::new(
                IssueKind::KqlUnknownColumn,
                format!("query {index} names unknown column {c:?}"),
            ),
        })
        .collect()
}

fn size_issues(n: &Narrative) -> Vec<Issue> {
    super::trim::field_sizes(n)
        .into_iter()
        .filter(|(_, size)| *size > MAX_FIELD_BYTES)
        .map(|(field, size)| {
            let detail = format!("{field} is {size} bytes (cap {MAX_FIELD_BYTES})");
            Issue::new(IssueKind::FieldTooLarge, detail)
        })
        .collect()
}

fn hypothesis_issues(n: &Narrative) -> Vec<Issue> {
    [
        (HypothesisKind::Benign, "benign"),
        (HypothesisKind::Malicious, "malicious"),
    ]
    .into_iter()
    .filter(|(kind, _)| !n.hypotheses.iter().any(|h| h.kind == *kind))
    .map(|(_, name)| {
        Issue::new(
            IssueKind::MissingHypothesis,
            format!("no {name} hypothesis"),
        )
    })
    .collect()
}

/// Drops unknown ids from hypotheses and claims; returns how many were dropped.
fn drop_unknown_evidence(n: &mut Narrative, ctx: &CaseContext, fixed: &mut Vec<Issue>) -> usize {
    fixed.extend(evidence_issues(n, ctx));
    let known = known_ids(ctx);
    let mut dropped = 0;
    let lists = n
        .hypotheses
        .iter_mut()
        .map(|h| &mut h.evidence_ids)
        .chain(n.claims.iter_mut().map(|c| &mut c.evidence_ids));
    for ids in lists {
        let before = ids.len();
        ids.retain(|id| known.contains(id.as_str()));
        dropped += before - ids.len();
    }
    dropped
}

/// Brings numbers back into their schema bounds.
fn clamp_numbers(n: &mut Narrative) -> Vec<Issue> {
    let mut fixed = Vec::new();
    if !(0.0..=1.0).contains(&n.confidence) || n.confidence.is_nan() {
        fixed.push(Issue::new(
            IssueKind::Schema,
            format!("confidence {} clamped", n.confidence),
        ));
        n.confidence = clamp01(n.confidence);
    }
    if n.risk_score > 100 {
        fixed.push(Issue::new(
            IssueKind::Schema,
            format!("risk score {} clamped", n.risk_score),
        ));
        n.risk_score = 100;
    }
    for h in &mut n.hypotheses {
        if !(0.0..=1.0).contains(&h.likelihood) || h.likelihood.is_nan() {
            let detail = format!("likelihood {} clamped", h.likelihood);
            fixed.push(Issue::new(IssueKind::Schema, detail));
            h.likelihood = clamp01(h.likelihood);
        }
    }
    fixed
}

fn clamp01(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub(crate) fn field_issue(field: &str, size: usize) -> Issue {
    Issue::new(
        IssueKind::FieldTooLarge,
        format!("{field} trimmed from {size} bytes"),
    )
}
