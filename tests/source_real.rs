//! Replay of real Sentinel exports (portal CSV, query API response, JSON Lines) from
//! `tests/fixtures/real/`: exact row counts, parsed times, and values that survive reading.

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;
use ueba_narrator::source::{RawRecord, ReplayOptions, SourceItem, open_replay};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real")
        .join(name)
}

fn records(paths: &[PathBuf]) -> Vec<RawRecord> {
    let replay = open_replay(paths, &ReplayOptions::default()).expect("open replay");
    replay
        .map(|item| match item {
            SourceItem::Record(r) => r,
            SourceItem::Bad { origin, reason, .. } => panic!("{origin}: {reason}"),
        })
        .collect()
}

fn text<'a>(r: &'a RawRecord, column: &str) -> &'a str {
    r.fields
        .get(column)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn rfc3339(r: &RawRecord) -> String {
    r.time.expect("timed row").to_rfc3339()
}

#[test]
fn behavior_analytics_portal_csv_reads_17_timed_rows() {
    let rows = records(&[fixture("azure-sentinel/Behavior-Analytics.csv")]);
    assert_eq!(rows.len(), 17);
    assert!(rows.iter().all(|r| r.time.is_some()));
    assert_eq!(rfc3339(&rows[0]), "2023-08-11T06:30:33.274+00:00");
    assert!(rows.windows(2).all(|w| w[0].time <= w[1].time));
    let first_in_file = rows
        .iter()
        .find(|r| text(r, "SourceRecordId") == "693c9590-3811-11ee-8474-000d3a0b500f")
        .expect("first row of the file");
    assert_eq!(
        text(first_in_file, "TimeGenerated"),
        "8/11/2023, 6:36:04.536 AM"
    );
    assert_eq!(text(first_in_file, "ActivityType"), "ProcessTracking");
    assert!(text(first_in_file, "UsersInsights").starts_with("{\"AccountDisplayName\""));
    assert_eq!(text(first_in_file, "Type"), "BehaviorAnalytics");
    assert_eq!(text(first_in_file, "InvestigationPriority"), "0");
    for empty in ["SourceIPAddress", "_ResourceId"] {
        assert!(
            !first_in_file.fields.contains_key(empty),
            "empty {empty} omitted"
        );
    }
    assert!(
        first_in_file
            .origin
            .to_string()
            .ends_with("Behavior-Analytics.csv:2#0")
    );
}

#[test]
fn office_activity_csv_keeps_multiline_json_values() {
    let rows = records(&[fixture("azure-sentinel/office_activity.csv")]);
    assert_eq!(rows.len(), 4);
    assert_eq!(rfc3339(&rows[0]), "2021-04-28T14:44:22+00:00");
    assert_eq!(rfc3339(&rows[3]), "2021-04-28T15:05:26+00:00");
    let with_folders: Vec<&RawRecord> = rows
        .iter()
        .filter(|r| r.fields.contains_key("Folders"))
        .collect();
    assert_eq!(with_folders.len(), 1);
    let folders = text(with_folders[0], "Folders");
    assert_eq!(folders.len(), 755);
    assert!(folders.contains('\n'));
    let servers: Vec<&str> = rows.iter().map(|r| text(r, "OriginatingServer")).collect();
    assert_eq!(
        servers
            .iter()
            .filter(|s| **s == "MWHPR06MB3440 (15.20.4065.028)\n")
            .count(),
        2
    );
}

#[test]
fn query_api_response_reads_3_rows_without_null_cells() {
    let rows = records(&[fixture("msticpy/az_mon_raw_query.json")]);
    assert_eq!(rows.len(), 3);
    let ids: Vec<&str> = rows.iter().map(|r| text(r, "SystemAlertId")).collect();
    assert_eq!(
        ids,
        [
            "c19a6ccd-40a6-9ef9-5a8b-598bcc3c53b0",
            "4422fdcc-ed33-8b4a-fec8-1cfbf799c74b",
            "24242093-7022-7aaf-763c-4d651ffd94ff"
        ]
    );
    assert_eq!(rfc3339(&rows[0]), "2023-02-20T11:04:02.637163200+00:00");
    assert!(
        rows.iter()
            .all(|r| r.fields.len() == 33 && !r.fields.contains_key("ConfidenceScore"))
    );
    assert!(
        rows[1]
            .origin
            .to_string()
            .ends_with("az_mon_raw_query.json:1#1")
    );
}

#[test]
fn aad_logons_json_lines_read_86_rows_in_time_order() {
    let rows = records(&[fixture("msticpy/aad_logons.jsonl")]);
    assert_eq!(rows.len(), 86);
    assert_eq!(rfc3339(&rows[0]), "2020-05-20T07:06:01.735+00:00");
    assert_eq!(rfc3339(&rows[85]), "2020-05-20T19:51:40.111+00:00");
    assert!(rows.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(rows[0].fields["LocationDetails"].is_object());
}

#[test]
fn all_real_fixtures_merge_gzipped_into_one_ordered_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for name in [
        "azure-sentinel/Behavior-Analytics.csv",
        "azure-sentinel/office_activity.csv",
        "msticpy/az_mon_raw_query.json",
        "msticpy/aad_logons.jsonl",
    ] {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        let path = dir.path().join(format!("{}.gz", name.replace('/', "_")));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).expect("gzip");
        std::fs::write(&path, enc.finish().expect("gzip")).expect("write");
        paths.push(path);
    }
    let replay = open_replay(&[dir.path().to_path_buf()], &ReplayOptions::default()).expect("open");
    let total = replay.total_bytes();
    let counter = replay.bytes_counter();
    assert_eq!(replay.files(), 4);
    let rows: Vec<SourceItem> = replay.collect();
    assert_eq!(rows.len(), 17 + 4 + 3 + 86);
    assert!(rows.iter().all(|r| matches!(r, SourceItem::Record(_))));
    assert!(rows.windows(2).all(|w| w[0].time() <= w[1].time()));
    assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), total);
}
