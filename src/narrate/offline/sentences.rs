//! One sentence per trigger and per evidence row, built from trusted facts.
//!
//! Each trigger sentence carries the trigger's key facts literally (country code, site or
//! resource, role name, forwarding address, download counts as digits, idle days) so an analyst
//! can check them against the evidence. Evidence lines start with the time, never with data.

use super::facts::{day, ev_fact, fact, hhmm, is_flagged, label, quote};
use crate::context::types::{CaseContext, EvidenceItem, TriggerHit, TriggerKind};

/// Joins the present clauses with `sep`.
fn clauses(parts: &[Option<String>], sep: &str) -> String {
    parts
        .iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(sep)
}

fn opt(v: Option<&str>, f: impl Fn(&str) -> String) -> Option<String> {
    v.map(f)
}

/// A full sentence describing one trigger.
pub(super) fn trigger_sentence(t: &TriggerHit) -> String {
    let at = format!("at {} on {}", hhmm(t.time), day(t.time));
    let f = |k| fact(t, k);
    let body = match t.kind {
        TriggerKind::FirstTimeCountry => first_time_country(t, &at),
        TriggerKind::SensitiveResourceFirstAccess => sensitive_access(t, &at),
        TriggerKind::ImpossibleTravel => impossible_travel(t, &at),
        TriggerKind::BulkDownload => bulk_download(t),
        TriggerKind::PrivilegedRoleAssigned => clauses(
            &[
                Some(match f("role") {
                    Some(role) => format!("Privileged role {role} assigned {at}"),
                    None => format!("A privileged role was assigned {at}"),
                }),
                opt(f("initiated_by"), |b| format!("by {b}")),
            ],
            " ",
        ),
        TriggerKind::InboxForwardingRule => forwarding(t, &at),
        TriggerKind::DormantAccountActive => clauses(
            &[
                Some(format!("Account active {at}")),
                opt(f("idle_days"), |d| format!("after {d} days idle")),
                opt(f("last_seen"), |l| format!("(last seen {l})")),
            ],
            " ",
        ),
        TriggerKind::RiskySignIn => clauses(
            &[
                Some(format!(
                    "Sign-in rated {} risk by Entra ID Protection {at}",
                    f("risk_level").unwrap_or("elevated")
                )),
                opt(f("country"), |c| format!("from {c}")),
                opt(f("ip"), |ip| format!("(IP {ip})")),
            ],
            " ",
        ),
        TriggerKind::UebaPriority => clauses(
            &[
                Some(format!(
                    "UEBA investigation priority {} {at}",
                    f("priority").unwrap_or("above threshold")
                )),
                opt(f("action"), |a| format!("for action {}", quote(a))),
                opt(f("true_flags"), |fl| format!("with insight flags {fl}")),
            ],
            " ",
        ),
        TriggerKind::ThreatIntel => clauses(
            &[
                Some(format!("Activity {at}")),
                opt(f("ip"), |ip| format!("from IP {ip}")),
                Some("matched threat intelligence".into()),
                opt(f("indicator"), |i| format!("(indicator {i})")),
            ],
            " ",
        ),
        TriggerKind::Anomaly => clauses(
            &[
                Some(format!("UEBA anomaly {at}")),
                opt(f("rule"), |r| format!("from rule {}", quote(r))),
                opt(f("score"), |s| format!("scored {s}")),
                opt(f("tactics"), |x| format!("(tactics {x})")),
                opt(f("techniques"), |x| format!("(techniques {x})")),
            ],
            " ",
        ),
        TriggerKind::SecurityAlert => clauses(
            &[
                Some(format!("Security alert {at}")),
                opt(f("alert"), quote),
                opt(f("severity"), |s| format!("with severity {s}")),
                opt(f("product"), |p| format!("from {p}")),
                opt(f("techniques"), |x| format!("(techniques {x})")),
            ],
            " ",
        ),
    };
    format!("{body}.")
}

fn first_time_country(t: &TriggerHit, at: &str) -> String {
    let f = |k| fact(t, k);
    let place = match (f("country"), f("city")) {
        (Some(c), Some(city)) => format!("{c} ({city})"),
        (Some(c), None) => c.to_string(),
        _ => "a country new to this user".into(),
    };
    let peers = match (f("peers_from_country"), f("peer_count")) {
        (Some(p), Some(n)) => Some(format!("{p} of {n} peers signed in from there")),
        _ => None,
    };
    clauses(
        &[
            Some(format!("First successful sign-in from {place} {at}")),
            opt(f("ip"), |ip| format!("from IP {ip}")),
            opt(f("known_countries"), |k| {
                format!("; previously seen countries: {k}")
            }),
            peers.map(|p| format!("; {p}")),
        ],
        " ",
    )
    .replace(" ;", ";")
}

fn sensitive_access(t: &TriggerHit, at: &str) -> String {
    let f = |k| fact(t, k);
    let after = match (f("minutes_after_new_country"), f("country")) {
        (Some(m), Some(c)) => Some(format!(", {m} minutes after the first sign-in from {c}")),
        (Some(m), None) => Some(format!(", {m} minutes after a sign-in from a new country")),
        _ => None,
    };
    let peers = match (f("peers_accessed"), f("peer_count")) {
        (Some(p), Some(n)) => Some(format!("; {p} of {n} peers accessed it")),
        _ => None,
    };
    let resource = f("resource").unwrap_or("a sensitive resource");
    clauses(
        &[
            Some(format!("First access to {resource} {at}")),
            after,
            peers,
        ],
        "",
    )
}

fn impossible_travel(t: &TriggerHit, at: &str) -> String {
    let f = |k| fact(t, k);
    let place = |city: Option<&str>, country: Option<&str>| match (city, country) {
        (Some(ci), Some(co)) => format!("{ci}, {co}"),
        (None, Some(co)) => co.to_string(),
        (Some(ci), None) => ci.to_string(),
        (None, None) => "an unknown place".into(),
    };
    let from = place(f("from_city"), f("from_country"));
    let to = place(f("to_city"), f("to_country"));
    let stats: Vec<String> = [
        f("distance_km").map(|d| format!("{d} km")),
        f("speed_kmh").map(|s| format!("{s} km/h")),
    ]
    .into_iter()
    .flatten()
    .collect();
    clauses(
        &[
            Some(format!("Sign-ins from {from} and then {to}")),
            opt(f("minutes"), |m| format!("{m} minutes apart")),
            (!stats.is_empty()).then(|| format!("({})", stats.join(", "))),
            Some(format!("with the second {at}")),
        ],
        " ",
    )
}

fn bulk_download(t: &TriggerHit) -> String {
    let f = |k| fact(t, k);
    let off_hours = (f("off_hours") == Some("true")).then(|| "outside usual working hours".into());
    clauses(
        &[
            Some(format!(
                "{} file downloads",
                f("downloads").unwrap_or("Unusually many")
            )),
            Some(format!(
                "on {}",
                f("day").map_or_else(|| day(t.time), String::from)
            )),
            opt(f("site"), |s| format!("from {s}")),
            opt(f("baseline_daily"), |b| {
                format!("against a daily baseline of {b}")
            }),
            opt(f("ratio"), |r| format!("({r}x)")),
            off_hours,
        ],
        " ",
    )
}

fn forwarding(t: &TriggerHit, at: &str) -> String {
    let f = |k| fact(t, k);
    let after = if f("after_risky_sign_in") == Some("true") {
        let risk = f("sign_in_risk")
            .map(|r| format!("{r}-risk"))
            .unwrap_or("risky".into());
        let when = f("minutes_after_sign_in").map(|m| format!("{m} minutes after a "));
        let from = f("sign_in_country")
            .map(|c| format!(" from {c}"))
            .unwrap_or_default();
        Some(format!(
            ", {}{risk} sign-in{from}",
            when.unwrap_or("after a ".into())
        ))
    } else {
        None
    };
    let to = f("forwarding_to").unwrap_or("an address not recorded");
    clauses(
        &[
            Some(format!("Mail forwarding to {to} set up {at}")),
            opt(f("operation"), |o| format!(" with {o}")),
            after,
        ],
        "",
    )
}

/// One timeline line for an evidence row, starting with its time.
pub(super) fn evidence_line(ctx: &CaseContext, e: &EvidenceItem) -> String {
    let f = |k| ev_fact(e, k);
    let place = match (f("city"), f("country")) {
        (Some(ci), Some(co)) => Some(format!("from {ci}, {co}")),
        (None, Some(co)) => Some(format!("from {co}")),
        _ => None,
    };
    let outcome = match (f("outcome"), f("error_code")) {
        (Some("failure"), Some(code)) => Some(format!("failed with error code {code}")),
        (Some("failure"), None) => Some("failed".into()),
        (Some("success"), _) => Some("succeeded".into()),
        _ => None,
    };
    let head = [
        Some(format!(
            "{} {} {}: {}",
            day(e.time),
            hhmm(e.time),
            e.table,
            f("operation").unwrap_or("activity")
        )),
        opt(f("app"), |a| format!("in {a}")),
        opt(f("resource"), |r| format!("on {r}")),
        place,
        opt(f("ip"), |ip| format!("(IP {ip})")),
    ];
    let mut details = vec![
        outcome,
        opt(f("risk_level"), |r| format!("risk level {r}")),
        opt(f("threat_intel"), |ti| format!("threat intelligence {ti}")),
        opt(f("role"), |r| format!("role {r}")),
    ];
    for (column, value) in &e.untrusted {
        if !is_flagged(ctx, &e.id, column) && !value.trim().is_empty() {
            details.push(Some(format!("{} {}", label(column), quote(value))));
        }
    }
    let details = clauses(&details, "; ");
    let sep = if details.is_empty() { "" } else { "; " };
    format!("{}{sep}{details} [{}].", clauses(&head, " "), e.id)
}
