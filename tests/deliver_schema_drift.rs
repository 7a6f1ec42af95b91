//! One definition of the `UEBA_AI_Context_CL` columns: the JSON schema, the column file the
//! Bicep table and DCR stream load, and what the sink serialises must agree on every name and
//! type. Log Analytics drops an undeclared column without an error, so drift would lose data.
//! Also: every JSON file under `infra/` parses, and the Bicep reads the column files.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use ueba_narrator::sink::columns::{ColumnType, audit_columns, context_columns};

const DATE_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(rel: &str) -> Value {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The Log Analytics types a schema property may map to.
fn allowed_types(prop: &Value) -> Vec<ColumnType> {
    if prop.get("enum").is_some() {
        return vec![ColumnType::String];
    }
    if prop.get("oneOf").is_some() || prop.get("$ref").is_some() {
        return vec![ColumnType::Dynamic];
    }
    match prop["type"].as_str() {
        Some("string") if prop["pattern"] == DATE_PATTERN => vec![ColumnType::DateTime],
        Some("string") => vec![ColumnType::String, ColumnType::Guid],
        Some("integer") => vec![ColumnType::Int, ColumnType::Long],
        Some("number") => vec![ColumnType::Real],
        Some("boolean") => vec![ColumnType::Boolean],
        Some("array") | Some("object") => vec![ColumnType::Dynamic],
        other => panic!("unmapped schema type {other:?} in {prop}"),
    }
}

/// Names and types that do not line up between the schema and the column list.
fn drift(schema: &Value, columns: &BTreeMap<String, ColumnType>) -> Vec<String> {
    let props = schema["properties"].as_object().unwrap();
    let mut problems = Vec::new();
    for (name, prop) in props {
        match columns.get(name) {
            None => problems.push(format!("{name}: in the schema, not in the table")),
            Some(t) if !allowed_types(prop).contains(t) => {
                problems.push(format!("{name}: schema {prop} vs column {t:?}"))
            }
            Some(_) => {}
        }
    }
    for name in columns.keys() {
        if !props.contains_key(name) {
            problems.push(format!("{name}: in the table, not in the schema"));
        }
    }
    problems
}

fn column_map() -> BTreeMap<String, ColumnType> {
    context_columns()
        .iter()
        .map(|c| (c.name.clone(), c.kind))
        .collect()
}

#[test]
fn schema_and_table_columns_agree() {
    let schema = read_json("schemas/output-record.schema.json");
    assert_eq!(drift(&schema, &column_map()), Vec::<String>::new());
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let declared: Vec<&str> = context_columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(required, declared, "same columns in the same order");
}

#[test]
fn drift_check_catches_a_renamed_or_retyped_column() {
    let schema = read_json("schemas/output-record.schema.json");
    let mut cols = column_map();
    cols.insert("RiskScore".into(), ColumnType::String);
    let v = cols.remove("Summary").unwrap();
    cols.insert("Summary2".into(), v);
    let p = drift(&schema, &cols);
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(p.iter().any(|s| s.starts_with("RiskScore:")));
    assert!(p.iter().any(|s| s.starts_with("Summary:")));
    assert!(p.iter().any(|s| s.starts_with("Summary2:")));
}

#[test]
fn serialised_records_have_exactly_the_declared_columns_and_types() {
    let cols = column_map();
    for rec in support::records(6, "active") {
        let v = serde_json::to_value(&rec).unwrap();
        let obj = v.as_object().unwrap();
        let keys: Vec<&String> = obj.keys().collect();
        let mut want: Vec<&String> = cols.keys().collect();
        want.sort();
        let mut got = keys.clone();
        got.sort();
        assert_eq!(got, want);
        for (k, value) in obj {
            assert!(
                cols[k].accepts(value),
                "{k} = {value} does not fit {:?}",
                cols[k]
            );
            if cols[k] == ColumnType::Dynamic {
                assert!(
                    value.is_array() || value.is_object() || value.is_null(),
                    "{k}"
                );
            }
        }
    }
}

#[test]
fn infra_json_files_parse() {
    let mut seen = 0;
    let mut stack = vec![root().join("infra")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&p).unwrap();
                serde_json::from_str::<Value>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                seen += 1;
            }
        }
    }
    assert!(seen >= 4, "column files, parameters and workbook: {seen}");
}

#[test]
fn bicep_loads_the_column_files_and_declares_both_streams() {
    let bicep = std::fs::read_to_string(root().join("infra/main.bicep")).unwrap();
    for needle in [
        "loadJsonContent('columns/ueba-ai-context.json')",
        "loadJsonContent('columns/ueba-ai-audit.json')",
        "'Custom-UEBA_AI_Context'",
        "'Custom-UEBA_AI_Audit'",
        "outputStream: 'Custom-UEBA_AI_Context_CL'",
        "outputStream: 'Custom-UEBA_AI_Audit_CL'",
        "kind: 'Direct'",
    ] {
        assert!(bicep.contains(needle), "main.bicep lacks {needle}");
    }
    assert_eq!(audit_columns()[0].name, "TimeGenerated");
}

#[test]
fn workbook_and_queries_use_the_table_and_dedupe_by_record_id() {
    let wb = read_json("infra/workbook.json");
    assert_eq!(wb["version"], "Notebook/1.0");
    let text = wb.to_string();
    assert!(text.contains("arg_max(TimeGenerated, *) by RecordId"));
    let kql = std::fs::read_to_string(root().join("infra/queries.kql")).unwrap();
    assert!(kql.contains("summarize arg_max(TimeGenerated, *) by RecordId"));
    // Every column a query projects exists.
    for col in [
        "Generator",
        "PromptTokens",
        "LatencyMs",
        "EntityKey",
        "FlaggedFields",
    ] {
        assert!(column_map().contains_key(col), "{col}");
    }
}
