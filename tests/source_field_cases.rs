//! Field cases that reach the replay source: Event Hubs bodies saved one per line or
//! pretty-printed, mixed tables in one body, odd timestamps, late and out-of-order rows.

use std::path::PathBuf;

use ueba_narrator::decode::event::Origin;
use ueba_narrator::source::{RawRecord, ReplayOptions, SourceItem, open_replay};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/source")
        .join(name)
}

fn records(name: &str, reorder_window: usize) -> Vec<RawRecord> {
    let opts = ReplayOptions {
        reorder_window,
        ..ReplayOptions::default()
    };
    open_replay(&[fixture(name)], &opts)
        .expect("open replay")
        .map(|item| match item {
            SourceItem::Record(r) => r,
            SourceItem::Bad { origin, reason, .. } => panic!("{origin}: {reason}"),
        })
        .collect()
}

fn column(rows: &[RawRecord], name: &str) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r.fields
                .get(name)
                .and_then(|v| v.as_str())
                .unwrap_or("-")
                .to_owned()
        })
        .collect()
}

#[test]
fn fc19_late_out_of_order_bodies_one_per_line() {
    // Window 0 keeps arrival order, so downstream sees the lateness as exported.
    let arrival = records("FC-19-late-out-of-order.jsonl", 0);
    assert_eq!(
        column(&arrival, "SourceRecordId"),
        ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]
    );
    let Origin::File { line, index, .. } = &arrival[3].origin else {
        panic!("file origin");
    };
    assert_eq!((*line, *index), (4, 0));
    // A window of 2 fixes what it can: r5 passes r3 and r4 but not r1 and r2, which left
    // before it was read; r6 (two days ahead) is held to the end.
    let windowed = records("FC-19-late-out-of-order.jsonl", 2);
    assert_eq!(
        column(&windowed, "SourceRecordId"),
        ["r1", "r2", "r5", "r4", "r3", "r7", "r6"]
    );
    // The default window sorts the whole file.
    let sorted = records("FC-19-late-out-of-order.jsonl", 4096);
    assert_eq!(
        column(&sorted, "SourceRecordId"),
        ["r5", "r1", "r2", "r4", "r3", "r7", "r6"]
    );
}

#[test]
fn fc11_mixed_types_one_hub_body_yields_every_record() {
    let rows = records("FC-11-mixed-types-one-hub.json", 4096);
    // Routing by Type is decode's job; the source yields all five rows, time-ordered.
    assert_eq!(
        column(&rows, "Type"),
        [
            "IdentityInfo",
            "BehaviorAnalytics",
            "SigninLogs",
            "Heartbeat",
            "-"
        ]
    );
    assert!(rows.iter().all(|r| r.time.is_some()));
    assert!(
        rows[0]
            .origin
            .to_string()
            .ends_with("FC-11-mixed-types-one-hub.json:1#2")
    );
}

#[test]
fn fc13_timestamps_with_odd_widths_and_null_time() {
    let rows = records("FC-13-timestamps-and-numbers.json", 4096);
    assert_eq!(rows.len(), 7);
    // The row with a null TimeGenerated has no time and comes out first, without delay.
    assert_eq!(column(&rows[..1], "Id"), ["t13-7"]);
    assert_eq!(rows[0].time, None);
    let times: Vec<String> = rows[1..]
        .iter()
        .map(|r| r.time.expect("timed").format("%H:%M:%S%.9f").to_string())
        .collect();
    assert_eq!(
        times,
        [
            "09:15:02.000000000",
            "09:15:02.000000000",
            "09:15:02.100000000",
            "09:15:02.123000000",
            "09:15:02.123456700",
            "09:15:02.123456700"
        ]
    );
    assert_eq!(column(&rows[1..3], "Id"), ["t13-2", "t13-6"]);
}
