//! Output-side injection check: content of a flagged (instruction-like) untrusted field must
//! not reappear in a model's answer.
//!
//! The prompt already withholds flagged values; this is the second line for a model that
//! obeys text it should only have described. A distinctive part of a flagged value (the whole
//! value when 12 characters or longer, or a word of 6+ characters holding a digit) found in the
//! answer, and nowhere else in the case, counts as a leak. For untrusted values the detector
//! did not flag, a marker-like word (8+ characters with a digit and a `-` or `_`) found in the
//! answer without the whole value being quoted counts too: the model acted on part of the data.

use crate::context::types::CaseContext;

/// The first distinctive fragment of a flagged value found in `answer`, if any.
pub fn leaked_fragment(answer: &str, ctx: &CaseContext) -> Option<String> {
    let answer = answer.to_lowercase();
    let clean = unflagged_text(ctx).to_lowercase();
    let flagged = flagged_values(ctx)
        .flat_map(fragments)
        .find(|f| answer.contains(f.as_str()) && !clean.contains(f.as_str()));
    flagged.or_else(|| partial_echo(&answer, ctx))
}

/// A marker-like word of an unflagged untrusted value used outside a quote of the value.
fn partial_echo(answer: &str, ctx: &CaseContext) -> Option<String> {
    let trusted = trusted_text(ctx).to_lowercase();
    for value in ctx.evidence.iter().flat_map(|e| e.untrusted.values()) {
        let value = json_text(value).to_lowercase();
        let quotes = answer.matches(value.as_str()).count();
        let marker = value
            .split_whitespace()
            .filter(|w| {
                w.chars().count() >= 8
                    && w.chars().any(|c| c.is_ascii_digit())
                    && w.contains(['-', '_'])
                    && !trusted.contains(*w)
            })
            .find(|w| answer.matches(*w).count() > quotes * value.matches(*w).count());
        if let Some(w) = marker {
            return Some(w.to_owned());
        }
    }
    None
}

/// A value as it appears inside a JSON string.
fn json_text(v: &str) -> String {
    let quoted = serde_json::to_string(v).unwrap_or_default();
    quoted.trim_matches('"').to_owned()
}

/// The case without any untrusted value.
fn trusted_text(ctx: &CaseContext) -> String {
    let mut c = ctx.clone();
    c.evidence.iter_mut().for_each(|e| e.untrusted.clear());
    serde_json::to_string(&c).unwrap_or_default()
}

fn flagged_values(ctx: &CaseContext) -> impl Iterator<Item = &str> {
    ctx.evidence.iter().flat_map(move |e| {
        e.untrusted.iter().filter_map(move |(k, v)| {
            let name = format!("{}:{}", e.id, k);
            ctx.instruction_like_fields
                .contains(&name)
                .then_some(v.as_str())
        })
    })
}

fn fragments(value: &str) -> Vec<String> {
    let mut out: Vec<String> = value
        .split(|c: char| c.is_whitespace() || "\"'.,;:()[]{}".contains(c))
        .filter(|w| w.chars().count() >= 6 && w.chars().any(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect();
    if value.trim().chars().count() >= 12 {
        out.push(value.trim().to_lowercase());
    }
    out
}

/// Everything in the case except flagged values (so a fragment that is also a real fact is
/// not a leak).
fn unflagged_text(ctx: &CaseContext) -> String {
    let mut c = ctx.clone();
    for e in &mut c.evidence {
        let id = e.id.clone();
        for (k, v) in e.untrusted.iter_mut() {
            if ctx.instruction_like_fields.contains(&format!("{id}:{k}")) {
                v.clear();
            }
        }
    }
    serde_json::to_string(&c).unwrap_or_default()
}
