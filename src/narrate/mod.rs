//! Narrators (offline, LLM) and output validation.

pub mod schema;
