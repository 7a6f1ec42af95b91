//! Trigger stage: rules that start cases, coalescing of bursts per entity, and the pilot scope.

pub mod coalesce;
pub mod hit;
pub mod rules;
pub mod scope;
