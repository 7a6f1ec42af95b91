//! Replay of the sample tenant with the LLM narrator against the mock server: every scenario's
//! case is narrated by the LLM, schema-valid and grounded, in the same order as offline.

mod llm_support;

use std::collections::BTreeSet;

use serde_json::Value;
use ueba_narrator::config::Config;
use ueba_narrator::mockllm::MockOptions;
use ueba_narrator::pipeline::replay::{self, ReplayJob};
use ueba_narrator::source::ReplayOptions;

const KEY_VAR: &str = "UEBA_TEST_LLM_REPLAY_KEY";

fn job(input: &std::path::Path, out: &std::path::Path, config: Config) -> ReplayJob {
    ReplayJob {
        inputs: vec![input.to_path_buf()],
        out: Some(out.to_path_buf()),
        dead_letters: out.with_extension("dead.jsonl"),
        config,
        source: ReplayOptions::default(),
        progress: false,
    }
}

fn records(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("records")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record json"))
        .collect()
}

#[test]
fn sample_tenant_through_the_mock_is_llm_narrated_valid_and_grounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = dir.path().join("tenant");
    ueba_narrator::loadgen::write_sample(&tenant).expect("sample");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(llm_support::mock(MockOptions::default()));
    // SAFETY: this test binary has a single test; nothing else reads the environment now.
    unsafe { std::env::set_var(KEY_VAR, llm_support::KEY) };

    let offline_out = dir.path().join("offline.jsonl");
    replay::run(&job(&tenant, &offline_out, Config::default())).expect("offline replay");

    let mut cfg = Config::default();
    cfg.narrator.kind = "llm".into();
    cfg.llm = llm_support::config(&server.url());
    cfg.llm.api_key_env = KEY_VAR.into();
    cfg.llm.startup_probe = true;
    let audit = dir.path().join("audit.jsonl");
    cfg.llm.audit_file = Some(audit.display().to_string());
    let llm_out = dir.path().join("llm.jsonl");
    let report = replay::run(&job(&tenant, &llm_out, cfg)).expect("llm replay");

    let offline = records(&offline_out);
    let llm = records(&llm_out);
    assert!(
        llm.len() >= 7,
        "one record per scenario case at least: {}",
        llm.len()
    );
    let windows = |rs: &[Value]| rs.iter().map(|r| r["WindowId"].clone()).collect::<Vec<_>>();
    assert_eq!(
        windows(&llm),
        windows(&offline),
        "same cases in the same order"
    );

    let schema: Value =
        serde_json::from_str(include_str!("../schemas/output-record.schema.json")).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for r in &llm {
        assert_eq!(r["Generator"], "llm", "{}", r["WindowId"]);
        assert_eq!(r["LlmStatus"], "ok", "{}", r["WindowId"]);
        assert_eq!(r["PromptVersion"], "v1");
        assert!(validator.is_valid(r), "{}", r["WindowId"]);
        let known: BTreeSet<&str> = r["EvidenceIds"]
            .as_array()
            .expect("ids")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for claim in r["Claims"].as_array().expect("claims") {
            for id in claim["EvidenceIds"].as_array().expect("claim ids") {
                assert!(
                    known.contains(id.as_str().unwrap_or_default()),
                    "ungrounded {id}"
                );
            }
        }
    }

    let totals = report.llm.expect("llm totals");
    assert_eq!(totals.narratives, llm.len() as u64);
    assert_eq!(totals.calls, llm.len() as u64);
    assert!(totals.prompt_tokens > 0 && totals.cost > 0.0);
    // Probe + one call per case, all in the audit file.
    let audit_lines = std::fs::read_to_string(&audit)
        .expect("audit")
        .lines()
        .count();
    assert_eq!(audit_lines, llm.len());
    assert_eq!(server.requests().len(), llm.len() + 1);
    assert_eq!(server.throttled(), 0);
}
