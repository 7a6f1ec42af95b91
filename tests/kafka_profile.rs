//! Static checks of the Kafka client settings and the librdkafka version (no broker needed).
//!
//! FC-01: the consumer and producer settings of the `eventhubs` profile, built exactly as `run`
//! builds them, obey every rule in `FC-01-eventhubs-librdkafka-profile.txt`.
//! FC-07: the linked librdkafka is not on `FC-07-librdkafka-denylist.txt`.

use rdkafka::ClientConfig;
use regex::Regex;

use ueba_narrator::config::kafka::{KafkaConfig, Secret};
use ueba_narrator::source::kafka::version::{self, VersionList};
use ueba_narrator::source::kafka::{consumer_config, producer_config};

const FC01: &str = include_str!("fixtures/field/FC-01-eventhubs-librdkafka-profile.txt");
const FC07: &str = include_str!("fixtures/field/FC-07-librdkafka-denylist.txt");

/// Check one `<key> <op> <value>` rule; `Err` says why it fails.
fn check(c: &ClientConfig, rule: &str) -> Result<(), String> {
    let (key, rest) = rule.split_once(' ').ok_or("rule without an operator")?;
    let rest = rest.trim();
    let value = c.get(key);
    let num = |v: Option<&str>| -> Result<i64, String> {
        v.ok_or(format!("{key} is not set"))?
            .parse::<i64>()
            .map_err(|e| format!("{key}: {e}"))
    };
    let ok = if rest == "absent" {
        value.is_none()
    } else if let Some(v) = rest.strip_prefix("= ") {
        value == Some(v.trim())
    } else if let Some(v) = rest.strip_prefix("<= ") {
        num(value)? <= v.trim().parse::<i64>().map_err(|e| e.to_string())?
    } else if let Some(v) = rest.strip_prefix(">= ") {
        num(value)? >= v.trim().parse::<i64>().map_err(|e| e.to_string())?
    } else if let Some(set) = rest.strip_prefix("in{") {
        let set = set.trim_end_matches('}');
        value.is_some_and(|v| set.split(',').any(|s| s.trim() == v))
    } else if let Some(range) = rest.strip_prefix("between[") {
        let (lo, hi) = range
            .trim_end_matches(']')
            .split_once(',')
            .ok_or("bad range")?;
        let n = num(value)?;
        let lo: i64 = lo.trim().parse().map_err(|_| "bad low")?;
        let hi: i64 = hi.trim().parse().map_err(|_| "bad high")?;
        (lo..=hi).contains(&n)
    } else if let Some(re) = rest.strip_prefix("matches ") {
        let re = Regex::new(re.trim()).map_err(|e| e.to_string())?;
        value.is_some_and(|v| re.is_match(v))
    } else {
        return Err(format!("unknown operator in `{rule}`"));
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{rule}` fails: {key} = {value:?}"))
    }
}

/// Rules of a section (`common`, `producer`, `consumer`).
fn rules(section: &str) -> Vec<&'static str> {
    let mut current = "";
    let mut out = Vec::new();
    for line in FC01.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name;
        } else if current == section {
            out.push(line);
        }
    }
    out
}

fn eventhubs(auth: &str) -> KafkaConfig {
    KafkaConfig {
        profile: "eventhubs".into(),
        bootstrap: "contoso-ueba.servicebus.windows.net:9093".into(),
        topics: vec!["am-behavioranalytics".into()],
        auth: auth.into(),
        connection_string: Secret::new(
            "Endpoint=sb://contoso-ueba.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=abc=",
        ),
        ..KafkaConfig::default()
    }
}

fn assert_rules(c: &ClientConfig, sections: &[&str]) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for s in sections {
        for rule in rules(s) {
            checked += 1;
            if let Err(e) = check(c, rule) {
                failures.push(e);
            }
        }
    }
    assert!(checked >= 10, "rules were read ({checked})");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn fc01_eventhubs_profile_obeys_every_rule() {
    for auth in ["connection_string", "entra"] {
        let k = eventhubs(auth);
        assert!(k.problems().is_empty(), "{:?}", k.problems());
        assert_rules(&consumer_config(&k), &["common", "consumer"]);
        assert_rules(&producer_config(&k), &["common", "producer"]);
    }
}

#[test]
fn fc01_connection_string_goes_to_sasl_plain() {
    let k = eventhubs("connection_string");
    let c = consumer_config(&k);
    assert_eq!(c.get("sasl.mechanisms"), Some("PLAIN"));
    assert_eq!(c.get("sasl.username"), Some("$ConnectionString"));
    assert_eq!(c.get("sasl.password"), Some(k.connection_string.expose()));
    let entra = consumer_config(&eventhubs("entra"));
    assert_eq!(entra.get("sasl.mechanisms"), Some("OAUTHBEARER"));
    assert_eq!(entra.get("sasl.password"), None);
}

#[test]
fn fc01_rule_checker_rejects_a_bad_profile() {
    let mut k = eventhubs("connection_string");
    k.librdkafka
        .insert("metadata.max.age.ms".into(), "300000".into());
    let c = consumer_config(&k);
    let e = check(&c, "metadata.max.age.ms <= 180000").expect_err("must fail");
    assert!(e.contains("300000"), "{e}");
    assert!(check(&c, "transactional.id absent").is_ok());
}

#[test]
fn fc07_linked_librdkafka_is_not_denied() {
    let list = VersionList::parse(FC07);
    assert!(list.denial("2.6.0").is_some());
    let linked = version::linked();
    assert!(!linked.is_empty());
    assert_eq!(list.denial(&linked), None, "librdkafka {linked} is denied");
    assert_eq!(VersionList::builtin().denial(&linked), None);
    if !list.allowed.contains(&linked) {
        eprintln!(
            "warning: librdkafka {linked} has not been verified against a real Event Hubs namespace"
        );
    }
    for (v, _) in &list.denied {
        assert!(
            VersionList::builtin().denial(v).is_some(),
            "built-in deny list lacks {v}"
        );
    }
}
