//! Counters of everything the pipeline did, reported in the replay summary and as metrics.

use std::collections::BTreeMap;

use serde::Serialize;

/// Run totals. Maps are keyed by table, reason or trigger name (sorted, for stable reports).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Rows read, by their `Type` (or `(none)`).
    pub records_read: BTreeMap<String, u64>,
    pub decoded: u64,
    /// Rows of tables the product does not use, by `Type`.
    pub ignored_types: BTreeMap<String, u64>,
    /// Dead letters by reason.
    pub dead_letters: BTreeMap<String, u64>,
    /// Lenient-parse warnings by kind (`naive_timestamp`, `parse_warning:LocationDetails`...).
    pub parse_warnings: BTreeMap<String, u64>,
    pub duplicates_dropped: u64,
    /// Records behind the watermark by more than the allowed lateness.
    pub late_records: u64,
    /// Records too far ahead of the watermark or the wall clock (parked, never allowed to move
    /// the watermark; processed once time caught up or at the end).
    pub clock_skew: u64,
    /// Activity rows with no user identity.
    pub unattributed: u64,
    pub identity_updates: u64,
    pub peer_rows: u64,
    pub triggers: BTreeMap<String, u64>,
    /// Triggers folded into a case another trigger had opened.
    pub coalesced: u64,
    pub cases: u64,
    pub revisions: u64,
    pub out_of_scope: u64,
    pub narratives: u64,
    /// Narratives by generator (`offline`, `llm`, `fallback`).
    pub generators: BTreeMap<String, u64>,
    pub validation_repairs: u64,
}

impl Stats {
    pub fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
        match map.get_mut(key) {
            Some(v) => *v += 1,
            None => {
                map.insert(key.to_owned(), 1);
            }
        }
    }

    pub fn total_read(&self) -> u64 {
        self.records_read.values().sum()
    }

    pub fn total_dead(&self) -> u64 {
        self.dead_letters.values().sum()
    }

    pub fn total_triggers(&self) -> u64 {
        self.triggers.values().sum()
    }
}
