//! validate() detects each class of problem; repair() fixes what needs no model.

mod narrate_fixtures;

use narrate_fixtures as fx;
use ueba_narrator::context::types::CaseContext;
use ueba_narrator::narrate::Audience;
use ueba_narrator::narrate::offline::OfflineNarrator;
use ueba_narrator::narrate::schema::{HypothesisKind, KqlQuery, MitreTechnique, Narrative};
use ueba_narrator::narrate::validate::{IssueKind, MAX_FIELD_BYTES, repair, validate};

fn good() -> (Narrative, CaseContext) {
    let ctx = fx::new_country_sensitive();
    let n = OfflineNarrator::new(Audience::Hunter)
        .expect("templates")
        .narrate(&ctx);
    assert_eq!(validate(&n, &ctx), vec![]);
    (n, ctx)
}

fn kinds(issues: &[ueba_narrator::narrate::validate::Issue]) -> Vec<IssueKind> {
    issues.iter().map(|i| i.kind).collect()
}

#[test]
fn unknown_evidence_ids_are_dropped_and_confidence_lowered() {
    let (mut n, ctx) = good();
    let before = n.confidence;
    n.claims[0].evidence_ids.push("ev-404".into());
    n.hypotheses[0].evidence_ids.push("ev-999".into());
    let issues = validate(&n, &ctx);
    assert_eq!(
        kinds(&issues),
        [IssueKind::UnknownEvidenceId, IssueKind::UnknownEvidenceId]
    );
    assert!(issues[1].detail.contains("ev-404"));
    let fixed = repair(&mut n, &ctx);
    assert_eq!(
        kinds(&fixed),
        [IssueKind::UnknownEvidenceId, IssueKind::UnknownEvidenceId]
    );
    assert_eq!(n.confidence, ((before - 0.2) * 100.0).round() / 100.0);
    assert_eq!(n.claims[0].evidence_ids, ["ev-1"]);
    assert_eq!(validate(&n, &ctx), vec![]);
}

#[test]
fn confidence_never_drops_below_the_floor() {
    let (mut n, ctx) = good();
    n.confidence = 0.25;
    n.claims[0]
        .evidence_ids
        .extend(["x1".into(), "x2".into(), "x3".into()]);
    repair(&mut n, &ctx);
    assert_eq!(n.confidence, 0.1);
}

#[test]
fn unknown_mitre_technique_is_detected_and_dropped() {
    let (mut n, ctx) = good();
    let count = n.mitre_techniques.len();
    n.mitre_techniques.push(MitreTechnique {
        id: "T9999.123".into(),
        name: "Made up".into(),
        tactic: "Impact".into(),
    });
    n.mitre_techniques.push(MitreTechnique {
        id: "T1530".into(),
        name: "Data from Cloud Storage".into(),
        tactic: "Impact".into(),
    });
    let issues = validate(&n, &ctx);
    assert_eq!(
        kinds(&issues),
        [
            IssueKind::UnknownMitreTechnique,
            IssueKind::UnknownMitreTechnique
        ]
    );
    assert!(issues[0].detail.contains("T9999.123"));
    repair(&mut n, &ctx);
    assert_eq!(n.mitre_techniques.len(), count);
    assert_eq!(validate(&n, &ctx), vec![]);
}

#[test]
fn kql_with_unknown_table_or_column_is_detected_and_dropped() {
    let (mut n, ctx) = good();
    let count = n.kql_queries.len();
    n.kql_queries.push(KqlQuery {
        purpose: "bad table".into(),
        query: "SignInLogz | take 10".into(),
    });
    n.kql_queries.push(KqlQuery {
        purpose: "bad column".into(),
        query: "SigninLogs | where ClientIP == \"1.2.3.4\" | project TimeGenerated".into(),
    });
    let issues = validate(&n, &ctx);
    assert_eq!(
        kinds(&issues),
        [IssueKind::KqlUnknownTable, IssueKind::KqlUnknownColumn]
    );
    assert!(issues[0].detail.contains("SignInLogz"));
    assert!(issues[1].detail.contains("ClientIP"));
    let fixed = repair(&mut n, &ctx);
    assert_eq!(
        kinds(&fixed),
        [IssueKind::KqlUnknownTable, IssueKind::KqlUnknownColumn]
    );
    assert_eq!(n.kql_queries.len(), count);
    assert!(n.kql_queries.iter().all(|q| !q.purpose.starts_with("bad")));
}

#[test]
fn oversize_fields_are_detected_and_trimmed_with_marker() {
    let (mut n, ctx) = good();
    n.narrative = "Zoë ".repeat(20_000); // 100,000 bytes
    n.claims[0].text = "x".repeat(70_000);
    let issues = validate(&n, &ctx);
    assert_eq!(
        kinds(&issues),
        [IssueKind::FieldTooLarge, IssueKind::FieldTooLarge]
    );
    assert!(issues[0].detail.starts_with("Narrative is 100000 bytes"));
    assert!(issues[1].detail.starts_with("Claims is"));
    let fixed = repair(&mut n, &ctx);
    assert_eq!(
        kinds(&fixed),
        [IssueKind::FieldTooLarge, IssueKind::FieldTooLarge]
    );
    assert!(n.narrative.len() <= MAX_FIELD_BYTES);
    assert!(n.narrative.ends_with(" [truncated]"));
    assert!(n.claims[0].text.ends_with(" [truncated]"));
    assert!(serde_json::to_vec(&n.claims).expect("json").len() <= MAX_FIELD_BYTES);
    assert_eq!(validate(&n, &ctx), vec![]);
}

#[test]
fn missing_benign_hypothesis_is_detected_and_not_invented() {
    let (mut n, ctx) = good();
    n.hypotheses.retain(|h| h.kind == HypothesisKind::Malicious);
    let issues = validate(&n, &ctx);
    assert_eq!(kinds(&issues), [IssueKind::MissingHypothesis]);
    assert_eq!(issues[0].detail, "no benign hypothesis");
    assert_eq!(repair(&mut n, &ctx), vec![]);
    assert_eq!(kinds(&validate(&n, &ctx)), [IssueKind::MissingHypothesis]);
}

#[test]
fn schema_catches_out_of_range_numbers_and_empty_claims() {
    let (mut n, ctx) = good();
    n.risk_score = 150;
    n.confidence = 1.5;
    let issues = validate(&n, &ctx);
    assert_eq!(kinds(&issues), [IssueKind::Schema, IssueKind::Schema]);
    let fixed = repair(&mut n, &ctx);
    assert_eq!(kinds(&fixed), [IssueKind::Schema, IssueKind::Schema]);
    assert_eq!((n.risk_score, n.confidence), (100, 1.0));
    assert_eq!(validate(&n, &ctx), vec![]);
    n.claims.clear();
    let issues = validate(&n, &ctx);
    assert_eq!(kinds(&issues), [IssueKind::Schema]);
    assert!(
        issues[0].detail.starts_with("/Claims"),
        "{}",
        issues[0].detail
    );
}

#[test]
fn schema_file_matches_the_serialised_field_names() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/narrative.schema.json")).expect("json");
    let (n, _) = good();
    let value = serde_json::to_value(&n).expect("json");
    let props = schema["properties"].as_object().expect("properties");
    let fields = value.as_object().expect("object");
    assert_eq!(props.keys().collect::<Vec<_>>().len(), fields.len());
    for key in fields.keys() {
        assert!(props.contains_key(key), "schema lacks {key}");
    }
    assert_eq!(schema["required"].as_array().map(Vec::len), Some(14));
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["properties"]["WatchlistProposal"]["type"],
        serde_json::json!(["object", "null"])
    );
}
