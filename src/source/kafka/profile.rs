//! librdkafka settings for the `local` and `eventhubs` connection profiles.
//!
//! Event Hubs closes idle connections after 240 s and cuts the connection on requests above
//! 1,046,528 bytes, so that profile keeps connections alive, refreshes metadata and drops idle
//! sockets before the service does, caps messages at 1,000,000 bytes and uses no compression.
//! Offsets are stored only by the pipeline (`enable.auto.offset.store=false`); the client commits
//! stored offsets on a timer.

use rdkafka::ClientConfig;

use crate::config::kafka::KafkaConfig;

/// Largest message the product hands to the producer (the Event Hubs publication limit).
pub const MAX_MESSAGE_BYTES: usize = 1_000_000;

/// Settings shared by consumer and producer.
fn common(k: &KafkaConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &k.bootstrap);
    if k.profile == "eventhubs" {
        c.set("security.protocol", "SASL_SSL")
            .set("socket.keepalive.enable", "true")
            // Below the service's 240 s idle cut-off.
            .set("metadata.max.age.ms", "180000")
            .set("connections.max.idle.ms", "180000");
        if k.auth == "entra" {
            c.set("sasl.mechanisms", "OAUTHBEARER");
        } else {
            c.set("sasl.mechanisms", "PLAIN")
                .set("sasl.username", "$ConnectionString")
                .set("sasl.password", k.connection_string.expose());
        }
    }
    c
}

fn overrides(c: &mut ClientConfig, k: &KafkaConfig) {
    for (key, value) in &k.librdkafka {
        c.set(key, value);
    }
}

/// The consumer settings `run` uses.
pub fn consumer_config(k: &KafkaConfig) -> ClientConfig {
    let mut c = common(k);
    c.set("group.id", &k.group_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", k.commit_interval_ms.to_string())
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", &k.auto_offset_reset)
        .set("session.timeout.ms", k.session_timeout_ms.to_string())
        .set("heartbeat.interval.ms", "3000")
        .set("max.poll.interval.ms", "300000")
        .set("enable.partition.eof", "false");
    overrides(&mut c, k);
    c
}

/// The producer settings for output records and dead letters.
pub fn producer_config(k: &KafkaConfig) -> ClientConfig {
    let mut c = common(k);
    c.set("request.timeout.ms", "60000")
        .set("message.max.bytes", MAX_MESSAGE_BYTES.to_string())
        .set("compression.codec", "none")
        .set("acks", "all")
        .set("linger.ms", "5")
        // Retry until delivered; a permanent failure stops the pipeline instead of losing data.
        .set("message.timeout.ms", "0");
    overrides(&mut c, k);
    c
}

/// The Entra token scope for a bootstrap address (`<ns>.servicebus.windows.net:9093`).
pub fn token_scope(k: &KafkaConfig) -> String {
    if !k.token_scope.is_empty() {
        return k.token_scope.clone();
    }
    let host = k.bootstrap.split(',').next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    format!("https://{host}/.default")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_from_bootstrap_host() {
        let k = KafkaConfig {
            bootstrap: "contoso-ueba.servicebus.windows.net:9093".into(),
            ..KafkaConfig::default()
        };
        assert_eq!(
            token_scope(&k),
            "https://contoso-ueba.servicebus.windows.net/.default"
        );
    }

    #[test]
    fn local_profile_has_no_security() {
        let c = consumer_config(&KafkaConfig::default());
        assert_eq!(c.get("security.protocol"), None);
        assert_eq!(c.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(c.get("bootstrap.servers"), Some("127.0.0.1:9092"));
    }

    #[test]
    fn overrides_apply_last() {
        let mut k = KafkaConfig::default();
        k.librdkafka
            .insert("session.timeout.ms".into(), "45000".into());
        assert_eq!(consumer_config(&k).get("session.timeout.ms"), Some("45000"));
    }
}
