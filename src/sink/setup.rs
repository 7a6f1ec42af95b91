//! Building the configured outputs: `[delivery] sinks` (or `--sink`) names which of the Azure
//! outputs run, and [`build_fanout`] turns the config into a [`FanOut`]. [`BlockingFanOut`] lets
//! the synchronous replay driver deliver through the async sinks.
//!
//! Incident comments and watchlist items only run in `active` mode; asked for in `audit` mode
//! they are skipped with a warning, because audit mode writes records only.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::auth::{TokenProvider, provider_from_config};
use crate::config::Config;
use crate::sink::amqp::{AmqpAuthKind, AmqpSink};
use crate::sink::fanout::{FanOut, FanOutReport, Sink};
use crate::sink::incidents::IncidentSink;
use crate::sink::logs_ingestion::LogsIngestionSink;
use crate::sink::record::OutputRecord;

/// Names accepted in `[delivery] sinks` and `--sink`.
pub const SINK_NAMES: &[&str] = &["logs-ingestion", "amqp", "incidents"];

/// The `[delivery]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Outputs besides JSON Lines: `logs-ingestion`, `amqp`, `incidents`.
    pub sinks: Vec<String>,
    /// Records handed to the sinks at a time.
    pub batch_records: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            sinks: Vec::new(),
            batch_records: 500,
        }
    }
}

/// `logs_ingestion` and `logs-ingestion` are the same sink.
pub fn normalise(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}

/// Problems with `[delivery]`, for config validation.
pub fn check(cfg: &DeliveryConfig, problems: &mut Vec<String>) {
    for s in &cfg.sinks {
        if !SINK_NAMES.contains(&normalise(s).as_str()) {
            problems.push(format!(
                "delivery.sinks: unknown sink `{s}` (known: {SINK_NAMES:?})"
            ));
        }
    }
    if cfg.batch_records == 0 {
        problems.push("delivery.batch_records must be at least 1".into());
    }
}

/// The fan-out over every configured sink (empty when none is configured).
pub fn build_fanout(cfg: &Config) -> anyhow::Result<FanOut> {
    let mut tokens: Option<Arc<dyn TokenProvider>> = None;
    let mut provider = || -> anyhow::Result<Arc<dyn TokenProvider>> {
        if let Some(t) = &tokens {
            return Ok(t.clone());
        }
        let t = provider_from_config(&cfg.auth)?;
        tokens = Some(t.clone());
        Ok(t)
    };
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let mut names: Vec<String> = cfg.delivery.sinks.iter().map(|s| normalise(s)).collect();
    names.dedup();
    for name in names {
        match name.as_str() {
            "logs-ingestion" => sinks.push(Box::new(LogsIngestionSink::new(
                &cfg.logs_ingestion,
                provider()?,
            )?)),
            "amqp" => {
                let t = match cfg.amqp.auth {
                    AmqpAuthKind::CbsJwt => Some(provider()?),
                    _ => None,
                };
                sinks.push(Box::new(AmqpSink::new(&cfg.amqp, t)?));
            }
            "incidents" if cfg.narrator.mode != "active" => {
                tracing::warn!("incident comments need narrator.mode = \"active\"; skipped");
            }
            "incidents" => sinks.push(Box::new(IncidentSink::new(&cfg.sentinel, provider()?)?)),
            other => anyhow::bail!("unknown sink `{other}` (known: {SINK_NAMES:?})"),
        }
    }
    Ok(FanOut::new(sinks))
}

/// A fan-out driven from synchronous code on its own small runtime (which also keeps AMQP
/// connections serviced between batches).
pub struct BlockingFanOut {
    rt: tokio::runtime::Runtime,
    fan: FanOut,
}

impl BlockingFanOut {
    pub fn new(fan: FanOut) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sink")
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("starting the sink runtime: {e}"))?;
        Ok(BlockingFanOut { rt, fan })
    }

    pub fn names(&self) -> Vec<String> {
        self.fan.names()
    }

    pub fn deliver(&self, records: &[OutputRecord]) -> FanOutReport {
        self.rt.block_on(self.fan.deliver(records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sink_is_a_config_problem() {
        let mut p = Vec::new();
        let cfg = DeliveryConfig {
            sinks: vec!["logs_ingestion".into(), "kafka-ish".into()],
            batch_records: 0,
        };
        check(&cfg, &mut p);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("kafka-ish"));
    }

    #[test]
    fn incidents_are_skipped_in_audit_mode() {
        let mut cfg = Config::default();
        cfg.delivery.sinks = vec!["incidents".into()];
        cfg.auth.static_token = Some("t".into());
        let fan = build_fanout(&cfg).unwrap();
        assert!(fan.is_empty());
    }

    #[test]
    fn configured_sinks_are_built_in_order() {
        let mut cfg = Config::default();
        cfg.narrator.mode = "active".into();
        cfg.auth.static_token = Some("t".into());
        cfg.delivery.sinks = vec!["amqp".into(), "logs_ingestion".into(), "incidents".into()];
        cfg.amqp.url = "amqp://127.0.0.1:5672".into();
        cfg.amqp.address = "/queue/q".into();
        cfg.logs_ingestion.endpoint = "http://127.0.0.1:9".into();
        cfg.logs_ingestion.dcr_immutable_id = "dcr-1".into();
        cfg.sentinel.subscription_id = "s".into();
        cfg.sentinel.resource_group = "r".into();
        cfg.sentinel.workspace_name = "w".into();
        let fan = build_fanout(&cfg).unwrap();
        assert_eq!(fan.names(), vec!["amqp", "logs_ingestion", "incidents"]);
    }
}
