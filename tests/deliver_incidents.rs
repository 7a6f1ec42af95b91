//! Incident comments, incidents and watchlist items against a local Sentinel REST peer:
//! idempotent ids, 429 honoured, audit mode writes nothing, refusals go to dead letters, and the
//! fan-out acknowledges a record only once every sink has dealt with it.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::ingestion_peer;
use support::sentinel_peer::{self, PREFIX, TOKEN};
use ueba_narrator::auth::StaticToken;
use ueba_narrator::narrate::schema::WatchlistProposal;
use ueba_narrator::sink::columns::context_columns;
use ueba_narrator::sink::fanout::{FanOut, Sink};
use ueba_narrator::sink::http::{RecordingSleeper, RetryPolicy};
use ueba_narrator::sink::incidents::{
    IncidentSink, SentinelConfig, comment_id, incident_id, watchlist_item_id,
};
use ueba_narrator::sink::logs_ingestion::{LogsIngestionConfig, LogsIngestionSink};
use ueba_narrator::sink::record::OutputRecord;

const ALERT: &str = "4a1e7a3c-0b7e-4c51-9f3e-6a2b1c0d9e8f";

fn config(base: &str, create: bool) -> SentinelConfig {
    let mut c = SentinelConfig {
        base_url: base.into(),
        subscription_id: "sub-1".into(),
        resource_group: "rg-1".into(),
        workspace_name: "ws-1".into(),
        create_incidents: create,
        retry: RetryPolicy {
            max_attempts: 4,
            jitter_ms: 100,
            ..RetryPolicy::default()
        },
        ..SentinelConfig::default()
    };
    c.alert_incidents.insert(ALERT.into(), "inc-77".into());
    c
}

fn sink(cfg: &SentinelConfig) -> (IncidentSink, RecordingSleeper) {
    let sleeper = RecordingSleeper::default();
    let s = IncidentSink::new(cfg, Arc::new(StaticToken::new(TOKEN)))
        .unwrap()
        .with_sleeper(Arc::new(sleeper.clone()));
    (s, sleeper)
}

/// An active-mode record whose SecurityAlert trigger cites the mapped alert.
fn alert_record(i: usize) -> OutputRecord {
    let mut r = support::records(i + 1, "active").remove(i);
    r.triggers[0].kind = "security_alert".into();
    r.triggers[0].evidence_ids = vec![format!("SecurityAlert:{ALERT}")];
    r.watchlist_proposal = None;
    r
}

#[tokio::test]
async fn comment_lands_on_the_mapped_incident_and_retries_update_the_same_comment() {
    let (base, state) = sentinel_peer::start().await;
    let (s, _) = sink(&config(&base, false));
    let rec = alert_record(0);
    let first = s.deliver(std::slice::from_ref(&rec)).await;
    let again = s.deliver(std::slice::from_ref(&rec)).await;
    assert_eq!(first.delivered, vec![rec.record_id.clone()]);
    assert_eq!(again.delivered, vec![rec.record_id.clone()]);
    let st = state.lock().unwrap();
    let key = format!("incidents/inc-77/comments/{}", comment_id(&rec.record_id));
    assert_eq!(st.objects.len(), 1, "{:?}", st.objects.keys());
    let msg = st.objects[&key]["properties"]["message"].as_str().unwrap();
    assert!(msg.contains(&rec.summary));
    assert!(msg.contains(&format!("RecordId == \"{}\"", rec.record_id)));
    assert_eq!(st.requests.len(), 2);
    assert!(
        st.requests
            .iter()
            .all(|(p, c)| p == &format!("{PREFIX}{key}") && *c == 200)
    );
}

#[tokio::test]
async fn a_429_from_arm_is_honoured_then_the_comment_is_written() {
    let (base, state) = sentinel_peer::start().await;
    state.lock().unwrap().scripts.push_back((429, Some("12")));
    let (s, sleeper) = sink(&config(&base, false));
    let rec = alert_record(0);
    let report = s.deliver(std::slice::from_ref(&rec)).await;
    assert_eq!(report.delivered.len(), 1);
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1);
    assert!(waits[0] >= Duration::from_secs(12) && waits[0] <= Duration::from_millis(12_100));
    let codes: Vec<u16> = state.lock().unwrap().requests.iter().map(|r| r.1).collect();
    assert_eq!(codes, vec![429, 200]);
}

#[tokio::test]
async fn unmapped_case_opens_a_low_incident_and_proposes_a_watchlist_item() {
    let (base, state) = sentinel_peer::start().await;
    let (s, _) = sink(&config(&base, true));
    let mut rec = support::records(1, "active").remove(0);
    rec.watchlist_proposal = Some(WatchlistProposal {
        watchlist: "HighRiskUsers".into(),
        item_key: rec.entity.clone(),
        reason: "new country with sensitive access".into(),
    });
    let report = s.deliver(std::slice::from_ref(&rec)).await;
    assert_eq!(report.delivered.len(), 1, "{report:?}");
    let st = state.lock().unwrap();
    let inc = incident_id(&rec.record_id);
    let incident = &st.objects[&format!("incidents/{inc}")]["properties"];
    assert_eq!(incident["severity"], "Low");
    assert_eq!(incident["status"], "New");
    assert!(st.objects.contains_key(&format!(
        "incidents/{inc}/comments/{}",
        comment_id(&rec.record_id)
    )));
    let item = watchlist_item_id(&rec.record_id, &rec.entity);
    let kv = &st.objects[&format!("watchlists/HighRiskUsers/watchlistItems/{item}")]["properties"]
        ["itemsKeyValue"];
    assert_eq!(kv["ItemKey"], rec.entity.as_str());
    assert_eq!(kv["RecordId"], rec.record_id.as_str());
}

#[tokio::test]
async fn audit_mode_records_make_no_calls() {
    let (base, state) = sentinel_peer::start().await;
    let (s, _) = sink(&config(&base, true));
    let mut rec = alert_record(0);
    rec.mode = "audit".into();
    let report = s.deliver(std::slice::from_ref(&rec)).await;
    assert_eq!(report.delivered.len(), 1);
    assert!(state.lock().unwrap().requests.is_empty());
}

#[tokio::test]
async fn a_refused_comment_goes_to_dead_letters() {
    let (base, state) = sentinel_peer::start().await;
    state.lock().unwrap().scripts.push_back((404, None));
    let (s, sleeper) = sink(&config(&base, false));
    let rec = alert_record(0);
    let report = s.deliver(std::slice::from_ref(&rec)).await;
    assert!(report.delivered.is_empty());
    assert_eq!(report.dead.len(), 1);
    assert_eq!(report.dead[0].status.as_deref(), Some("404"));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn fanout_acks_only_what_every_sink_delivered() {
    let (sent_base, sent_state) = sentinel_peer::start().await;
    let cols: Vec<String> = context_columns().iter().map(|c| c.name.clone()).collect();
    let (ing_base, ing_state) = ingestion_peer::start(&cols, true).await;
    // Sentinel throttles past the retry budget for the second record only.
    let recs = vec![alert_record(0), alert_record(1)];
    {
        let mut st = sent_state.lock().unwrap();
        st.scripts.push_back((200, None));
        st.scripts.extend((0..4).map(|_| (503, None)));
    }
    let ingest_cfg = LogsIngestionConfig {
        endpoint: ing_base,
        dcr_immutable_id: "dcr-1".into(),
        ..LogsIngestionConfig::default()
    };
    let ingest = LogsIngestionSink::new(
        &ingest_cfg,
        Arc::new(StaticToken::new(ingestion_peer::TOKEN)),
    )
    .unwrap();
    let (incidents, _) = sink(&config(&sent_base, false));
    let fan = FanOut::new(vec![Box::new(ingest), Box::new(incidents)]);
    let report = fan.deliver(&recs).await;
    assert_eq!(report.acked, vec![recs[0].record_id.clone()]);
    assert_eq!(report.pending, vec![recs[1].record_id.clone()]);
    assert_eq!(report.delivered["logs_ingestion"], 2);
    assert_eq!(report.delivered["incidents"], 1);
    assert_eq!(ing_state.lock().unwrap().accepted.len(), 2);
}
