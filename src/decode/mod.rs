//! Decoding: export envelopes and rows of each Sentinel table into typed [`event::Decoded`].

pub mod event;
pub mod time;

// Interim stubs until the decoders land.
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadReason {
    NotAnObject,
    InvalidJson,
    MissingType,
    MissingTime,
    InvalidTime,
    MissingEntity,
    InvalidField,
}

impl DeadReason {
    pub fn as_str(self) -> &'static str {
        "stub"
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason:?}: {detail}")]
pub struct DecodeError {
    pub reason: DeadReason,
    pub detail: String,
}

pub enum Outcome {
    Decoded(event::Decoded),
    Ignored { type_name: String },
}

pub fn decode_record(
    _fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<Outcome, DecodeError> {
    Err(DecodeError {
        reason: DeadReason::InvalidField,
        detail: String::new(),
    })
}

pub mod fields {
    pub fn parse_ip(_s: &str) -> Option<std::net::IpAddr> {
        None
    }
}
