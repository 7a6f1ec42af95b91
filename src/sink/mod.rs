//! Sinks: where enriched records, dead letters and audit entries go.

pub mod amqp;
pub mod audit;
pub mod batch;
pub mod cbs;
pub mod columns;
pub mod dead_letter;
pub mod fanout;
pub mod http;
pub mod incidents;
pub mod jsonl;
pub mod kafka;
pub mod logs_ingestion;
pub mod record;
pub mod sample;
pub mod sas;
pub mod setup;
