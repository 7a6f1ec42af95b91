//! Wiring of the stages.
