//! Settings of the streaming mode: the `[kafka]` section (broker, topics, security profile,
//! offsets, backpressure, warm-up) and the `[ops]` section (health and metrics endpoint).
//!
//! Secrets (the Event Hubs connection string) are held in [`Secret`], which never prints or
//! serialises its value. Durations carry their unit in the field name.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string: `Debug`, `Display` and `Serialize` show `***`.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for handing to the client library only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
}

/// `[kafka]`: where `run` reads export messages and writes records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// `local` (plaintext broker) or `eventhubs` (SASL_SSL with the Event Hubs settings).
    pub profile: String,
    /// `host:port[,host:port]`; for Event Hubs `<namespace>.servicebus.windows.net:9093`.
    pub bootstrap: String,
    /// Input topics: one hub per table (`am-SigninLogs`...) or one hub with many tables.
    pub topics: Vec<String>,
    pub group_id: String,
    /// Output records go here (key = entity key).
    pub output_topic: String,
    /// Dead letters go here.
    pub dead_letter_topic: String,
    /// `connection_string` (SASL PLAIN) or `entra` (OAUTHBEARER); ignored by `local`.
    pub auth: String,
    /// Event Hubs connection string (`Endpoint=sb://...`), for `auth = "connection_string"`.
    pub connection_string: Secret,
    /// `managed_identity`, `workload_identity` or `developer_tools`, for `auth = "entra"`.
    pub credential: String,
    /// Client id of a user-assigned managed identity (empty: system-assigned).
    pub managed_identity_client_id: String,
    /// Token scope; empty means `https://<namespace>.servicebus.windows.net/.default`.
    pub token_scope: String,
    /// `earliest` or `latest`: where a group without committed offsets starts.
    pub auto_offset_reset: String,
    /// Consumer session timeout (Event Hubs accepts 6000..=300000).
    pub session_timeout_ms: u32,
    /// Stored offsets are committed this often.
    pub commit_interval_ms: u32,
    /// How long a rebalance or shutdown waits for in-flight outputs; below the session timeout.
    pub drain_deadline_ms: u64,
    /// Outputs awaiting acknowledgement before the consumer pauses its partitions.
    pub max_in_flight: usize,
    /// Period of the processing-time tick.
    pub tick_ms: u64,
    /// The tick moves the event-time watermark to wall clock minus this grace.
    pub tick_grace_secs: i64,
    /// After this long without any input, every open case is closed (0: never).
    pub idle_flush_secs: u64,
    /// Messages per partition re-read before the committed offset at startup to rebuild
    /// state (0: no warm-up). Cases that close during warm-up are not emitted again.
    pub warmup_messages: i64,
    /// Extra librdkafka settings, applied last.
    pub librdkafka: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            profile: "local".into(),
            bootstrap: "127.0.0.1:9092".into(),
            topics: Vec::new(),
            group_id: "ueba-narrator".into(),
            output_topic: "ueba-narratives".into(),
            dead_letter_topic: "ueba-dead-letters".into(),
            auth: "connection_string".into(),
            connection_string: Secret::default(),
            credential: "managed_identity".into(),
            managed_identity_client_id: String::new(),
            token_scope: String::new(),
            auto_offset_reset: "earliest".into(),
            // The Event Hubs recommendation (librdkafka's default is 45000).
            session_timeout_ms: 30_000,
            commit_interval_ms: 5_000,
            drain_deadline_ms: 20_000,
            max_in_flight: 1_000,
            tick_ms: 1_000,
            tick_grace_secs: 60,
            idle_flush_secs: 0,
            warmup_messages: 0,
            librdkafka: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    /// Problems that make `run` impossible; empty when the section is usable.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.bootstrap.trim().is_empty() {
            p.push("kafka.bootstrap must be set".to_owned());
        }
        if self.topics.is_empty() {
            p.push("kafka.topics must name at least one topic".to_owned());
        }
        for (name, v) in [
            ("kafka.group_id", &self.group_id),
            ("kafka.output_topic", &self.output_topic),
            ("kafka.dead_letter_topic", &self.dead_letter_topic),
        ] {
            if v.trim().is_empty() {
                p.push(format!("{name} must not be empty"));
            }
        }
        if self.profile == "eventhubs"
            && self.auth == "connection_string"
            && self.connection_string.is_empty()
        {
            p.push("kafka.connection_string is required for auth = \"connection_string\"".into());
        }
        if self.drain_deadline_ms >= u64::from(self.session_timeout_ms) {
            p.push("kafka.drain_deadline_ms must be below kafka.session_timeout_ms".into());
        }
        if self.max_in_flight == 0 {
            p.push("kafka.max_in_flight must be at least 1".into());
        }
        p
    }

    /// The allowed values of the enumerated settings.
    pub fn choices(&self) -> [(&'static str, &str, &'static [&'static str]); 4] {
        [
            ("kafka.profile", &self.profile, &["local", "eventhubs"]),
            ("kafka.auth", &self.auth, &["connection_string", "entra"]),
            (
                "kafka.credential",
                &self.credential,
                &["managed_identity", "workload_identity", "developer_tools"],
            ),
            (
                "kafka.auto_offset_reset",
                &self.auto_offset_reset,
                &["earliest", "latest"],
            ),
        ]
    }
}

/// `[ops]`: the health and metrics endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// Address of `/healthz`, `/readyz` and `/metrics`; empty disables the endpoint.
    pub listen: String,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            listen: "127.0.0.1:9464".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("Endpoint=sb://x/;SharedAccessKey=abc");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(serde_json::to_string(&s).expect("serialises"), "\"***\"");
        assert_eq!(s.expose(), "Endpoint=sb://x/;SharedAccessKey=abc");
    }

    #[test]
    fn defaults_need_topics_only() {
        let k = KafkaConfig::default();
        assert_eq!(
            k.problems(),
            vec!["kafka.topics must name at least one topic".to_owned()]
        );
    }
}
