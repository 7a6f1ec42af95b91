//! Turns trusted trigger facts and evidence rows into plain sentences.
//!
//! Every function renders only what is present: a missing fact drops its clause, never leaves a
//! placeholder. Trusted facts (country codes, sites, role names, counts) are written literally;
//! attacker-controllable strings from [`EvidenceItem::untrusted`] appear only as quoted data after
//! a label (`user agent "..."`), never at the start of a sentence, and fields flagged as
//! instruction-like are left out entirely.

use chrono::{DateTime, Utc};

use crate::context::types::{CaseContext, EvidenceItem, TriggerHit, TriggerKind};

/// Longest untrusted value quoted, in characters.
const MAX_QUOTED_CHARS: usize = 120;

/// A trimmed, non-empty fact value.
pub(super) fn fact<'a>(t: &'a TriggerHit, key: &str) -> Option<&'a str> {
    t.facts.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

pub(super) fn ev_fact<'a>(e: &'a EvidenceItem, key: &str) -> Option<&'a str> {
    e.facts.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

pub(super) fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%M UTC").to_string()
}

pub(super) fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Quotes untrusted text as data: control characters become spaces, quotes are escaped and
/// long values are cut.
pub(super) fn quote(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut body: String = cleaned.trim().chars().take(MAX_QUOTED_CHARS).collect();
    if cleaned.trim().chars().count() > MAX_QUOTED_CHARS {
        body.push_str("...");
    }
    format!("\"{}\"", body.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `UserAgent` -> `user agent`, `Site_Url` -> `site url`.
pub(super) fn label(column: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in column.chars() {
        if c == '_' || c == ' ' {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.extend(c.to_lowercase());
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether an untrusted field of an evidence row was flagged as instruction-like. A flag may
/// name the column (`UserAgent`) or the row and column (`<evidence id>:<column>`, also with
/// `.` or `/`); columns may themselves contain dots (`Parameters.Name`).
pub(super) fn is_flagged(ctx: &CaseContext, evidence_id: &str, column: &str) -> bool {
    ctx.instruction_like_fields.iter().any(|flag| {
        let flag = flag.trim();
        if flag == column {
            return true;
        }
        for sep in [':', '.', '/'] {
            if flag
                .strip_prefix(evidence_id)
                .and_then(|rest| rest.strip_prefix(sep))
                == Some(column)
            {
                return true;
            }
        }
        match flag.rsplit_once(['.', '/', ':']) {
            Some((prefix, field)) => {
                field == column
                    && (prefix == evidence_id || !ctx.evidence.iter().any(|e| e.id == prefix))
            }
            None => false,
        }
    })
}

/// Hour ranges such as `08:00-17:59 UTC`, or `None` without a baseline.
pub(super) fn usual_hours(hours: &[u8]) -> Option<String> {
    let mut sorted: Vec<u8> = hours.iter().copied().filter(|h| *h < 24).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(u8, u8)> = Vec::new();
    for h in sorted {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == h => *end = h,
            _ => ranges.push((h, h)),
        }
    }
    let parts: Vec<String> = ranges
        .iter()
        .map(|(a, b)| format!("{a:02}:00-{b:02}:59"))
        .collect();
    (!parts.is_empty()).then(|| format!("{} UTC", parts.join(", ")))
}

/// A short noun phrase for the summary: "first sign-in from BR".
pub(super) fn headline(t: &TriggerHit) -> String {
    let f = |k| fact(t, k);
    let or = |v: Option<&str>, d: &str| v.unwrap_or(d).to_string();
    match t.kind {
        TriggerKind::FirstTimeCountry => {
            format!("first sign-in from {}", or(f("country"), "a new country"))
        }
        TriggerKind::SensitiveResourceFirstAccess => {
            format!(
                "first access to {}",
                or(f("resource"), "a sensitive resource")
            )
        }
        TriggerKind::ImpossibleTravel => match (f("from_country"), f("to_country")) {
            (Some(a), Some(b)) => format!("impossible travel from {a} to {b}"),
            _ => "impossible travel between sign-ins".into(),
        },
        TriggerKind::BulkDownload => match f("downloads") {
            Some(n) => format!("{n} downloads in one day"),
            None => "a bulk download".into(),
        },
        TriggerKind::PrivilegedRoleAssigned => match f("role") {
            Some(r) => format!("privileged role {r} assigned"),
            None => "a privileged role assignment".into(),
        },
        TriggerKind::InboxForwardingRule => match f("forwarding_to") {
            Some(to) => format!("mail forwarding to {to}"),
            None => "a new mail forwarding rule".into(),
        },
        TriggerKind::DormantAccountActive => match f("idle_days") {
            Some(d) => format!("activity after {d} idle days"),
            None => "activity on a dormant account".into(),
        },
        TriggerKind::RiskySignIn => format!("{}-risk sign-in", or(f("risk_level"), "elevated")),
        TriggerKind::UebaPriority => format!(
            "UEBA investigation priority {}",
            or(f("priority"), "above threshold")
        ),
        TriggerKind::ThreatIntel => match f("ip") {
            Some(ip) => format!("activity from threat-intelligence IP {ip}"),
            None => "activity matching threat intelligence".into(),
        },
        TriggerKind::Anomaly => match f("rule") {
            Some(r) => format!("anomaly {}", quote(r)),
            None => "a UEBA anomaly".into(),
        },
        TriggerKind::SecurityAlert => match f("alert") {
            Some(a) => format!("security alert {}", quote(a)),
            None => "a security alert".into(),
        },
    }
}
