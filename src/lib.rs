//! ueba-narrator: turns Microsoft Sentinel UEBA signals into grounded investigation starters.
//!
//! Data flows through the modules in this order, each stage handing its output types to the
//! next: `source` (replay files, Kafka) → `decode` (typed records, dead letters) → `entity`
//! (keys, directory, windows, baselines) → `trigger` (rules, coalescing, scope) → `context`
//! (evidence selection) → `narrate` (offline and LLM narrators, validation) → `sink` (outputs).
//! Only `pipeline` drives stages; `loadgen` generates tenants for samples and load tests.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod auth;
pub mod cli;
pub mod config;
pub mod context;
pub mod decode;
pub mod entity;
pub mod loadgen;
pub mod mockllm;
pub mod narrate;
pub mod ops;
pub mod pipeline;
pub mod sink;
pub mod source;
pub mod trigger;
