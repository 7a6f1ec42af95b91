//! Crash safety against a real local broker (`UEBA_KAFKA_BOOTSTRAP`; skipped when unset): the
//! built binary is killed with SIGKILL mid-stream, restarted with warm-up, then stopped with
//! SIGTERM. Every trigger in the input must have an output, duplicates must carry the same
//! RecordId, and the graceful stop must exit 0.

mod kafka_common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kafka_common::*;

const TRIGGERS: usize = 300;

fn spawn(config: &std::path::Path, summary: &std::path::Path, log: &std::path::Path) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_ueba-narrator"))
        .args(["--log-level", "info", "run", "--config"])
        .arg(config)
        .arg("--summary-json")
        .arg(summary)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn ueba-narrator run")
}

async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_mid_stream_then_restart_every_trigger_has_output() {
    let Some(b) = bootstrap() else { return };
    let (input, out, dlq, group) = (
        unique("crash-in"),
        unique("crash-out"),
        unique("crash-dlq"),
        unique("crash-group"),
    );
    create_topics(&b, &[&input, &out, &dlq]).await;
    let bodies: Vec<Vec<u8>> = (0..TRIGGERS).map(|i| body(&[trigger_row(i)])).collect();
    produce(&b, &input, None, &bodies);

    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("run.toml");
    let text = config_text(&b, &input, &out, &dlq, &group)
        .replace("[ops]", "warmup_messages = 100000\n[ops]");
    std::fs::write(&cfg, text).expect("config");
    let (s1, s2) = (dir.path().join("s1.json"), dir.path().join("s2.json"));
    let (l1, l2) = (dir.path().join("1.log"), dir.path().join("2.log"));

    // First run: kill -9 once some outputs exist.
    let mut first = spawn(&cfg, &s1, &l1);
    let started = wait_for(Duration::from_secs(60), || {
        high_watermarks(&b, &out).iter().sum::<i64>() >= 20
    })
    .await;
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let log1 = std::fs::read_to_string(&l1).unwrap_or_default();
    assert!(started, "no output before the kill; log:\n{log1}");
    assert!(!s1.exists(), "a killed run writes no summary");
    let committed_at_kill: i64 = committed(&b, &group, &input)
        .iter()
        .map(|c| (*c).max(0))
        .sum();

    // Second run: resumes, then stops gracefully on SIGTERM.
    let second = spawn(&cfg, &s2, &l2);
    let all = wait_for(Duration::from_secs(90), || {
        committed(&b, &group, &input)
            .iter()
            .map(|c| (*c).max(0))
            .sum::<i64>()
            >= TRIGGERS as i64
    })
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let mut second = second;
    let exited = wait_for(Duration::from_secs(60), || {
        matches!(second.try_wait(), Ok(Some(_)))
    })
    .await;
    if !exited {
        let _ = second.kill();
    }
    let status = second.wait().expect("second run reaped");
    let log2 = std::fs::read_to_string(&l2).unwrap_or_default();
    assert!(exited, "no exit within 60 s of SIGTERM; log:\n{log2}");
    assert!(all, "not everything committed; log:\n{log2}");
    assert_eq!(status.code(), Some(0), "graceful exit; log:\n{log2}");
    assert!(log2.contains("librdkafka"), "version logged at startup");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&s2).expect("summary")).expect("JSON");
    if committed_at_kill > 0 {
        assert!(summary["suppressed"].as_u64() > Some(0), "{summary}");
    }

    let records = read_all(&b, &out);
    let evidence = trigger_evidence(&records);
    let missing: Vec<usize> = (0..TRIGGERS)
        .filter(|i| !evidence.contains(&format!("BehaviorAnalytics:trig-{i}")))
        .collect();
    assert!(missing.is_empty(), "triggers without output: {missing:?}");
    // Redelivered cases carry the same RecordId.
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &records {
        let key = format!("{}#{}", r.value["WindowId"], r.value["Version"]);
        let id = r.value["RecordId"].as_str().unwrap_or_default().to_owned();
        ids.entry(key).or_default().insert(id);
    }
    let unstable: Vec<_> = ids.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(unstable.is_empty(), "{unstable:?}");
}
