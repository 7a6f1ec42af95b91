//! Pipeline: the stateful [`engine::Engine`] shared by every mode, the narration step, and the
//! drivers that feed the engine and deliver what it emits.

mod apply;
pub mod bench;
pub mod engine;
pub mod narration;
pub mod replay;
pub mod run;
mod seen;
pub mod stats;

use crate::config::Config;
use engine::EngineSettings;

/// Engine settings from a validated configuration.
pub fn settings(cfg: &Config) -> EngineSettings {
    EngineSettings {
        tenant: cfg.tenant.clone(),
        window: cfg.window.clone(),
        state: cfg.state.clone(),
        triggers: cfg.triggers.clone(),
        scope: cfg.scope.clone(),
        context: cfg.context.clone(),
    }
}
