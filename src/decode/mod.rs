//! Decoding: export envelopes and rows of each Sentinel table into typed [`event::Decoded`].

pub mod event;
pub mod time;
