//! Format detection and reading through [`open`], on files written to a temporary directory.

use std::io::Write;
use std::path::PathBuf;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

use super::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

fn read(path: &Path) -> Vec<SourceItem> {
    open(path, 0, Arc::new(AtomicU64::new(0))).collect()
}

/// `Id` of each record, or `!reason` for bad items.
fn ids(items: &[SourceItem]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            SourceItem::Record(r) => match r.fields.get("Id") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => "-".into(),
            },
            SourceItem::Bad { reason, .. } => format!("!{reason}"),
        })
        .collect()
}

const JSONL: &str = "{\"Id\":\"a\",\"TimeGenerated\":\"2025-03-04T09:05:01.1234567Z\"}\n\
                     {\"Id\":\"b\",\"TimeGenerated\":\"2025-03-04T09:05:02Z\"}\n";
const RECORDS: &str = "{\n  \"records\": [\n    {\"Id\": \"a\"},\n    {\"Id\": \"b\"}\n  ]\n}\n";
const QUERY: &str = "{\"tables\":[{\"name\":\"PrimaryResult\",\
    \"columns\":[{\"name\":\"Id\",\"type\":\"string\"},{\"name\":\"X\",\"type\":\"dynamic\"}],\
    \"rows\":[[\"a\",\"{\\\"k\\\":1}\"],[\"b\",null]]}]}";
const ARRAY: &str = "[\n  {\"Id\": \"a\"},\n  {\"Id\": \"b\"}\n]\n";
const CSV: &str = "Id,\"TimeGenerated [UTC]\"\na,\"8/11/2023, 6:36:04.536 AM\"\nb,\n";

#[test]
fn every_format_is_detected_plain_and_gzipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in [
        ("PT05M.json", JSONL),
        ("body.txt", RECORDS),
        ("query.json", QUERY),
        ("array.json", ARRAY),
        ("export.csv", CSV),
    ] {
        let plain = write(dir.path(), name, text.as_bytes());
        let zipped = write(dir.path(), &format!("{name}.bin"), &gzip(text.as_bytes()));
        assert_eq!(ids(&read(&plain)), ["a", "b"], "{name}");
        assert_eq!(ids(&read(&zipped)), ["a", "b"], "{name} gzipped");
    }
}

#[test]
fn query_api_dynamic_text_stays_a_string_and_nulls_are_omitted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let items = read(&write(dir.path(), "q.json", QUERY.as_bytes()));
    let SourceItem::Record(first) = &items[0] else {
        panic!("row expected");
    };
    assert_eq!(first.fields["X"], Value::String("{\"k\":1}".into()));
    let SourceItem::Record(second) = &items[1] else {
        panic!("row expected");
    };
    assert_eq!(second.fields.len(), 1);
    assert_eq!(
        second.origin.to_string(),
        format!("{}:1#1", dir.path().join("q.json").display())
    );
}

#[test]
fn csv_with_bom_and_us_dates_has_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = UTF8_BOM.to_vec();
    bytes.extend_from_slice(CSV.as_bytes());
    let items = read(&write(dir.path(), "bom.csv", &bytes));
    let SourceItem::Record(first) = &items[0] else {
        panic!("row expected");
    };
    assert!(first.fields.contains_key("Id"), "{:?}", first.fields);
    assert_eq!(
        first.time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2023-08-11T06:36:04.536+00:00")
    );
    assert_eq!(items[1].time(), None);
}

#[test]
fn jsonl_after_blank_lines_keeps_line_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "x.jsonl", format!("\n\n{JSONL}").as_bytes());
    let items = read(&path);
    assert_eq!(ids(&items), ["a", "b"]);
    assert_eq!(
        items[0].origin().to_string(),
        format!("{}:3#0", path.display())
    );
}

#[test]
fn binary_unknown_and_empty_files_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = write(dir.path(), "blob.parquet", b"PAR1\x00\x01\x02\xff\xfe");
    assert_eq!(ids(&read(&binary)), ["!unrecognised input: binary content"]);
    let text = write(dir.path(), "notes.md", b"# Notes\nnothing here\n");
    let items = read(&text);
    assert_eq!(
        ids(&items),
        ["!unrecognised input: not JSON, JSON Lines or CSV"]
    );
    let SourceItem::Bad { raw, .. } = &items[0] else {
        panic!("bad expected");
    };
    assert_eq!(raw, "# Notes\n");
    assert!(read(&write(dir.path(), "empty.json", b"  \n\n")).is_empty());
    let missing = read(&dir.path().join("gone.json"));
    assert_eq!(missing.len(), 1);
    assert!(
        ids(&missing)[0].starts_with("!cannot read file: "),
        "{:?}",
        ids(&missing)
    );
}

#[test]
fn corrupt_gzip_ends_the_file_with_a_read_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = gzip(JSONL.repeat(50).as_bytes());
    let cut = bytes.len() / 2;
    bytes.truncate(cut);
    let items = read(&write(dir.path(), "cut.json.gz", &bytes));
    let last = ids(&items).pop().expect("items");
    assert!(
        last.starts_with("!read error: ") || last.starts_with("!cannot read file: "),
        "{last}"
    );
}

#[test]
fn bytes_consumed_match_file_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zipped = gzip(JSONL.as_bytes());
    let path = write(dir.path(), "PT05M.json", &zipped);
    let counter = Arc::new(AtomicU64::new(0));
    let size = zipped.len() as u64;
    let n = open(&path, size, counter.clone()).count();
    assert_eq!(n, 2);
    assert_eq!(counter.load(Ordering::Relaxed), size);
}

#[test]
fn unread_bytes_count_as_consumed_when_a_file_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = b"\x00binary".to_vec();
    bytes.resize(200_000, 7);
    let path = write(dir.path(), "big.bin", &bytes);
    let counter = Arc::new(AtomicU64::new(0));
    assert_eq!(open(&path, 200_000, counter.clone()).count(), 1);
    assert_eq!(counter.load(Ordering::Relaxed), 200_000);
    let missing = dir.path().join("gone.json");
    assert_eq!(open(&missing, 10, counter.clone()).count(), 1);
    assert_eq!(counter.load(Ordering::Relaxed), 200_010);
}
