//! `loadgen --kafka` against a real local broker (`UEBA_KAFKA_BOOTSTRAP`; skipped when unset):
//! every generated row arrives inside an export envelope of at most 1,000,000 bytes, with its
//! `Type`, and the report counts what was sent.

mod kafka_common;

use std::collections::BTreeMap;

use kafka_common::*;
use ueba_narrator::loadgen::TenantSpec;
use ueba_narrator::loadgen::kafka::{KafkaLoad, MAX_BODY_BYTES, TopicMode, produce};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_produces_export_envelopes_on_one_hub() {
    let Some(b) = bootstrap() else { return };
    let mut spec = TenantSpec::bench(8, 2);
    spec.seed = 11;
    let hub = unique("loadgen-hub");
    create_topics(&b, &[&hub]).await;
    let load = KafkaLoad {
        bootstrap: b.clone(),
        topics: TopicMode::One(hub.clone()),
        rate: 0,
        batch_rows: 50,
    };
    let report = tokio::task::spawn_blocking(move || produce(&spec, &load))
        .await
        .expect("producer thread")
        .expect("produce");
    assert!(report.rows > 100, "{report:?}");
    assert_eq!(report.rows_per_topic.values().sum::<u64>(), report.rows);
    assert!(report.messages >= report.rows.div_ceil(50));

    let got = read_all(&b, &hub);
    assert_eq!(got.len() as u64, report.messages);
    let mut per_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut bytes = 0;
    for m in &got {
        let rows = m.value["records"].as_array().expect("export envelope");
        assert!(!rows.is_empty() && rows.len() <= 50);
        let size = serde_json::to_vec(&m.value).expect("JSON").len();
        assert!(size <= MAX_BODY_BYTES);
        bytes += size as u64;
        for r in rows {
            let t = r["Type"].as_str().expect("every row has Type");
            *per_type.entry(t.to_owned()).or_default() += 1;
        }
    }
    assert_eq!(per_type.values().sum::<u64>(), report.rows);
    assert!(per_type.contains_key("SigninLogs"), "{per_type:?}");
    assert!(per_type.contains_key("IdentityInfo"), "{per_type:?}");
    assert!(bytes > 0);
}
