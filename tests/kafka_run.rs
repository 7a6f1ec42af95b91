//! `run` against a real local broker (`UEBA_KAFKA_BOOTSTRAP`; skipped with a message when unset).
//! Each test creates its own 3-partition topics and uses its own consumer group.
//!
//! Covered: several tables on one topic routed by `Type`, a poison message dead-lettered while
//! its partition moves on, restart from committed offsets, and two instances sharing a group
//! through a rebalance without losing a trigger.

mod kafka_common;

use std::time::Duration;

use kafka_common::*;
use serde_json::Value;
use ueba_narrator::pipeline::run::{self, RunReport};

/// Run the pipeline until `done` says so (checked every 300 ms) or the limit passes.
async fn run_until(
    cfg_text: String,
    limit: Duration,
    done: impl Fn() -> bool + Send + 'static,
) -> RunReport {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = tokio::spawn(async move {
        let until = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < until && !done() {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let _ = tx.send(());
    });
    let running = run::run(config(&cfg_text), async {
        let _ = rx.await;
    });
    // The drain deadline is seconds; a run that outlives the signal by a minute is stuck.
    let report = tokio::time::timeout(limit + Duration::from_secs(60), running)
        .await
        .expect("run stops within a minute of the shutdown signal")
        .expect("run ends cleanly");
    watcher.await.expect("watcher");
    report
}

fn topics(name: &str) -> (String, String, String, String) {
    (
        unique(&format!("{name}-in")),
        unique(&format!("{name}-out")),
        unique(&format!("{name}-dlq")),
        unique(&format!("{name}-group")),
    )
}

/// Whether the group has committed past `n` messages in total on `topic`.
fn committed_all(b: &str, group: &str, topic: &str, n: i64) -> bool {
    committed(b, group, topic)
        .iter()
        .map(|c| (*c).max(0))
        .sum::<i64>()
        >= n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_types_on_one_topic_and_poison_message_moves_on() {
    let Some(b) = bootstrap() else { return };
    let (input, out, dlq, group) = topics("mixed");
    create_topics(&b, &[&input, &out, &dlq]).await;
    let fc11 = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/field/FC-11-mixed-types-one-hub.json"
    ))
    .expect("FC-11 fixture");
    let triggers: Vec<Value> = (0..5).map(trigger_row).collect();
    let bodies = vec![fc11, b"not json {".to_vec(), body(&triggers)];
    produce(&b, &input, Some(0), &bodies);

    let text = config_text(&b, &input, &out, &dlq, &group);
    let (b2, g2, i2) = (b.clone(), group.clone(), input.clone());
    let report = run_until(text, Duration::from_secs(60), move || {
        committed_all(&b2, &g2, &i2, 3)
    })
    .await;

    assert_eq!(
        committed(&b, &group, &input)[0],
        3,
        "partition 0 moved past the poison"
    );
    let s = &report.stats;
    assert_eq!(s.records_read.get("BehaviorAnalytics"), Some(&6));
    assert_eq!(s.records_read.get("SigninLogs"), Some(&1));
    assert_eq!(s.records_read.get("IdentityInfo"), Some(&1));
    assert_eq!(s.ignored_types.get("Heartbeat"), Some(&1));
    let dead = read_all(&b, &dlq);
    let poison: Vec<&Read> = dead
        .iter()
        .filter(|d| d.value["reason"] == "invalid_json")
        .collect();
    assert_eq!(poison.len(), 1, "{dead:?}");
    assert_eq!(poison[0].value["origin"]["offset"], 1);
    assert_eq!(poison[0].value["origin"]["partition"], 0);
    assert_eq!(poison[0].value["origin"]["topic"], input.as_str());
    assert_eq!(poison[0].value["raw"], "not json {");
    let records = read_all(&b, &out);
    let evidence = trigger_evidence(&records);
    for i in 0..5 {
        assert!(
            evidence.contains(&format!("BehaviorAnalytics:trig-{i}")),
            "{evidence:?} {records:?} {report:?}"
        );
    }
    for r in &records {
        assert_eq!(
            r.headers.get("RecordId").map(String::as_str),
            r.value["RecordId"].as_str()
        );
        assert_eq!(
            r.headers.get("SchemaVersion").map(String::as_str),
            Some("1.0")
        );
        assert_eq!(Some(r.key.as_str()), r.value["EntityKey"].as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_from_committed_offsets() {
    let Some(b) = bootstrap() else { return };
    let (input, out, dlq, group) = topics("restart");
    create_topics(&b, &[&input, &out, &dlq]).await;
    let first: Vec<Vec<u8>> = (0..6).map(|i| body(&[trigger_row(i)])).collect();
    produce(&b, &input, None, &first);
    let text = config_text(&b, &input, &out, &dlq, &group);
    let (b2, g2, i2) = (b.clone(), group.clone(), input.clone());
    let one = run_until(text.clone(), Duration::from_secs(60), move || {
        committed_all(&b2, &g2, &i2, 6)
    })
    .await;
    assert_eq!(one.messages, 6);
    assert!(committed_all(&b, &group, &input, 6));

    let second: Vec<Vec<u8>> = (6..10).map(|i| body(&[trigger_row(i)])).collect();
    produce(&b, &input, None, &second);
    let (b2, g2, i2) = (b.clone(), group.clone(), input.clone());
    let two = run_until(text, Duration::from_secs(60), move || {
        committed_all(&b2, &g2, &i2, 10)
    })
    .await;
    assert_eq!(two.messages, 4, "only the new messages are read again");
    let records = read_all(&b, &out);
    let evidence = trigger_evidence(&records);
    let want: Vec<String> = (0..10)
        .map(|i| format!("BehaviorAnalytics:trig-{i}"))
        .collect();
    for w in &want {
        assert!(evidence.contains(w), "missing {w}: {evidence:?}");
    }
    assert_eq!(records.len(), 10, "one record per trigger, none twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_partitions_through_a_rebalance() {
    let Some(b) = bootstrap() else { return };
    let (input, out, dlq, group) = topics("pair");
    create_topics(&b, &[&input, &out, &dlq]).await;
    let n = 120;
    // Produce while the instances run, so the second one joins mid-stream.
    let (pb, pt) = (b.clone(), input.clone());
    let producer = std::thread::spawn(move || {
        for chunk in (0..n).collect::<Vec<_>>().chunks(6) {
            let bodies: Vec<Vec<u8>> = chunk.iter().map(|i| body(&[trigger_row(*i)])).collect();
            produce(&pb, &pt, None, &bodies);
            std::thread::sleep(Duration::from_millis(600));
        }
    });
    let text = config_text(&b, &input, &out, &dlq, &group);

    let (b1, g1, i1) = (b.clone(), group.clone(), input.clone());
    let first = tokio::spawn(run_until(
        text.clone(),
        Duration::from_secs(90),
        move || committed_all(&b1, &g1, &i1, n as i64),
    ));
    // Join while the first instance is consuming: the group rebalances.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (b2, g2, i2) = (b.clone(), group.clone(), input.clone());
    let second = run_until(text, Duration::from_secs(90), move || {
        committed_all(&b2, &g2, &i2, n as i64)
    })
    .await;
    let first = first.await.expect("first instance");
    producer.join().expect("producer thread");
    assert!(
        first.messages > 0 && second.messages > 0,
        "both instances consumed"
    );
    assert!(committed_all(&b, &group, &input, n as i64));
    assert!(first.messages + second.messages >= n as u64);
    let evidence = trigger_evidence(&read_all(&b, &out));
    let missing: Vec<usize> = (0..n)
        .filter(|i| !evidence.contains(&format!("BehaviorAnalytics:trig-{i}")))
        .collect();
    assert!(missing.is_empty(), "triggers without output: {missing:?}");
}

/// FC-02 input side: one export body of exactly 1,000,000 bytes with 400 SigninLogs records.
fn million_byte_body() -> Vec<u8> {
    let fc03 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/field/FC-03-duplicate-delivery.jsonl"
    ))
    .expect("FC-03 fixture");
    let first: Value = serde_json::from_str(fc03.lines().next().expect("a line")).expect("JSON");
    let rec = first["records"][0].clone();
    let build = |k: usize, extra: usize| {
        let rows: Vec<Value> = (0..400)
            .map(|i| {
                let mut r = rec.clone();
                r["Id"] = Value::from(format!("fc02-{i:04}"));
                let pad = k + if i == 399 { extra } else { 0 };
                r["UserAgent"] = Value::from("x".repeat(pad));
                r
            })
            .collect();
        body(&rows)
    };
    let (mut lo, mut hi) = (0usize, 5_000usize);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if build(mid, 0).len() <= 1_000_000 {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let short = 1_000_000 - build(lo, 0).len();
    let out = build(lo, short);
    assert_eq!(out.len(), 1_000_000);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fc02_one_megabyte_export_body_is_consumed_and_committed() {
    let Some(b) = bootstrap() else { return };
    let (input, out, dlq, group) = topics("fc02");
    create_topics(&b, &[&input, &out, &dlq]).await;
    produce(&b, &input, Some(1), &[million_byte_body()]);
    let text = config_text(&b, &input, &out, &dlq, &group);
    let (b2, g2, i2) = (b.clone(), group.clone(), input.clone());
    let report = run_until(text, Duration::from_secs(60), move || {
        committed_all(&b2, &g2, &i2, 1)
    })
    .await;
    assert_eq!(report.messages, 1);
    assert_eq!(report.stats.records_read.get("SigninLogs"), Some(&400));
    assert_eq!(report.stats.decoded, 400);
    assert_eq!(committed(&b, &group, &input)[1], 1);
}
