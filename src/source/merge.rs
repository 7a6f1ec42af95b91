//! K-way event-time merge over replay files, opening storage-export blobs lazily.
//!
//! Main type: [`Merge`]. Each open file contributes one head item to a min-heap keyed by
//! (time, file order, sequence); items without a time sort first, so they leave at once.
//! Files from `y=/m=/d=/h=/m=` folders wait in `pending` until the merge frontier (the earliest
//! head) reaches their folder start, so a month of 5-minute blobs never has more than a
//! folder's worth of files open. Files without a folder time are opened on the first pull.
//! Invariants: exactly one head per open file; a file is closed as soon as it is exhausted.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};

use super::SourceItem;
use super::discover::InputFile;
use super::formats;
use super::reorder::Reorder;

/// Merges the items of many files in event-time order.
pub(crate) struct Merge {
    /// Files not opened yet, earliest folder start first (files without one lead).
    pending: VecDeque<InputFile>,
    /// One head item per open file.
    heads: BinaryHeap<Reverse<Head>>,
    /// Open files by file order.
    open: HashMap<usize, Reorder>,
    /// Per-file reorder buffer size.
    window: usize,
    /// Open files beyond this are reported once (see `start`).
    max_open: usize,
    /// Bytes read from disk, shared with the progress display.
    counter: Arc<AtomicU64>,
    /// Most files open at the same time so far.
    peak_open: usize,
}

struct Head {
    time: Option<DateTime<Utc>>,
    file: usize,
    seq: u64,
    item: SourceItem,
}

impl Head {
    fn key(&self) -> (Option<DateTime<Utc>>, usize, u64) {
        (self.time, self.file, self.seq)
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Head) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl Merge {
    pub(crate) fn new(
        mut files: Vec<InputFile>,
        window: usize,
        max_open: usize,
        counter: Arc<AtomicU64>,
    ) -> Merge {
        files.sort_by_key(|f| (f.start, f.order));
        Merge {
            pending: files.into(),
            heads: BinaryHeap::new(),
            open: HashMap::new(),
            window,
            max_open,
            counter,
            peak_open: 0,
        }
    }

    /// Most files that were open at the same time.
    pub(crate) fn peak_open(&self) -> usize {
        self.peak_open
    }

    /// Open every pending file whose folder start the frontier has reached.
    fn open_due(&mut self) {
        while let Some(file) = self.pending.front() {
            if !self.is_due(file.start) {
                break;
            }
            if let Some(file) = self.pending.pop_front() {
                self.start(file);
            }
        }
    }

    fn is_due(&self, start: Option<DateTime<Utc>>) -> bool {
        let Some(start) = start else {
            return true;
        };
        match self.heads.peek() {
            None => true,
            Some(Reverse(head)) => head.time.is_some_and(|t| start <= t),
        }
    }

    fn start(&mut self, file: InputFile) {
        let items = formats::open(&file.path, file.size, self.counter.clone());
        self.open
            .insert(file.order, Reorder::new(items, self.window));
        if self.open.len() > self.max_open && self.peak_open == self.max_open {
            // TODO: blobs sharing one folder start are opened together even past the limit,
            // so a folder holding more blobs than max_open_files exceeds it; this only warns.
            tracing::warn!(
                open = self.open.len(),
                max_open_files = self.max_open,
                path = %file.path.display(),
                "more replay files open than max_open_files: one export folder holds many blobs"
            );
        }
        self.peak_open = self.peak_open.max(self.open.len());
        self.advance(file.order, 0);
    }

    /// Pull the next item of an open file into the heap, closing the file when it is done.
    fn advance(&mut self, file: usize, seq: u64) {
        let Some(stream) = self.open.get_mut(&file) else {
            return;
        };
        match stream.next() {
            Some(item) => self.heads.push(Reverse(Head {
                time: item.time(),
                file,
                seq,
                item,
            })),
            None => {
                self.open.remove(&file);
                tracing::debug!(file, open = self.open.len(), "replay file finished");
            }
        }
    }
}

impl Iterator for Merge {
    type Item = SourceItem;

    fn next(&mut self) -> Option<SourceItem> {
        self.open_due();
        let Reverse(head) = self.heads.pop()?;
        self.advance(head.file, head.seq + 1);
        Some(head.item)
    }
}
