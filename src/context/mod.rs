//! Context stage: evidence selection, injection screening and the narrator's input types.

pub mod build;
pub mod injection;
pub mod tokenize;
pub mod types;
