//! FC-25, FC-26 and FC-27 over real HTTP: the narrator against the mock server on 127.0.0.1,
//! with retry timing observed through a recording clock (no real sleeps).

mod llm_support;
mod narrate_fixtures;

use std::time::Duration;

use llm_support::{config, fixture_step, mock_with, rig};
use ueba_narrator::mockllm::Step;
use ueba_narrator::narrate::Audience;
use ueba_narrator::narrate::offline::OfflineNarrator;

const FC25: &str = "FC-25-aoai-429-variants.json";
const FC26: &str = "FC-26-aoai-content-filter.json";
const FC27: &str = "FC-27-aoai-malformed-outputs.json";

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[tokio::test]
async fn fc25_retry_after_seconds_waits_20_to_25_s() {
    let server = mock_with(vec![fixture_step(FC25, "retry-after-seconds")]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "llm");
    assert_eq!(out.generation.llm_status, "ok");
    assert_eq!(server.requests().len(), 2);
    let sleeps = r.clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!((20.0..=25.0).contains(&secs(sleeps[0])), "{sleeps:?}");
}

#[tokio::test]
async fn fc25_reset_tokens_header_only_waits_55_to_65_s() {
    let server = mock_with(vec![fixture_step(FC25, "reset-tokens-header-only")]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "llm");
    let sleeps = r.clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!((55.0..=65.0).contains(&secs(sleeps[0])), "{sleeps:?}");
}

#[tokio::test]
async fn fc25_no_hint_at_all_backs_off_then_falls_back_after_5_attempts() {
    let step = fixture_step(FC25, "no-hint-at-all");
    let server = mock_with(vec![step; 6]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "fallback");
    assert_eq!(out.generation.llm_status, "rate_limited");
    assert_eq!(server.requests().len(), 5);
    let sleeps = r.clock.sleeps();
    assert_eq!(sleeps.len(), 4);
    assert!((1.0..=10.0).contains(&secs(sleeps[0])), "{sleeps:?}");
    assert!(sleeps[3] > sleeps[0], "backoff grows: {sleeps:?}");
    assert!(r.narrator.totals().throttled == 5);
}

#[tokio::test]
async fn fc25_daily_quota_exhausted_opens_the_circuit_without_sleeping() {
    let server = mock_with(vec![fixture_step(FC25, "daily-quota-exhausted")]).await;
    let r = rig(&config(&server.url()));
    let ctx = narrate_fixtures::new_country_sensitive();
    let first = r.narrator.narrate(&ctx).await;
    assert_eq!(first.generation.generator, "fallback");
    assert_eq!(first.generation.llm_status, "quota_exhausted");
    assert!(r.clock.sleeps().iter().all(|d| secs(*d) <= 300.0));
    assert!(r.clock.sleeps().is_empty());

    let second = r.narrator.narrate(&narrate_fixtures::bulk_download()).await;
    assert_eq!(second.generation.llm_status, "quota_exhausted");
    assert_eq!(
        server.requests().len(),
        1,
        "no call while the circuit is open"
    );

    r.clock.advance(Duration::from_secs(86_400));
    let third = r.narrator.narrate(&ctx).await;
    assert_eq!(third.generation.generator, "llm");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn fc25_error_body_without_type_retried_after_2_s() {
    let server = mock_with(vec![fixture_step(FC25, "error-body-without-type")]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "llm");
    let sleeps = r.clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!((2.0..=2.5).contains(&secs(sleeps[0])), "{sleeps:?}");
}

#[tokio::test]
async fn fc26_prompt_blocked_jailbreak_retries_trimmed_then_falls_back() {
    let step = fixture_step(FC26, "prompt-blocked-jailbreak");
    let server = mock_with(vec![step.clone(), step]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "fallback");
    assert_eq!(out.generation.llm_status, "filtered_prompt");
    assert!(
        out.generation
            .validation_issues
            .contains(&"filter_categories: [jailbreak]".to_string()),
        "{:?}",
        out.generation.validation_issues
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let second_user = reqs[1]["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        second_user.contains("[omitted]"),
        "evidence re-quoted/trimmed on retry"
    );
    assert!(
        !reqs[0]["messages"][1]["content"]
            .to_string()
            .contains("[omitted]")
    );
}

#[tokio::test]
async fn fc26_prompt_blocked_no_innererror_records_no_categories() {
    let step = fixture_step(FC26, "prompt-blocked-no-innererror");
    let server = mock_with(vec![step.clone(), step]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.llm_status, "filtered_prompt");
    assert!(
        out.generation
            .validation_issues
            .contains(&"filter_categories: []".to_string())
    );
}

#[tokio::test]
async fn fc26_completion_filtered_200_without_content_or_usage() {
    let step = fixture_step(FC26, "completion-filtered-200");
    let server = mock_with(vec![step.clone(), step]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "fallback");
    assert_eq!(out.generation.llm_status, "filtered_completion");
    assert_eq!(server.requests().len(), 2, "retried at most once");
}

#[tokio::test]
async fn fc27_truncated_at_max_tokens_retries_with_more_room_then_falls_back() {
    let step = fixture_step(FC27, "truncated-at-max-tokens");
    let server = mock_with(vec![step.clone(), step]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.llm_status, "truncated");
    assert_eq!(out.generation.generator, "fallback");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["max_tokens"], 1800);
    assert_eq!(reqs[1]["max_tokens"], 3600);
    assert!(!out.narrative.summary.contains("Two failed password"));
}

#[tokio::test]
async fn fc27_refusal_empty_string_content_is_refused() {
    let server = mock_with(vec![fixture_step(FC27, "refusal-empty-string-content")]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.llm_status, "refused");
    assert_eq!(out.generation.generator, "fallback");
    assert!(!out.narrative.summary.is_empty());
    assert_eq!(server.requests().len(), 1);
}

async fn invalid_twice(id: &str) {
    let step = fixture_step(FC27, id);
    let server = mock_with(vec![step.clone(), step]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "fallback", "{id}");
    assert_eq!(out.generation.llm_status, "invalid_output", "{id}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "{id}: one repair attempt");
    let repair = reqs[1]["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(repair.contains("previous answer was rejected"), "{id}");
}

#[tokio::test]
async fn fc27_missing_required_field_is_repaired_once_then_falls_back() {
    invalid_twice("missing-required-field").await;
}

#[tokio::test]
async fn fc27_wrong_type_is_repaired_once_then_falls_back() {
    invalid_twice("wrong-type").await;
}

fn valid_content(fence: &str) -> String {
    let o = OfflineNarrator::new(Audience::Tier1).expect("offline");
    let n = o.narrate(&narrate_fixtures::new_country_sensitive());
    let json = serde_json::to_string(&n).expect("json");
    fence.replace("{}", &json)
}

fn content_step(content: &str) -> Step {
    let body = serde_json::json!({
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
    });
    serde_json::from_value(serde_json::json!({"status": 200, "body": body})).expect("step")
}

#[tokio::test]
async fn fc27_code_fenced_json_is_unwrapped() {
    let server = mock_with(vec![content_step(&valid_content("```json\n{}\n```"))]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "llm");
    assert_eq!(out.generation.llm_status, "ok");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn fc27_prose_before_json_never_reaches_the_narrative() {
    let prose = valid_content("Here is the requested summary:\n{}");
    let server = mock_with(vec![content_step(&prose)]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "llm");
    assert_eq!(out.generation.llm_status, "repaired");
    assert_eq!(server.requests().len(), 2);
    let text = serde_json::to_string(&out.narrative).expect("json");
    assert!(!text.contains("Here is the requested summary"));
}

#[tokio::test]
async fn fc27_stream_first_chunk_no_choices_is_skipped() {
    let server = mock_with(vec![fixture_step(FC27, "stream-first-chunk-no-choices")]).await;
    let r = rig(&config(&server.url()));
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "llm");
    assert_eq!(out.generation.llm_status, "repaired");
}

#[tokio::test]
async fn fc27_json_schema_needs_newer_api_version_fails_once_for_the_run() {
    let server = mock_with(vec![fixture_step(
        FC27,
        "json-schema-needs-newer-api-version",
    )])
    .await;
    let r = rig(&config(&server.url()));
    let first = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(first.generation.llm_status, "unsupported");
    let reason = r.narrator.disabled_reason().expect("disabled");
    assert!(reason.contains("api-version"), "{reason}");
    let second = r.narrator.narrate(&narrate_fixtures::bulk_download()).await;
    assert_eq!(second.generation.generator, "fallback");
    assert_eq!(second.generation.llm_status, "llm_disabled");
    assert_eq!(server.requests().len(), 1, "not retried per window");
}

#[tokio::test]
async fn fc27_strict_schema_rejected_fails_fast_at_startup_probe() {
    let server = mock_with(vec![fixture_step(FC27, "strict-schema-rejected")]).await;
    let r = rig(&config(&server.url()));
    let reason = r.narrator.probe().await.expect("probe disables");
    assert!(reason.contains("additionalProperties"), "{reason}");
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.llm_status, "llm_disabled");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn healthy_probe_keeps_the_llm_enabled() {
    let server = mock_with(vec![]).await;
    let r = rig(&config(&server.url()));
    assert_eq!(r.narrator.probe().await, None);
    let out = r
        .narrator
        .narrate(&narrate_fixtures::new_country_sensitive())
        .await;
    assert_eq!(out.generation.generator, "llm");
}
