//! Shared pieces of the delivery tests: real narrated records, and contract-checking HTTP peers
//! for the Logs Ingestion API and the Sentinel REST API on 127.0.0.1:0.
#![allow(dead_code)]

#[path = "../narrate_fixtures/mod.rs"]
mod narrate_fixtures;

pub mod ingestion_peer;
pub mod sentinel_peer;

use ueba_narrator::config::Config;
use ueba_narrator::pipeline::narration::Narration;
use ueba_narrator::pipeline::stats::Stats;
use ueba_narrator::sink::record::OutputRecord;

/// `n` distinct records narrated by the offline narrator from the fixture contexts.
pub fn records(n: usize, mode: &str) -> Vec<OutputRecord> {
    let mut narration = Narration::from_config(&Config::default()).expect("offline narrator");
    let mut stats = Stats::default();
    let bases = [
        narrate_fixtures::new_country_sensitive,
        narrate_fixtures::risky_forwarding,
        narrate_fixtures::bulk_download,
        narrate_fixtures::role_assigned,
        narrate_fixtures::dormant,
        narrate_fixtures::impossible_travel,
    ];
    (0..n)
        .map(|i| {
            let mut ctx = bases[i % bases.len()]();
            ctx.window_id = format!("{}-{i}", ctx.window_id);
            narration.narrate(&ctx, mode, &mut stats)
        })
        .collect()
}

/// Record ids in order.
pub fn ids(records: &[OutputRecord]) -> Vec<String> {
    records.iter().map(|r| r.record_id.clone()).collect()
}
