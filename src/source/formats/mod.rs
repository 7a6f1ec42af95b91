//! Opening one replay file: gzip and format detection by content, then a row iterator.
//!
//! Main items: [`open`] (file to [`Items`]) and [`FileLabel`] (the path as it appears in every
//! origin). Detection reads at most [`SNIFF_LIMIT`] bytes of the (decompressed) start:
//! - gzip is recognised by the magic bytes `1f 8b`, whatever the name; any format may be inside;
//! - a first line that is a whole `{...}` object means JSON Lines (streamed);
//! - a first line starting with `[`, or opening `{` without closing it, means JSON documents
//!   (loaded whole, then handed out row by row);
//! - text with a comma in its first line means CSV (streamed);
//! - anything else (binary, other text) is one `Bad` item, never a panic.
//!
//! A UTF-8 byte order mark is dropped and leading blank lines are skipped before deciding.
//! Problems with a whole file (unreadable, unrecognised) are `Bad` items at line 0.
//!
//! Invariants: every byte read from disk is added to the shared byte counter, and the unread
//! rest when a file is dropped early; the sniffed prefix is replayed in front of the stream, so
//! the row parsers see every byte once.

mod body;
mod document;
mod jsonl;
mod portal_csv;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::bufread::MultiGzDecoder;

use crate::decode::event::Origin;
use crate::source::{RAW_LIMIT_BYTES, SourceItem};

/// Items of one file, in file order.
pub(crate) type Items = Box<dyn Iterator<Item = SourceItem> + Send>;

/// Bytes inspected to tell formats apart.
const SNIFF_LIMIT: usize = 64 * 1024;
/// Read buffer per open file.
const BUFFER_BYTES: usize = 64 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UTF8_BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

/// The path of a file as origins show it.
#[derive(Debug, Clone)]
pub(crate) struct FileLabel {
    path: String,
}

impl FileLabel {
    pub(crate) fn new(path: impl Into<String>) -> FileLabel {
        FileLabel { path: path.into() }
    }

    pub(crate) fn origin(&self, line: u64, index: u32) -> Origin {
        Origin::File {
            path: self.path.clone(),
            line,
            index,
        }
    }
}

/// What the start of a file says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Empty,
    JsonLines,
    Documents,
    Csv,
    Binary,
    UnknownText,
}

/// Open a file of `size` bytes and return its items; failures to open become one `Bad` item.
///
/// When the items are dropped, bytes of the file that were never read (an unrecognised file,
/// a read error) are added to `counter`, so progress reaches the total.
pub(crate) fn open(path: &Path, size: u64, counter: Arc<AtomicU64>) -> Items {
    let label = FileLabel::new(path.to_string_lossy());
    let counting = Counting {
        inner: None,
        counter,
        read: 0,
        size,
    };
    match open_reader(path, counting).and_then(sniff) {
        Ok(sniffed) => {
            tracing::debug!(path = %path.display(), kind = ?sniffed.kind, "replay file opened");
            items(sniffed, label)
        }
        Err(e) => {
            let bad = SourceItem::bad(label.origin(0, 0), format!("cannot read file: {e}"), "");
            Box::new(std::iter::once(bad))
        }
    }
}

type Stream = Box<dyn BufRead + Send>;

/// The file's bytes, decompressed if gzip, counted as they are read from disk.
fn open_reader(path: &Path, mut counting: Counting<File>) -> io::Result<Stream> {
    counting.inner = Some(File::open(path)?);
    let mut raw = BufReader::with_capacity(BUFFER_BYTES, counting);
    let head = raw.fill_buf()?;
    if head.starts_with(&GZIP_MAGIC) {
        let gz = MultiGzDecoder::new(raw);
        return Ok(Box::new(BufReader::with_capacity(BUFFER_BYTES, gz)));
    }
    Ok(Box::new(raw))
}

/// The detected kind, the bytes read to detect it, and the rest of the stream.
struct Sniffed {
    kind: Kind,
    prefix: Vec<u8>,
    rest: Stream,
}

impl Sniffed {
    /// The whole stream again, prefix first.
    fn stream(self) -> io::Chain<Cursor<Vec<u8>>, Stream> {
        Cursor::new(self.prefix).chain(self.rest)
    }
}

/// Read up to the first non-blank line (at most [`SNIFF_LIMIT`] bytes) and classify it.
fn sniff(mut rest: Stream) -> io::Result<Sniffed> {
    let mut prefix = Vec::new();
    let kind = loop {
        let start = prefix.len();
        let budget = (SNIFF_LIMIT - start) as u64;
        let n = (&mut rest).take(budget).read_until(b'\n', &mut prefix)?;
        if start == 0 && prefix.starts_with(&UTF8_BOM) {
            prefix.drain(..UTF8_BOM.len());
        }
        let line = &prefix[start.min(prefix.len())..];
        // Without a newline before the limit, the line ended at the end of the stream.
        let complete = line.ends_with(b"\n") || prefix.len() < SNIFF_LIMIT;
        if n == 0 && prefix.trim_ascii().is_empty() {
            break Kind::Empty;
        }
        if !line.trim_ascii().is_empty() || prefix.len() >= SNIFF_LIMIT || n == 0 {
            break classify(&prefix, line, complete);
        }
    };
    Ok(Sniffed { kind, prefix, rest })
}

fn classify(prefix: &[u8], line: &[u8], complete: bool) -> Kind {
    if looks_binary(prefix) {
        return Kind::Binary;
    }
    let line = line.trim_ascii();
    match line.first() {
        Some(b'{') if line.ends_with(b"}") || !complete => Kind::JsonLines,
        Some(b'{') | Some(b'[') => Kind::Documents,
        Some(_) if line.contains(&b',') => Kind::Csv,
        _ => Kind::UnknownText,
    }
}

/// NUL bytes or invalid UTF-8 (other than a character cut at the end of the prefix).
fn looks_binary(prefix: &[u8]) -> bool {
    if prefix.contains(&0) {
        return true;
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => false,
        Err(e) => e.error_len().is_some(),
    }
}

fn items(sniffed: Sniffed, label: FileLabel) -> Items {
    let bad = |label: &FileLabel, reason: &str, raw: &str| -> Items {
        Box::new(std::iter::once(SourceItem::bad(
            label.origin(0, 0),
            reason,
            raw,
        )))
    };
    match sniffed.kind {
        Kind::Empty => Box::new(std::iter::empty()),
        Kind::JsonLines => Box::new(jsonl::JsonLines::new(sniffed.stream(), label)),
        Kind::Documents => document::load(sniffed.stream(), label),
        Kind::Csv => match portal_csv::CsvRows::new(sniffed.stream(), label) {
            Ok(rows) => Box::new(rows),
            Err(bad) => Box::new(std::iter::once(bad)),
        },
        Kind::Binary => bad(&label, "unrecognised input: binary content", ""),
        Kind::UnknownText => {
            let raw = lossy_prefix(&sniffed.prefix);
            bad(
                &label,
                "unrecognised input: not JSON, JSON Lines or CSV",
                &raw,
            )
        }
    }
}

/// Lossy text of at most [`RAW_LIMIT_BYTES`] bytes, for `Bad` items.
pub(super) fn lossy_prefix(bytes: &[u8]) -> String {
    let end = bytes.len().min(RAW_LIMIT_BYTES);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Counts bytes read from disk into a counter shared with the progress display.
struct Counting<R> {
    /// The file; `None` until it is open.
    inner: Option<R>,
    counter: Arc<AtomicU64>,
    /// Bytes read so far.
    read: u64,
    /// Size at discovery; the unread rest is counted on drop.
    size: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(0);
        };
        let n = inner.read(buf)?;
        self.read += n as u64;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R> Drop for Counting<R> {
    fn drop(&mut self) {
        let unread = self.size.saturating_sub(self.read);
        self.counter.fetch_add(unread, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
