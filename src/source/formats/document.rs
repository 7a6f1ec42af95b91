//! Whole JSON documents: Event Hubs bodies (`{"records":[...]}`), query API responses, arrays
//! of rows, or single pretty-printed rows; several documents may follow each other in a file.
//!
//! Main function: [`load`]. A document's size bounds its memory, so each file is read at once and
//! parsed document by document; the rows are then handed out one at a time.
//! Invariants: `line` is the 1-based line where the row's document starts, `index` the row's
//! position in it; a syntax error yields one [`SourceItem::Bad`] with the rest of the file as raw.

use std::io::Read;
use std::vec;

use serde_json::{Deserializer, Value};

use super::body::{self, Body, BodyRows};
use super::{FileLabel, Items, lossy_prefix};
use crate::source::SourceItem;

/// Largest whole-document file loaded into memory (after decompression). Event Hubs bodies
/// are at most 1 MB and query API responses at most a few hundred; anything larger is refused
/// rather than allowed to exhaust memory (a small gzip can expand enormously).
pub const MAX_DOCUMENT_BYTES: u64 = 256 * 1024 * 1024;

/// Read a whole file of JSON documents.
pub(super) fn load(reader: impl Read, label: FileLabel) -> Items {
    let mut bytes = Vec::new();
    if let Err(e) = reader.take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut bytes) {
        let bad = SourceItem::bad(label.origin(0, 0), format!("read error: {e}"), "");
        return Box::new(std::iter::once(bad));
    }
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        let detail = format!(
            "JSON document larger than {MAX_DOCUMENT_BYTES} bytes; split it or export JSON Lines"
        );
        let bad = SourceItem::bad(label.origin(0, 0), detail, &lossy_prefix(&bytes[..4096]));
        return Box::new(std::iter::once(bad));
    }
    let (documents, error) = parse_all(&bytes, &label);
    drop(bytes);
    Box::new(Documents {
        documents: documents.into_iter(),
        current: None,
        label,
        error,
    })
}

/// Parse every document, noting the line it starts on; stop at the first syntax error.
fn parse_all(bytes: &[u8], label: &FileLabel) -> (Vec<(u64, Value)>, Option<SourceItem>) {
    let mut documents = Vec::new();
    let mut line = 1u64;
    let mut counted_to = 0usize;
    let mut stream = Deserializer::from_slice(bytes).into_iter::<Value>();
    loop {
        let start = skip_whitespace(bytes, stream.byte_offset());
        line += count_newlines(&bytes[counted_to..start]);
        counted_to = start;
        match stream.next() {
            None => return (documents, None),
            Some(Ok(value)) => documents.push((line, value)),
            Some(Err(e)) => {
                let origin = label.origin(line, 0);
                let raw = lossy_prefix(&bytes[start..]);
                let bad = SourceItem::bad(origin, format!("invalid JSON: {e}"), &raw);
                return (documents, Some(bad));
            }
        }
    }
}

fn skip_whitespace(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    from + rest.len() - rest.trim_ascii_start().len()
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Rows of parsed documents, handed out lazily.
struct Documents {
    documents: vec::IntoIter<(u64, Value)>,
    /// The multi-row document being walked, with its starting line.
    current: Option<(u64, BodyRows)>,
    label: FileLabel,
    /// A syntax error met after the parsed documents, yielded last.
    error: Option<SourceItem>,
}

impl Iterator for Documents {
    type Item = SourceItem;

    fn next(&mut self) -> Option<SourceItem> {
        loop {
            if let Some((line, rows)) = &mut self.current {
                if let Some((index, outcome)) = rows.next() {
                    return Some(self.label.item(outcome, *line, index));
                }
                self.current = None;
            }
            let Some((line, value)) = self.documents.next() else {
                return self.error.take();
            };
            match body::classify(value) {
                Body::Rows(rows) => self.current = Some((line, rows)),
                Body::Row(fields) => {
                    return Some(self.label.item(body::RowOutcome::Row(fields), line, 0));
                }
                Body::NotRow(value) => {
                    return Some(self.label.item(body::not_object(&value), line, 0));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::Origin;

    fn summary(text: &str) -> Vec<(u64, u32, String)> {
        load(text.as_bytes(), FileLabel::new("d.json"))
            .map(|item| {
                let Origin::File { line, index, .. } = item.origin().clone() else {
                    panic!("file origin expected");
                };
                let what = match item {
                    SourceItem::Record(r) => r.fields["Id"].to_string(),
                    SourceItem::Bad { reason, .. } => reason,
                };
                (line, index, what)
            })
            .collect()
    }

    #[test]
    fn pretty_records_body_yields_each_record_with_its_index() {
        let text = "{\n  \"records\": [\n    {\"Id\": 1},\n    {\"Id\": 2}\n  ]\n}\n";
        assert_eq!(summary(text), [(1, 0, "1".into()), (1, 1, "2".into())]);
    }

    #[test]
    fn concatenated_documents_keep_their_start_lines() {
        let text = "[{\"Id\": 1},\n {\"Id\": 2}]\n\n{\n \"Id\": 3\n}\n[5]";
        assert_eq!(
            summary(text),
            [
                (1, 0, "1".into()),
                (1, 1, "2".into()),
                (4, 0, "3".into()),
                (7, 0, "row is not a JSON object".into())
            ]
        );
    }

    #[test]
    fn syntax_error_keeps_earlier_documents_and_reports_the_rest() {
        let items: Vec<SourceItem> = load(
            "{\"Id\": 1}\n{\"Id\": \n".as_bytes(),
            FileLabel::new("d.json"),
        )
        .collect();
        assert_eq!(items.len(), 2);
        let SourceItem::Bad {
            reason,
            raw,
            origin,
        } = &items[1]
        else {
            panic!("bad expected");
        };
        assert!(reason.starts_with("invalid JSON: "), "{reason}");
        assert_eq!(raw, "{\"Id\": \n");
        assert_eq!(origin.to_string(), "d.json:2#0");
    }
}
