//! Streaming JSON Lines: storage-export blobs (`PT05M.json`, `PT1H.json`) and `.jsonl` files.
//!
//! Main type: [`JsonLines`]. Each non-blank line is parsed once, straight from a reused byte
//! buffer. A line that is itself an export body (`{"records":[...]}`, one Event Hubs message per
//! line) yields each of its records with `index` set to the record's position.
//! Invariants: `line` is 1-based and counts blank lines; a bad line becomes one
//! [`SourceItem::Bad`] and reading goes on; a read error ends the file after one `Bad` item.

use std::io::{BufRead, Read};

use serde_json::Value;

use super::body::{self, Body, BodyRows, RowOutcome};
use super::{FileLabel, lossy_prefix};
use crate::source::{RawRecord, SourceItem};

/// Longest JSON line accepted (an Event Hubs message is at most 1 MB).
pub const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

/// Rows of a JSON Lines stream.
pub(super) struct JsonLines<R> {
    reader: R,
    label: FileLabel,
    /// Reused line buffer, so reading a line does not allocate.
    buf: Vec<u8>,
    /// Number of the line last read (1-based).
    line: u64,
    /// Rows of a multi-row line still to yield, with that line's number.
    body: Option<(u64, BodyRows)>,
    done: bool,
}

impl<R: BufRead> JsonLines<R> {
    pub(super) fn new(reader: R, label: FileLabel) -> JsonLines<R> {
        JsonLines {
            reader,
            label,
            buf: Vec::with_capacity(8 * 1024),
            line: 0,
            body: None,
            done: false,
        }
    }

    fn next_from_body(&mut self) -> Option<SourceItem> {
        let (line, rows) = self.body.as_mut()?;
        let line = *line;
        match rows.next() {
            Some((index, outcome)) => Some(self.label.item(outcome, line, index)),
            None => {
                self.body = None;
                None
            }
        }
    }

    /// Read the next line into `buf`; `None` at the end of the stream. A line longer than
    /// [`MAX_LINE_BYTES`] is skipped to its end and reported, never held in memory.
    fn read_line(&mut self) -> Option<Result<(), SourceItem>> {
        self.buf.clear();
        let limit = MAX_LINE_BYTES + 1;
        match (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
        {
            Ok(0) => None,
            Ok(n) if n as u64 == limit && self.buf.last() != Some(&b'\n') => {
                self.line += 1;
                let origin = self.label.origin(self.line, 0);
                let raw = lossy_prefix(&self.buf[..4096]);
                self.skip_rest_of_line();
                let detail = format!("line longer than {MAX_LINE_BYTES} bytes");
                Some(Err(SourceItem::bad(origin, detail, &raw)))
            }
            Ok(_) => {
                self.line += 1;
                Some(Ok(()))
            }
            Err(e) => {
                let origin = self.label.origin(self.line + 1, 0);
                Some(Err(SourceItem::bad(origin, format!("read error: {e}"), "")))
            }
        }
    }

    fn skip_rest_of_line(&mut self) {
        loop {
            self.buf.clear();
            match (&mut self.reader)
                .take(64 * 1024)
                .read_until(b'\n', &mut self.buf)
            {
                Ok(0) | Err(_) => return,
                Ok(_) if self.buf.last() == Some(&b'\n') => return,
                Ok(_) => {}
            }
        }
    }

    fn parse_line(&mut self) -> Option<SourceItem> {
        let text = self.buf.trim_ascii();
        if text.is_empty() {
            return None;
        }
        let line = self.line;
        let value = match serde_json::from_slice::<Value>(text) {
            Ok(value) => value,
            Err(e) => {
                let origin = self.label.origin(line, 0);
                return Some(SourceItem::bad(
                    origin,
                    format!("invalid JSON: {e}"),
                    &lossy_prefix(text),
                ));
            }
        };
        match body::classify(value) {
            Body::Row(fields) => Some(SourceItem::Record(RawRecord::new(
                fields,
                self.label.origin(line, 0),
            ))),
            Body::Rows(rows) => {
                self.body = Some((line, rows));
                self.next_from_body()
            }
            Body::NotRow(value) => Some(self.label.item(body::not_object(&value), line, 0)),
        }
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = SourceItem;

    fn next(&mut self) -> Option<SourceItem> {
        loop {
            if let Some(item) = self.next_from_body() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            match self.read_line() {
                None => self.done = true,
                Some(Err(bad)) => {
                    self.done = true;
                    return Some(bad);
                }
                Some(Ok(())) => {
                    if let Some(item) = self.parse_line() {
                        return Some(item);
                    }
                }
            }
        }
    }
}

impl FileLabel {
    /// Turn a row slot into an item with its origin.
    pub(super) fn item(&self, outcome: RowOutcome, line: u64, index: u32) -> SourceItem {
        let origin = self.origin(line, index);
        match outcome {
            RowOutcome::Row(fields) => SourceItem::Record(RawRecord::new(fields, origin)),
            RowOutcome::Bad { reason, raw } => SourceItem::bad(origin, reason, &raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::Origin;

    fn read(text: &str) -> Vec<SourceItem> {
        JsonLines::new(text.as_bytes(), FileLabel::new("t.jsonl")).collect()
    }

    fn at(item: &SourceItem) -> (u64, u32) {
        let Origin::File { line, index, .. } = item.origin() else {
            panic!("file origin expected");
        };
        (*line, *index)
    }

    #[test]
    fn bad_json_line_is_reported_and_reading_continues() {
        let items = read(
            "{\"TimeGenerated\":\"2025-03-04T09:00:00Z\",\"Type\":\"SigninLogs\"}\n\
             {\"TimeGenerated\": oops\n\
             \n\
             42\r\n\
             {\"Type\":\"AuditLogs\"}\r\n",
        );
        assert_eq!(items.len(), 4);
        let SourceItem::Record(first) = &items[0] else {
            panic!("row expected");
        };
        assert_eq!(first.fields["Type"], "SigninLogs");
        assert_eq!(
            first.time.map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-03-04T09:00:00+00:00")
        );
        let SourceItem::Bad { reason, raw, .. } = &items[1] else {
            panic!("bad expected");
        };
        assert!(reason.starts_with("invalid JSON: "), "{reason}");
        assert_eq!(raw, "{\"TimeGenerated\": oops");
        assert_eq!(at(&items[1]), (2, 0));
        let SourceItem::Bad { reason, raw, .. } = &items[2] else {
            panic!("bad expected");
        };
        assert_eq!(
            (reason.as_str(), raw.as_str()),
            ("row is not a JSON object", "42")
        );
        assert_eq!(at(&items[2]), (4, 0));
        assert_eq!(at(&items[3]), (5, 0));
        assert_eq!(items[3].time(), None);
    }

    #[test]
    fn export_body_on_one_line_yields_each_record() {
        let items = read(
            "{\"records\":[{\"Type\":\"A\"},{\"Type\":\"B\"}]}\n\
             {\"records\":[]}\n{\"Type\":\"C\"}\n",
        );
        let got: Vec<(u64, u32, String)> = items
            .iter()
            .map(|i| {
                let SourceItem::Record(r) = i else {
                    panic!("row expected");
                };
                let (line, index) = at(i);
                (
                    line,
                    index,
                    r.fields["Type"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [(1, 0, "A".into()), (1, 1, "B".into()), (3, 0, "C".into())]
        );
    }
}
