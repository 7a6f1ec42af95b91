//! Configuration: a TOML file plus `UEBA__SECTION__KEY` environment overrides, converted once
//! into a validated [`Config`]. Unknown keys are rejected and every problem is reported at once.
//!
//! Precedence: built-in defaults < file < environment < command-line flags (applied by the CLI).

pub mod engine;
pub mod kafka;

use std::fmt;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use toml::Table;

use engine::{ContextConfig, ScopeConfig, StateConfig, TriggerConfig, WindowConfig};
use kafka::{KafkaConfig, OpsConfig};

/// Narrator settings shared by all modes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NarratorConfig {
    /// `offline` (default) or `llm`.
    pub kind: String,
    /// `tier1` or `hunter`.
    pub audience: String,
    /// `audit` (records only) or `active`.
    pub mode: String,
}

impl Default for NarratorConfig {
    fn default() -> Self {
        NarratorConfig {
            kind: "offline".into(),
            audience: "tier1".into(),
            mode: "audit".into(),
        }
    }
}

/// The whole validated configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub tenant: String,
    pub window: WindowConfig,
    pub state: StateConfig,
    pub triggers: TriggerConfig,
    pub scope: ScopeConfig,
    pub context: ContextConfig,
    pub narrator: NarratorConfig,
    pub kafka: KafkaConfig,
    pub ops: OpsConfig,
    /// LLM narrator settings (used when `narrator.kind = "llm"`).
    pub llm: crate::narrate::llm::config::LlmConfig,
    pub logs_ingestion: crate::sink::logs_ingestion::LogsIngestionConfig,
    pub amqp: crate::sink::amqp::AmqpConfig,
    pub sentinel: crate::sink::incidents::SentinelConfig,
    pub auth: crate::auth::AuthConfig,
    pub delivery: crate::sink::setup::DeliveryConfig,
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({} problem(s)):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

const SECTIONS: &[&str] = &[
    "window",
    "state",
    "triggers",
    "scope",
    "context",
    "narrator",
    "kafka",
    "ops",
    "llm",
    "logs_ingestion",
    "amqp",
    "sentinel",
    "auth",
    "delivery",
];

/// Load from an optional file and the process environment.
pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
    let text = match path {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading config {}", p.display()))?
        }
        None => String::new(),
    };
    Ok(from_sources(&text, std::env::vars())?)
}

/// Build a config from TOML text and `(name, value)` environment pairs.
pub fn from_sources(
    text: &str,
    env: impl Iterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    let mut problems = Vec::new();
    let mut table: Table = match text.parse() {
        Ok(t) => t,
        Err(e) => return Err(ConfigErrors(vec![format!("config file: {e}")])),
    };
    apply_env(&mut table, env, &mut problems);
    let mut cfg = Config::default();
    for (key, value) in table {
        match key.as_str() {
            "tenant" => match value.as_str() {
                Some(s) => cfg.tenant = s.to_owned(),
                None => problems.push("tenant: expected a string".into()),
            },
            "window" => section(value, &mut cfg.window, &key, &mut problems),
            "state" => section(value, &mut cfg.state, &key, &mut problems),
            "triggers" => section(value, &mut cfg.triggers, &key, &mut problems),
            "scope" => section(value, &mut cfg.scope, &key, &mut problems),
            "context" => section(value, &mut cfg.context, &key, &mut problems),
            "narrator" => section(value, &mut cfg.narrator, &key, &mut problems),
            "kafka" => section(value, &mut cfg.kafka, &key, &mut problems),
            "ops" => section(value, &mut cfg.ops, &key, &mut problems),
            "llm" => section(value, &mut cfg.llm, &key, &mut problems),
            "logs_ingestion" => section(value, &mut cfg.logs_ingestion, &key, &mut problems),
            "amqp" => section(value, &mut cfg.amqp, &key, &mut problems),
            "sentinel" => section(value, &mut cfg.sentinel, &key, &mut problems),
            "auth" => section(value, &mut cfg.auth, &key, &mut problems),
            "delivery" => section(value, &mut cfg.delivery, &key, &mut problems),
            other => problems.push(format!("unknown section or key `{other}`")),
        }
    }
    check(&cfg, &mut problems);
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(problems))
    }
}

fn section<T: for<'de> Deserialize<'de>>(
    value: toml::Value,
    slot: &mut T,
    name: &str,
    problems: &mut Vec<String>,
) {
    match value.try_into::<T>() {
        Ok(v) => *slot = v,
        Err(e) => problems.push(format!("[{name}]: {}", e.message().trim())),
    }
}

/// `UEBA__WINDOW__DEBOUNCE_SECS=600` sets `[window] debounce_secs = 600`. Values parse as TOML
/// (numbers, booleans, arrays) and fall back to a plain string.
fn apply_env(
    table: &mut Table,
    env: impl Iterator<Item = (String, String)>,
    problems: &mut Vec<String>,
) {
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("UEBA__") else {
            continue;
        };
        let parts: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        let value = parse_env_value(&raw);
        match parts.as_slice() {
            [key] if key == "tenant" => {
                table.insert(key.clone(), value);
            }
            [section, key] if SECTIONS.contains(&section.as_str()) => {
                let entry = table
                    .entry(section.clone())
                    .or_insert_with(|| toml::Value::Table(Table::new()));
                match entry.as_table_mut() {
                    Some(t) => {
                        t.insert(key.clone(), value);
                    }
                    None => {
                        problems.push(format!("{name}: [{section}] is not a table in the file"))
                    }
                }
            }
            _ => problems.push(format!("{name}: not a known UEBA__SECTION__KEY setting")),
        }
    }
}

fn parse_env_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match doc.parse::<Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_owned())),
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

fn check(cfg: &Config, problems: &mut Vec<String>) {
    let w = &cfg.window;
    let positive = [
        ("window.window_secs", w.window_secs),
        ("window.debounce_secs", w.debounce_secs),
        ("window.max_wait_secs", w.max_wait_secs),
        ("window.max_skew_secs", w.max_skew_secs),
    ];
    for (name, v) in positive {
        if v <= 0 {
            problems.push(format!("{name} must be positive, got {v}"));
        }
    }
    if w.max_wait_secs < w.window_secs {
        problems.push("window.max_wait_secs must be at least window.window_secs".into());
    }
    if w.allowed_lateness_secs < 0 {
        problems.push("window.allowed_lateness_secs must not be negative".into());
    }
    if cfg.triggers.ueba_priority_min > 10 {
        problems.push("triggers.ueba_priority_min must be 0..=10".into());
    }
    if !(0.0..=1.0).contains(&cfg.triggers.anomaly_score_min) {
        problems.push("triggers.anomaly_score_min must be within 0..=1".into());
    }
    if cfg.state.half_life_days <= 0.0 {
        problems.push("state.half_life_days must be positive".into());
    }
    crate::sink::setup::check(&cfg.delivery, problems);
    if cfg.context.max_evidence == 0 {
        problems.push("context.max_evidence must be at least 1".into());
    }
    let choices = [
        (
            "narrator.kind",
            cfg.narrator.kind.as_str(),
            &["offline", "llm"][..],
        ),
        (
            "narrator.audience",
            cfg.narrator.audience.as_str(),
            &["tier1", "hunter"][..],
        ),
        (
            "narrator.mode",
            cfg.narrator.mode.as_str(),
            &["audit", "active"][..],
        ),
    ];
    for (name, v, allowed) in choices.into_iter().chain(cfg.kafka.choices()) {
        if !allowed.contains(&v) {
            problems.push(format!("{name} must be one of {allowed:?}, got `{v}`"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn file_then_env_overrides() {
        let text = "[window]\ndebounce_secs = 600\n[scope]\nusers = [\"a@contoso.com\"]\n";
        let cfg = from_sources(
            text,
            env(&[
                ("UEBA__WINDOW__DEBOUNCE_SECS", "900"),
                ("UEBA__NARRATOR__AUDIENCE", "hunter"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.window.debounce_secs, 900);
        assert_eq!(cfg.window.window_secs, 900);
        assert_eq!(cfg.scope.users, vec!["a@contoso.com".to_string()]);
        assert_eq!(cfg.narrator.audience, "hunter");
    }

    #[test]
    fn llm_section_from_file_and_env() {
        use crate::narrate::llm::config::Provider;
        let text = "[narrator]\nkind = \"llm\"\n[llm]\nprovider = \"azure_v1\"\n\
                    endpoint = \"https://r.openai.azure.com\"\n";
        let cfg = from_sources(
            text,
            env(&[
                ("UEBA__LLM__DEPLOYMENT", "gpt-4o"),
                ("UEBA__LLM__TOKENS_PER_MINUTE", "90000"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.narrator.kind, "llm");
        assert_eq!(cfg.llm.provider, Provider::AzureV1);
        assert_eq!(cfg.llm.endpoint, "https://r.openai.azure.com");
        assert_eq!(cfg.llm.deployment, "gpt-4o");
        assert_eq!(cfg.llm.tokens_per_minute, 90_000);
        assert_eq!(cfg.llm.requests_per_minute, 60);
    }

    #[test]
    fn delivery_sections_parse_and_env_overrides_nested_keys() {
        let text = "[logs_ingestion]\nendpoint = \"https://dce.example\"\n\
                    dcr_immutable_id = \"dcr-1\"\n\
                    [sentinel]\nsubscription_id = \"s\"\n\
                    [sentinel.alert_incidents]\na1 = \"inc-1\"\n\
                    [auth]\ncredential = \"managed_identity\"\n";
        let cfg = from_sources(
            text,
            env(&[
                ("UEBA__AMQP__ADDRESS", "/queue/out"),
                ("UEBA__LOGS_INGESTION__GZIP", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.logs_ingestion.endpoint, "https://dce.example");
        assert!(!cfg.logs_ingestion.gzip);
        assert_eq!(cfg.logs_ingestion.stream, "Custom-UEBA_AI_Context");
        assert_eq!(cfg.amqp.address, "/queue/out");
        assert_eq!(cfg.sentinel.alert_incidents["a1"], "inc-1");
        assert_eq!(
            cfg.auth.credential,
            crate::auth::CredentialKind::ManagedIdentity
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text =
            "[window]\ndebounce_sec = 1\n[triggers]\nueba_priority_min = 11\n[bogus]\nx = 1\n";
        let err = from_sources(
            text,
            env(&[("UEBA__NARRATOR__MODE", "destroy"), ("UEBA__NOPE", "1")]),
        )
        .unwrap_err();
        let all = err.to_string();
        assert_eq!(err.0.len(), 5, "{all}");
        assert!(all.contains("debounce_sec"), "{all}");
        assert!(all.contains("ueba_priority_min"), "{all}");
        assert!(all.contains("bogus"), "{all}");
        assert!(all.contains("destroy"), "{all}");
        assert!(all.contains("UEBA__NOPE"), "{all}");
    }
}
