//! Export message bodies into rows.
//!
//! Log Analytics data export writes one JSON object per Event Hubs message,
//! `{"records":[row, row, ...]}`. Replayed files may instead hold a bare JSON array of rows or a
//! single row. [`split_body`] accepts all three. A body that is not JSON at all fails as a whole;
//! a non-object entry inside an otherwise good body fails alone, so the caller can dead-letter
//! that entry and keep the rest.

use serde_json::{Map, Value};

use super::{DeadReason, DecodeError};

/// One entry of a body: a row, or the reason it is not one.
pub type RowResult = Result<Map<String, Value>, DecodeError>;

/// Split an Event Hubs export message body `{"records":[...]}` into rows. Also accepts a bare
/// JSON array of rows or a single row object. Non-object entries come back as `Err` items.
pub fn split_body(body: &[u8]) -> Result<Vec<RowResult>, DecodeError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| DecodeError {
        reason: DeadReason::InvalidJson,
        detail: format!("message body is not JSON: {e}"),
    })?;
    match value {
        Value::Object(mut obj) => match obj.remove("records") {
            Some(Value::Array(items)) => Ok(split_items(items)),
            Some(other) => Err(DecodeError {
                reason: DeadReason::NotAnObject,
                detail: format!("`records` is {}, not an array", kind(&other)),
            }),
            None => Ok(vec![Ok(obj)]),
        },
        Value::Array(items) => Ok(split_items(items)),
        other => Err(DecodeError {
            reason: DeadReason::NotAnObject,
            detail: format!("message body is {}, not an object or array", kind(&other)),
        }),
    }
}

fn split_items(items: Vec<Value>) -> Vec<RowResult> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(row) => Ok(row),
            other => Err(DecodeError {
                reason: DeadReason::NotAnObject,
                detail: format!("record {i} is {}, not an object", kind(&other)),
            }),
        })
        .collect()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(rows: &[RowResult]) -> Vec<Option<DeadReason>> {
        rows.iter()
            .map(|r| r.as_ref().err().map(|e| e.reason))
            .collect()
    }

    #[test]
    fn records_envelope_keeps_good_rows_around_bad_ones() {
        let body = br#"{"records":[{"Type":"A"}, 7, {"Type":"B"}, "x"]}"#;
        let rows = split_body(body).expect("valid body");
        let not_obj = Some(DeadReason::NotAnObject);
        assert_eq!(reasons(&rows), vec![None, not_obj, None, not_obj]);
        let second = rows[2].as_ref().expect("row");
        assert_eq!(second.get("Type"), Some(&Value::from("B")));
    }

    #[test]
    fn bare_array_and_single_row() {
        assert_eq!(split_body(br#"[{"a":1},{"b":2}]"#).expect("array").len(), 2);
        let single = split_body(br#"{"Type":"SigninLogs"}"#).expect("object");
        assert_eq!(single.len(), 1);
        assert!(single[0].as_ref().expect("row").contains_key("Type"));
        assert!(split_body(br#"{"records":[]}"#).expect("empty").is_empty());
    }

    #[test]
    fn invalid_bodies_fail_whole() {
        let e = split_body(b"{\"records\":[").expect_err("cut body");
        assert_eq!(e.reason, DeadReason::InvalidJson);
        let e = split_body(b"42").expect_err("scalar body");
        assert_eq!(e.reason, DeadReason::NotAnObject);
        let e = split_body(br#"{"records":{"a":1}}"#).expect_err("records not array");
        assert_eq!(e.reason, DeadReason::NotAnObject);
    }
}
