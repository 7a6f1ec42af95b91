//! Builds a [`CaseContext`] from a ready case, the entity's state and the directory.
//!
//! Evidence selection keeps every row a trigger cites, then fills up to `max_evidence` with
//! the most telling other rows of the case span (failures and Sentinel verdicts before routine
//! activity), in time order. Facts are computed by the product; attacker-controlled strings are
//! copied, truncated, into `untrusted` and screened for instruction-like text.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::config::engine::ContextConfig;
use crate::context::injection::is_instruction_like;
use crate::context::types::{CaseContext, EntityProfile, EvidenceItem, PeerSummary, PeerUsage};
use crate::decode::event::{Detail, Event, IdentitySnapshot, Outcome};
use crate::entity::keys::{EntityKey, EntityKind};
use crate::entity::state::EntityState;
use crate::trigger::coalesce::ReadyCase;
use crate::trigger::rules::{PeerDim, PeerLookup, resource_key};

/// Replaces an instruction-like value copied into a trigger fact.
pub const WITHHELD: &str = "(withheld: instruction-like text)";

/// Deterministic window id: entity, window start and window length under one tenant.
pub fn window_id(
    tenant: &str,
    entity: &EntityKey,
    start: DateTime<Utc>,
    window: Duration,
) -> String {
    let mut h = Sha256::new();
    for part in [
        tenant,
        &entity.to_string(),
        &start.to_rfc3339(),
        &window.num_seconds().to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..16])
}

/// What the builder needs besides the case.
pub struct Inputs<'a> {
    pub tenant: &'a str,
    pub window: Duration,
    pub lookback: Duration,
    pub cfg: &'a ContextConfig,
    /// The entity's state, if it is still held.
    pub state: Option<&'a EntityState>,
    pub identity: Option<&'a IdentitySnapshot>,
    /// Peer keys, closest first.
    pub peer_keys: &'a [String],
    pub peers: &'a dyn PeerLookup,
    pub peer_lookback_days: u32,
}

pub fn build(case: &ReadyCase, inp: &Inputs<'_>) -> CaseContext {
    let evidence_all = select_evidence(case, inp);
    let (evidence, truncated) = evidence_all;
    let present: BTreeSet<&str> = evidence.iter().map(|e| e.id.as_str()).collect();
    let mut withheld = Vec::new();
    let triggers = case
        .triggers
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.evidence_ids.retain(|id| present.contains(id.as_str()));
            // Facts copied from row values (a forwarding address, a site, an app name) are
            // attacker-influenced too: instruction-like ones are withheld, never quoted.
            for (k, v) in t.facts.iter_mut() {
                if is_instruction_like(v) {
                    *v = WITHHELD.to_owned();
                    withheld.push(format!("trigger:{}:{k}", t.kind.as_str()));
                }
            }
            t
        })
        .collect();
    let mut evidence = evidence;
    for item in &mut evidence {
        let suspicious: Vec<String> = item
            .facts
            .iter()
            .filter(|(_, v)| is_instruction_like(v))
            .map(|(k, _)| k.clone())
            .collect();
        for k in suspicious {
            if let Some(v) = item.facts.remove(&k) {
                item.untrusted.insert(k, v);
            }
        }
    }
    let mut instruction_like_fields: Vec<String> = evidence
        .iter()
        .flat_map(|e| e.untrusted.iter().map(move |(k, v)| (e, k, v)))
        .filter(|(_, _, v)| is_instruction_like(v))
        .map(|(e, k, _)| format!("{}:{}", e.id, k))
        .collect();
    instruction_like_fields.extend(withheld);
    let last_before = inp.state.and_then(|s| {
        s.events
            .iter()
            .rev()
            .find(|e| e.time < case.span_start - inp.lookback)
            .map(|e| e.time)
    });
    CaseContext {
        tenant: inp.tenant.to_owned(),
        window_id: window_id(inp.tenant, &case.entity, case.span_start, inp.window),
        version: case.version,
        window_start: case.span_start,
        window_end: case.span_end,
        entity: profile(&case.entity, inp),
        triggers,
        coalesced: case.coalesced,
        evidence,
        evidence_truncated: truncated,
        baseline: inp
            .state
            .map(|s| {
                s.baseline
                    .summary(case.span_start - inp.lookback, last_before)
            })
            .unwrap_or_default(),
        peers: peer_summary(case, inp),
        instruction_like_fields,
    }
}

fn profile(key: &EntityKey, inp: &Inputs<'_>) -> EntityProfile {
    let id = inp.identity;
    let seen_upn = inp.state.and_then(|s| s.seen_upn.clone());
    let display = id
        .and_then(|i| i.upn.clone())
        .map(|u| u.trim().to_owned())
        .or(seen_upn.map(|u| u.trim().to_owned()))
        .unwrap_or_else(|| key.id.clone());
    EntityProfile {
        kind: Some(key.kind),
        key: key.id.clone(),
        display,
        object_id: id.and_then(|i| i.object_id.clone()),
        display_name: id
            .and_then(|i| i.display_name.clone())
            .or_else(|| inp.state.and_then(|s| s.seen_display_name.clone())),
        department: id.and_then(|i| i.department.clone()),
        job_title: id.and_then(|i| i.job_title.clone()),
        manager: id.and_then(|i| i.manager.clone()),
        country: id.and_then(|i| i.country.clone()),
        groups: id.map(|i| i.groups.clone()).unwrap_or_default(),
        roles: id.map(|i| i.roles.clone()).unwrap_or_default(),
        enabled: id.and_then(|i| i.enabled),
        user_state: id.and_then(|i| i.user_state.clone()),
        blast_radius: id.and_then(|i| i.blast_radius.clone()),
        deleted: id.is_some_and(|i| i.deleted),
    }
}

/// Trigger rows first, then the most telling other rows of the span; returns the evidence in
/// time order and whether rows were left out.
fn select_evidence(case: &ReadyCase, inp: &Inputs<'_>) -> (Vec<EvidenceItem>, bool) {
    let Some(state) = inp.state else {
        return (Vec::new(), false);
    };
    let cited: BTreeSet<&str> = case
        .triggers
        .iter()
        .flat_map(|t| t.evidence_ids.iter().map(String::as_str))
        .collect();
    let from = case.span_start - inp.lookback;
    let mut picked: Vec<&Arc<Event>> = state
        .events
        .iter()
        .filter(|e| cited.contains(e.evidence_id.as_str()))
        .collect();
    picked.truncate(inp.cfg.max_evidence);
    let mut others: Vec<&Arc<Event>> = state
        .events_between(from, case.span_end)
        .filter(|e| !cited.contains(e.evidence_id.as_str()))
        .collect();
    let available = picked.len() + others.len();
    others.sort_by_key(|e| (interest_rank(e), e.time));
    let room = inp.cfg.max_evidence.saturating_sub(picked.len());
    picked.extend(others.into_iter().take(room));
    picked.sort_by(|a, b| a.time.cmp(&b.time).then(a.evidence_id.cmp(&b.evidence_id)));
    picked.dedup_by(|a, b| a.evidence_id == b.evidence_id);
    let truncated = available > picked.len();
    let items = picked
        .into_iter()
        .map(|e| {
            evidence_item(
                e,
                cited.contains(e.evidence_id.as_str()),
                inp.cfg.max_untrusted_chars,
            )
        })
        .collect();
    (items, truncated)
}

/// Lower ranks are kept first.
fn interest_rank(e: &Event) -> u8 {
    match (&e.detail, &e.outcome) {
        (Detail::Alert { .. } | Detail::Anomaly { .. }, _) => 0,
        (
            Detail::Ueba {
                priority: Some(p), ..
            },
            _,
        ) if *p > 0 => 1,
        (Detail::Audit { .. }, _) => 1,
        (_, Outcome::Failure { .. }) => 2,
        (
            Detail::Office {
                forwarding_to: Some(_),
                ..
            },
            _,
        ) => 0,
        _ => 3,
    }
}

fn evidence_item(e: &Event, is_trigger: bool, max_chars: usize) -> EvidenceItem {
    let untrusted = e
        .untrusted
        .iter()
        .map(|(k, v)| (k.clone(), truncate_chars(v, max_chars)))
        .collect();
    EvidenceItem {
        id: e.evidence_id.clone(),
        table: e.table,
        time: e.time,
        facts: facts_of(e),
        untrusted,
        is_trigger,
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Product-computed facts about one row.
pub fn facts_of(e: &Event) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            f.insert(k.to_owned(), v);
        }
    };
    put("operation", e.operation.clone());
    put("app", e.app.clone());
    put("resource", e.resource.clone());
    put("country", e.location.country.clone());
    put("city", e.location.city.clone());
    put("ip", e.ip.as_ref().map(|i| i.addr.to_string()));
    put("host", e.host.clone());
    match &e.outcome {
        Outcome::Success => put("outcome", Some("success".into())),
        Outcome::Failure { code, .. } => {
            put("outcome", Some("failure".into()));
            put("error_code", code.map(|c| c.to_string()));
        }
        Outcome::Unknown => {}
    }
    match &e.detail {
        Detail::SignIn {
            risk_level,
            operating_system,
            browser,
            interactive,
            ..
        } => {
            put("risk_level", risk_level.clone());
            put("os", operating_system.clone());
            put("browser", browser.clone());
            put("interactive", Some(interactive.to_string()));
        }
        Detail::Ueba {
            priority,
            true_flags,
            threat_intel,
            isp,
            action_type,
            ..
        } => {
            put("priority", priority.map(|p| p.to_string()));
            put("true_flags", Some(true_flags.join(",")));
            put("threat_intel", threat_intel.clone());
            put("isp", isp.clone());
            put("action", action_type.clone());
        }
        Detail::Anomaly {
            score,
            rule_name,
            techniques,
            ..
        } => {
            put("score", score.map(|s| format!("{s:.2}")));
            put("rule", rule_name.clone());
            put("techniques", Some(techniques.join(",")));
        }
        Detail::Alert {
            name,
            severity,
            product,
            ..
        } => {
            put("alert", name.clone());
            put("severity", severity.clone());
            put("product", product.clone());
        }
        Detail::Audit {
            category,
            result,
            roles_added,
            targets,
            ..
        } => {
            put("category", category.clone());
            put("result", result.clone());
            put("role", roles_added.first().cloned());
            put("targets", Some(targets.join(",")));
        }
        Detail::Office {
            workload,
            site_url,
            forwarding_to,
            ..
        } => {
            put("workload", workload.clone());
            put("site", site_url.clone());
            put("forwarding_to", forwarding_to.clone());
        }
        Detail::AzureActivity {
            status,
            resource_group,
            ..
        } => {
            put("status", status.clone());
            put("resource_group", resource_group.clone());
        }
    }
    f
}

fn peer_summary(case: &ReadyCase, inp: &Inputs<'_>) -> PeerSummary {
    if case.entity.kind != EntityKind::User || inp.peer_keys.is_empty() {
        return PeerSummary {
            lookback_days: inp.peer_lookback_days,
            ..Default::default()
        };
    }
    let since = case.span_start - Duration::days(i64::from(inp.peer_lookback_days));
    let mut resources = BTreeSet::new();
    let mut countries = BTreeSet::new();
    for t in &case.triggers {
        for (k, v) in &t.facts {
            match k.as_str() {
                "resource" | "site" => {
                    resources.insert(resource_key(v));
                }
                "country" | "to_country" | "sign_in_country" => {
                    countries.insert(v.clone());
                }
                _ => {}
            }
        }
    }
    let usage = |dim, values: BTreeSet<String>| {
        values
            .into_iter()
            .map(|value| PeerUsage {
                peers: inp.peers.peers_with(dim, &value, since),
                value,
            })
            .collect()
    };
    PeerSummary {
        peer_count: inp.peers.peer_count(),
        closest: inp
            .peer_keys
            .iter()
            .filter(|k| !k.starts_with("oid:"))
            .take(5)
            .cloned()
            .collect(),
        resource_access: usage(PeerDim::Resource, resources),
        country_usage: usage(PeerDim::Country, countries),
        lookback_days: inp.peer_lookback_days,
    }
}
