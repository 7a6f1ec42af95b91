//! The mock checks requests like the service, enforces RPM/TPM with real 429 headers, and the
//! narrator clamps requests larger than its token burst, speaks the v1 route and survives
//! timeouts.

mod llm_support;
mod narrate_fixtures;

use llm_support::{KEY, config, mock, rig};
use serde_json::json;
use ueba_narrator::mockllm::MockOptions;
use ueba_narrator::narrate::llm::config::Provider;

fn body() -> serde_json::Value {
    json!({
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 100,
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "strict": true, "schema": {"type": "object"}}},
    })
}

async fn post(url: &str, key: Option<&str>, body: &serde_json::Value) -> reqwest::Response {
    let mut req = reqwest::Client::new().post(url).json(body);
    if let Some(k) = key {
        req = req.header("api-key", k);
    }
    req.send().await.expect("send")
}

#[tokio::test]
async fn mock_rejects_what_azure_rejects() {
    let server = mock(MockOptions::default()).await;
    let base = server.url();
    let classic = format!("{base}/openai/deployments/gpt-4o/chat/completions");
    let versioned = format!("{classic}?api-version=2024-10-21");
    assert_eq!(post(&versioned, None, &body()).await.status(), 401);
    assert_eq!(post(&versioned, Some("wrong"), &body()).await.status(), 401);
    assert_eq!(post(&classic, Some(KEY), &body()).await.status(), 400);
    let no_format = json!({"messages": []});
    assert_eq!(post(&versioned, Some(KEY), &no_format).await.status(), 400);
    assert_eq!(
        post(&format!("{base}/openai/chat"), Some(KEY), &body())
            .await
            .status(),
        404
    );
    let v1 = format!("{base}/openai/v1/chat/completions");
    assert_eq!(
        post(&v1, Some(KEY), &body()).await.status(),
        400,
        "v1 needs model"
    );
    let mut with_model = body();
    with_model["model"] = json!("gpt-4o");
    assert_eq!(post(&v1, Some(KEY), &with_model).await.status(), 200);
    assert_eq!(post(&versioned, Some(KEY), &body()).await.status(), 200);
}

#[tokio::test]
async fn mock_enforces_tpm_on_prompt_plus_max_tokens() {
    let server = mock(MockOptions {
        rpm: Some(100),
        tpm: Some(250),
        ..MockOptions::default()
    })
    .await;
    let url = format!(
        "{}/openai/deployments/d/chat/completions?api-version=x",
        server.url()
    );
    let ok = post(&url, Some(KEY), &body()).await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().contains_key("x-ratelimit-remaining-tokens"));
    let _ = post(&url, Some(KEY), &body()).await;
    let limited = post(&url, Some(KEY), &body()).await;
    assert_eq!(limited.status(), 429);
    let secs: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((55..=60).contains(&secs), "{secs}");
    assert!(limited.headers().contains_key("retry-after-ms"));
    assert_eq!(server.throttled(), 1);
}

#[tokio::test]
async fn request_larger_than_the_burst_is_clamped_not_failed() {
    let server = mock(MockOptions::default()).await;
    let mut cfg = config(&server.url());
    cfg.tokens_per_minute = 36_000; // burst 3,000 tokens < prompt + 1,800
    let r = rig(&cfg);
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "llm");
    let req = &server.requests()[0];
    let max_tokens = req["max_tokens"].as_u64().expect("max_tokens");
    assert!(max_tokens < 1800, "{max_tokens}");
    let prompt: u64 = req["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().len().div_ceil(4) as u64)
        .sum();
    assert!(prompt + max_tokens <= 3_000, "{prompt} + {max_tokens}");
}

#[tokio::test]
async fn v1_route_sends_the_deployment_as_model() {
    let server = mock(MockOptions::default()).await;
    let mut cfg = config(&server.url());
    cfg.provider = Provider::AzureV1;
    let r = rig(&cfg);
    let out = r.narrator.narrate(&narrate_fixtures::bulk_download()).await;
    assert_eq!(out.generation.generator, "llm");
    assert_eq!(server.requests()[0]["model"], "gpt-4o");
}

#[tokio::test]
async fn timeouts_back_off_and_fall_back() {
    let server = mock(MockOptions {
        latency: std::time::Duration::from_millis(2_500),
        ..MockOptions::default()
    })
    .await;
    let mut cfg = config(&server.url());
    cfg.timeout_secs = 1;
    cfg.max_attempts = 2;
    let r = rig(&cfg);
    let out = r.narrator.narrate(&narrate_fixtures::bulk_download()).await;
    assert_eq!(out.generation.generator, "fallback");
    assert_eq!(out.generation.llm_status, "unavailable");
    assert_eq!(r.clock.sleeps().len(), 1);
}
