//! Narrators (offline, LLM) and output validation.
//!
//! Every narrator turns a [`crate::context::types::CaseContext`] into a
//! [`schema::Narrative`]; [`validate`] checks it against the JSON schema, the context and the
//! [`catalog`]s before it leaves the process. [`Audience`] selects the variant of the text:
//! tier-1 triage (short, action first) or threat hunter (more queries and pivots).

pub mod catalog;
pub mod kql;
pub mod llm;
pub mod offline;
pub mod schema;
mod trim;
pub mod validate;

use serde::{Deserialize, Serialize};

/// Who reads the narrative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Tier-1 triage: short, action first.
    Tier1,
    /// Threat hunter: more queries, pivots and context.
    Hunter,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Tier1 => "tier1",
            Audience::Hunter => "hunter",
        }
    }
}
