//! Scores and recommendations derived from the trigger mix: risk, confidence, MITRE techniques,
//! playbooks, watchlist proposal and (for insider-risk patterns only) interview questions.
//!
//! Everything here is a pure function of the [`CaseContext`], so the same case always scores the
//! same. Risk starts from the strongest trigger's severity and adds bonuses for combinations that
//! are more telling together than apart (a new country followed by sensitive access).

use std::collections::BTreeSet;

use super::facts::fact;
use crate::context::types::{CaseContext, EntityKind, TriggerKind};
use crate::narrate::catalog;
use crate::narrate::schema::{MitreTechnique, RiskLevel, WatchlistProposal};

use TriggerKind as K;

/// Triggers that suggest someone other than the user holds the account.
const COMPROMISE: [TriggerKind; 6] = [
    K::FirstTimeCountry,
    K::ImpossibleTravel,
    K::RiskySignIn,
    K::ThreatIntel,
    K::InboxForwardingRule,
    K::DormantAccountActive,
];

pub(super) fn kinds(ctx: &CaseContext) -> BTreeSet<TriggerKind> {
    ctx.triggers.iter().map(|t| t.kind).collect()
}

pub(super) fn has_compromise_signal(ctx: &CaseContext) -> bool {
    let k = kinds(ctx);
    COMPROMISE.iter().any(|c| k.contains(c))
}

/// Bulk download or first sensitive access with no sign of account compromise.
pub(super) fn is_insider_pattern(ctx: &CaseContext) -> bool {
    let k = kinds(ctx);
    let data = k.contains(&K::BulkDownload) || k.contains(&K::SensitiveResourceFirstAccess);
    data && !has_compromise_signal(ctx)
}

pub(super) fn risk_score(ctx: &CaseContext) -> u8 {
    let k = kinds(ctx);
    let base = ctx
        .triggers
        .iter()
        .map(|t| u32::from(t.severity))
        .max()
        .unwrap_or(0);
    let pairs = [
        (K::FirstTimeCountry, K::SensitiveResourceFirstAccess, 15),
        (K::RiskySignIn, K::InboxForwardingRule, 15),
        (K::FirstTimeCountry, K::InboxForwardingRule, 10),
        (K::ImpossibleTravel, K::SensitiveResourceFirstAccess, 10),
        (K::ImpossibleTravel, K::BulkDownload, 10),
        (K::FirstTimeCountry, K::BulkDownload, 10),
        (K::RiskySignIn, K::PrivilegedRoleAssigned, 10),
        (K::DormantAccountActive, K::PrivilegedRoleAssigned, 10),
    ];
    let combo: u32 = pairs
        .iter()
        .filter(|(a, b, _)| k.contains(a) && k.contains(b))
        .map(|(_, _, bonus)| bonus)
        .sum();
    let breadth = 3 * (k.len().saturating_sub(1) as u32);
    let ti = if k.contains(&K::ThreatIntel) && k.len() > 1 {
        5
    } else {
        0
    };
    (base + combo.min(25) + breadth.min(10) + ti).min(100) as u8
}

pub(super) fn risk_level(score: u8) -> RiskLevel {
    match score {
        85.. => RiskLevel::Critical,
        65..=84 => RiskLevel::High,
        40..=64 => RiskLevel::Medium,
        _ => RiskLevel::Low,
    }
}

/// Confidence in the narrative's reading: more distinct signals, more evidence and a real
/// baseline raise it; a missing baseline lowers it.
pub(super) fn confidence(ctx: &CaseContext) -> f64 {
    let distinct = kinds(ctx).len().min(3) as f64;
    let evidence = ctx.evidence.len().min(10) as f64;
    let strongest = ctx.triggers.iter().map(|t| t.severity).max().unwrap_or(0) as f64;
    let mut c = 0.3 + 0.1 * distinct + 0.02 * evidence + 0.1 * strongest / 100.0;
    if ctx.baseline.days_observed >= 14 {
        c += 0.1;
    } else if ctx.baseline.days_observed == 0 {
        c -= 0.1;
    }
    (c.clamp(0.1, 0.95) * 100.0).round() / 100.0
}

/// Technique ids and the tactic each trigger kind stands for.
fn techniques_for(kind: TriggerKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        K::FirstTimeCountry | K::ImpossibleTravel | K::RiskySignIn | K::ThreatIntel => {
            &[("T1078.004", "Initial Access")]
        }
        K::DormantAccountActive => &[("T1078", "Initial Access")],
        K::InboxForwardingRule => &[("T1114.003", "Collection")],
        K::PrivilegedRoleAssigned => &[("T1098.003", "Persistence")],
        K::BulkDownload => &[("T1530", "Collection"), ("T1213.002", "Collection")],
        K::SensitiveResourceFirstAccess => &[("T1213", "Collection")],
        K::UebaPriority | K::Anomaly | K::SecurityAlert => &[],
    }
}

pub(super) fn mitre(ctx: &CaseContext) -> Vec<MitreTechnique> {
    let mut out: Vec<MitreTechnique> = Vec::new();
    let mut push = |id: &str, tactic: Option<&str>| {
        let Some(entry) = catalog::mitre(id) else {
            return;
        };
        if out.iter().any(|m| m.id == entry.id) {
            return;
        }
        let tactic = tactic
            .filter(|t| entry.has_tactic(t))
            .or(entry.tactics.first().map(String::as_str));
        if let Some(tactic) = tactic {
            let (id, name) = (entry.id.clone(), entry.name.clone());
            out.push(MitreTechnique {
                id,
                name,
                tactic: tactic.to_string(),
            });
        }
    };
    for t in &ctx.triggers {
        for (id, tactic) in techniques_for(t.kind) {
            push(id, Some(tactic));
        }
        // Anomalies and alerts name their own techniques; keep the ones the catalog knows.
        let named_tactics: Vec<&str> = fact(t, "tactics")
            .map(|s| s.split(',').map(str::trim).collect())
            .unwrap_or_default();
        for id in fact(t, "techniques").into_iter().flat_map(|s| s.split(',')) {
            let tactic = named_tactics
                .iter()
                .copied()
                .find(|tac| catalog::mitre(id.trim()).is_some_and(|e| e.has_tactic(tac)));
            push(id.trim(), tactic);
        }
    }
    out
}

pub(super) fn playbooks(ctx: &CaseContext) -> Vec<String> {
    let machine: &[&str] = match ctx.entity.kind {
        Some(EntityKind::Host) => &[
            "Isolate the device (Defender for Endpoint)",
            "Collect an investigation package (Defender for Endpoint)",
            "Run a full antivirus scan (Defender for Endpoint)",
        ],
        Some(EntityKind::Ip) => &[
            "Block the IP address (Conditional Access named location)",
            "Revoke sessions of the accounts that signed in from the address",
        ],
        Some(EntityKind::User) | None => &[],
    };
    if !machine.is_empty() {
        return machine.iter().map(|p| p.to_string()).collect();
    }
    let k = kinds(ctx);
    let mut out: Vec<&str> = Vec::new();
    if has_compromise_signal(ctx) {
        out.extend([
            "Revoke user sessions (Entra ID)",
            "Reset password and require MFA re-registration",
        ]);
    }
    if k.contains(&K::RiskySignIn) {
        out.push("Confirm or dismiss user risk (Entra ID Protection)");
    }
    if k.contains(&K::ThreatIntel) {
        out.push("Block the IP address (Conditional Access named location)");
    }
    if k.contains(&K::InboxForwardingRule) {
        out.extend([
            "Remove inbox rule",
            "Block external auto-forwarding (outbound spam policy)",
        ]);
    }
    if k.contains(&K::PrivilegedRoleAssigned) {
        out.push("Review role assignment (PIM)");
    }
    if k.contains(&K::BulkDownload) || k.contains(&K::SensitiveResourceFirstAccess) {
        out.push("Review file access and sharing (SharePoint audit)");
    }
    if is_insider_pattern(ctx) {
        out.push("Open an insider-risk case with HR and legal");
    }
    if k.contains(&K::DormantAccountActive) {
        out.push("Confirm the account owner with their manager");
    }
    if out.is_empty() {
        out.push("Triage the UEBA activity with the user's manager");
    }
    let mut seen = BTreeSet::new();
    out.into_iter()
        .filter(|p| seen.insert(*p))
        .map(String::from)
        .collect()
}

pub(super) fn watchlist(ctx: &CaseContext, level: RiskLevel) -> Option<WatchlistProposal> {
    let domain = ctx
        .entity
        .key
        .rsplit_once('@')
        .map(|(_, d)| d.to_lowercase());
    let external = ctx
        .triggers
        .iter()
        .filter(|t| t.kind == K::InboxForwardingRule)
        .find_map(|t| {
            let to = fact(t, "forwarding_to")?;
            let to_domain = to.rsplit_once('@').map(|(_, d)| d.to_lowercase())?;
            (Some(&to_domain) != domain.as_ref()).then(|| to.to_string())
        });
    if let Some(address) = external {
        let reason = format!(
            "External forwarding target set up on {}'s mailbox",
            ctx.entity.display
        );
        return Some(WatchlistProposal {
            watchlist: "UEBA-SuspiciousForwardingTargets".into(),
            item_key: address,
            reason,
        });
    }
    let is_user = ctx.entity.kind.is_none_or(|k| k == EntityKind::User);
    (level >= RiskLevel::High && is_user && !ctx.entity.key.is_empty()).then(|| WatchlistProposal {
        watchlist: "UEBA-HighRiskUsers".into(),
        item_key: ctx.entity.key.clone(),
        reason: format!("Risk {} in this case", level_word(level)),
    })
}

pub(super) fn level_word(level: RiskLevel) -> &'static str {
    match level {
        RiskLevel::Low => "low",
        RiskLevel::Medium => "medium",
        RiskLevel::High => "high",
        RiskLevel::Critical => "critical",
    }
}

/// Questions for the user's manager or HR, only for insider-risk patterns.
pub(super) fn interview_questions(ctx: &CaseContext) -> Vec<String> {
    if !is_insider_pattern(ctx) {
        return Vec::new();
    }
    let who = &ctx.entity.display;
    let mut q = vec![format!(
        "Is {who} working on a project that needs this data?"
    )];
    for t in &ctx.triggers {
        match t.kind {
            K::BulkDownload => q.push(format!(
                "Did {who} have a reason to download {} files{}?",
                fact(t, "downloads").unwrap_or("this many"),
                fact(t, "day")
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            )),
            K::SensitiveResourceFirstAccess => q.push(format!(
                "Should {who} have access to {}?",
                fact(t, "resource").unwrap_or("this resource")
            )),
            _ => {}
        }
    }
    q.push(format!(
        "Has {who} resigned, given notice or been told of a role change?"
    ));
    q.push(format!(
        "Has {who} raised a grievance or shown other concerning behaviour recently?"
    ));
    q.truncate(5);
    q
}
