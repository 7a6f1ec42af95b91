//! ueba-narrator: turns Microsoft Sentinel UEBA signals into grounded investigation starters.
//!
//! Data flows through the modules in this order (each imports only what lies downstream):
//! `source` (replay files, Kafka) → `decode` (typed records, dead letters) → `entity` (keys,
//! directory, windows, baselines) → `trigger` (rules, coalescing, scope) → `context` (evidence
//! selection) → `narrate` (offline and LLM narrators, validation) → `sink` (outputs). `pipeline`
//! wires the stages; `loadgen` generates tenants for samples and load tests.

pub mod auth;
pub mod cli;
pub mod config;
pub mod context;
pub mod decode;
pub mod entity;
pub mod loadgen;
pub mod narrate;
pub mod pipeline;
pub mod sink;
pub mod source;
pub mod trigger;
