//! Rows inside one parsed JSON value: an export body, a query API response, an array, or a row.
//!
//! Main types: [`Body`] (what a value holds) and [`BodyRows`] (an iterator over the rows of a
//! multi-row value, yielding each row's position and either the row or why it is not one).
//! Invariants: positions count every row slot, good or bad, across all tables of a query API
//! response, so each row of one value has a distinct position; null query API cells are omitted.

use std::vec;

use serde_json::{Map, Value};

/// What one parsed JSON value holds.
pub(super) enum Body {
    /// A single row.
    Row(Map<String, Value>),
    /// Several rows: an Event Hubs body, a query API response, or an array of rows.
    Rows(BodyRows),
    /// A value that cannot be a row (number, string, null...).
    NotRow(Value),
}

/// One row slot of a multi-row value.
pub(super) enum RowOutcome {
    Row(Map<String, Value>),
    Bad { reason: String, raw: String },
}

/// Rows of a multi-row value, in document order.
pub(super) struct BodyRows {
    kind: Kind,
    /// Position of the next row slot.
    next_index: u32,
}

enum Kind {
    List(vec::IntoIter<Value>),
    Tables {
        tables: vec::IntoIter<Value>,
        current: Option<TableRows>,
    },
}

/// The rows of one query API table.
struct TableRows {
    /// Column names; `None` for a column without a usable name (its cells are skipped).
    columns: Vec<Option<String>>,
    rows: vec::IntoIter<Value>,
}

/// Classify a parsed value.
pub(super) fn classify(value: Value) -> Body {
    match value {
        Value::Array(items) => Body::Rows(BodyRows::new(Kind::List(items.into_iter()))),
        Value::Object(map) => classify_object(map),
        other => Body::NotRow(other),
    }
}

fn classify_object(mut map: Map<String, Value>) -> Body {
    match map.remove("records") {
        Some(Value::Array(items)) => {
            return Body::Rows(BodyRows::new(Kind::List(items.into_iter())));
        }
        Some(other) => {
            map.insert("records".into(), other);
        }
        None => {}
    }
    if is_query_response(&map)
        && let Some(Value::Array(tables)) = map.remove("tables")
    {
        let tables = tables.into_iter();
        return Body::Rows(BodyRows::new(Kind::Tables {
            tables,
            current: None,
        }));
    }
    Body::Row(map)
}

/// A query API response: `tables` is an array whose first table has `columns` and `rows`.
fn is_query_response(map: &Map<String, Value>) -> bool {
    let Some(Value::Array(tables)) = map.get("tables") else {
        return false;
    };
    tables
        .first()
        .and_then(Value::as_object)
        .is_some_and(|t| t.contains_key("columns") && t.contains_key("rows"))
}

impl BodyRows {
    fn new(kind: Kind) -> BodyRows {
        BodyRows {
            kind,
            next_index: 0,
        }
    }

    fn next_slot(&mut self) -> Option<RowOutcome> {
        match &mut self.kind {
            Kind::List(items) => items.next().map(list_item),
            Kind::Tables { tables, current } => loop {
                if let Some(table) = current
                    && let Some(row) = table.rows.next()
                {
                    return Some(table.row(row));
                }
                let next = tables.next()?;
                match TableRows::new(next) {
                    Ok(table) => *current = Some(table),
                    Err(bad) => {
                        *current = None;
                        return Some(bad);
                    }
                }
            },
        }
    }
}

impl Iterator for BodyRows {
    type Item = (u32, RowOutcome);

    fn next(&mut self) -> Option<(u32, RowOutcome)> {
        let outcome = self.next_slot()?;
        let index = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        Some((index, outcome))
    }
}

fn list_item(item: Value) -> RowOutcome {
    match item {
        Value::Object(map) => RowOutcome::Row(map),
        other => not_object(&other),
    }
}

pub(super) fn not_object(value: &Value) -> RowOutcome {
    RowOutcome::Bad {
        reason: "row is not a JSON object".into(),
        raw: value.to_string(),
    }
}

impl TableRows {
    fn new(table: Value) -> Result<TableRows, RowOutcome> {
        let bad = |reason: &str, table: &Value| RowOutcome::Bad {
            reason: format!("query API table {reason}"),
            raw: table.to_string(),
        };
        let Value::Object(mut map) = table else {
            return Err(bad("is not a JSON object", &table));
        };
        let (Some(Value::Array(columns)), Some(Value::Array(rows))) =
            (map.remove("columns"), map.remove("rows"))
        else {
            return Err(bad("lacks columns or rows arrays", &Value::Object(map)));
        };
        let columns = columns
            .iter()
            .map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        Ok(TableRows {
            columns,
            rows: rows.into_iter(),
        })
    }

    fn row(&self, row: Value) -> RowOutcome {
        let Value::Array(cells) = row else {
            return RowOutcome::Bad {
                reason: "query API row is not an array".into(),
                raw: row.to_string(),
            };
        };
        if cells.len() != self.columns.len() {
            return RowOutcome::Bad {
                reason: format!(
                    "query API row has {} cells but the table has {} columns",
                    cells.len(),
                    self.columns.len()
                ),
                raw: Value::Array(cells).to_string(),
            };
        }
        let mut fields = Map::new();
        for (name, cell) in self.columns.iter().zip(cells) {
            if let (Some(name), false) = (name, cell.is_null()) {
                fields.insert(name.clone(), cell);
            }
        }
        RowOutcome::Row(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(value: Value) -> Vec<(u32, Result<Value, String>)> {
        let Body::Rows(rows) = classify(value) else {
            panic!("expected rows");
        };
        rows.map(|(i, o)| match o {
            RowOutcome::Row(m) => (i, Ok(Value::Object(m))),
            RowOutcome::Bad { reason, .. } => (i, Err(reason)),
        })
        .collect()
    }

    #[test]
    fn records_body_yields_each_record_and_flags_non_objects() {
        let got = rows(json!({"records": [{"a": 1}, 7, {"b": 2}]}));
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (0, Ok(json!({"a": 1}))));
        assert_eq!(got[1], (1, Err("row is not a JSON object".into())));
        assert_eq!(got[2], (2, Ok(json!({"b": 2}))));
    }

    #[test]
    fn query_api_rows_become_objects_without_null_cells() {
        let got = rows(json!({"tables": [
            {"name": "PrimaryResult",
             "columns": [{"name": "TimeGenerated", "type": "datetime"},
                         {"name": "Entities", "type": "dynamic"},
                         {"name": "Score", "type": "real"}],
             "rows": [["2025-03-04T09:00:00Z", "[{\"a\":1}]", null],
                      ["2025-03-04T09:01:00Z", null, 0.5],
                      ["short"]]},
            {"name": "Second", "columns": [{"name": "X", "type": "string"}], "rows": [["y"]]}
        ]}));
        assert_eq!(
            got[0],
            (
                0,
                Ok(json!({"TimeGenerated": "2025-03-04T09:00:00Z", "Entities": "[{\"a\":1}]"}))
            )
        );
        assert_eq!(
            got[1],
            (
                1,
                Ok(json!({"TimeGenerated": "2025-03-04T09:01:00Z", "Score": 0.5}))
            )
        );
        assert_eq!(
            got[2],
            (
                2,
                Err("query API row has 1 cells but the table has 3 columns".into())
            )
        );
        assert_eq!(got[3], (3, Ok(json!({"X": "y"}))));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn plain_objects_are_rows_and_scalars_are_not() {
        assert!(matches!(classify(json!({"records": "x"})), Body::Row(_)));
        assert!(matches!(classify(json!({"tables": []})), Body::Row(_)));
        assert!(matches!(classify(json!(3)), Body::NotRow(_)));
        assert_eq!(rows(json!([{"a": 1}])), vec![(0, Ok(json!({"a": 1})))]);
    }
}
