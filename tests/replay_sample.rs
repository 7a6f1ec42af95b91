//! The main job on the shipped sample: golden output, schema validity, determinism, and every
//! injected scenario narrated with its key facts and only existing evidence.
//!
//! After an intended change to the output, refresh the golden file with
//! `UEBA_UPDATE_GOLDEN=1 cargo test --test replay_sample`.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde_json::Value;
use ueba_narrator::config::Config;
use ueba_narrator::loadgen::GroundTruth;
use ueba_narrator::pipeline::replay::{self, ReplayJob, ReplayReport};
use ueba_narrator::source::ReplayOptions;

const UPDATE: &str = "UEBA_UPDATE_GOLDEN";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden_path() -> PathBuf {
    root().join("tests/golden/sample-tenant.jsonl")
}

fn replay_sample(out: &Path) -> ReplayReport {
    let job = ReplayJob {
        inputs: vec![root().join("samples/tenant/export")],
        out: Some(out.to_path_buf()),
        dead_letters: out.with_extension("dead.jsonl"),
        config: Config::default(),
        source: ReplayOptions::default(),
        progress: false,
    };
    replay::run(&job).expect("replay succeeds")
}

/// One replay shared by the tests of this file: (output text, report).
static RUN: LazyLock<(String, ReplayReport)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.jsonl");
    let report = replay_sample(&out);
    (
        std::fs::read_to_string(&out).expect("output written"),
        report,
    )
});

fn records() -> Vec<Value> {
    RUN.0
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn golden_output_matches() {
    let got = &RUN.0;
    if std::env::var_os(UPDATE).is_some() {
        std::fs::create_dir_all(golden_path().parent().expect("parent")).expect("mkdir");
        std::fs::write(golden_path(), got).expect("write golden");
    }
    let want = std::fs::read_to_string(golden_path()).expect("golden file exists");
    assert!(
        *got == want,
        "replay output differs from tests/golden/sample-tenant.jsonl; if intended, refresh with \
         `{UPDATE}=1 cargo test --test replay_sample`"
    );
}

#[test]
fn replay_is_byte_for_byte_deterministic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("again.jsonl");
    replay_sample(&out);
    assert_eq!(std::fs::read_to_string(out).expect("output"), RUN.0);
}

#[test]
fn every_line_is_valid_against_the_output_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/output-record.schema.json")).expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let recs = records();
    assert!(recs.len() >= 7, "{} records", recs.len());
    for r in &recs {
        let errors: Vec<String> = validator
            .iter_errors(r)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", r["RecordId"]);
    }
}

#[test]
fn summary_counts_what_was_read() {
    let s = &RUN.1.stats;
    assert_eq!(s.total_read(), 16_310);
    assert_eq!(s.total_dead(), 0);
    assert_eq!(s.records_read.get("IdentityInfo"), Some(&84));
    assert_eq!(RUN.1.entities, 40);
    assert_eq!(s.narratives, records().len() as u64);
    assert!(s.coalesced > 0);
}

fn text_of(r: &Value) -> String {
    let mut t = String::new();
    for k in [
        "Summary",
        "Narrative",
        "BaselineComparison",
        "PeerComparison",
    ] {
        t.push_str(r[k].as_str().unwrap_or_default());
        t.push('\n');
    }
    t
}

fn cited(r: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for list in ["Claims", "Hypotheses"] {
        for item in r[list].as_array().into_iter().flatten() {
            for id in item["EvidenceIds"].as_array().into_iter().flatten() {
                ids.push(id.as_str().unwrap_or_default().to_owned());
            }
        }
    }
    ids
}

#[test]
fn every_scenario_is_narrated_with_its_key_facts_and_grounded_evidence() {
    let truth: GroundTruth = serde_json::from_str(
        &std::fs::read_to_string(root().join("samples/tenant/ground-truth.json")).expect("truth"),
    )
    .expect("truth JSON");
    let recs = records();
    for sc in &truth.scenarios {
        let key = sc.user.to_ascii_lowercase();
        let mine: Vec<&Value> = recs
            .iter()
            .filter(|r| r["EntityKey"] == key.as_str())
            .collect();
        assert!(
            !mine.is_empty(),
            "{:?}: no narrative for {}",
            sc.kind,
            sc.user
        );
        let text: String = mine.iter().map(|r| text_of(r)).collect();
        for fact in &sc.key_facts {
            assert!(
                text.contains(fact.as_str()),
                "{:?}: key fact {fact:?} missing from\n{text}",
                sc.kind
            );
        }
        let kinds: Vec<&str> = mine
            .iter()
            .flat_map(|r| r["TriggerTypes"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        for expected in &sc.expected_triggers {
            assert!(
                kinds.contains(&expected.as_str()),
                "{:?}: trigger {expected} not raised ({kinds:?})",
                sc.kind
            );
        }
        let evidence: Vec<&str> = mine
            .iter()
            .flat_map(|r| r["EvidenceIds"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        assert!(
            sc.evidence_ids
                .iter()
                .any(|id| evidence.contains(&id.as_str())),
            "{:?}: none of the injected rows is cited as evidence",
            sc.kind
        );
        for r in &mine {
            let own: Vec<&str> = r["EvidenceIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for id in cited(r) {
                assert!(
                    own.contains(&id.as_str()),
                    "{:?}: cites {id} which is not in its evidence",
                    sc.kind
                );
            }
        }
        let malicious_top = mine
            .iter()
            .any(|r| r["RiskLevel"] == "high" || r["RiskLevel"] == "critical");
        if !sc.malicious {
            assert!(!malicious_top, "{:?}: benign scenario rated high", sc.kind);
        }
    }
}
