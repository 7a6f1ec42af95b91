//! The declared columns of the custom tables, read from `infra/columns/*.json` (the same files the
//! Bicep templates load), so the sink, the table, the DCR stream and the JSON schema share one
//! definition. Log Analytics silently drops a column the DCR does not declare, so rows are checked
//! against this list before they are sent.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Log Analytics column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ColumnType {
    String,
    Int,
    Long,
    Real,
    Boolean,
    DateTime,
    Dynamic,
    Guid,
}

impl ColumnType {
    /// Whether a JSON value can be ingested into a column of this type (null always can).
    pub fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (_, Value::Null) => true,
            (ColumnType::String | ColumnType::Guid, Value::String(_)) => true,
            (ColumnType::DateTime, Value::String(s)) => crate::decode::time::parse(s).is_some(),
            (ColumnType::Int, Value::Number(n)) => {
                n.as_i64().is_some_and(|i| i32::try_from(i).is_ok())
            }
            (ColumnType::Long, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (ColumnType::Real, Value::Number(_)) => true,
            (ColumnType::Boolean, Value::Bool(_)) => true,
            (ColumnType::Dynamic, _) => true,
            _ => false,
        }
    }
}

/// One declared column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

fn parse(text: &str, file: &str) -> Vec<Column> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{file} is not a column list: {e}"))
}

static CONTEXT: LazyLock<Vec<Column>> = LazyLock::new(|| {
    parse(
        include_str!("../../infra/columns/ueba-ai-context.json"),
        "infra/columns/ueba-ai-context.json",
    )
});

static AUDIT: LazyLock<Vec<Column>> = LazyLock::new(|| {
    parse(
        include_str!("../../infra/columns/ueba-ai-audit.json"),
        "infra/columns/ueba-ai-audit.json",
    )
});

/// Columns of `UEBA_AI_Context_CL` (stream `Custom-UEBA_AI_Context`).
pub fn context_columns() -> &'static [Column] {
    &CONTEXT
}

/// Columns of `UEBA_AI_Audit_CL` (stream `Custom-UEBA_AI_Audit`).
pub fn audit_columns() -> &'static [Column] {
    &AUDIT
}

/// Problems that would make Azure drop data: unknown keys and values of the wrong type.
pub fn check_row(columns: &[Column], row: &Map<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, value) in row {
        match columns.iter().find(|c| &c.name == key) {
            None => problems.push(format!("undeclared column `{key}`")),
            Some(c) if !c.kind.accepts(value) => {
                problems.push(format!("column `{key}` ({:?}) cannot hold {value}", c.kind))
            }
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_tables_have_time_generated_first() {
        for cols in [context_columns(), audit_columns()] {
            assert_eq!(cols[0].name, "TimeGenerated");
            assert_eq!(cols[0].kind, ColumnType::DateTime);
        }
        assert_eq!(context_columns().len(), 46);
    }

    #[test]
    fn check_row_reports_unknown_and_mistyped() {
        let row = json!({"RecordId": "a", "RiskScore": "high", "Bogus": 1, "Claims": []});
        let p = check_row(context_columns(), row.as_object().unwrap());
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().any(|s| s.contains("`Bogus`")));
        assert!(p.iter().any(|s| s.contains("`RiskScore`")));
    }

    #[test]
    fn int_rejects_values_past_32_bits() {
        assert!(ColumnType::Int.accepts(&json!(5)));
        assert!(!ColumnType::Int.accepts(&json!(5_000_000_000u64)));
        assert!(ColumnType::Long.accepts(&json!(5_000_000_000u64)));
        assert!(ColumnType::DateTime.accepts(&json!("2024-09-26T05:23:30.5594143Z")));
        assert!(!ColumnType::DateTime.accepts(&json!("yesterday")));
    }
}
