//! `replay --sink logs-ingestion`: a replay of the fixture exports sends every record it writes to
//! JSON Lines to the Logs Ingestion peer as well, and the summary counts them.

mod support;

use std::collections::BTreeSet;

use support::ingestion_peer::{self, Script, TOKEN};
use ueba_narrator::config::Config;
use ueba_narrator::pipeline::replay::{self, ReplayJob};
use ueba_narrator::sink::columns::context_columns;
use ueba_narrator::source::ReplayOptions;

#[test]
fn replay_delivers_every_record_to_logs_ingestion() {
    // The peer runs on its own runtime; replay drives the sinks from synchronous code.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cols: Vec<String> = context_columns().iter().map(|c| c.name.clone()).collect();
    let (url, state) = rt.block_on(ingestion_peer::start(&cols, true));
    state.lock().unwrap().scripts.push_back(Script::Status(413));

    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let out = dir.path().join("records.jsonl");

    let mut config = Config::default();
    config.delivery.sinks = vec!["logs-ingestion".into()];
    config.delivery.batch_records = 2;
    config.auth.static_token = Some(TOKEN.into());
    config.logs_ingestion.endpoint = url;
    config.logs_ingestion.dcr_immutable_id = "dcr-replay".into();
    let job = ReplayJob {
        inputs: vec![root.join("field"), root.join("real")],
        out: Some(out.clone()),
        dead_letters: dir.path().join("dead.jsonl"),
        config,
        source: ReplayOptions::default(),
        progress: false,
    };
    let report = replay::run(&job).unwrap();

    let written: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["RecordId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(written.len(), 5, "the fixtures produce five narratives");
    let st = state.lock().unwrap();
    let sent: Vec<String> = st
        .accepted
        .iter()
        .map(|r| r["RecordId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, written, "same records, same order, no duplicates");
    assert_eq!(st.seen[0].status, 413, "the scripted split happened");
    let d = report.delivery.expect("delivery stats");
    assert_eq!(d.sinks, vec!["logs_ingestion".to_string()]);
    assert_eq!(d.acked as usize, written.len());
    assert_eq!((d.dead, d.undelivered), (0, 0));
    let unique: BTreeSet<&String> = sent.iter().collect();
    assert_eq!(unique.len(), sent.len());
    drop(st);
    rt.shutdown_background();
}
