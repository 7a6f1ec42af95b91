//! Trigger rules: which events start (or join) a case.
//!
//! Rules read one event against the entity's state *before* the event updates it, so "first
//! time" means first time. Sentinel's own verdicts (UEBA priority, threat intel, anomaly score,
//! alerts, sign-in risk) trigger directly; the product's baseline rules (first-time country,
//! sensitive first access rare among peers, impossible travel, privileged role, forwarding rule,
//! dormant account) fire only once the entity has `min_baseline_days` of history where history
//! matters. Bulk downloads are judged per finished UTC day (see [`bulk_download`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Timelike, Utc};

use crate::config::engine::TriggerConfig;
use crate::decode::event::{Detail, Event, Outcome, Table};
use crate::entity::state::{DownloadDay, EntityState};
use crate::trigger::hit::{TriggerHit, TriggerKind};

/// Which baseline dimension a peer question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerDim {
    Country,
    Resource,
}

/// Answers "how many of this entity's peers did X since T".
pub trait PeerLookup {
    fn peer_count(&self) -> u32;
    fn peers_with(&self, dim: PeerDim, value: &str, since: DateTime<Utc>) -> u32;
}

/// Normalised resource name used in baselines: lower-case, no trailing slash.
pub fn resource_key(raw: &str) -> String {
    raw.trim().trim_end_matches('/').to_lowercase()
}

/// True for file downloads and syncs (bulk-download volume).
pub fn is_download(ev: &Event) -> bool {
    ev.table == Table::OfficeActivity
        && ev.operation.as_deref().is_some_and(|op| {
            matches!(
                op,
                "FileDownloaded" | "FileSyncDownloadedFull" | "FileSyncDownloadedPartial"
            )
        })
}

fn succeeded(ev: &Event) -> bool {
    matches!(ev.outcome, Outcome::Success)
}

fn is_sign_in(ev: &Event) -> bool {
    matches!(
        ev.table,
        Table::SigninLogs | Table::AADNonInteractiveUserSignInLogs
    )
}

struct Hits<'a> {
    ev: &'a Event,
    out: Vec<TriggerHit>,
}

impl Hits<'_> {
    fn push(&mut self, kind: TriggerKind, severity: u8, facts: &[(&str, String)]) {
        let facts: BTreeMap<String, String> = facts
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self.out.push(TriggerHit {
            kind,
            time: self.ev.time,
            severity,
            evidence_ids: vec![self.ev.evidence_id.clone()],
            facts,
        });
    }
}

/// Evaluate every per-event rule.
pub fn evaluate(
    ev: &Event,
    state: &EntityState,
    peers: &dyn PeerLookup,
    cfg: &TriggerConfig,
) -> Vec<TriggerHit> {
    let mut hits = Hits {
        ev,
        out: Vec::new(),
    };
    sentinel_verdicts(&mut hits, cfg);
    let mature = state.baseline.days_observed() >= cfg.min_baseline_days;
    if is_sign_in(ev) && succeeded(ev) {
        if mature {
            first_time_country(&mut hits, state, peers, cfg);
        }
        impossible_travel(&mut hits, state, cfg);
        dormant(&mut hits, state, cfg);
    }
    if mature {
        sensitive_first_access(&mut hits, state, peers, cfg);
    }
    privileged_role(&mut hits, cfg);
    forwarding_rule(&mut hits, state, cfg);
    hits.out
}

fn sentinel_verdicts(h: &mut Hits<'_>, cfg: &TriggerConfig) {
    let ev = h.ev;
    match &ev.detail {
        Detail::Ueba {
            priority,
            action_type,
            true_flags,
            threat_intel,
            ..
        } => {
            if let Some(p) = priority.filter(|p| *p >= cfg.ueba_priority_min) {
                let facts = [
                    ("priority", p.to_string()),
                    ("action", action_type.clone().unwrap_or_default()),
                    ("true_flags", true_flags.join(",")),
                ];
                h.push(TriggerKind::UebaPriority, (p.min(10) * 10).max(50), &facts);
            }
            if let Some(ti) = threat_intel {
                let ip = ev
                    .ip
                    .as_ref()
                    .map(|i| i.addr.to_string())
                    .unwrap_or_default();
                h.push(
                    TriggerKind::ThreatIntel,
                    75,
                    &[("indicator", ti.clone()), ("ip", ip)],
                );
            }
        }
        Detail::Anomaly {
            score: Some(s),
            rule_name,
            tactics,
            techniques,
        } if *s >= cfg.anomaly_score_min => {
            let facts = [
                ("score", format!("{s:.2}")),
                ("rule", rule_name.clone().unwrap_or_default()),
                ("tactics", tactics.join(",")),
                ("techniques", techniques.join(",")),
            ];
            h.push(
                TriggerKind::Anomaly,
                (s * 100.0).clamp(0.0, 100.0) as u8,
                &facts,
            );
        }
        Detail::Alert {
            name,
            severity,
            product,
            tactics,
            techniques,
            ..
        } => {
            let rank = severity_rank(severity.as_deref());
            if rank >= severity_rank(Some(&cfg.alert_severity_min)) && rank > 0 {
                let facts = [
                    ("alert", name.clone().unwrap_or_default()),
                    ("severity", severity.clone().unwrap_or_default()),
                    ("product", product.clone().unwrap_or_default()),
                    ("tactics", tactics.join(",")),
                    ("techniques", techniques.join(",")),
                ];
                h.push(
                    TriggerKind::SecurityAlert,
                    [0, 20, 35, 55, 75][rank as usize],
                    &facts,
                );
            }
        }
        Detail::SignIn {
            risk_level: Some(level),
            ..
        } if level == "high" && succeeded(ev) => {
            let facts = [
                ("risk_level", level.clone()),
                ("country", ev.location.country.clone().unwrap_or_default()),
                (
                    "ip",
                    ev.ip
                        .as_ref()
                        .map(|i| i.addr.to_string())
                        .unwrap_or_default(),
                ),
            ];
            h.push(TriggerKind::RiskySignIn, 65, &facts);
        }
        _ => {}
    }
}

/// 0 unknown, 1 informational, 2 low, 3 medium, 4 high.
fn severity_rank(s: Option<&str>) -> u8 {
    match s.map(str::to_ascii_lowercase).as_deref() {
        Some("informational") => 1,
        Some("low") => 2,
        Some("medium") => 3,
        Some("high") | Some("critical") => 4,
        _ => 0,
    }
}

fn first_time_country(
    h: &mut Hits<'_>,
    state: &EntityState,
    peers: &dyn PeerLookup,
    cfg: &TriggerConfig,
) {
    let Some(country) = h.ev.location.country.as_deref() else {
        return;
    };
    if state.baseline.countries.get(country).is_some() || state.baseline.countries.is_empty() {
        return;
    }
    let since = h.ev.time - Duration::days(i64::from(cfg.peer_lookback_days));
    let known: Vec<String> = state
        .baseline
        .countries
        .top(5)
        .into_iter()
        .map(|v| v.value)
        .collect();
    let facts = [
        ("country", country.to_owned()),
        ("city", h.ev.location.city.clone().unwrap_or_default()),
        (
            "ip",
            h.ev.ip
                .as_ref()
                .map(|i| i.addr.to_string())
                .unwrap_or_default(),
        ),
        ("app", h.ev.app.clone().unwrap_or_default()),
        ("known_countries", known.join(",")),
        (
            "peers_from_country",
            peers
                .peers_with(PeerDim::Country, country, since)
                .to_string(),
        ),
        ("peer_count", peers.peer_count().to_string()),
        (
            "hour_utc",
            format!("{:02}:{:02}", h.ev.time.hour(), h.ev.time.minute()),
        ),
    ];
    h.push(TriggerKind::FirstTimeCountry, 55, &facts);
}

fn sensitive_first_access(
    h: &mut Hits<'_>,
    state: &EntityState,
    peers: &dyn PeerLookup,
    cfg: &TriggerConfig,
) {
    let Some(raw) = h.ev.resource.as_deref() else {
        return;
    };
    let key = resource_key(raw);
    let sensitive = cfg
        .sensitive_resource_patterns
        .iter()
        .any(|p| key.contains(&p.to_lowercase()));
    if !sensitive || state.baseline.resources.get(&key).is_some() {
        return;
    }
    let since = h.ev.time - Duration::days(i64::from(cfg.peer_lookback_days));
    let accessed = peers.peers_with(PeerDim::Resource, &key, since);
    if accessed > cfg.peer_rare_max {
        return;
    }
    let mut facts = vec![
        ("resource", raw.trim_end_matches('/').to_owned()),
        ("peers_accessed", accessed.to_string()),
        ("peer_count", peers.peer_count().to_string()),
    ];
    let mut severity = 55;
    let recent = |m: &&crate::entity::state::Mark| {
        h.ev.time - m.time <= Duration::hours(1) && m.time <= h.ev.time
    };
    if let Some(m) = state.last_new_country.as_ref().filter(recent) {
        facts.push((
            "minutes_after_new_country",
            (h.ev.time - m.time).num_minutes().to_string(),
        ));
        facts.push(("country", m.label.clone()));
        h.out.push(TriggerHit {
            kind: TriggerKind::SensitiveResourceFirstAccess,
            time: h.ev.time,
            severity: 85,
            evidence_ids: vec![h.ev.evidence_id.clone(), m.evidence_id.clone()],
            facts: facts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        });
        return;
    }
    if state.last_risky.as_ref().is_some_and(|m| recent(&m)) {
        severity = 75;
    }
    h.push(TriggerKind::SensitiveResourceFirstAccess, severity, &facts);
}

fn impossible_travel(h: &mut Hits<'_>, state: &EntityState, cfg: &TriggerConfig) {
    let (Some(lat), Some(lon)) = (h.ev.location.latitude, h.ev.location.longitude) else {
        return;
    };
    let Some(prev) = state.last_geo.as_ref() else {
        return;
    };
    let minutes = (h.ev.time - prev.time).num_seconds() as f64 / 60.0;
    if minutes <= 0.0 {
        return;
    }
    let km = haversine_km(prev.latitude, prev.longitude, lat, lon);
    let speed = km / (minutes / 60.0);
    if km < cfg.impossible_min_distance_km || speed < cfg.impossible_speed_kmh {
        return;
    }
    let facts = [
        ("from_country", prev.country.clone().unwrap_or_default()),
        ("from_city", prev.city.clone().unwrap_or_default()),
        (
            "to_country",
            h.ev.location.country.clone().unwrap_or_default(),
        ),
        ("to_city", h.ev.location.city.clone().unwrap_or_default()),
        ("distance_km", format!("{km:.0}")),
        ("minutes", format!("{minutes:.0}")),
        ("speed_kmh", format!("{speed:.0}")),
    ];
    h.out.push(TriggerHit {
        kind: TriggerKind::ImpossibleTravel,
        time: h.ev.time,
        severity: 70,
        evidence_ids: vec![prev.evidence_id.clone(), h.ev.evidence_id.clone()],
        facts: facts
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    });
}

/// Great-circle distance in kilometres.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    6371.0 * 2.0 * a.sqrt().asin()
}

fn dormant(h: &mut Hits<'_>, state: &EntityState, cfg: &TriggerConfig) {
    let Some(last) = state.baseline.last_seen else {
        return;
    };
    let idle = h.ev.time - last;
    if idle < Duration::days(cfg.dormant_days) {
        return;
    }
    let facts = [
        ("idle_days", idle.num_days().to_string()),
        ("last_seen", last.format("%Y-%m-%d").to_string()),
    ];
    h.push(TriggerKind::DormantAccountActive, 60, &facts);
}

fn privileged_role(h: &mut Hits<'_>, cfg: &TriggerConfig) {
    let Detail::Audit { roles_added, .. } = &h.ev.detail else {
        return;
    };
    let Some(role) = roles_added.iter().find(|r| {
        cfg.privileged_roles
            .iter()
            .any(|p| p.eq_ignore_ascii_case(r))
    }) else {
        return;
    };
    let severity = if role.eq_ignore_ascii_case("Global Administrator") {
        85
    } else {
        75
    };
    let initiated =
        h.ev.untrusted
            .get("InitiatedBy")
            .cloned()
            .unwrap_or_default();
    h.push(
        TriggerKind::PrivilegedRoleAssigned,
        severity,
        &[("role", role.clone()), ("initiated_by", initiated)],
    );
}

fn forwarding_rule(h: &mut Hits<'_>, state: &EntityState, cfg: &TriggerConfig) {
    let Detail::Office {
        forwarding_to: Some(target),
        ..
    } = &h.ev.detail
    else {
        return;
    };
    let operation = h.ev.operation.clone().unwrap_or_default();
    let user_domain = state.key.id.rsplit_once('@').map(|(_, d)| d.to_owned());
    let external = target.rsplit_once('@').map(|(_, d)| d.to_lowercase()) != user_domain;
    let window = Duration::seconds(cfg.risky_correlation_secs);
    // The risk a mark stands for: a first-time country, or a sign-in risk level (listed last
    // so that it wins a tie: `max_by_key` keeps the last maximum).
    let risky = [
        state
            .last_new_country
            .as_ref()
            .map(|m| (m, "first_time_country".to_owned())),
        state.last_risky.as_ref().map(|m| (m, m.label.clone())),
    ]
    .into_iter()
    .flatten()
    .filter(|(m, _)| m.time <= h.ev.time && h.ev.time - m.time <= window)
    .max_by_key(|(m, _)| m.time);
    let mut facts = vec![
        ("forwarding_to", target.clone()),
        ("operation", operation),
        ("external", external.to_string()),
        ("after_risky_sign_in", risky.is_some().to_string()),
    ];
    let mut ids = vec![h.ev.evidence_id.clone()];
    let after_risky = risky.is_some();
    if let Some((m, risk)) = risky {
        facts.push((
            "minutes_after_sign_in",
            (h.ev.time - m.time).num_minutes().to_string(),
        ));
        facts.push(("sign_in_risk", risk));
        if let Some(c) = &m.country {
            facts.push(("sign_in_country", c.clone()));
        }
        ids.push(m.evidence_id.clone());
    }
    let severity = match (after_risky, external) {
        (true, _) => 85,
        (false, true) => 55,
        (false, false) => 30,
    };
    h.out.push(TriggerHit {
        kind: TriggerKind::InboxForwardingRule,
        time: h.ev.time,
        severity,
        evidence_ids: ids,
        facts: facts
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    });
}

/// Days above this multiple of the daily mean (and above half the bulk minimum) are kept out
/// of the baseline even when they do not trigger, so a slow ramp cannot teach itself normal.
const LEARN_CEILING_RATIO: f64 = 3.0;

/// Whether a day's downloads may feed the daily mean.
pub fn bulk_learnable(state: &EntityState, count: u32, cfg: &TriggerConfig) -> bool {
    let mean = state.baseline.daily_downloads_mean();
    let ceiling = (f64::from(cfg.bulk_download_min) / 2.0).max(LEARN_CEILING_RATIO * mean);
    f64::from(count) < ceiling
}

/// A day's download count far above the entity's own daily mean.
pub fn bulk_anomalous(state: &EntityState, count: u32, cfg: &TriggerConfig) -> bool {
    let mean = state.baseline.daily_downloads_mean();
    let threshold = f64::from(cfg.bulk_download_min).max(cfg.bulk_download_ratio * mean);
    f64::from(count) >= threshold && state.baseline.days_observed() >= cfg.min_baseline_days
}

/// The per-day bulk-download rule, run when an entity's UTC day closes.
pub fn bulk_download(
    state: &EntityState,
    day: &DownloadDay,
    cfg: &TriggerConfig,
) -> Option<TriggerHit> {
    let (day_total, last_time, off_hours, site) =
        (day.count, day.last_time, day.off_hours, day.main_site());
    let mean = state.baseline.daily_downloads_mean();
    if !bulk_anomalous(state, day_total, cfg) {
        return None;
    }
    // Within a month of an earlier bulk day, only a new peak is news.
    if let Some((prev_day, prev)) = state.bulk_last
        && (day.day - prev_day).num_days() <= 30
        && day_total <= prev
    {
        return None;
    }
    let mut facts = BTreeMap::new();
    facts.insert("downloads".to_owned(), day_total.to_string());
    facts.insert("day".to_owned(), last_time.format("%Y-%m-%d").to_string());
    facts.insert("baseline_daily".to_owned(), format!("{mean:.1}"));
    facts.insert(
        "ratio".to_owned(),
        format!("{:.0}", f64::from(day_total) / mean.max(1.0)),
    );
    facts.insert("off_hours".to_owned(), (off_hours > 0).to_string());
    facts.insert("off_hours_downloads".to_owned(), off_hours.to_string());
    if let Some(s) = site {
        facts.insert("site".to_owned(), s.to_owned());
    }
    Some(TriggerHit {
        kind: TriggerKind::BulkDownload,
        time: last_time,
        severity: if off_hours > 0 { 70 } else { 60 },
        evidence_ids: day.ids.clone(),
        facts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_known_distance() {
        // Amsterdam to Sao Paulo is about 9,800 km.
        let km = haversine_km(52.37, 4.89, -23.55, -46.63);
        assert!((9700.0..9900.0).contains(&km), "{km}");
    }

    #[test]
    fn severity_ranks() {
        assert_eq!(severity_rank(Some("Medium")), 3);
        assert_eq!(severity_rank(Some("HIGH")), 4);
        assert_eq!(severity_rank(None), 0);
    }
}
