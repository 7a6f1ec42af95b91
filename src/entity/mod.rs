//! Entity stage: keys and normalisation, the directory (IdentityInfo, peers), per-entity windows
//! and decayed baselines in a bounded store, and the event-time clock.

pub mod baseline;
pub mod clock;
pub mod directory;
pub mod keys;
pub mod state;
