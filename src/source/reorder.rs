//! A bounded per-file reorder buffer that fixes local disorder before the merge.
//!
//! Main type: [`Reorder`]. It holds back up to `window` timed records and releases the earliest
//! (ties in file order) whenever one more arrives, so disorder shorter than the window comes out
//! sorted and longer disorder passes through. Items without a time (bad input, rows without a
//! usable `TimeGenerated`) are released at once, never held.
//! Invariants: at most `window` items are held; every input item comes out exactly once.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::SourceItem;
use super::formats::Items;

/// A file's items with local disorder fixed.
pub(crate) struct Reorder {
    inner: Items,
    /// Most items held back; 0 keeps file order.
    window: usize,
    /// Held items sorted by (time, read position). Exports are mostly in order, so most
    /// arrivals append at the back and the earliest leaves from the front, both O(1).
    held: VecDeque<Held>,
    /// Read position, to keep equal times in file order.
    seq: u64,
    exhausted: bool,
}

struct Held {
    time: DateTime<Utc>,
    seq: u64,
    /// Boxed so that reordering moves a pointer, not a whole row.
    item: Box<SourceItem>,
}

impl Held {
    fn key(&self) -> (DateTime<Utc>, u64) {
        (self.time, self.seq)
    }
}

impl Reorder {
    pub(crate) fn new(inner: Items, window: usize) -> Reorder {
        Reorder {
            inner,
            window,
            held: VecDeque::with_capacity(window.min(64 * 1024) + 1),
            seq: 0,
            exhausted: false,
        }
    }

    fn hold(&mut self, time: DateTime<Utc>, item: SourceItem) {
        self.seq += 1;
        let held = Held {
            time,
            seq: self.seq,
            item: Box::new(item),
        };
        let key = held.key();
        if self.held.back().is_none_or(|last| last.key() <= key) {
            self.held.push_back(held);
        } else {
            let at = self.held.partition_point(|h| h.key() <= key);
            self.held.insert(at, held);
        }
    }
}

impl Iterator for Reorder {
    type Item = SourceItem;

    fn next(&mut self) -> Option<SourceItem> {
        while !self.exhausted && self.held.len() <= self.window {
            let Some(item) = self.inner.next() else {
                self.exhausted = true;
                break;
            };
            match item.time() {
                Some(time) => self.hold(time, item),
                None => return Some(item),
            }
        }
        self.held.pop_front().map(|h| *h.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::Origin;
    use crate::source::RawRecord;
    use serde_json::{Map, Value};

    /// Records with `TimeGenerated` at the given minutes past 09:00 (negative: no time).
    fn items(minutes: &[i64]) -> Items {
        let items: Vec<SourceItem> = minutes
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut fields = Map::new();
                fields.insert("Id".into(), Value::from(i));
                if *m >= 0 {
                    let t = format!("2025-03-04T09:{m:02}:00Z");
                    fields.insert("TimeGenerated".into(), Value::String(t));
                }
                let origin = Origin::File {
                    path: "f".into(),
                    line: i as u64 + 1,
                    index: 0,
                };
                SourceItem::Record(RawRecord::new(fields, origin))
            })
            .collect();
        Box::new(items.into_iter())
    }

    fn order(minutes: &[i64], window: usize) -> Vec<u64> {
        Reorder::new(items(minutes), window)
            .map(|item| match item {
                SourceItem::Record(r) => r.fields["Id"].as_u64().unwrap_or(u64::MAX),
                SourceItem::Bad { .. } => u64::MAX,
            })
            .collect()
    }

    #[test]
    fn window_fixes_small_disorder_keeping_ties_in_file_order() {
        // minutes:        0  1  2  3  4  5  6
        let minutes = [1, 3, 2, 2, 0, 5, 4];
        assert_eq!(order(&minutes, 4), [4, 0, 2, 3, 1, 6, 5]);
    }

    #[test]
    fn window_zero_keeps_file_order() {
        assert_eq!(order(&[3, 1, 2], 0), [0, 1, 2]);
    }

    #[test]
    fn disorder_beyond_the_window_passes_through() {
        // The row at minute 0 arrives three rows late; a window of 1 cannot pull it forward.
        assert_eq!(order(&[1, 2, 3, 0], 1), [0, 1, 3, 2]);
    }

    #[test]
    fn rows_without_time_are_not_held() {
        // Row 2 has no time: it comes out as soon as it is read, ahead of held rows.
        assert_eq!(order(&[5, 4, -1, 3], 8), [2, 3, 1, 0]);
    }
}
