//! Preparing rows for the Logs Ingestion API: trimming fields that would pass the 64 KB field
//! limit (with a visible marker, because Azure would cut them silently) and packing rows into
//! JSON-array bodies no larger than the per-call limit, measured on the bytes actually sent
//! (after gzip when it is on).

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Map, Value};

/// One row on its way out: its record id and its serialised JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedRow {
    pub id: String,
    pub json: Vec<u8>,
}

/// Marker appended to a trimmed string value.
pub fn trim_marker(cut: usize) -> String {
    format!(" …[trimmed {cut} bytes]")
}

/// Trim every top-level value whose JSON text passes `max_bytes`. Returns the trimmed names.
pub fn trim_fields(row: &mut Map<String, Value>, max_bytes: usize) -> Vec<String> {
    let mut trimmed = Vec::new();
    for (name, value) in row.iter_mut() {
        if json_len(value) <= max_bytes {
            continue;
        }
        let new = match value {
            Value::String(s) => Value::String(trim_string(s, max_bytes)),
            Value::Array(items) => Value::Array(trim_array(std::mem::take(items), max_bytes)),
            Value::Object(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
                Value::String(trim_string(&value.to_string(), max_bytes))
            }
        };
        *value = new;
        trimmed.push(name.clone());
    }
    trimmed
}

fn json_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        other => serde_json::to_vec(other)
            .map(|b| b.len())
            .unwrap_or(usize::MAX),
    }
}

fn trim_string(s: &str, max_bytes: usize) -> String {
    // Room for the marker; the cut count has at most 20 digits.
    let budget = max_bytes.saturating_sub(trim_marker(0).len() + 20);
    let mut cut = budget.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{}", &s[..cut], trim_marker(s.len() - cut))
}

fn trim_array(mut items: Vec<Value>, max_bytes: usize) -> Vec<Value> {
    let total = items.len();
    // `[` + items + commas + `,"…[trimmed N items]"` + `]`, measured once per item.
    let marker_room = 32;
    let budget = max_bytes.saturating_sub(2 + marker_room);
    let mut used = 0usize;
    let mut keep = 0usize;
    for item in &items {
        let text_len = serde_json::to_vec(item).map_or(usize::MAX / 2, |b| b.len());
        let len = text_len + usize::from(keep > 0);
        if used + len > budget {
            break;
        }
        used += len;
        keep += 1;
    }
    items.truncate(keep);
    items.push(Value::String(format!("…[trimmed {} items]", total - keep)));
    items
}

/// The request body for a batch: `[row,row,...]`, gzip-compressed when asked.
pub fn encode_body(rows: &[EncodedRow], gzip: bool) -> Vec<u8> {
    let raw_len = 2 + rows.iter().map(|r| r.json.len() + 1).sum::<usize>();
    let mut raw = Vec::with_capacity(raw_len);
    raw.push(b'[');
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            raw.push(b',');
        }
        raw.extend_from_slice(&r.json);
    }
    raw.push(b']');
    if !gzip {
        return raw;
    }
    let mut enc = GzEncoder::new(Vec::with_capacity(raw.len() / 4), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(&raw);
    enc.finish().unwrap_or_default()
}

/// Pack rows, in order, into bodies of at most `max_bytes` as sent. A row that alone does not
/// fit is returned in `too_large`.
pub fn pack(rows: Vec<EncodedRow>, max_bytes: usize, gzip: bool) -> Packed {
    let mut packed = Packed::default();
    // Greedy by raw size; with gzip allow a generous raw size, then split what compresses badly.
    let raw_cap = if gzip {
        max_bytes.saturating_mul(8)
    } else {
        max_bytes
    };
    let mut current: Vec<EncodedRow> = Vec::new();
    let mut size = 2usize;
    for row in rows {
        if !current.is_empty() && size + row.json.len() + 1 > raw_cap {
            fit(std::mem::take(&mut current), max_bytes, gzip, &mut packed);
            size = 2;
        }
        size += row.json.len() + 1;
        current.push(row);
    }
    if !current.is_empty() {
        fit(current, max_bytes, gzip, &mut packed);
    }
    packed
}

/// Batches ready to send, and rows that exceed the limit on their own.
#[derive(Debug, Default)]
pub struct Packed {
    pub batches: Vec<Batch>,
    pub too_large: Vec<EncodedRow>,
}

/// Rows and their encoded body.
#[derive(Debug, Clone)]
pub struct Batch {
    pub rows: Vec<EncodedRow>,
    pub body: Vec<u8>,
}

fn fit(rows: Vec<EncodedRow>, max_bytes: usize, gzip: bool, out: &mut Packed) {
    let body = encode_body(&rows, gzip);
    if body.len() <= max_bytes {
        out.batches.push(Batch { rows, body });
        return;
    }
    if rows.len() == 1 {
        out.too_large.extend(rows);
        return;
    }
    let (a, b) = split_half(rows);
    fit(a, max_bytes, gzip, out);
    fit(b, max_bytes, gzip, out);
}

/// Split a batch in two halves, keeping order.
pub fn split_half(mut rows: Vec<EncodedRow>) -> (Vec<EncodedRow>, Vec<EncodedRow>) {
    let tail = rows.split_off(rows.len() / 2);
    (rows, tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(id: usize, pad: usize) -> EncodedRow {
        let v = json!({"RecordId": id.to_string(), "Narrative": "x".repeat(pad)});
        EncodedRow {
            id: id.to_string(),
            json: serde_json::to_vec(&v).unwrap(),
        }
    }

    #[test]
    fn long_string_is_trimmed_with_marker_under_the_limit() {
        let mut m = json!({"Narrative": "é".repeat(40_000), "Summary": "short"})
            .as_object()
            .cloned()
            .unwrap();
        let names = trim_fields(&mut m, 65_536);
        assert_eq!(names, vec!["Narrative".to_string()]);
        let n = m["Narrative"].as_str().unwrap();
        assert!(n.len() <= 65_536, "{}", n.len());
        assert!(n.ends_with(" bytes]"), "{}", &n[n.len() - 40..]);
        assert!(n.contains("…[trimmed "));
        assert_eq!(m["Summary"], "short");
    }

    #[test]
    fn long_array_drops_tail_items_and_says_so() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("SigninLogs:{i:08}")).collect();
        let mut m = json!({ "EvidenceIds": ids }).as_object().cloned().unwrap();
        trim_fields(&mut m, 65_536);
        let arr = m["EvidenceIds"].as_array().unwrap();
        assert!(serde_json::to_vec(arr).unwrap().len() <= 65_536);
        assert_eq!(arr[0], "SigninLogs:00000000");
        let last = arr.last().unwrap().as_str().unwrap();
        assert!(
            last.starts_with("…[trimmed ") && last.ends_with(" items]"),
            "{last}"
        );
    }

    #[test]
    fn packing_respects_the_limit_and_order() {
        let rows: Vec<EncodedRow> = (0..50).map(|i| row(i, 30_000)).collect();
        let p = pack(rows, 100_000, false);
        assert!(p.too_large.is_empty());
        assert_eq!(p.batches.len(), 17);
        let ids: Vec<String> = p
            .batches
            .iter()
            .flat_map(|b| b.rows.iter().map(|r| r.id.clone()))
            .collect();
        assert_eq!(ids, (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
        for b in &p.batches {
            assert!(b.body.len() <= 100_000);
            let v: Vec<Value> = serde_json::from_slice(&b.body).unwrap();
            assert_eq!(v.len(), b.rows.len());
        }
    }

    #[test]
    fn gzip_bodies_are_measured_compressed() {
        let rows: Vec<EncodedRow> = (0..40).map(|i| row(i, 60_000)).collect();
        let p = pack(rows, 100_000, true);
        // Repetitive text compresses well: far fewer bodies than raw packing would need.
        assert!(p.batches.len() < 10, "{}", p.batches.len());
        for b in &p.batches {
            assert!(b.body.len() <= 100_000);
            assert_eq!(&b.body[..2], &[0x1f, 0x8b]);
        }
    }

    #[test]
    fn a_row_bigger_than_the_limit_is_set_aside() {
        let p = pack(
            vec![row(1, 10), row(2, 200_000), row(3, 10)],
            100_000,
            false,
        );
        assert_eq!(p.too_large.len(), 1);
        assert_eq!(p.too_large[0].id, "2");
        assert_eq!(p.batches.iter().map(|b| b.rows.len()).sum::<usize>(), 2);
    }
}
