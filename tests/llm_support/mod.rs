//! Shared setup for the LLM tests: a mock server on 127.0.0.1:0, a narrator pointed at it with a
//! recording clock (no real sleeps), and field-case fixture responses as mock script steps.
#![allow(dead_code)]

use std::sync::Arc;

use serde_json::Value;
use ueba_narrator::mockllm::{self, MockOptions, MockServer, Step};
use ueba_narrator::narrate::Audience;
use ueba_narrator::narrate::llm::audit::MemoryAudit;
use ueba_narrator::narrate::llm::config::{LlmConfig, Secret};
use ueba_narrator::narrate::llm::retry::RecordingClock;
use ueba_narrator::narrate::llm::transport::Auth;
use ueba_narrator::narrate::llm::{Hooks, LlmNarrator};

pub const KEY: &str = "test-key-not-secret";

pub async fn mock(opts: MockOptions) -> MockServer {
    let opts = MockOptions {
        api_key: KEY.into(),
        ..opts
    };
    mockllm::start("127.0.0.1:0".parse().expect("addr"), opts)
        .await
        .expect("mock starts")
}

pub async fn mock_with(script: Vec<Step>) -> MockServer {
    mock(MockOptions {
        script,
        ..MockOptions::default()
    })
    .await
}

pub fn config(url: &str) -> LlmConfig {
    LlmConfig {
        endpoint: url.into(),
        deployment: "gpt-4o".into(),
        requests_per_minute: 6_000,
        tokens_per_minute: 50_000_000,
        startup_probe: false,
        token_key: Secret::new("test-token-key"),
        token_key_env: "UEBA_TEST_TOKEN_KEY_UNSET".into(),
        ..LlmConfig::default()
    }
}

pub struct Rig {
    pub narrator: LlmNarrator,
    pub clock: Arc<RecordingClock>,
    pub audit: Arc<MemoryAudit>,
}

pub fn rig(cfg: &LlmConfig) -> Rig {
    let clock = Arc::new(RecordingClock::default());
    let audit = Arc::new(MemoryAudit::default());
    let hooks = Hooks {
        clock: clock.clone(),
        audit: audit.clone(),
        auth: Some(Auth::ApiKey(Secret::new(KEY))),
    };
    let narrator = LlmNarrator::new(cfg, Audience::Tier1, hooks).expect("narrator");
    Rig {
        narrator,
        clock,
        audit,
    }
}

/// The `response` of case `id` in a field-case fixture, as a mock step.
pub fn fixture_step(file: &str, id: &str) -> Step {
    let path = format!("{}/tests/fixtures/field/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    let doc: Value = serde_json::from_str(&text).expect("fixture json");
    let case = doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id}"));
    let mut response = case["response"].clone();
    if let Some(chunk) = response.get("sse_chunk").cloned() {
        response["body"] = chunk;
    }
    serde_json::from_value(response).expect("step")
}

/// Every request body the mock received, as one string.
pub fn all_requests(server: &MockServer) -> String {
    server
        .requests()
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
