//! Offset bookkeeping for at-least-once delivery.
//!
//! Every consumed message gets a sequence tag (monotonic within the process). An output waits
//! on the smallest tag of the input it was derived from; the engine reports the smallest tag
//! that may still change an output. The safe tag is the minimum of both: every message with a
//! smaller tag is fully delivered, so per partition the highest such offset + 1 may be stored.
//!
//! Invariants: offsets are stored in consumption order per partition and never go backwards;
//! warm-up messages (below the committed offset at assignment) are never tracked, so they can
//! never move a committed offset back.

use std::collections::{BTreeMap, VecDeque};

/// A topic partition.
pub type Tp = (String, i32);

#[derive(Debug, Default)]
pub struct Ledger {
    /// Consumed, not yet stored: (offset, tag) in consumption order, per partition.
    pending: BTreeMap<Tp, VecDeque<(i64, u64)>>,
    /// Outputs awaiting delivery, counted by the tag they wait on.
    in_flight: BTreeMap<u64, usize>,
    /// The engine's smallest pending tag.
    engine_floor: Option<u64>,
    /// Committed offset at assignment, per partition: messages below it are warm-up.
    warm_until: BTreeMap<Tp, i64>,
    /// A delivery that failed for good; the pipeline stops on it.
    failure: Option<String>,
}

impl Ledger {
    /// A message was consumed (live, not warm-up).
    pub fn consumed(&mut self, tp: Tp, offset: i64, tag: u64) {
        self.pending.entry(tp).or_default().push_back((offset, tag));
    }

    /// Whether a message lies in the warm-up span of its partition.
    pub fn is_warmup(&self, tp: &Tp, offset: i64) -> bool {
        self.warm_until.get(tp).is_some_and(|&c| offset < c)
    }

    /// Mark messages of `tp` below `committed` as warm-up.
    pub fn set_warmup(&mut self, tp: Tp, committed: i64) {
        self.warm_until.insert(tp, committed);
    }

    pub fn sent(&mut self, tag: u64) {
        *self.in_flight.entry(tag).or_default() += 1;
    }

    pub fn acked(&mut self, tag: u64) {
        if let Some(n) = self.in_flight.get_mut(&tag) {
            *n -= 1;
            if *n == 0 {
                self.in_flight.remove(&tag);
            }
        }
    }

    pub fn failed(&mut self, why: String) {
        self.failure.get_or_insert(why);
    }

    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    pub fn set_engine_floor(&mut self, floor: Option<u64>) {
        self.engine_floor = floor;
    }

    /// Outputs not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight.values().sum()
    }

    /// Messages with a smaller tag are fully delivered.
    pub fn safe_tag(&self) -> u64 {
        let flight = self.in_flight.keys().next().copied();
        [self.engine_floor, flight]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(u64::MAX)
    }

    /// The smallest tag not yet stored, or `fallback` when nothing is pending. A dead letter
    /// raised while handling tag `fallback` waits on this, so an older message whose parked row
    /// produced it is never stored early.
    pub fn oldest_unstored(&self, fallback: u64) -> u64 {
        self.pending
            .values()
            .filter_map(|q| q.front().map(|e| e.1))
            .min()
            .unwrap_or(fallback)
            .min(fallback)
    }

    /// Offsets (next offset to read) that may now be stored, per partition.
    pub fn take_storable(&mut self) -> Vec<(Tp, i64)> {
        let safe = self.safe_tag();
        let mut out = Vec::new();
        for (tp, q) in &mut self.pending {
            let mut next = None;
            while q.front().is_some_and(|e| e.1 < safe) {
                next = q.pop_front().map(|e| e.0 + 1);
            }
            if let Some(n) = next {
                out.push((tp.clone(), n));
            }
        }
        out
    }

    /// Forget revoked partitions (their new owner re-reads from the committed offset).
    pub fn revoke(&mut self, tps: &[Tp]) {
        for tp in tps {
            self.pending.remove(tp);
            self.warm_until.remove(tp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> Tp {
        ("in".to_owned(), p)
    }

    #[test]
    fn stores_up_to_the_first_undelivered_output() {
        let mut l = Ledger::default();
        l.consumed(tp(0), 10, 1);
        l.consumed(tp(1), 5, 2);
        l.consumed(tp(0), 11, 3);
        l.sent(2);
        assert_eq!(l.safe_tag(), 2);
        assert_eq!(l.take_storable(), vec![(tp(0), 11)]);
        l.acked(2);
        assert_eq!(l.safe_tag(), u64::MAX);
        assert_eq!(l.take_storable(), vec![(tp(0), 12), (tp(1), 6)]);
        assert!(l.take_storable().is_empty());
    }

    #[test]
    fn engine_floor_holds_back_open_cases() {
        let mut l = Ledger::default();
        for (off, tag) in [(0, 1), (1, 2), (2, 3)] {
            l.consumed(tp(0), off, tag);
        }
        l.set_engine_floor(Some(2));
        l.sent(3);
        assert_eq!(l.take_storable(), vec![(tp(0), 1)]);
        l.set_engine_floor(None);
        assert_eq!(l.take_storable(), vec![(tp(0), 2)]);
        l.acked(3);
        assert_eq!(l.take_storable(), vec![(tp(0), 3)]);
    }

    #[test]
    fn in_flight_counts_and_oldest_unstored() {
        let mut l = Ledger::default();
        l.sent(4);
        l.sent(4);
        assert_eq!(l.in_flight(), 2);
        l.acked(4);
        assert_eq!(l.safe_tag(), 4);
        l.acked(4);
        assert_eq!(l.in_flight(), 0);
        assert_eq!(l.oldest_unstored(9), 9);
        l.consumed(tp(2), 0, 7);
        assert_eq!(l.oldest_unstored(9), 7);
    }

    #[test]
    fn warmup_and_revoke() {
        let mut l = Ledger::default();
        l.set_warmup(tp(0), 100);
        assert!(l.is_warmup(&tp(0), 99));
        assert!(!l.is_warmup(&tp(0), 100));
        assert!(!l.is_warmup(&tp(1), 0));
        l.consumed(tp(0), 100, 1);
        l.revoke(&[tp(0)]);
        assert!(l.take_storable().is_empty());
        assert!(!l.is_warmup(&tp(0), 99));
    }

    #[test]
    fn failure_keeps_the_first_reason() {
        let mut l = Ledger::default();
        l.failed("a".into());
        l.failed("b".into());
        assert_eq!(l.failure(), Some("a"));
    }
}
