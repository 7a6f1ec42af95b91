//! loadgen stage.
