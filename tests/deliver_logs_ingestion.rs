//! The Logs Ingestion sink against a local peer that enforces the API contract and scripts its
//! failure modes: batching, gzip, 413 split, 429/5xx/401 retries with the waits they ask for,
//! poison batches to dead letters, long fields trimmed, undeclared columns never sent.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::ingestion_peer::{self, Script, TOKEN};
use ueba_narrator::auth::StaticToken;
use ueba_narrator::sink::audit::AuditSink;
use ueba_narrator::sink::columns::{audit_columns, context_columns};
use ueba_narrator::sink::fanout::Sink;
use ueba_narrator::sink::http::{RecordingSleeper, RetryPolicy};
use ueba_narrator::sink::logs_ingestion::{
    IngestionClient, LogsIngestionConfig, LogsIngestionSink, Row,
};

fn names(cols: &[ueba_narrator::sink::columns::Column]) -> Vec<String> {
    cols.iter().map(|c| c.name.clone()).collect()
}

fn config(endpoint: &str, gzip: bool, max_batch_bytes: usize) -> LogsIngestionConfig {
    LogsIngestionConfig {
        endpoint: endpoint.into(),
        dcr_immutable_id: "dcr-00000000000000000000000000000001".into(),
        gzip,
        max_batch_bytes,
        retry: RetryPolicy {
            max_attempts: 5,
            base_backoff_ms: 500,
            max_backoff_ms: 8_000,
            max_retry_after_secs: 60,
            jitter_ms: 250,
            timeout_secs: 10,
        },
        ..LogsIngestionConfig::default()
    }
}

async fn sink(cfg: &LogsIngestionConfig) -> (LogsIngestionSink, RecordingSleeper) {
    let sleeper = RecordingSleeper::default();
    let s = LogsIngestionSink::new(cfg, Arc::new(StaticToken::new(TOKEN)))
        .unwrap()
        .with_sleeper(Arc::new(sleeper.clone()));
    (s, sleeper)
}

fn accepted_ids(state: &ingestion_peer::Shared) -> Vec<String> {
    let st = state.lock().unwrap();
    st.accepted
        .iter()
        .map(|r| r["RecordId"].as_str().unwrap().to_owned())
        .collect()
}

fn statuses(state: &ingestion_peer::Shared) -> Vec<u16> {
    state
        .lock()
        .unwrap()
        .seen
        .iter()
        .map(|s| s.status)
        .collect()
}

#[tokio::test]
async fn every_batch_is_accepted_with_exactly_the_declared_columns() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    let recs = support::records(40, "audit");
    let (s, sleeper) = sink(&config(&url, false, 30_000)).await;
    let report = s.deliver(&recs).await;
    assert_eq!(report.delivered, support::ids(&recs));
    assert!(report.dead.is_empty() && report.pending.is_empty());
    assert_eq!(accepted_ids(&state), support::ids(&recs));
    let st = state.lock().unwrap();
    assert!(st.seen.len() > 1, "expected several batches");
    assert!(
        st.seen
            .iter()
            .all(|s| s.status == 204 && s.bytes <= 30_000 && !s.gzip)
    );
    assert!(st.seen.iter().all(|s| s.stream == "Custom-UEBA_AI_Context"));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn gzip_bodies_are_measured_compressed_and_accepted() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    let recs = support::records(60, "audit");
    let (s, _) = sink(&config(&url, true, 20_000)).await;
    let report = s.deliver(&recs).await;
    assert_eq!(report.delivered.len(), 60);
    assert_eq!(accepted_ids(&state), support::ids(&recs));
    let st = state.lock().unwrap();
    assert!(st.seen.iter().all(|s| s.gzip && s.bytes <= 20_000));
}

#[tokio::test]
async fn a_413_splits_the_batch_and_resends_the_halves() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    state.lock().unwrap().scripts.push_back(Script::Status(413));
    let recs = support::records(10, "audit");
    let (s, sleeper) = sink(&config(&url, false, 1_000_000)).await;
    let report = s.deliver(&recs).await;
    assert_eq!(report.delivered, support::ids(&recs));
    assert_eq!(statuses(&state), vec![413, 204, 204]);
    let rows: Vec<usize> = state.lock().unwrap().seen.iter().map(|s| s.rows).collect();
    assert_eq!(rows, vec![10, 5, 5]);
    assert_eq!(accepted_ids(&state), support::ids(&recs));
    assert!(sleeper.waits().is_empty(), "a split is resent at once");
}

#[tokio::test]
async fn a_body_over_one_megabyte_is_refused_by_the_peer_and_split_until_it_fits() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    let mut recs = support::records(6, "audit");
    for r in &mut recs {
        r.narrative = "n".repeat(60_000);
        r.summary = "s".repeat(60_000);
        r.baseline_comparison = "b".repeat(60_000);
    }
    // A misconfigured limit above the service's: the peer's 413 must still get everything in.
    let (s, _) = sink(&config(&url, false, 4_000_000)).await;
    let report = s.deliver(&recs).await;
    assert_eq!(report.delivered.len(), 6);
    let st = state.lock().unwrap();
    assert_eq!(st.seen[0].status, 413);
    assert!(st.seen[0].bytes > ingestion_peer::MAX_BODY);
    assert!(
        st.seen
            .iter()
            .filter(|s| s.status == 204)
            .all(|s| s.bytes <= ingestion_peer::MAX_BODY)
    );
    drop(st);
    assert_eq!(accepted_ids(&state), support::ids(&recs));
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    state
        .lock()
        .unwrap()
        .scripts
        .push_back(Script::RetryAfter(429, "7"));
    let recs = support::records(3, "audit");
    let (s, sleeper) = sink(&config(&url, false, 1_000_000)).await;
    let report = s.deliver(&recs).await;
    assert_eq!(report.delivered.len(), 3);
    assert_eq!(statuses(&state), vec![429, 204]);
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1);
    assert!(waits[0] >= Duration::from_secs(7), "{waits:?}");
    assert!(waits[0] <= Duration::from_millis(7_250), "{waits:?}");
}

#[tokio::test]
async fn server_errors_and_auth_failures_back_off_exponentially() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    {
        let mut st = state.lock().unwrap();
        st.scripts.extend([
            Script::Status(503),
            Script::Status(500),
            Script::Status(403),
        ]);
    }
    let recs = support::records(2, "audit");
    let (s, sleeper) = sink(&config(&url, false, 1_000_000)).await;
    let report = s.deliver(&recs).await;
    assert_eq!(report.delivered.len(), 2);
    assert_eq!(statuses(&state), vec![503, 500, 403, 204]);
    let ms: Vec<u128> = sleeper.waits().iter().map(Duration::as_millis).collect();
    assert_eq!(ms.len(), 3);
    for (w, base) in ms.iter().zip([500u128, 1_000, 2_000]) {
        assert!(*w >= base && *w <= base + 250, "{ms:?}");
    }
}

#[tokio::test]
async fn a_400_sends_the_batch_to_dead_letters_with_the_response() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    state
        .lock()
        .unwrap()
        .scripts
        .push_back(Script::Body(400, r#"{"error":{"code":"InvalidStream"}}"#));
    let recs = support::records(4, "audit");
    let (s, sleeper) = sink(&config(&url, false, 1_000_000)).await;
    let report = s.deliver(&recs).await;
    assert!(report.delivered.is_empty() && report.pending.is_empty());
    assert_eq!(report.dead.len(), 4);
    for d in &report.dead {
        assert_eq!(d.reason, "rejected");
        assert_eq!(d.status.as_deref(), Some("400"));
        assert!(d.detail.contains("InvalidStream"), "{}", d.detail);
    }
    assert!(sleeper.waits().is_empty(), "poison is not retried");
    assert!(state.lock().unwrap().accepted.is_empty());
}

#[tokio::test]
async fn no_record_is_lost_or_doubled_across_mixed_failures() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    {
        let mut st = state.lock().unwrap();
        st.scripts.extend([
            Script::Status(503),
            Script::Status(413),
            Script::RetryAfter(429, "1"),
            Script::Status(408),
            Script::Status(500),
        ]);
    }
    let recs = support::records(45, "audit");
    let (s, _) = sink(&config(&url, true, 15_000)).await;
    let report = s.deliver(&recs).await;
    assert_eq!(report.delivered.len(), 45);
    let got = accepted_ids(&state);
    assert_eq!(got.len(), 45, "no duplicates");
    assert_eq!(got, support::ids(&recs), "same order");
}

#[tokio::test]
async fn exhausted_retries_leave_records_pending_for_redelivery() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    state
        .lock()
        .unwrap()
        .scripts
        .extend((0..5).map(|_| Script::Status(503)));
    let recs = support::records(3, "audit");
    let (s, sleeper) = sink(&config(&url, false, 1_000_000)).await;
    let first = s.deliver(&recs).await;
    assert_eq!(first.pending, support::ids(&recs));
    assert!(first.delivered.is_empty() && first.dead.is_empty());
    assert_eq!(sleeper.waits().len(), 4);
    let second = s.deliver(&recs).await;
    assert_eq!(second.delivered, support::ids(&recs));
    assert_eq!(accepted_ids(&state), support::ids(&recs));
}

#[tokio::test]
async fn undeclared_column_is_dead_lettered_before_azure_can_drop_it() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), false).await;
    state.lock().unwrap().drop_unknown_columns = true;

    // What Azure does with an undeclared column: 204, and the column is gone.
    let body = json!([{"RecordId": "x", "Bogus": 1}]);
    let resp = reqwest::Client::new()
        .post(format!(
            "{url}/dataCollectionRules/dcr-1/streams/Custom-UEBA_AI_Context?api-version=2023-01-01"
        ))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        state.lock().unwrap().dropped_columns,
        vec!["Bogus".to_string()]
    );

    // The client refuses to send such a row at all.
    let cfg = config(&url, false, 1_000_000);
    let client = IngestionClient::new(
        &cfg,
        &cfg.stream,
        context_columns(),
        Arc::new(StaticToken::new(TOKEN)),
    )
    .unwrap();
    let mut columns = serde_json::to_value(&support::records(1, "audit")[0])
        .unwrap()
        .as_object()
        .cloned()
        .unwrap();
    columns.insert("TrimmedFields".into(), json!(["Narrative"]));
    let report = client
        .upload(vec![Row {
            id: "r1".into(),
            columns,
        }])
        .await;
    assert_eq!(report.dead.len(), 1);
    assert_eq!(report.dead[0].reason, "undeclared_columns");
    assert!(report.dead[0].detail.contains("TrimmedFields"));
    assert_eq!(
        state.lock().unwrap().seen.len(),
        1,
        "only the probe above reached the peer"
    );
}

#[tokio::test]
async fn fields_over_64_kb_arrive_trimmed_with_a_marker() {
    let (url, state) = ingestion_peer::start(&names(context_columns()), true).await;
    let mut recs = support::records(1, "audit");
    recs[0].narrative = "word ".repeat(30_000);
    let (s, _) = sink(&config(&url, true, 1_000_000)).await;
    assert_eq!(s.deliver(&recs).await.delivered.len(), 1);
    let st = state.lock().unwrap();
    let n = st.accepted[0]["Narrative"].as_str().unwrap();
    assert!(n.len() <= 64 * 1024, "{}", n.len());
    assert!(n.starts_with("word word"));
    assert!(
        n.ends_with(" bytes]") && n.contains("…[trimmed "),
        "{}",
        &n[n.len() - 40..]
    );
}

#[tokio::test]
async fn audit_entries_go_to_the_audit_stream() {
    let (url, state) = ingestion_peer::start(&names(audit_columns()), false).await;
    let cfg = config(&url, true, 1_000_000);
    let audit = AuditSink::new(&cfg, Arc::new(StaticToken::new(TOKEN))).unwrap();
    let entries = vec![
        json!({"TimeGenerated": "2025-02-03T02:00:00Z", "AuditId": "a1", "RecordId": "r1",
               "Model": "gpt-4o", "Prompt": [{"role": "user", "content": "<data>"}],
               "Response": "{}", "Outcome": "ok", "PromptTokens": 812, "LatencyMs": 950}),
        json!({"TimeGenerated": "2025-02-03T02:01:00Z", "AuditId": "a2", "Outcome": "refused"}),
        json!({"AuditId": "a3", "NotAColumn": true}),
    ];
    let report = audit.send(entries).await;
    assert_eq!(report.delivered, vec!["a1".to_string(), "a2".to_string()]);
    assert_eq!(report.dead.len(), 1);
    assert_eq!(report.dead[0].record_id, "a3");
    let st = state.lock().unwrap();
    assert_eq!(st.seen[0].stream, "Custom-UEBA_AI_Audit");
    let models: BTreeSet<&str> = st
        .accepted
        .iter()
        .filter_map(|r| r["Model"].as_str())
        .collect();
    assert_eq!(models, BTreeSet::from(["gpt-4o"]));
    assert_eq!(st.accepted[0]["Prompt"][0]["role"], Value::from("user"));
}
