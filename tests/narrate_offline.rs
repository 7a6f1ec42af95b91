//! The offline narrator on one fixture per trigger kind and on common combinations.

mod narrate_fixtures;

use std::collections::BTreeSet;

use narrate_fixtures as fx;
use ueba_narrator::context::types::{CaseContext, EntityProfile};
use ueba_narrator::entity::keys::EntityKind;
use ueba_narrator::narrate::offline::{OfflineNarrator, kql_str};
use ueba_narrator::narrate::schema::{HypothesisKind, Narrative, RiskLevel};
use ueba_narrator::narrate::validate::validate;
use ueba_narrator::narrate::{Audience, kql};

fn narrate(ctx: &CaseContext, audience: Audience) -> Narrative {
    OfflineNarrator::new(audience)
        .expect("templates compile")
        .narrate(ctx)
}

/// Every text the narrative emits, for "appears / never appears" checks.
fn all_text(n: &Narrative) -> String {
    serde_json::to_string(n).expect("serialises")
}

fn cited_ids(n: &Narrative) -> Vec<String> {
    let h = n.hypotheses.iter().flat_map(|h| h.evidence_ids.iter());
    let c = n.claims.iter().flat_map(|c| c.evidence_ids.iter());
    h.chain(c).cloned().collect()
}

/// The checks every fixture must pass, for both audiences.
fn check_common(ctx: &CaseContext, facts: &[&str]) -> (Narrative, Narrative) {
    let known: BTreeSet<&str> = ctx.evidence.iter().map(|e| e.id.as_str()).collect();
    let mut out = Vec::new();
    for audience in [Audience::Tier1, Audience::Hunter] {
        let n = narrate(ctx, audience);
        for f in facts {
            assert!(
                n.narrative.contains(f),
                "{audience:?}: narrative lacks {f:?}:\n{}",
                n.narrative
            );
        }
        for id in cited_ids(&n) {
            assert!(known.contains(id.as_str()), "cites unknown id {id}");
        }
        assert_eq!(
            validate(&n, ctx),
            vec![],
            "{audience:?} narrative has issues"
        );
        for q in &n.kql_queries {
            assert_eq!(
                kql::check(&q.query),
                vec![],
                "query fails the checker: {}",
                q.query
            );
        }
        assert!(
            n.hypotheses
                .iter()
                .any(|h| h.kind == HypothesisKind::Benign)
        );
        assert!(
            n.hypotheses
                .iter()
                .any(|h| h.kind == HypothesisKind::Malicious)
        );
        for h in &n.hypotheses {
            assert!(
                (2..=4).contains(&h.verification_steps.len()),
                "{}: steps",
                h.title
            );
        }
        for text in [
            &n.summary,
            &n.narrative,
            &n.baseline_comparison,
            &n.peer_comparison,
        ] {
            for bad in ["null", "None", "()", "  ", "{{", "{%"] {
                assert!(!text.contains(bad), "placeholder {bad:?} in {text:?}");
            }
        }
        assert!(
            n.summary.starts_with(&ctx.entity.display),
            "summary: {}",
            n.summary
        );
        let again = narrate(ctx, audience);
        assert_eq!(all_text(&n), all_text(&again), "not deterministic");
        out.push(n);
    }
    let hunter = out.pop().expect("hunter");
    let tier1 = out.pop().expect("tier1");
    assert!(hunter.kql_queries.len() > tier1.kql_queries.len());
    (tier1, hunter)
}

fn mitre_ids(n: &Narrative) -> Vec<&str> {
    n.mitre_techniques.iter().map(|m| m.id.as_str()).collect()
}

#[test]
fn new_country_then_sensitive_access() {
    let ctx = fx::new_country_sensitive();
    let (t1, hunter) = check_common(
        &ctx,
        &[
            "BR",
            "São Paulo",
            "203.0.113.7",
            fx::SITE_MA,
            "22 minutes",
            "Finance",
            "Senior Analyst",
        ],
    );
    assert!(
        t1.narrative
            .contains("came at 02:36 UTC on 2025-02-03, outside the usual hours (08:00-17:59 UTC)")
    );
    assert!(
        t1.baseline_comparison
            .contains("First time from BR in 35 days of history (usually US, CA)")
    );
    assert!(t1.peer_comparison.contains(&format!(
        "0 of 20 peers accessed {} in the last 30 days",
        fx::SITE_MA
    )));
    assert!(
        t1.peer_comparison
            .contains("0 of 20 peers signed in from BR")
    );
    assert!(
        hunter
            .peer_comparison
            .contains("Closest peers: adele.vance@contoso.com, lee.gu@contoso.com")
    );
    assert_eq!(mitre_ids(&t1), ["T1078.004", "T1213"]);
    // Severity 70 plus the new-country + sensitive-access bonus and breadth.
    assert_eq!(t1.risk_score, 88);
    assert_eq!(t1.risk_level, RiskLevel::Critical);
    assert!(
        t1.interview_questions.is_empty(),
        "compromise signal: not an insider case"
    );
    let w = t1.watchlist_proposal.expect("high risk user proposal");
    assert_eq!(
        (w.watchlist.as_str(), w.item_key.as_str()),
        ("UEBA-HighRiskUsers", "alex.wilber@contoso.com")
    );
    assert!(
        t1.narrative
            .contains("user agent \"Mozilla/5.0 (Windows NT 10.0) \\\"Edg/120\\\"\"")
    );
    assert_eq!(t1.playbooks[0], "Revoke user sessions (Entra ID)");
    assert!(
        t1.narrative
            .contains("First action: Revoke user sessions (Entra ID).")
    );
}

#[test]
fn risky_sign_in_then_forwarding_rule() {
    let ctx = fx::risky_forwarding();
    let (t1, _) = check_common(
        &ctx,
        &[
            "exfil@protonmail.example",
            "New-InboxRule",
            "12 minutes after a high-risk sign-in from NG",
            "198.51.100.23",
        ],
    );
    assert_eq!(mitre_ids(&t1), ["T1078.004", "T1114.003"]);
    let w = t1.watchlist_proposal.expect("forwarding target proposal");
    assert_eq!(w.watchlist, "UEBA-SuspiciousForwardingTargets");
    assert_eq!(w.item_key, "exfil@protonmail.example");
    assert!(t1.playbooks.contains(&"Remove inbox rule".to_string()));
    assert!(t1.interview_questions.is_empty());
    assert_eq!(t1.risk_score, 93);
    assert!(
        t1.hypotheses
            .iter()
            .any(|h| h.title.contains("Business email compromise"))
    );
}

#[test]
fn bulk_download_is_an_insider_case() {
    let ctx = fx::bulk_download();
    let (t1, hunter) = check_common(
        &ctx,
        &[
            "180 file downloads",
            "2025-02-03",
            fx::SITE_RND,
            "6.5",
            "27.7x",
            "outside usual working hours",
        ],
    );
    assert!(
        t1.baseline_comparison
            .contains("this case: 180 downloads on 2025-02-03 (27.7x the baseline)")
    );
    assert!((3..=5).contains(&t1.interview_questions.len()));
    assert!(
        t1.interview_questions
            .iter()
            .any(|q| q.contains("180 files on 2025-02-03"))
    );
    assert_eq!(mitre_ids(&t1), ["T1530", "T1213.002"]);
    assert!(
        t1.hypotheses
            .iter()
            .any(|h| h.title == "Insider data exfiltration")
    );
    assert!(
        hunter
            .kql_queries
            .iter()
            .any(|q| q.query.contains("by Day = bin(TimeGenerated, 1d)"))
    );
    assert_eq!(t1.watchlist_proposal, None, "medium risk: no watchlist");
    assert_eq!(t1.risk_level, RiskLevel::Medium);
}

#[test]
fn privileged_role_assignment() {
    let ctx = fx::role_assigned();
    let (t1, _) = check_common(&ctx, &["Global Administrator", "it.admin@contoso.com"]);
    assert_eq!(mitre_ids(&t1), ["T1098.003"]);
    assert_eq!(t1.mitre_techniques[0].tactic, "Persistence");
    assert!(
        t1.playbooks
            .contains(&"Review role assignment (PIM)".to_string())
    );
    assert!(t1.interview_questions.is_empty());
    assert!(
        t1.kql_queries
            .iter()
            .any(|q| q.query.starts_with("AuditLogs |"))
    );
}

#[test]
fn dormant_account_active() {
    let ctx = fx::dormant();
    let (t1, _) = check_common(&ctx, &["97 days idle", "2024-10-29"]);
    assert_eq!(mitre_ids(&t1), ["T1078"]);
    assert!(
        t1.baseline_comparison
            .contains("Last activity before the case: 2024-10-29 (96 days earlier).")
    );
    assert!(
        t1.hypotheses
            .iter()
            .any(|h| h.title == "Returning employee")
    );
    assert!(t1.interview_questions.is_empty());
}

#[test]
fn impossible_travel_between_us_and_jp() {
    let ctx = fx::impossible_travel();
    let (_, hunter) = check_common(
        &ctx,
        &[
            "New York, US",
            "Tokyo, JP",
            "42 minutes",
            "10850 km",
            "15500 km/h",
        ],
    );
    assert_eq!(mitre_ids(&hunter), ["T1078.004"]);
    assert!(hunter.narrative.contains("failed with error code 50126"));
    assert!(
        hunter
            .hypotheses
            .iter()
            .any(|h| h.title == "Business travel or VPN egress")
    );
}

#[test]
fn ueba_priority_threat_intel_anomaly_and_alert() {
    let ctx = fx::ueba_signals();
    let (t1, _) = check_common(
        &ctx,
        &[
            "priority 8",
            "192.0.2.77",
            "Botnet",
            "\"Anomalous Sign-in\"",
            "\"Unfamiliar sign-in properties\"",
            "Entra ID Protection",
        ],
    );
    assert_eq!(mitre_ids(&t1), ["T1078.004", "T1078"]);
    assert!(
        t1.playbooks
            .contains(&"Block the IP address (Conditional Access named location)".to_string())
    );
    assert!(
        t1.summary
            .contains("activity from threat-intelligence IP 192.0.2.77"),
        "{}",
        t1.summary
    );
}

#[test]
fn fc14_non_ascii_display_name_survives_byte_for_byte() {
    let ctx = fx::non_ascii();
    let (t1, hunter) = check_common(&ctx, &["Zoë.Ångström@Contoso.com", "Försäljning"]);
    assert!(
        t1.summary
            .starts_with("Zoë.Ångström@Contoso.com: first access to")
    );
    assert!(all_text(&hunter).contains("zoë.ångström@contoso.com"));
    assert!(
        hunter.kql_queries[0]
            .query
            .contains("=~ \"zoë.ångström@contoso.com\"")
    );
}

#[test]
fn instruction_like_field_is_never_reproduced() {
    let ctx = fx::injection();
    let (t1, hunter) = check_common(&ctx, &["exfil@protonmail.example"]);
    for n in [&t1, &hunter] {
        let text = all_text(n);
        assert!(
            !text.contains("Ignore all previous instructions"),
            "injected text leaked"
        );
        assert!(!text.contains("curl/8.0"), "flagged user agent leaked");
        assert!(
            n.narrative
                .contains("contain instruction-like text; it was treated as data")
        );
        assert!(n.narrative.contains("RuleName"));
    }
    // An unflagged untrusted field of the same row is still quoted as data.
    assert!(
        hunter
            .narrative
            .contains("forward to \"exfil@protonmail.example\"")
    );
}

#[test]
fn untrusted_text_never_starts_a_sentence() {
    let ctx = fx::new_country_sensitive();
    let n = narrate(&ctx, Audience::Hunter);
    for line in n.narrative.lines() {
        assert!(
            !line.starts_with('"') && !line.starts_with("Project Falcon"),
            "line: {line}"
        );
    }
    assert!(
        n.narrative
            .contains("source file name \"Project Falcon - term sheet.docx\"")
    );
}

#[test]
fn kql_literals_escape_quotes_and_backslashes() {
    assert_eq!(
        kql_str(r#"o"brien\x@contoso.com"#),
        r#""o\"brien\\x@contoso.com""#
    );
    let mut ctx = fx::new_country_sensitive();
    ctx.entity.key = r#"o"brien@contoso.com" | take 1 //"#.into();
    let n = narrate(&ctx, Audience::Hunter);
    for q in &n.kql_queries {
        assert_eq!(kql::check(&q.query), vec![], "{}", q.query);
    }
    assert!(
        n.kql_queries[0]
            .query
            .contains(r#"=~ "o\"brien@contoso.com\" | take 1 //""#)
    );
}

#[test]
fn empty_case_still_has_claims_and_both_hypotheses() {
    let ctx = fx::base();
    let n = narrate(&ctx, Audience::Tier1);
    assert_eq!(validate(&n, &ctx), vec![]);
    assert_eq!(n.claims.len(), 1);
    assert!(
        n.summary
            .starts_with("Alex.Wilber@Contoso.com: UEBA activity at 01:45 UTC")
    );
}

/// The same signals, seen on a machine or an address instead of a user.
fn as_entity(kind: EntityKind, id: &str) -> CaseContext {
    let mut ctx = fx::ueba_signals();
    ctx.entity = EntityProfile {
        kind: Some(kind),
        key: id.into(),
        display: id.into(),
        ..Default::default()
    };
    ctx
}

fn titles(n: &Narrative) -> Vec<&str> {
    n.hypotheses.iter().map(|h| h.title.as_str()).collect()
}

#[test]
fn host_case_gets_machine_hypotheses_and_host_queries() {
    let ctx = as_entity(EntityKind::Host, "contoso-ws-017");
    for audience in [Audience::Tier1, Audience::Hunter] {
        let n = narrate(&ctx, audience);
        assert_eq!(validate(&n, &ctx), vec![], "{audience:?}");
        assert_eq!(
            titles(&n),
            ["Host compromise", "Maintenance or software deployment"]
        );
        assert!(n.hypotheses[0].verification_steps[0].contains("process tree of contoso-ws-017"));
        assert_eq!(n.playbooks[0], "Isolate the device (Defender for Endpoint)");
        assert!(
            n.watchlist_proposal.is_none(),
            "no high-risk-user watchlist for a host"
        );
        assert!(n.kql_queries.len() >= 3, "{audience:?}");
        for q in &n.kql_queries {
            assert_eq!(kql::check(&q.query), vec![], "{}", q.query);
            assert!(!q.query.contains("UserPrincipalName =~ \"contoso-ws-017\""));
            assert!(!q.query.contains("UserId =~"), "{}", q.query);
        }
        assert!(
            n.kql_queries[0]
                .query
                .contains("Entities has \"contoso-ws-017\"")
        );
        assert!(
            n.kql_queries[1]
                .query
                .contains("SourceDevice =~ \"contoso-ws-017\"")
        );
        assert!(
            n.kql_queries[2]
                .query
                .contains("tostring(DeviceDetail.displayName) =~ \"contoso-ws-017\"")
        );
    }
}

#[test]
fn address_case_gets_infrastructure_hypotheses_and_address_queries() {
    let ctx = as_entity(EntityKind::Ip, "203.0.113.7");
    let n = narrate(&ctx, Audience::Tier1);
    assert_eq!(validate(&n, &ctx), vec![]);
    assert_eq!(
        titles(&n),
        ["Attacker infrastructure", "Shared corporate egress"]
    );
    assert_eq!(
        n.playbooks[0],
        "Block the IP address (Conditional Access named location)"
    );
    let queries: Vec<&str> = n.kql_queries.iter().map(|q| q.query.as_str()).collect();
    assert_eq!(queries.len(), 3);
    assert!(queries[0].contains("where IPAddress == \"203.0.113.7\""));
    assert!(queries[1].contains("where SourceIPAddress == \"203.0.113.7\""));
    assert!(queries[2].contains("where CallerIpAddress == \"203.0.113.7\""));
    for q in queries {
        assert_eq!(kql::check(q), vec![], "{q}");
    }
}
