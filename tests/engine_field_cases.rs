//! Field cases that concern entities, duplicates and event-time ordering, driven through the
//! engine and the offline narrator the way `replay` and `run` drive them: one export message
//! at a time, in arrival order.

use serde_json::{Map, Value, json};
use ueba_narrator::config::Config;
use ueba_narrator::context::types::EntityKind;
use ueba_narrator::decode::envelope::split_body;
use ueba_narrator::decode::event::Origin;
use ueba_narrator::entity::keys::EntityKey;
use ueba_narrator::pipeline::engine::{Emitted, Engine};
use ueba_narrator::pipeline::narration::Narration;
use ueba_narrator::pipeline::settings;
use ueba_narrator::sink::record::OutputRecord;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/field/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Export messages of a fixture: one per line for `.jsonl`, the whole file otherwise.
fn messages(name: &str) -> Vec<Vec<Map<String, Value>>> {
    let text = fixture(name);
    let bodies: Vec<String> = if name.ends_with(".jsonl") {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        vec![text]
    };
    bodies
        .iter()
        .map(|b| {
            split_body(b.as_bytes())
                .expect("body")
                .into_iter()
                .map(|r| r.expect("row"))
                .collect()
        })
        .collect()
}

struct Run {
    engine: Engine,
    records: Vec<OutputRecord>,
    dead: Vec<String>,
}

fn run(cfg: &Config, msgs: &[Vec<Map<String, Value>>]) -> Run {
    let mut engine = Engine::new(settings(cfg));
    let mut narration = Narration::from_config(cfg).expect("narrator");
    let mut out = Vec::new();
    for (offset, rows) in msgs.iter().enumerate() {
        engine.set_tag(offset as u64);
        for (index, row) in rows.iter().enumerate() {
            let origin = Origin::Kafka {
                topic: "am-mixed".into(),
                partition: 0,
                offset: offset as i64,
                index: index as u32,
            };
            engine.ingest(row, origin, &mut out);
        }
    }
    engine.finish(&mut out);
    let mut records = Vec::new();
    let mut dead = Vec::new();
    let mut stats = engine.stats().clone();
    for item in out {
        match item {
            Emitted::Case { ctx, .. } => records.push(narration.narrate(&ctx, "audit", &mut stats)),
            Emitted::Dead(d) => dead.push(d.reason),
        }
    }
    Run {
        engine,
        records,
        dead,
    }
}

fn user(upn: &str) -> EntityKey {
    EntityKey {
        kind: EntityKind::User,
        id: upn.into(),
    }
}

/// A UEBA row with a high priority for `upn`, so the case around it is narrated.
fn ueba_row(upn: &str, time: &str, id: &str, priority: u8) -> Map<String, Value> {
    let v = json!({
        "Type": "BehaviorAnalytics", "TenantId": "a0a0a0a0-1111-4222-8333-444455556666",
        "TimeGenerated": time, "SourceRecordId": id, "UserPrincipalName": upn,
        "ActionType": "Sign-in", "InvestigationPriority": priority,
        "ActivityInsights": {"FirstTimeUserConnectedFromCountry": "True"}
    });
    v.as_object().expect("object").clone()
}

#[test]
fn fc03_duplicate_delivery_keeps_five_distinct_records() {
    let mut msgs = messages("FC-03-duplicate-delivery.jsonl");
    msgs[0].push(ueba_row(
        "alex.wilber@contoso.com",
        "2025-03-04T09:05:00.0000000Z",
        "ba-fc03",
        8,
    ));
    let r = run(&Config::default(), &msgs);
    let s = r.engine.stats();
    assert_eq!(s.duplicates_dropped, 3);

    let events = r.engine.entity_events(&user("alex.wilber@contoso.com"));
    let sign_ins: Vec<_> = events
        .iter()
        .filter(|e| e.evidence_id.starts_with("SigninLogs:"))
        .collect();
    let ids: Vec<&str> = sign_ins
        .iter()
        .map(|e| &e.evidence_id["SigninLogs:".len()..])
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    for suffix in ["a", "b", "c", "d", "f"] {
        assert!(
            ids.iter()
                .any(|id| id.ends_with(&format!("00000000000{suffix}"))),
            "{suffix}"
        );
    }
    let failed = sign_ins
        .iter()
        .filter(|e| {
            matches!(
                e.outcome,
                ueba_narrator::decode::event::Outcome::Failure { .. }
            )
        })
        .count();
    assert_eq!(failed, 3);
    assert_eq!(sign_ins.len() - failed, 2);
    // One narrative for the window: repeats neither re-trigger nor add a call.
    assert_eq!(r.records.len(), 1);
}

#[test]
fn fc03_reconsuming_from_offset_zero_gives_the_same_ids() {
    let mut msgs = messages("FC-03-duplicate-delivery.jsonl");
    msgs[0].push(ueba_row(
        "alex.wilber@contoso.com",
        "2025-03-04T09:05:00.0000000Z",
        "ba-fc03",
        8,
    ));
    let first = run(&Config::default(), &msgs);
    let again = run(&Config::default(), &msgs);
    assert_eq!(first.records.len(), 1);
    assert_eq!(first.records[0].window_id, again.records[0].window_id);
    assert_eq!(first.records[0].record_id, again.records[0].record_id);
    assert_eq!(
        serde_json::to_string(&first.records).expect("json"),
        serde_json::to_string(&again.records).expect("json")
    );
}

#[test]
fn fc11_mixed_types_route_ignore_and_dead_letter() {
    let r = run(
        &Config::default(),
        &messages("FC-11-mixed-types-one-hub.json"),
    );
    let s = r.engine.stats();
    assert_eq!(s.decoded, 3);
    assert_eq!(s.ignored_types.get("Heartbeat"), Some(&1));
    assert_eq!(s.dead_letters.get("missing_type"), Some(&1));
    assert_eq!(r.dead, vec!["missing_type".to_string()]);
    assert_eq!(s.records_read.values().sum::<u64>(), 5);
}

#[test]
fn fc14_upn_spellings_share_one_window_and_empty_ids_are_unattributed() {
    let mut msgs = messages("FC-14-upn-variants.json");
    msgs[0].push(ueba_row(
        "zoe.angstrom@contoso.com",
        "2025-03-04T09:27:00.0000000Z",
        "ba-zoe",
        9,
    ));
    let r = run(&Config::default(), &msgs);
    let alex = r.engine.entity_events(&user("alex.wilber@contoso.com"));
    let ids: Vec<&str> = alex.iter().map(|e| e.evidence_id.as_str()).collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert_eq!(r.engine.stats().unattributed, 1);
    assert!(
        r.engine
            .entity_events(&user("oid:11111111-aaaa-4bbb-8ccc-000000000001"))
            .is_empty()
    );
    let zoe = r
        .records
        .iter()
        .find(|rec| rec.entity_key == "zoe.angstrom@contoso.com")
        .expect("zoe narrated");
    let line = serde_json::to_string(zoe).expect("json");
    assert!(
        line.contains("Zoë Ångström"),
        "display name must survive byte for byte"
    );
    assert!(!line.contains("\\u00eb"), "no escaped form");
}

#[test]
fn fc14_identityinfo_spelling_is_shown() {
    let mut msgs = messages("FC-14-upn-variants.json");
    msgs[0].push(ueba_row(
        "ALEX.WILBER@CONTOSO.COM",
        "2025-03-04T09:28:00.0000000Z",
        "ba-alex",
        9,
    ));
    let r = run(&Config::default(), &msgs);
    let rec = r
        .records
        .iter()
        .find(|rec| rec.entity_key == "alex.wilber@contoso.com")
        .expect("alex");
    assert_eq!(rec.entity, "Alex.Wilber@Contoso.com");
    assert!(
        rec.summary.contains("Alex.Wilber@Contoso.com"),
        "{}",
        rec.summary
    );
}

#[test]
fn fc15_newest_identity_snapshot_wins_in_any_arrival_order() {
    let msgs = messages("FC-15-identityinfo-snapshots.jsonl");
    let mut engine = Engine::new(settings(&Config::default()));
    let mut out = Vec::new();
    for (i, rows) in msgs.iter().enumerate() {
        for row in rows {
            let origin = Origin::File {
                path: "fc15".into(),
                line: i as u64 + 1,
                index: 0,
            };
            engine.ingest(row, origin, &mut out);
        }
        let id = engine
            .directory()
            .identity_for_key("alex.wilber@contoso.com")
            .expect("held");
        assert_eq!(
            id.department.as_deref(),
            Some("Finance"),
            "after message {i}"
        );
        assert_eq!(
            id.job_title.as_deref(),
            Some("Senior Analyst"),
            "after message {i}"
        );
        assert_eq!(engine.directory().identities(), 1);
    }
    engine.finish(&mut out);
    assert!(
        out.is_empty(),
        "identity refreshes never trigger narratives"
    );
}

fn fc19_config() -> Config {
    let mut cfg = Config::default();
    cfg.window.window_secs = 15 * 60;
    cfg.window.debounce_secs = 60;
    cfg.window.max_wait_secs = 15 * 60;
    cfg.window.allowed_lateness_secs = 60 * 60;
    cfg.window.context_lookback_secs = 0;
    cfg.triggers.ueba_priority_min = 3;
    cfg
}

#[test]
fn fc19_late_out_of_order_and_future_records() {
    let r = run(&fc19_config(), &messages("FC-19-late-out-of-order.jsonl"));
    let s = r.engine.stats();
    assert_eq!(s.late_records, 1);
    assert_eq!(s.clock_skew, 1);
    assert_eq!(r.dead.iter().filter(|d| *d == "late_record").count(), 1);

    let by_start = |start: &str| -> Vec<&OutputRecord> {
        r.records
            .iter()
            .filter(|rec| rec.window_start.starts_with(start))
            .collect()
    };
    let first = by_start("2025-03-04T09:00");
    assert_eq!(first.len(), 2, "first emission and one revision");
    assert_eq!(first[0].version, 1);
    assert_eq!(first[1].version, 2);
    assert_eq!(first[0].window_id, first[1].window_id);
    assert_eq!(
        first[1].evidence_ids,
        vec![
            "BehaviorAnalytics:r1",
            "BehaviorAnalytics:r2",
            "BehaviorAnalytics:r4"
        ]
    );

    let second = by_start("2025-03-04T09:15");
    assert_eq!(second.len(), 1);
    assert_eq!(
        second[0].evidence_ids,
        vec!["BehaviorAnalytics:r3", "BehaviorAnalytics:r7"]
    );
    // The skewed row never flushed a window early: nothing was emitted for 03-06 before the end.
    assert!(
        r.records
            .iter()
            .all(|rec| !rec.evidence_ids.iter().any(|id| id.ends_with(":r5")))
    );
}
