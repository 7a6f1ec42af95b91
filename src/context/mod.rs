//! Context building: evidence selection and the narrator's input types.

pub mod types;
