//! The `response_format` schema: `schemas/narrative.schema.json` rewritten to fit the strict
//! structured-output rules of Azure OpenAI.
//!
//! [`strict_schema`] lists every property in `required`, sets `additionalProperties: false` on
//! every object, keeps nullability as type arrays, and strips keywords strict mode rejects
//! (`minimum`, `maximum`, `pattern`, `format`, `minItems`...). [`check_limits`] enforces at most
//! five levels of nesting and 100 object properties. The product still validates the answer
//! against the full schema afterwards.

use serde_json::{Map, Value};

const SCHEMA_JSON: &str = include_str!("../../../schemas/narrative.schema.json");

/// Keywords strict structured output does not accept.
const UNSUPPORTED: &[&str] = &[
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "patternProperties",
    "unevaluatedProperties",
    "propertyNames",
    "contains",
    "default",
    "examples",
    "$id",
    "$schema",
    "title",
];

pub const MAX_DEPTH: usize = 5;
pub const MAX_PROPERTIES: usize = 100;

/// The strict schema derived from the embedded narrative schema.
pub fn strict_schema() -> anyhow::Result<Value> {
    let source: Value = serde_json::from_str(SCHEMA_JSON)?;
    let strict = make_strict(source);
    check_limits(&strict)?;
    Ok(strict)
}

/// Rewrites one schema node and everything under it.
pub fn make_strict(node: Value) -> Value {
    let Value::Object(mut map) = node else {
        return node;
    };
    for k in UNSUPPORTED {
        map.remove(*k);
    }
    if let Some(Value::Object(props)) = map.remove("properties") {
        let names: Vec<Value> = props.keys().cloned().map(Value::String).collect();
        let props: Map<String, Value> = props
            .into_iter()
            .map(|(k, v)| (k, make_strict(v)))
            .collect();
        map.insert("properties".into(), Value::Object(props));
        map.insert("required".into(), Value::Array(names));
        map.insert("additionalProperties".into(), Value::Bool(false));
    } else if is_object_type(&map) {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["items", "anyOf", "$defs", "definitions"] {
        if let Some(v) = map.remove(key) {
            map.insert(key.into(), strict_children(v));
        }
    }
    Value::Object(map)
}

fn strict_children(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(make_strict).collect()),
        Value::Object(m) if m.contains_key("type") || m.contains_key("properties") => {
            make_strict(Value::Object(m))
        }
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, make_strict(v))).collect())
        }
        other => other,
    }
}

fn is_object_type(map: &Map<String, Value>) -> bool {
    match map.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => false,
    }
}

/// Fails when the schema nests deeper than [`MAX_DEPTH`] objects or holds more than
/// [`MAX_PROPERTIES`] properties.
pub fn check_limits(schema: &Value) -> anyhow::Result<()> {
    let (depth, props) = measure(schema);
    anyhow::ensure!(
        depth <= MAX_DEPTH,
        "structured-output schema nests {depth} levels (limit {MAX_DEPTH})"
    );
    anyhow::ensure!(
        props <= MAX_PROPERTIES,
        "structured-output schema has {props} properties (limit {MAX_PROPERTIES})"
    );
    Ok(())
}

/// (object nesting depth, total properties).
fn measure(node: &Value) -> (usize, usize) {
    let Value::Object(map) = node else {
        return (0, 0);
    };
    let mut depth = 0;
    let mut props = 0;
    if let Some(Value::Object(p)) = map.get("properties") {
        props += p.len();
        for child in p.values() {
            let (d, n) = measure(child);
            depth = depth.max(d);
            props += n;
        }
        depth += 1;
    }
    if let Some(items) = map.get("items") {
        let (d, n) = measure(items);
        depth = depth.max(d);
        props += n;
    }
    (depth, props)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects<'a>(v: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
        match v {
            Value::Object(m) => {
                if m.contains_key("properties") {
                    out.push(m);
                }
                m.values().for_each(|c| objects(c, out));
            }
            Value::Array(a) => a.iter().for_each(|c| objects(c, out)),
            _ => {}
        }
    }

    #[test]
    fn every_object_is_closed_and_lists_all_properties() {
        let s = strict_schema().expect("strict schema");
        let mut all = Vec::new();
        objects(&s, &mut all);
        assert!(all.len() >= 6, "found {} objects", all.len());
        for m in all {
            assert_eq!(m["additionalProperties"], Value::Bool(false));
            let props: Vec<&String> = m["properties"].as_object().expect("props").keys().collect();
            let req: Vec<&str> = m["required"]
                .as_array()
                .expect("required")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(props.len(), req.len());
        }
    }

    #[test]
    fn unsupported_keywords_are_stripped_and_nullability_kept() {
        let s = strict_schema().expect("strict schema");
        let text = s.to_string();
        for k in ["\"minimum\"", "\"maximum\"", "\"pattern\"", "\"$schema\""] {
            assert!(!text.contains(k), "{k} left in schema");
        }
        assert_eq!(
            s["properties"]["WatchlistProposal"]["type"],
            serde_json::json!(["object", "null"])
        );
    }

    #[test]
    fn deep_schema_is_refused() {
        let mut v = serde_json::json!({"type": "string"});
        for _ in 0..6 {
            v = serde_json::json!({"type": "object", "properties": {"x": v}});
        }
        let err = check_limits(&make_strict(v)).expect_err("too deep");
        assert!(err.to_string().contains("6 levels"), "{err}");
    }
}
