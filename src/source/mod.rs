//! Source stage: where raw exported rows enter the product.
//!
//! [`replay`] reads historical Sentinel exports (storage-export blobs, Event Hubs bodies, query
//! API responses, portal CSV, JSON arrays, gzip of any of these) and yields [`SourceItem`]s in
//! event-time order across files.
//!
//! Main types: [`RawRecord`] (one row as a JSON object plus where it came from and its parsed
//! `TimeGenerated`) and [`SourceItem`] (a row, or input that is not a row at all).
//!
//! Invariants: every item carries an [`Origin`] that names the file exactly as it was given or
//! joined, so output is reproducible across machines; [`SourceItem::Bad`] raw text never exceeds
//! [`RAW_LIMIT_BYTES`].

mod discover;
mod formats;
pub mod kafka;
mod merge;
mod reorder;
pub mod replay;

pub use replay::{Replay, ReplayOptions, open_replay};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::decode::event::Origin;
use crate::decode::time;

/// Largest raw text kept with a [`SourceItem::Bad`] item.
pub const RAW_LIMIT_BYTES: usize = 64 * 1024;

/// The column that orders rows in event time.
const TIME_COLUMN: &str = "TimeGenerated";

/// One exported row before decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub fields: Map<String, Value>,
    pub origin: Origin,
    /// TimeGenerated parsed with [`time::parse_instant`], if present and parsable.
    pub time: Option<DateTime<Utc>>,
}

impl RawRecord {
    /// Wrap a row, reading its `TimeGenerated`.
    pub fn new(fields: Map<String, Value>, origin: Origin) -> RawRecord {
        let time = fields
            .get(TIME_COLUMN)
            .and_then(Value::as_str)
            .and_then(time::parse_instant);
        RawRecord {
            fields,
            origin,
            time,
        }
    }
}

/// What a source yields: a row, or input that could not be read as a row.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceItem {
    Record(RawRecord),
    /// Input that is not a row at all (bad JSON line, bad CSV row, non-object array item...).
    Bad {
        origin: Origin,
        reason: String,
        raw: String,
    },
}

impl SourceItem {
    /// Event time of a record; `None` for bad input and rows without a usable time.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        match self {
            SourceItem::Record(r) => r.time,
            SourceItem::Bad { .. } => None,
        }
    }

    /// Where the item came from.
    pub fn origin(&self) -> &Origin {
        match self {
            SourceItem::Record(r) => &r.origin,
            SourceItem::Bad { origin, .. } => origin,
        }
    }

    /// A bad item, with `raw` cut to [`RAW_LIMIT_BYTES`] on a character boundary.
    pub(crate) fn bad(origin: Origin, reason: impl Into<String>, raw: &str) -> SourceItem {
        SourceItem::Bad {
            origin,
            reason: reason.into(),
            raw: truncate(raw, RAW_LIMIT_BYTES).to_owned(),
        }
    }
}

/// The longest prefix of `text` that fits `limit` bytes and ends on a character boundary.
fn truncate(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::File {
            path: "a.json".into(),
            line: 1,
            index: 0,
        }
    }

    #[test]
    fn record_time_is_parsed_from_time_generated() {
        let mut fields = Map::new();
        fields.insert("TimeGenerated".into(), "8/11/2023, 6:36:04.536 AM".into());
        let r = RawRecord::new(fields, origin());
        let t = r.time.expect("portal time parses");
        assert_eq!(t.to_rfc3339(), "2023-08-11T06:36:04.536+00:00");
    }

    #[test]
    fn record_without_usable_time_has_none() {
        let mut fields = Map::new();
        fields.insert("TimeGenerated".into(), Value::Null);
        assert_eq!(RawRecord::new(fields, origin()).time, None);
        let mut fields = Map::new();
        fields.insert("timegenerated".into(), "2025-03-04T09:15:02Z".into());
        assert_eq!(RawRecord::new(fields, origin()).time, None);
    }

    #[test]
    fn bad_raw_is_truncated_on_char_boundary() {
        let raw = "é".repeat(RAW_LIMIT_BYTES); // two bytes each
        let SourceItem::Bad { raw, .. } = SourceItem::bad(origin(), "x", &raw) else {
            panic!("expected Bad");
        };
        assert_eq!(raw.len(), RAW_LIMIT_BYTES);
        let odd = format!("a{}", "é".repeat(RAW_LIMIT_BYTES / 2));
        assert_eq!(truncate(&odd, RAW_LIMIT_BYTES).len(), RAW_LIMIT_BYTES - 1);
    }
}
