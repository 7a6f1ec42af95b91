//! Replay of historical Sentinel exports from files and directories, in event-time order.
//!
//! Main items: [`open_replay`], [`Replay`] (an iterator of [`SourceItem`]) and
//! [`ReplayOptions`]. Formats are detected by content (see the `formats` module); files are merged
//! by `TimeGenerated` with a bounded reorder buffer per file; storage-export blobs are opened
//! only when the merge reaches their folder's start time, so memory and open files stay bounded
//! however long the replayed period.
//!
//! Invariants: the same input gives the same item order on every run and machine; disorder
//! longer than the reorder window is passed through (downstream handles lateness); rows without
//! a usable time leave without delay.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::{Result, bail, ensure};

use super::SourceItem;
use super::discover::discover;
use super::merge::Merge;

/// How a replay buffers and opens files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Records each file may hold back to fix local disorder before the merge (0 = file order).
    pub reorder_window: usize,
    /// At most this many files open at once.
    pub max_open_files: usize,
}

impl Default for ReplayOptions {
    fn default() -> ReplayOptions {
        ReplayOptions {
            reorder_window: 4096,
            max_open_files: 256,
        }
    }
}

/// Items of all replayed files, merged in event-time order.
pub struct Replay {
    merge: Merge,
    /// Size on disk of every input file.
    total_bytes: u64,
    /// Bytes read from disk so far; shared with whoever draws progress.
    consumed: Arc<AtomicU64>,
    files: usize,
}

/// Find the files under `paths` and prepare their merge.
///
/// Fails when a path cannot be read, or when more files than `max_open_files` lack a
/// storage-export folder time (those must all be open at once to be merged).
pub fn open_replay(paths: &[PathBuf], opts: &ReplayOptions) -> Result<Replay> {
    ensure!(!paths.is_empty(), "no replay input given");
    let files = discover(paths)?;
    let unbucketed = files.iter().filter(|f| f.start.is_none()).count();
    if unbucketed > opts.max_open_files {
        bail!(
            "{unbucketed} replay files lack a storage-export folder time (y=/m=/d=/h=/m=) and \
             would all be open at once, more than max_open_files = {}; split the input into \
             smaller replays (for example one per day) or raise max_open_files",
            opts.max_open_files
        );
    }
    let total_bytes = files.iter().map(|f| f.size).sum();
    let count = files.len();
    if count == 0 {
        tracing::warn!(?paths, "replay input holds no files");
    }
    tracing::info!(
        files = count,
        unbucketed,
        total_bytes,
        reorder_window = opts.reorder_window,
        "replay input found"
    );
    let consumed = Arc::new(AtomicU64::new(0));
    Ok(Replay {
        merge: Merge::new(
            files,
            opts.reorder_window,
            opts.max_open_files,
            consumed.clone(),
        ),
        total_bytes,
        consumed,
        files: count,
    })
}

impl Replay {
    /// Size on disk of all input files (compressed size for gzip), for a progress bar.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Bytes read from disk so far; reaches [`Replay::total_bytes`] when the replay ends.
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.consumed.clone()
    }

    /// Number of input files found.
    pub fn files(&self) -> usize {
        self.files
    }

    /// Most files that were open at the same time so far.
    pub fn peak_open_files(&self) -> usize {
        self.merge.peak_open()
    }
}

impl Iterator for Replay {
    type Item = SourceItem;

    fn next(&mut self) -> Option<SourceItem> {
        self.merge.next()
    }
}

#[cfg(test)]
mod tests;
