//! Replay ordering, lazy opening and limits, on export trees written to a temporary directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::*;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 4, 9, 0, 0)
        .single()
        .expect("valid time")
}

/// One JSON line: a row of `table` with id `id` at `base + secs`.
fn row(table: &str, id: &str, secs: i64) -> String {
    let t = (base() + Duration::seconds(secs)).format("%Y-%m-%dT%H:%M:%S%.6f0Z");
    json!({"Type": table, "Id": id, "TimeGenerated": t.to_string()}).to_string() + "\n"
}

/// The storage-export folder of the bucket starting `minutes` after `base`.
fn blob_dir(root: &Path, table: &str, minutes: i64) -> PathBuf {
    let t = base() + Duration::minutes(minutes);
    root.join(format!("am-{table}"))
        .join("WorkspaceResourceId=/subscriptions/s/workspaces/w".trim_start_matches('/'))
        .join(t.format("y=%Y/m=%m/d=%d/h=%H/m=%M").to_string())
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

fn ids(replay: Replay) -> Vec<String> {
    replay
        .map(|item| match item {
            SourceItem::Record(r) => r.fields["Id"].as_str().unwrap_or("?").to_owned(),
            SourceItem::Bad { reason, .. } => format!("!{reason}"),
        })
        .collect()
}

fn replay(paths: &[PathBuf], window: usize) -> Replay {
    let opts = ReplayOptions {
        reorder_window: window,
        ..ReplayOptions::default()
    };
    open_replay(paths, &opts).expect("open replay")
}

#[test]
fn blob_tree_with_two_tables_comes_out_strictly_time_ordered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    // Three 5-minute folders per table; rows of the two tables interleave inside each bucket,
    // and bucket 5 has a rolled-over second blob.
    let ba = |m, rows: &[(&str, i64)]| {
        let text: String = rows
            .iter()
            .map(|(id, s)| row("BehaviorAnalytics", id, *s))
            .collect();
        write(
            &blob_dir(root, "BehaviorAnalytics", m).join("PT05M.json"),
            &text,
        );
    };
    ba(0, &[("b1", 10), ("b2", 130)]);
    ba(5, &[("b3", 301), ("b4", 420)]);
    ba(10, &[("b5", 600), ("b6", 890)]);
    let si = |m, name: &str, rows: &[(&str, i64)]| {
        let text: String = rows
            .iter()
            .map(|(id, s)| row("SigninLogs", id, *s))
            .collect();
        write(&blob_dir(root, "SigninLogs", m).join(name), &text);
    };
    si(0, "PT05M.json", &[("s1", 5), ("s2", 60), ("s3", 299)]);
    si(5, "PT05M.json", &[("s4", 300), ("s5", 400)]);
    si(5, "PT05M_1.json", &[("s6", 410), ("s7", 599)]);
    si(10, "PT05M.json", &[("s8", 700)]);

    let r = replay(&[root.to_path_buf()], 0);
    assert_eq!(r.files(), 7);
    let items: Vec<SourceItem> = r.collect();
    let times: Vec<DateTime<Utc>> = items.iter().filter_map(SourceItem::time).collect();
    assert_eq!(times.len(), 14);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let order: Vec<String> = items
        .iter()
        .map(|i| match i {
            SourceItem::Record(r) => r.fields["Id"].as_str().unwrap_or("?").to_owned(),
            SourceItem::Bad { .. } => "!".into(),
        })
        .collect();
    assert_eq!(
        order,
        [
            "s1", "b1", "s2", "b2", "s3", "s4", "b3", "s5", "s6", "b4", "s7", "b5", "s8", "b6"
        ]
    );
}

#[test]
fn lazy_opening_keeps_two_files_open_for_a_fifty_blob_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let mut expected = 0;
    for bucket in 0..25i64 {
        for (k, table) in ["BehaviorAnalytics", "SigninLogs"].into_iter().enumerate() {
            let text: String = (0..4)
                .map(|i| {
                    row(
                        table,
                        &format!("{table}-{bucket}-{i}"),
                        bucket * 300 + i * 60 + k as i64,
                    )
                })
                .collect();
            expected += 4;
            write(&blob_dir(root, table, bucket * 5).join("PT05M.json"), &text);
        }
    }
    let mut r = replay(&[root.to_path_buf()], 16);
    assert_eq!(r.files(), 50);
    let mut last = None;
    let mut seen = 0;
    for item in r.by_ref() {
        let t = item.time().expect("every row is timed");
        assert!(last.is_none_or(|l| l <= t), "{last:?} then {t}");
        last = Some(t);
        seen += 1;
    }
    assert_eq!(seen, expected);
    assert_eq!(r.peak_open_files(), 2);
}

#[test]
fn files_without_folder_time_beyond_the_limit_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..4 {
        write(
            &dir.path().join(format!("part{i}.jsonl")),
            &row("SigninLogs", "x", i),
        );
    }
    let opts = ReplayOptions {
        max_open_files: 3,
        ..ReplayOptions::default()
    };
    let err = match open_replay(&[dir.path().to_path_buf()], &opts) {
        Ok(_) => panic!("four flat files must exceed a limit of three"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("4 replay files"), "{err}");
    assert!(err.contains("split the input"), "{err}");
    assert!(err.contains("max_open_files = 3"), "{err}");
}

#[test]
fn equal_times_across_files_follow_file_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    write(&a, &(row("T", "a1", 0) + &row("T", "a2", 5)));
    write(&b, &(row("T", "b1", 0) + &row("T", "b2", 5)));
    // Given order decides, not name order.
    assert_eq!(
        ids(replay(&[b.clone(), a.clone()], 0)),
        ["b1", "a1", "b2", "a2"]
    );
    assert_eq!(ids(replay(&[a, b], 0)), ["a1", "b1", "a2", "b2"]);
}

#[test]
fn reorder_window_fixes_small_disorder_inside_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("late.jsonl");
    let text: String = [
        ("r1", 120),
        ("r2", 420),
        ("r3", 1260),
        ("r4", 660),
        ("r7", 1380),
    ]
    .iter()
    .map(|(id, s)| row("BehaviorAnalytics", id, *s))
    .collect();
    write(&path, &text);
    assert_eq!(
        ids(replay(std::slice::from_ref(&path), 2)),
        ["r1", "r2", "r4", "r3", "r7"]
    );
    assert_eq!(ids(replay(&[path], 0)), ["r1", "r2", "r3", "r4", "r7"]);
}

#[test]
fn bad_lines_and_untimed_rows_pass_without_delay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let early = dir.path().join("early.jsonl");
    let late = dir.path().join("late.jsonl");
    write(&early, &(row("T", "e1", 0) + &row("T", "e2", 100)));
    let untimed = json!({"Type": "T", "Id": "u1", "TimeGenerated": null}).to_string();
    write(
        &late,
        &format!(
            "{}not json\n{untimed}\n{}",
            row("T", "l1", 50),
            row("T", "l2", 150)
        ),
    );
    let got = ids(replay(&[early, late], 8));
    assert_eq!(got.len(), 6);
    // The bad line and the untimed row do not wait for the earlier timed rows of other files.
    assert!(got[0].starts_with("!invalid JSON"), "{got:?}");
    assert_eq!(&got[1..], ["u1", "e1", "l1", "e2", "l2"]);
}

#[test]
fn mixed_formats_and_folders_merge_and_count_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let blob = blob_dir(root, "SigninLogs", 5).join("PT05M.json");
    write(
        &blob,
        &(row("SigninLogs", "blob1", 301) + &row("SigninLogs", "blob2", 330)),
    );
    let body = json!({"records": [
        {"Id": "doc1", "TimeGenerated": "2025-03-04T09:05:10.0000000Z"},
        {"Id": "doc2", "TimeGenerated": "2025-03-04T09:00:01Z"}
    ]});
    write(
        &root.join("hub/message.json"),
        &serde_json::to_string_pretty(&body).expect("json"),
    );
    write(
        &root.join("portal.csv"),
        "Id,\"TimeGenerated [UTC]\"\n\
         csv1,\"3/4/2025, 9:05:20.000 AM\"\n\
         csv2,\"3/4/2025, 9:06:00.000 AM\"\n",
    );
    let r = replay(&[root.to_path_buf()], 4);
    let counter = r.bytes_counter();
    let total = r.total_bytes();
    assert_eq!(r.files(), 3);
    assert_eq!(counter.load(Ordering::Relaxed), 0);
    assert_eq!(ids(r), ["doc2", "blob1", "doc1", "csv1", "blob2", "csv2"]);
    assert_eq!(counter.load(Ordering::Relaxed), total);
    assert!(total > 200, "{total}");
}

#[test]
fn empty_path_list_is_an_error() {
    let err = match open_replay(&[], &ReplayOptions::default()) {
        Ok(_) => panic!("no input must fail"),
        Err(e) => e.to_string(),
    };
    assert_eq!(err, "no replay input given");
}

#[test]
fn replay_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Replay>();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.jsonl");
    write(&path, &row("T", "x1", 0));
    let r = replay(&[path], 0);
    let got = std::thread::spawn(move || ids(r)).join().expect("thread");
    assert_eq!(got, ["x1"]);
}

#[test]
fn one_folder_with_more_blobs_than_the_limit_still_replays_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = blob_dir(dir.path(), "SigninLogs", 0);
    for (n, name) in ["PT05M.json", "PT05M_1.json", "PT05M_2.json"]
        .into_iter()
        .enumerate()
    {
        let n = n as i64;
        write(
            &folder.join(name),
            &(row("S", &format!("{n}a"), n) + &row("S", &format!("{n}b"), 10 + n)),
        );
    }
    let opts = ReplayOptions {
        reorder_window: 0,
        max_open_files: 2,
    };
    let mut r = open_replay(&[dir.path().to_path_buf()], &opts).expect("open");
    let got: Vec<String> = r
        .by_ref()
        .map(|i| {
            i.origin()
                .to_string()
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(
        got,
        [
            "PT05M.json:1#0",
            "PT05M_1.json:1#0",
            "PT05M_2.json:1#0",
            "PT05M.json:2#0",
            "PT05M_1.json:2#0",
            "PT05M_2.json:2#0"
        ]
    );
    assert_eq!(r.peak_open_files(), 3);
}
