//! Baseline and peer comparison sentences, with numbers.
//!
//! Baseline sentences compare the case with the entity's own history (countries, usual hours,
//! daily volume, last activity); peer sentences say how many of the peer group did the same
//! ("0 of 20 peers accessed ... in the last 30 days").

use std::cmp::Ordering;

use chrono::Timelike;

use super::facts::{day, fact, hhmm, usual_hours};
use crate::context::types::{CaseContext, TriggerHit, TriggerKind, ValueCount};

use TriggerKind as K;

/// The most used values first (ties by name), at most `n`.
fn top(values: &[ValueCount], n: usize) -> Vec<&str> {
    let mut v: Vec<&ValueCount> = values.iter().collect();
    v.sort_by(|a, b| {
        b.count
            .partial_cmp(&a.count)
            .unwrap_or(Ordering::Equal)
            .then(a.value.cmp(&b.value))
    });
    v.into_iter().take(n).map(|c| c.value.as_str()).collect()
}

pub(super) fn in_usual_hours(ctx: &CaseContext, t: &TriggerHit) -> bool {
    let hour = u8::try_from(t.time.hour()).unwrap_or(u8::MAX);
    ctx.baseline.usual_hours_utc.contains(&hour)
}

pub(super) fn has_history(ctx: &CaseContext) -> bool {
    ctx.baseline.days_observed > 0 || ctx.baseline.events_observed > 0
}

pub(super) fn baseline_sentences(ctx: &CaseContext, strongest: Option<&TriggerHit>) -> Vec<String> {
    let b = &ctx.baseline;
    let mut out = vec![format!(
        "{} days of history ({} events) before this case.",
        b.days_observed, b.events_observed
    )];
    let usual = top(&b.countries, 3);
    for t in ctx
        .triggers
        .iter()
        .filter(|t| t.kind == K::FirstTimeCountry)
    {
        let country = fact(t, "country").unwrap_or("a new country");
        let mut s = format!(
            "First time from {country} in {} days of history",
            b.days_observed
        );
        if !usual.is_empty() {
            s.push_str(&format!(" (usually {})", usual.join(", ")));
        }
        out.push(format!("{s}."));
    }
    if let Some(hours) = usual_hours(&b.usual_hours_utc) {
        let mut s = format!("Usual activity hours: {hours}");
        if let Some(t) = strongest {
            let where_ = if in_usual_hours(ctx, t) {
                "inside"
            } else {
                "outside"
            };
            s.push_str(&format!(
                "; the strongest trigger at {} is {where_} them",
                hhmm(t.time)
            ));
        }
        out.push(format!("{s}."));
    }
    out.push(volume_sentence(ctx));
    let apps = top(&b.apps, 3);
    if !apps.is_empty() {
        out.push(format!("Usual apps: {}.", apps.join(", ")));
    }
    if let Some(last) = b.last_seen_before_case {
        let idle = (ctx.window_start - last).num_days().max(0);
        let unit = if idle == 1 { "day" } else { "days" };
        out.push(format!(
            "Last activity before the case: {} ({idle} {unit} earlier).",
            day(last)
        ));
    }
    out
}

fn volume_sentence(ctx: &CaseContext) -> String {
    let b = &ctx.baseline;
    let mut s = format!(
        "Daily mean {:.1} events and {:.1} downloads",
        b.daily_events_mean, b.daily_downloads_mean
    );
    for t in ctx.triggers.iter().filter(|t| t.kind == K::BulkDownload) {
        if let Some(n) = fact(t, "downloads") {
            let on = fact(t, "day").map_or_else(|| day(t.time), String::from);
            s.push_str(&format!("; this case: {n} downloads on {on}"));
            if let Some(r) = fact(t, "ratio") {
                s.push_str(&format!(" ({r}x the baseline)"));
            }
        }
    }
    format!("{s}.")
}

pub(super) fn peer_sentences(ctx: &CaseContext) -> Vec<String> {
    let p = &ctx.peers;
    let span = if p.lookback_days > 0 {
        format!(" in the last {} days", p.lookback_days)
    } else {
        String::new()
    };
    let mut out: Vec<String> = p
        .resource_access
        .iter()
        .map(|u| {
            format!(
                "{} of {} peers accessed {}{span}.",
                u.peers, p.peer_count, u.value
            )
        })
        .collect();
    out.extend(p.country_usage.iter().map(|u| {
        format!(
            "{} of {} peers signed in from {}{span}.",
            u.peers, p.peer_count, u.value
        )
    }));
    if p.resource_access.is_empty() {
        for t in ctx
            .triggers
            .iter()
            .filter(|t| t.kind == K::SensitiveResourceFirstAccess)
        {
            if let (Some(a), Some(n), Some(r)) = (
                fact(t, "peers_accessed"),
                fact(t, "peer_count"),
                fact(t, "resource"),
            ) {
                out.push(format!("{a} of {n} peers accessed {r}."));
            }
        }
    }
    out
}
