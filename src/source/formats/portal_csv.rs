//! Streaming CSV exported from the Log Analytics portal (or pandas).
//!
//! Main type: [`CsvRows`]. The header's ` [UTC]` suffixes are stripped (`"TimeGenerated [UTC]"`
//! becomes `TimeGenerated`); columns without a name (a pandas index) are dropped; empty cells are
//! omitted; every value stays a string (decoding is lenient about types). Quoted values may span
//! lines. Invariants: `line` is the 1-based line where the row starts (the header is line 1); a
//! row with the wrong number of fields or bad UTF-8 becomes one `Bad` item and reading goes on.

use std::io::Read;

use csv::{ByteRecord, Reader, ReaderBuilder};
use serde_json::{Map, Value};

use super::FileLabel;
use crate::source::{RawRecord, SourceItem};

/// Suffix the portal appends to datetime column names.
const UTC_SUFFIX: &str = " [UTC]";

/// Rows of a CSV stream.
pub(super) struct CsvRows<R: Read> {
    reader: Reader<R>,
    /// Column names by position; `None` for a dropped column.
    columns: Vec<Option<String>>,
    /// Reused record buffer.
    record: ByteRecord,
    label: FileLabel,
    done: bool,
}

impl<R: Read> CsvRows<R> {
    /// Read the header; a header that cannot be read is returned as a `Bad` item.
    pub(super) fn new(reader: R, label: FileLabel) -> Result<CsvRows<R>, SourceItem> {
        let mut reader = ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(reader);
        let columns = match reader.byte_headers() {
            Ok(header) => header.iter().map(column_name).collect(),
            Err(e) => return Err(SourceItem::bad(label.origin(1, 0), format!("CSV: {e}"), "")),
        };
        Ok(CsvRows {
            reader,
            columns,
            record: ByteRecord::new(),
            label,
            done: false,
        })
    }

    fn row(&self) -> SourceItem {
        let line = self.record.position().map_or(0, |p| p.line());
        let origin = self.label.origin(line, 0);
        if self.record.len() != self.columns.len() {
            let reason = format!(
                "CSV: row has {} fields but the header has {}",
                self.record.len(),
                self.columns.len()
            );
            return SourceItem::bad(origin, reason, &self.raw());
        }
        let mut fields = Map::new();
        for (name, cell) in self.columns.iter().zip(self.record.iter()) {
            let Some(name) = name else { continue };
            if cell.is_empty() {
                continue;
            }
            match std::str::from_utf8(cell) {
                Ok(text) => {
                    fields.insert(name.clone(), Value::String(text.to_owned()));
                }
                Err(_) => {
                    let reason = format!("CSV: invalid UTF-8 in column {name}");
                    return SourceItem::bad(origin, reason, &self.raw());
                }
            }
        }
        SourceItem::Record(RawRecord::new(fields, origin))
    }

    /// The row's fields joined by commas (quoting is not reproduced).
    fn raw(&self) -> String {
        let parts: Vec<_> = self.record.iter().map(String::from_utf8_lossy).collect();
        parts.join(",")
    }
}

fn column_name(raw: &[u8]) -> Option<String> {
    let name = String::from_utf8_lossy(raw);
    let name = name.strip_suffix(UTC_SUFFIX).unwrap_or(&name);
    (!name.is_empty()).then(|| name.to_owned())
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = SourceItem;

    fn next(&mut self) -> Option<SourceItem> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => Some(self.row()),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                // An I/O error cannot be read past; other CSV errors concern one row only.
                self.done = matches!(e.kind(), csv::ErrorKind::Io(_));
                let line = e.position().map_or(0, |p| p.line());
                Some(SourceItem::bad(
                    self.label.origin(line, 0),
                    format!("CSV: {e}"),
                    "",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::Origin;

    fn read(text: &str) -> Vec<SourceItem> {
        match CsvRows::new(text.as_bytes(), FileLabel::new("p.csv")) {
            Ok(rows) => rows.collect(),
            Err(bad) => vec![bad],
        }
    }

    fn record(item: &SourceItem) -> &RawRecord {
        let SourceItem::Record(r) = item else {
            panic!("row expected, got {item:?}");
        };
        r
    }

    #[test]
    fn portal_header_and_us_dates_are_read() {
        let items = read(
            "TenantId,\"TimeGenerated [UTC]\",ActivityType,InvestigationPriority\n\
             t1,\"8/11/2023, 6:36:04.536 AM\",LogOn,0\n",
        );
        let r = record(&items[0]);
        assert_eq!(r.fields["TimeGenerated"], "8/11/2023, 6:36:04.536 AM");
        assert_eq!(r.fields["InvestigationPriority"], "0");
        assert_eq!(
            r.time.map(|t| t.to_rfc3339()).as_deref(),
            Some("2023-08-11T06:36:04.536+00:00")
        );
        assert_eq!(r.origin.to_string(), "p.csv:2#0");
    }

    #[test]
    fn pandas_index_dropped_empty_cells_omitted_multiline_kept() {
        let items = read(
            ",TimeGenerated,Parameters,UserId\n\
             0,2020-03-01T10:00:00Z,\"[\n  {\"\"Name\"\": \"\"Identity\"\"}\n]\",\n\
             1,2020-03-01T10:01:00Z,,bob@contoso.com\n",
        );
        assert_eq!(items.len(), 2);
        let first = record(&items[0]);
        let keys: Vec<&String> = first.fields.keys().collect();
        assert_eq!(keys, ["Parameters", "TimeGenerated"]);
        assert_eq!(
            first.fields["Parameters"],
            "[\n  {\"Name\": \"Identity\"}\n]"
        );
        let second = record(&items[1]);
        assert_eq!(second.fields.len(), 2);
        assert_eq!(second.fields["UserId"], "bob@contoso.com");
        let Origin::File { line, .. } = &second.origin else {
            panic!("file origin");
        };
        assert_eq!(*line, 5);
    }

    #[test]
    fn row_with_wrong_field_count_is_bad_and_reading_continues() {
        let items = read("A,B\n1,2\n1,2,3\n4,5\n");
        assert_eq!(items.len(), 3);
        let SourceItem::Bad {
            reason,
            raw,
            origin,
        } = &items[1]
        else {
            panic!("bad expected");
        };
        assert_eq!(reason, "CSV: row has 3 fields but the header has 2");
        assert_eq!(raw, "1,2,3");
        assert_eq!(origin.to_string(), "p.csv:3#0");
        assert_eq!(record(&items[2]).fields["A"], "4");
    }
}
