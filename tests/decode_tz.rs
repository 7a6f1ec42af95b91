//! Field case FC-13 under two host time zones: decoding must not depend on the local zone.
//! This binary holds a single test because it changes the process environment.

use ueba_narrator::decode::{Outcome, decode_record, envelope};

/// Decode the FC-13 fixture and render every outcome as text.
fn decode_all() -> Vec<String> {
    let path = format!(
        "{}/tests/fixtures/field/FC-13-timestamps-and-numbers.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let body = std::fs::read(path).expect("fixture readable");
    envelope::split_body(&body)
        .expect("valid body")
        .into_iter()
        .map(|row| match decode_record(&row.expect("object row")) {
            Ok(Outcome::Decoded(d)) => format!("{} {:?}", d.time().to_rfc3339(), d),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn fc13_results_identical_under_utc_and_los_angeles() {
    // SAFETY: this test binary has exactly one test, so no other thread reads the environment
    // while it is changed.
    unsafe { std::env::set_var("TZ", "UTC") };
    let utc = decode_all();
    unsafe { std::env::set_var("TZ", "America/Los_Angeles") };
    let la = decode_all();
    assert_eq!(utc, la);
    assert!(
        utc[5].starts_with("2025-03-04T09:15:02+00:00"),
        "{}",
        utc[5]
    );
    assert!(utc[6].contains("MissingTime"), "{}", utc[6]);
}
