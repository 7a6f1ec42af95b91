//! entity stage.
