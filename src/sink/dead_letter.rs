//! Dead letters: input the pipeline could not use, with the reason and where it came from.
//!
//! A dead letter carries the reason code, a human-readable detail, the source coordinates
//! (file and line, or topic, partition and offset) and the raw input, so nothing is lost and an
//! operator can replay it after a fix.

use serde::Serialize;

use crate::decode::event::Origin;

/// Largest raw payload kept in a dead letter.
pub const MAX_RAW_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// Stable reason code (`missing_time`, `invalid_json`, `unattributed`, `late_record`...).
    pub reason: String,
    pub detail: String,
    pub origin: Origin,
    /// The input as received (truncated to [`MAX_RAW_BYTES`]).
    pub raw: String,
}

impl DeadLetter {
    pub fn new(
        reason: &str,
        detail: impl Into<String>,
        origin: Origin,
        raw: impl Into<String>,
    ) -> Self {
        let mut raw = raw.into();
        if raw.len() > MAX_RAW_BYTES {
            let mut cut = MAX_RAW_BYTES;
            while !raw.is_char_boundary(cut) {
                cut -= 1;
            }
            raw.truncate(cut);
        }
        DeadLetter {
            reason: reason.to_owned(),
            detail: detail.into(),
            origin,
            raw,
        }
    }
}
