//! Size-limit tests for output messages (FC-02) and dead-letter messages.

use super::*;
use crate::decode::event::Origin;

const TEMPLATE: &str = r#"{
    "TimeGenerated": "2025-03-04T09:30:00.000000Z", "RecordId": "r1", "WindowId": "w1",
    "Version": 1, "WorkspaceId": "ws", "EntityType": "user", "Entity": "Alex",
    "EntityKey": "alex@contoso.com", "EntityObjectId": "", "EntityDisplayName": "",
    "Department": "",
    "WindowStart": "2025-03-04T09:00:00.000000Z", "WindowEnd": "2025-03-04T09:15:00.000000Z",
    "TriggerTypes": [], "Triggers": [], "CoalescedTriggers": 0, "RiskLevel": "high",
    "RiskScore": 70, "Confidence": 0.5, "Summary": "s", "Narrative": "n",
    "BaselineComparison": "", "PeerComparison": "", "Hypotheses": [], "KqlQueries": [],
    "MitreTechniques": [], "Playbooks": [], "WatchlistProposal": null,
    "InterviewQuestions": [],
    "Claims": [{"Text": "t", "EvidenceIds": ["SigninLogs:cited-1"]}],
    "EvidenceIds": [], "EvidenceTruncated": false, "InstructionLikeContent": false,
    "FlaggedFields": [], "Generator": "offline", "GeneratorReason": "configured",
    "LlmStatus": "not_used", "PromptVersion": "offline-v1", "Audience": "tier1",
    "Model": "", "PromptTokens": 0, "CompletionTokens": 0, "LatencyMs": 0,
    "ValidationIssues": [], "Mode": "audit", "SchemaVersion": "1.0"
}"#;

fn record(extra_ids: Vec<String>) -> OutputRecord {
    let mut ids = vec!["SigninLogs:cited-1".to_owned()];
    ids.extend(extra_ids);
    let mut v: serde_json::Value = serde_json::from_str(TEMPLATE).expect("template JSON");
    v["EvidenceIds"] = serde_json::json!(ids);
    serde_json::from_value(v).expect("record from JSON")
}

/// A record whose serialised form is exactly `size` bytes, padded with evidence ids.
fn record_of_size(size: usize) -> OutputRecord {
    let len = |r: &OutputRecord| serde_json::to_vec(r).expect("serialises").len();
    let mut ids = Vec::new();
    let mut r = record(ids.clone());
    // Each extra id adds its length plus 3 bytes (two quotes and a comma).
    while len(&r) + 10_003 < size {
        ids.push(format!(
            "OfficeActivity:{:05}{}",
            ids.len(),
            "p".repeat(10_000 - 20)
        ));
        r = record(ids.clone());
    }
    let missing = size - len(&r);
    assert!(missing >= 4, "room for one more id");
    ids.push("x".repeat(missing - 3));
    r = record(ids);
    assert_eq!(len(&r), size);
    r
}

fn total(msgs: &[OutMessage]) -> usize {
    msgs.iter().map(|m| m.payload.len()).sum()
}

fn header<'a>(m: &'a OutMessage, name: &str) -> Option<&'a str> {
    m.headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn fc02_output_at_or_below_limit_is_one_message() {
    for size in [999_000, 1_000_000] {
        let r = record_of_size(size);
        let msgs = record_messages(&r, MAX_MESSAGE_BYTES).expect("encodes");
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].payload.len(), size);
        assert_eq!(msgs[0].key, "alex@contoso.com");
        assert_eq!(header(&msgs[0], "RecordId"), Some("r1"));
        assert_eq!(header(&msgs[0], "SchemaVersion"), Some("1.0"));
        let back: OutputRecord = serde_json::from_slice(&msgs[0].payload).expect("JSON");
        assert!(!back.evidence_truncated);
    }
}

#[test]
fn fc02_output_above_limit_is_trimmed_never_oversized() {
    for size in [1_000_001, 1_046_528, 1_500_000] {
        let r = record_of_size(size);
        let msgs = record_messages(&r, MAX_MESSAGE_BYTES).expect("encodes");
        assert_eq!(msgs.len(), 1, "trimming evidence is enough for {size}");
        let m = &msgs[0];
        assert!(
            m.payload.len() <= MAX_MESSAGE_BYTES,
            "{size}: {}",
            m.payload.len()
        );
        let back: OutputRecord = serde_json::from_slice(&m.payload).expect("JSON");
        assert!(back.evidence_truncated);
        assert!(back.evidence_ids.contains(&"SigninLogs:cited-1".to_owned()));
        assert!(back.evidence_ids.len() < r.evidence_ids.len());
        // As many ids kept as fit: one more would cross the limit.
        assert!(
            m.payload.len() + 10_003 > MAX_MESSAGE_BYTES,
            "{}",
            m.payload.len()
        );
    }
}

#[test]
fn fc02_output_that_cannot_be_trimmed_is_split_into_parts() {
    let mut r = record(Vec::new());
    r.narrative = "n".repeat(2_500_000);
    let bytes = serde_json::to_vec(&r).expect("serialises");
    let msgs = record_messages(&r, MAX_MESSAGE_BYTES).expect("encodes");
    assert_eq!(msgs.len(), 3);
    assert!(msgs.iter().all(|m| m.payload.len() <= MAX_MESSAGE_BYTES));
    assert_eq!(header(&msgs[0], "PartIndex"), Some("1"));
    assert_eq!(header(&msgs[2], "PartIndex"), Some("3"));
    assert!(msgs.iter().all(|m| header(m, "PartCount") == Some("3")));
    assert!(msgs.iter().all(|m| header(m, "WindowId") == Some("w1")));
    // Nothing dropped: the parts join into the trimmed record.
    let joined: Vec<u8> = msgs.iter().flat_map(|m| m.payload.clone()).collect();
    let back: OutputRecord = serde_json::from_slice(&joined).expect("parts join to JSON");
    assert_eq!(back.narrative.len(), 2_500_000);
    assert_eq!(
        total(&msgs),
        bytes.len() + r#","EvidenceTruncated":true"#.len() - r#","EvidenceTruncated":false"#.len()
    );
}

#[test]
fn dead_letter_message_carries_reason_and_coordinates() {
    let origin = Origin::Kafka {
        topic: "am-SigninLogs".into(),
        partition: 2,
        offset: 17,
        index: 0,
    };
    let d = DeadLetter::new(
        "invalid_json",
        "message body is not JSON",
        origin,
        "not json",
    );
    let m = dead_letter_message(&d).expect("encodes");
    assert_eq!(m.key, "am-SigninLogs[2]@17#0");
    assert_eq!(header(&m, "Reason"), Some("invalid_json"));
    let v: serde_json::Value = serde_json::from_slice(&m.payload).expect("JSON");
    assert_eq!(v["reason"], "invalid_json");
    assert_eq!(v["raw"], "not json");
    assert_eq!(v["origin"]["kind"], "kafka");
    assert_eq!(v["origin"]["offset"], 17);
}
