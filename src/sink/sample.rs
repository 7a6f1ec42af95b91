//! A small, valid [`OutputRecord`] for sink tests and local peers (not used on the data path).

use serde_json::Value;

use crate::sink::record::OutputRecord;

/// A record with the given id and short narrative fields.
pub fn sample_record(record_id: &str) -> OutputRecord {
    let mut v: Value = serde_json::from_str(SAMPLE).expect("the sample is JSON");
    v["RecordId"] = Value::String(record_id.to_owned());
    serde_json::from_value(v).expect("the sample matches OutputRecord")
}

const SAMPLE: &str = r#"{
    "TimeGenerated": "2024-09-26T05:30:00.000000Z",
    "RecordId": "",
    "WindowId": "0123456789abcdef0123456789abcdef",
    "Version": 1,
    "WorkspaceId": "8f1c2b1e-0000-4000-8000-000000000001",
    "EntityType": "user",
    "Entity": "adelev@contoso.com",
    "EntityKey": "adelev@contoso.com",
    "EntityObjectId": "",
    "EntityDisplayName": "",
    "Department": "Finance",
    "WindowStart": "2024-09-26T05:15:00.000000Z",
    "WindowEnd": "2024-09-26T05:30:00.000000Z",
    "TriggerTypes": ["security_alert"],
    "Triggers": [{
        "Kind": "security_alert",
        "Time": "2024-09-26T05:23:30.559414Z",
        "Severity": 55,
        "EvidenceIds": ["SecurityAlert:1b3f6e0a-2c1d-4e5f-8a9b-0c1d2e3f4a5b"],
        "Facts": {"alert": "Unfamiliar sign-in properties"}
    }],
    "CoalescedTriggers": 1,
    "RiskLevel": "high",
    "RiskScore": 72,
    "Confidence": 0.6,
    "Summary": "Sign-in from a new country followed by a sensitive download.",
    "Narrative": "The user signed in from a country never seen before.",
    "BaselineComparison": "",
    "PeerComparison": "",
    "Hypotheses": [],
    "KqlQueries": [],
    "MitreTechniques": [],
    "Playbooks": [],
    "WatchlistProposal": null,
    "InterviewQuestions": [],
    "Claims": [{"Text": "New country", "EvidenceIds": ["SigninLogs:abc"]}],
    "EvidenceIds": ["SigninLogs:abc", "SecurityAlert:1b3f6e0a-2c1d-4e5f-8a9b-0c1d2e3f4a5b"],
    "EvidenceTruncated": false,
    "InstructionLikeContent": false,
    "FlaggedFields": [],
    "Generator": "offline",
    "GeneratorReason": "configured",
    "LlmStatus": "not_used",
    "PromptVersion": "v1",
    "Audience": "tier1",
    "Model": "",
    "PromptTokens": 0,
    "CompletionTokens": 0,
    "LatencyMs": 0,
    "ValidationIssues": [],
    "Mode": "active",
    "SchemaVersion": "1.0"
}"#;
