//! trigger stage.
