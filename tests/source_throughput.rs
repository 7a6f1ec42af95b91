//! Replay overhead over plain JSON parsing, as ratios printed by one ignored test:
//! `cargo test --release --test source_throughput -- --ignored --nocapture`.
//! Each figure is the best of three runs. It asserts only that every path saw every row;
//! timings are reported, never asserted.

use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use ueba_narrator::source::{ReplayOptions, SourceItem, open_replay};

const ROWS: usize = 300_000;
const RUNS: usize = 3;

/// SigninLogs-shaped JSON Lines, about 700 bytes a row, each group of four rows reversed.
fn export_text() -> String {
    let mut text = String::with_capacity(ROWS * 720);
    for i in 0..ROWS {
        let secs = (i / 4) * 4 + (3 - i % 4);
        let (m, s) = (secs / 60 % 60, secs % 60);
        let h = secs / 3600 % 24;
        writeln!(
            text,
            "{{\"TenantId\":\"a0a0a0a0-1111-4222-8333-444455556666\",\"TimeGenerated\":\
             \"2025-03-04T{h:02}:{m:02}:{s:02}.1234567Z\",\"Type\":\"SigninLogs\",\
             \"UserPrincipalName\":\"user{}@contoso.com\",\"IPAddress\":\"203.0.113.{}\",\
             \"AppDisplayName\":\"Microsoft Teams\",\"ResultType\":\"0\",\"Id\":\"id-{i}\",\
             \"LocationDetails\":{{\"city\":\"Amsterdam\",\"countryOrRegion\":\"NL\",\
             \"geoCoordinates\":{{\"latitude\":52.37,\"longitude\":4.89}}}},\
             \"DeviceDetail\":{{\"operatingSystem\":\"Windows10\",\"browser\":\"Edge 121.0.0\"}},\
             \"Status\":{{\"errorCode\":0}},\"UserAgent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; \
             x64) Edg/121.0.0.0\",\"AuthenticationDetails\":\"[{{\\\"succeeded\\\":true}}]\"}}",
            i % 5000,
            i % 250
        )
        .expect("write to string");
    }
    text
}

fn best_of(mut run: impl FnMut() -> usize) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(run(), ROWS);
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn parse_lines(path: &Path) -> usize {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("open"));
    let mut parsed = 0;
    for line in file.split(b'\n') {
        let line = line.expect("read");
        let _: Value = serde_json::from_slice(&line).expect("valid row");
        parsed += 1;
    }
    parsed
}

fn replay_rows(path: &Path, reorder_window: usize) -> usize {
    let opts = ReplayOptions {
        reorder_window,
        ..ReplayOptions::default()
    };
    let replay = open_replay(&[path.to_path_buf()], &opts).expect("open replay");
    replay
        .filter(|i| matches!(i, SourceItem::Record(_)))
        .count()
}

#[test]
#[ignore = "throughput report; run explicitly in release mode"]
fn replay_overhead_over_serde_json_parsing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("PT05M.json");
    std::fs::write(&path, export_text()).expect("write");

    let baseline = best_of(|| parse_lines(&path));
    println!("rows={ROWS} serde_json={baseline:?}");
    for window in [0, 4096] {
        let replayed = best_of(|| replay_rows(&path, window));
        let ratio = replayed.as_secs_f64() / baseline.as_secs_f64();
        println!("reorder_window={window} replay={replayed:?} ratio={ratio:.2}");
    }
}
