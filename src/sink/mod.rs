//! Sinks: where enriched records, dead letters and audit entries go.

pub mod dead_letter;
pub mod jsonl;
pub mod kafka;
pub mod record;
