//! Benign and malicious explanations for a case, each with a likelihood, a rationale, concrete
//! verification steps and the evidence behind it.
//!
//! Themes are chosen from the trigger mix; every case gets at least one benign and one malicious
//! hypothesis. Likelihoods are deterministic functions of trigger severities and combinations;
//! they need not sum to 1. Evidence ids are those of the theme's triggers that exist in the
//! context, so a hypothesis never cites an unknown row.

use std::collections::BTreeSet;

use super::assess::{has_compromise_signal, kinds};
use super::facts::{day, fact};
use crate::context::types::{CaseContext, TriggerKind};
use crate::entity::keys::EntityKind;
use crate::narrate::schema::{Hypothesis, HypothesisKind};

use TriggerKind as K;

const COMPROMISE_KINDS: &[TriggerKind] = &[
    K::FirstTimeCountry,
    K::ImpossibleTravel,
    K::RiskySignIn,
    K::ThreatIntel,
    K::DormantAccountActive,
    K::UebaPriority,
    K::Anomaly,
    K::SecurityAlert,
];

pub(super) fn hypotheses(ctx: &CaseContext) -> Vec<Hypothesis> {
    let malicious_base = malicious_likelihood(ctx);
    // Travel, forwarding rules and downloads are user stories; a machine or an address needs
    // its own explanations and checks.
    match ctx.entity.kind {
        Some(EntityKind::Host) => return host(ctx, malicious_base),
        Some(EntityKind::Ip) => return address(ctx, malicious_base),
        Some(EntityKind::User) | None => {}
    }
    let k = kinds(ctx);
    let mut out = Vec::new();
    if k.iter().any(|x| COMPROMISE_KINDS.contains(x)) || k.contains(&K::InboxForwardingRule) {
        out.push(compromise(ctx, malicious_base));
    }
    if k.contains(&K::InboxForwardingRule) {
        out.push(bec_forwarding(ctx, malicious_base));
    }
    if k.contains(&K::PrivilegedRoleAssigned) {
        out.push(privilege_abuse(ctx, malicious_base));
    }
    if k.contains(&K::BulkDownload) || k.contains(&K::SensitiveResourceFirstAccess) {
        out.push(insider(ctx, malicious_base));
    }
    if out.is_empty() {
        out.push(compromise(ctx, malicious_base));
    }
    out.extend(benign(ctx, malicious_base));
    out
}

/// 0.2 plus up to 0.5 from the strongest severity, plus 0.1 per extra compromise signal.
fn malicious_likelihood(ctx: &CaseContext) -> f64 {
    let strongest = ctx.triggers.iter().map(|t| t.severity).max().unwrap_or(0) as f64;
    let signals = kinds(ctx).len().saturating_sub(1) as f64;
    round2((0.2 + 0.5 * strongest / 100.0 + 0.1 * signals).clamp(0.05, 0.95))
}

fn benign_likelihood(malicious: f64) -> f64 {
    round2((0.9 - malicious).clamp(0.05, 0.8))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn evidence_of(ctx: &CaseContext, wanted: &[TriggerKind]) -> Vec<String> {
    let known: BTreeSet<&str> = ctx.evidence.iter().map(|e| e.id.as_str()).collect();
    let mut ids: Vec<String> = Vec::new();
    for t in ctx.triggers.iter().filter(|t| wanted.contains(&t.kind)) {
        for id in &t.evidence_ids {
            if known.contains(id.as_str()) && !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    ids
}

/// Every trigger kind, for themes that draw on the whole case.
const ALL_KINDS: &[TriggerKind] = &[
    K::UebaPriority,
    K::Anomaly,
    K::SecurityAlert,
    K::ThreatIntel,
    K::RiskySignIn,
    K::FirstTimeCountry,
    K::ImpossibleTravel,
    K::SensitiveResourceFirstAccess,
    K::BulkDownload,
    K::PrivilegedRoleAssigned,
    K::InboxForwardingRule,
    K::DormantAccountActive,
];

fn first_fact<'a>(ctx: &'a CaseContext, kind: TriggerKind, key: &str) -> Option<&'a str> {
    ctx.triggers
        .iter()
        .filter(|t| t.kind == kind)
        .find_map(|t| fact(t, key))
}

fn hyp(kind: HypothesisKind, title: String, likelihood: f64, rationale: String) -> Hypothesis {
    Hypothesis {
        kind,
        title,
        likelihood,
        rationale,
        verification_steps: Vec::new(),
        evidence_ids: Vec::new(),
    }
}

fn compromise(ctx: &CaseContext, base: f64) -> Hypothesis {
    let who = &ctx.entity.display;
    let ip = first_fact(ctx, K::FirstTimeCountry, "ip")
        .or_else(|| first_fact(ctx, K::RiskySignIn, "ip"))
        .or_else(|| first_fact(ctx, K::ThreatIntel, "ip"));
    let mut h = hyp(
        HypothesisKind::Malicious,
        "Account compromise".into(),
        base,
        format!("Someone other than {who} may hold valid credentials or a session token."),
    );
    h.verification_steps = vec![
        format!("Ask {who} through a separate channel whether they performed this activity"),
        match ip {
            Some(ip) => {
                format!("Check whether IP {ip} appears for other users or in threat intelligence")
            }
            None => {
                "Check the sign-in IP addresses for other users and in threat intelligence".into()
            }
        },
        "Review MFA details and device compliance of the case sign-ins in SigninLogs".into(),
    ];
    h.evidence_ids = evidence_of(ctx, COMPROMISE_KINDS);
    h
}

/// Themes for a host: compromise of the machine against maintenance work.
fn host(ctx: &CaseContext, base: f64) -> Vec<Hypothesis> {
    let name = &ctx.entity.display;
    let when = ctx
        .triggers
        .first()
        .map(|t| day(t.time))
        .unwrap_or_default();
    whole_case_pair(
        ctx,
        hyp(
            HypothesisKind::Malicious,
            "Host compromise".into(),
            base,
            format!(
                "Malware or an intruder on {name} may be acting with the rights of its users \
                 and services."
            ),
        ),
        vec![
            format!(
                "Review the endpoint alerts and process tree of {name} in Defender for Endpoint \
                 for the case window"
            ),
            format!("List the accounts that signed in to {name} in the case window and check each"),
            format!("Check whether {name} contacted addresses or hosts it never contacted before"),
        ],
        hyp(
            HypothesisKind::Benign,
            "Maintenance or software deployment".into(),
            benign_likelihood(base),
            "Patching, deployments and administrator sessions look unusual on a quiet machine."
                .into(),
        ),
        vec![
            format!("Match the activity on {name} to a change record or deployment on {when}"),
            format!("Ask the owner of {name} whether administrators worked on it"),
        ],
    )
}

/// Themes for an IP address: attacker infrastructure against shared egress.
fn address(ctx: &CaseContext, base: f64) -> Vec<Hypothesis> {
    let ip = &ctx.entity.display;
    whole_case_pair(
        ctx,
        hyp(
            HypothesisKind::Malicious,
            "Attacker infrastructure".into(),
            base,
            format!(
                "{ip} may be used for password spraying, token replay or as a compromised device."
            ),
        ),
        vec![
            format!("Look up {ip} and the network it belongs to in threat intelligence"),
            format!("List every account that signed in from {ip} and the outcome of each attempt"),
            format!("Check whether sign-ins from {ip} passed MFA or used legacy authentication"),
        ],
        hyp(
            HypothesisKind::Benign,
            "Shared corporate egress".into(),
            benign_likelihood(base),
            "NAT gateways, VPNs and proxies put many users behind one address.".into(),
        ),
        vec![
            format!("Check whether {ip} is a corporate NAT, VPN or proxy address"),
            format!("Compare the accounts seen from {ip} with the population it usually serves"),
        ],
    )
}

/// A malicious and a benign hypothesis that both rest on every trigger of the case.
fn whole_case_pair(
    ctx: &CaseContext,
    mut bad: Hypothesis,
    bad_steps: Vec<String>,
    mut good: Hypothesis,
    good_steps: Vec<String>,
) -> Vec<Hypothesis> {
    let evidence = evidence_of(ctx, ALL_KINDS);
    bad.verification_steps = bad_steps;
    bad.evidence_ids = evidence.clone();
    good.verification_steps = good_steps;
    good.evidence_ids = evidence;
    vec![bad, good]
}

fn bec_forwarding(ctx: &CaseContext, base: f64) -> Hypothesis {
    let to = first_fact(ctx, K::InboxForwardingRule, "forwarding_to").unwrap_or("the target");
    let after = first_fact(ctx, K::InboxForwardingRule, "after_risky_sign_in") == Some("true");
    let mut h = hyp(
        HypothesisKind::Malicious,
        "Business email compromise via mail forwarding".into(),
        round2((base + if after { 0.1 } else { 0.0 }).min(0.95)),
        format!("A forwarding rule to {to} can silently copy mail to an attacker."),
    );
    h.verification_steps = vec![
        format!(
            "List the mailbox's inbox rules and confirm who created the rule forwarding to {to}"
        ),
        format!("Search OfficeActivity for other mailboxes forwarding to {to}"),
        "Check sent items for payment or invoice changes since the rule was created".into(),
    ];
    h.evidence_ids = evidence_of(ctx, &[K::InboxForwardingRule, K::RiskySignIn]);
    h
}

fn privilege_abuse(ctx: &CaseContext, base: f64) -> Hypothesis {
    let role = first_fact(ctx, K::PrivilegedRoleAssigned, "role").unwrap_or("the role");
    let by = first_fact(ctx, K::PrivilegedRoleAssigned, "initiated_by");
    let mut h = hyp(
        HypothesisKind::Malicious,
        "Privilege escalation or abuse".into(),
        base,
        format!("Granting {role} outside change control gives persistent tenant-wide access."),
    );
    h.verification_steps = vec![
        format!("Find the change request or PIM approval for {role}"),
        match by {
            Some(b) => format!("Confirm with {b} that they intended this assignment"),
            None => "Identify who initiated the assignment in AuditLogs".into(),
        },
        format!("Review AuditLogs for actions taken with {role} since the assignment"),
    ];
    h.evidence_ids = evidence_of(ctx, &[K::PrivilegedRoleAssigned]);
    h
}

fn insider(ctx: &CaseContext, base: f64) -> Hypothesis {
    let compromised = has_compromise_signal(ctx);
    let what = first_fact(ctx, K::BulkDownload, "site")
        .or_else(|| first_fact(ctx, K::SensitiveResourceFirstAccess, "resource"))
        .unwrap_or("company data");
    let (title, rationale) = if compromised {
        (
            "Data theft through the compromised account",
            format!(
                "Access to {what} right after a compromise signal fits an attacker collecting data."
            ),
        )
    } else {
        (
            "Insider data exfiltration",
            format!("Unusual collection from {what} can precede data theft by the user."),
        )
    };
    let mut h = hyp(
        HypothesisKind::Malicious,
        title.into(),
        round2((base - 0.1).max(0.05)),
        rationale,
    );
    h.verification_steps = vec![
        format!("List the files taken from {what} and rate their sensitivity"),
        "Check for sharing links, external mail or sync to unmanaged devices after the downloads"
            .into(),
        "Compare the volume with the peers' use of the same site".into(),
    ];
    h.evidence_ids = evidence_of(ctx, &[K::BulkDownload, K::SensitiveResourceFirstAccess]);
    h
}

fn benign(ctx: &CaseContext, malicious: f64) -> Vec<Hypothesis> {
    let k = kinds(ctx);
    let who = &ctx.entity.display;
    let p = benign_likelihood(malicious);
    let mut out = Vec::new();
    if k.contains(&K::FirstTimeCountry) || k.contains(&K::ImpossibleTravel) {
        let country = first_fact(ctx, K::FirstTimeCountry, "country")
            .or_else(|| first_fact(ctx, K::ImpossibleTravel, "to_country"));
        let when = ctx
            .triggers
            .first()
            .map(|t| day(t.time))
            .unwrap_or_default();
        let mut h = hyp(
            HypothesisKind::Benign,
            "Business travel or VPN egress".into(),
            p,
            "New locations are common when users travel or a VPN exits in another country.".into(),
        );
        h.verification_steps = vec![
            match country {
                Some(c) => {
                    format!("Ask {who}'s manager whether travel to {c} on {when} was planned")
                }
                None => format!("Ask {who}'s manager whether travel on {when} was planned"),
            },
            "Check whether the sign-in IP belongs to a corporate VPN or a consumer VPN provider"
                .into(),
            "Compare the device of the new sign-in with the devices in the user's baseline".into(),
        ];
        h.evidence_ids = evidence_of(ctx, &[K::FirstTimeCountry, K::ImpossibleTravel]);
        out.push(h);
    }
    if k.contains(&K::BulkDownload) || k.contains(&K::SensitiveResourceFirstAccess) {
        let mut h = hyp(
            HypothesisKind::Benign,
            "Legitimate project or migration work".into(),
            p,
            "Project deadlines, migrations and new assignments produce one-off data access.".into(),
        );
        h.verification_steps = vec![
            format!("Ask {who}'s manager whether a project or migration needs this data"),
            "Check whether the files went to a managed, company-owned location".into(),
        ];
        h.evidence_ids = evidence_of(ctx, &[K::BulkDownload, K::SensitiveResourceFirstAccess]);
        out.push(h);
    }
    if k.contains(&K::PrivilegedRoleAssigned) {
        let mut h = hyp(
            HypothesisKind::Benign,
            "Planned administrative change".into(),
            p,
            "Roles are granted for new duties or time-bound administrative tasks.".into(),
        );
        h.verification_steps = vec![
            "Match the assignment to a ticket or PIM request".into(),
            format!("Confirm {who}'s new duties with their manager"),
        ];
        h.evidence_ids = evidence_of(ctx, &[K::PrivilegedRoleAssigned]);
        out.push(h);
    }
    if k.contains(&K::InboxForwardingRule) {
        let mut h = hyp(
            HypothesisKind::Benign,
            "User-created forwarding for a delegate or archive".into(),
            round2(p * 0.8),
            "Users sometimes forward mail to an assistant or a personal archive, against policy \
             but not malicious."
                .into(),
        );
        h.verification_steps = vec![
            format!("Ask {who} whether they created the forwarding rule and why"),
            "Check whether the target address belongs to a known delegate".into(),
        ];
        h.evidence_ids = evidence_of(ctx, &[K::InboxForwardingRule]);
        out.push(h);
    }
    if k.contains(&K::DormantAccountActive) {
        let mut h = hyp(
            HypothesisKind::Benign,
            "Returning employee".into(),
            p,
            "Accounts wake up after leave, secondment or a seasonal contract.".into(),
        );
        h.verification_steps = vec![
            format!("Ask HR whether {who} returned from leave"),
            "Check whether the password was reset by the help desk before the activity".into(),
        ];
        h.evidence_ids = evidence_of(ctx, &[K::DormantAccountActive]);
        out.push(h);
    }
    if out.is_empty() {
        let mut h = hyp(
            HypothesisKind::Benign,
            "Unusual but legitimate activity".into(),
            p,
            "A new device, app or network can raise UEBA scores without any attack.".into(),
        );
        h.verification_steps = vec![
            format!("Ask {who} whether they recognise the activity"),
            "Check whether a new device or app was rolled out to the user's team".into(),
        ];
        h.evidence_ids = evidence_of(
            ctx,
            &[
                K::RiskySignIn,
                K::UebaPriority,
                K::Anomaly,
                K::SecurityAlert,
                K::ThreatIntel,
            ],
        );
        out.push(h);
    }
    out
}
