//! Unit tests of response classification, retry hints and the content policy.

use super::*;

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn fc25_error_body_without_type_is_a_rate_limit() {
    let body = r#"{"error":{"code":429,"message":"numeric code, no type field"}}"#;
    let r = classify(429, &h(&[("retry-after", "2")]), body);
    assert_eq!(
        r,
        Reply::RateLimited {
            hint: Some(Duration::from_secs(2))
        }
    );
}

#[test]
fn fc25_retry_after_ms_wins_over_seconds() {
    let r = retry_hint(&h(&[("retry-after", "20"), ("retry-after-ms", "1500")]));
    assert_eq!(r, Some(Duration::from_millis(1500)));
}

#[test]
fn fc25_reset_tokens_header_only() {
    let r = retry_hint(&h(&[("x-rate-limit-reset-tokens", "55")]));
    assert_eq!(r, Some(Duration::from_secs(55)));
    let r = retry_hint(&h(&[("x-ratelimit-reset-requests", "1m30s")]));
    assert_eq!(r, Some(Duration::from_secs(90)));
}

#[test]
fn fc25_minus_one_and_zero_headers_are_no_hint() {
    let r = retry_hint(&h(&[
        ("x-ratelimit-remaining-tokens", "-1"),
        ("x-ratelimit-reset-tokens", "0"),
    ]));
    assert_eq!(r, None);
}

#[test]
fn fc26_prompt_filter_without_innererror_has_no_categories() {
    let body = "{\"error\":{\"message\":\"x\",\"type\":null,\"param\":\"prompt\",\
                \"code\":\"content_filter\",\"status\":400}}";
    assert_eq!(
        classify(400, &[], body),
        Reply::FilteredPrompt { categories: vec![] }
    );
}

#[test]
fn fc27_stream_style_empty_choices_do_not_panic() {
    let body = r#"{"choices":[],"prompt_filter_results":[{"prompt_index":0}]}"#;
    assert!(matches!(classify(200, &[], body), Reply::Empty { .. }));
}

#[test]
fn fc27_api_version_400_is_unsupported() {
    let body = "{\"error\":{\"code\":\"BadRequest\",\"message\":\
                \"response_format json_schema is not available for this api-version\"}}";
    assert!(matches!(
        classify(400, &[], body),
        Reply::Unsupported { .. }
    ));
    let body = "{\"error\":{\"code\":\"BadRequest\",\"message\":\
                \"invalid schema for response_format: additionalProperties must be false\"}}";
    assert!(matches!(
        classify(400, &[], body),
        Reply::Unsupported { .. }
    ));
}

#[test]
fn fc27_code_fence_is_unwrapped_and_prose_rejected() {
    assert_eq!(extract_json("```json\n{\"a\":1}\n```"), Ok("{\"a\":1}"));
    assert!(extract_json("Here is the summary:\n{\"a\":1}").is_err());
}

#[test]
fn server_errors_are_transient_and_401_is_fatal() {
    assert!(matches!(
        classify(503, &[], "upstream"),
        Reply::Transient { .. }
    ));
    assert!(matches!(
        classify(401, &[], "{}"),
        Reply::Fatal { status: 401, .. }
    ));
}
