//! Lenient column getters shared by every table decoder.
//!
//! Exported rows spell the same column in several ways (exact name, other casing, portal CSV
//! `Name [UTC]`, lab-export `Name_dynamic` / `Name_string` / `Name_d`) and type the same value in
//! several ways (JSON object or JSON text, bool or `"True"` or `0`, number or numeric string).
//! These getters hide that. Invariants:
//! - the exact lookup runs first; the slower case-insensitive scan runs only when it misses, and
//!   allocates nothing;
//! - JSON `null` counts as absent;
//! - a getter never fails the row: values that cannot be read become `None` and, where that
//!   loses information, a note is pushed onto the caller's warning list (`Event::warnings`).

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::event::IpRef;
use super::time;

/// Row or nested object of columns.
pub type Row = Map<String, Value>;

/// Suffixes of lab-export column variants, tried after the plain name.
const VARIANT_SUFFIXES: [&str; 3] = ["_dynamic", "_string", "_d"];

/// Find a column: exact name, then case-insensitive (also matching a portal `Name [UTC]`
/// header), then the `_dynamic`, `_string` and `_d` variants. `null` values are skipped.
pub fn get<'a>(m: &'a Row, name: &str) -> Option<&'a Value> {
    match m.get(name) {
        Some(v) if !v.is_null() => Some(v),
        _ => get_fallback(m, name),
    }
}

/// The slow path of [`get`]: one pass over the keys, best-ranked match wins.
fn get_fallback<'a>(m: &'a Row, name: &str) -> Option<&'a Value> {
    let mut best: Option<(usize, &'a Value)> = None;
    for (key, value) in m {
        if value.is_null() {
            continue;
        }
        let Some(rank) = match_rank(key, name) else {
            continue;
        };
        if best.is_none_or(|(r, _)| rank < r) {
            best = Some((rank, value));
        }
    }
    best.map(|(_, v)| v)
}

/// 0: same name in another casing, 1: `Name [UTC]`, 2..: variant suffix in preference order.
fn match_rank(key: &str, name: &str) -> Option<usize> {
    if key.eq_ignore_ascii_case(name) {
        return Some(0);
    }
    if key.len() <= name.len() || !key.is_char_boundary(name.len()) {
        return None;
    }
    let (stem, rest) = key.split_at(name.len());
    if !stem.eq_ignore_ascii_case(name) {
        return None;
    }
    if rest == " [UTC]" {
        return Some(1);
    }
    VARIANT_SUFFIXES
        .iter()
        .position(|s| rest.eq_ignore_ascii_case(s))
        .map(|i| i + 2)
}

/// A text column, trimmed. Empty, `-` and `null` become `None`; numbers and bools are
/// rendered as text (owned), strings are borrowed.
pub fn str_field<'a>(m: &'a Row, name: &str) -> Option<Cow<'a, str>> {
    value_text(get(m, name)?)
}

/// [`str_field`] as an owned `String`.
pub fn string_field(m: &Row, name: &str) -> Option<String> {
    str_field(m, name).map(Cow::into_owned)
}

/// The first of several columns that holds text.
pub fn first_string(m: &Row, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| string_field(m, n))
}

/// Text of a scalar JSON value, with the placeholder rules of [`str_field`].
pub fn value_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || t == "-" || t.eq_ignore_ascii_case("null") {
                None
            } else {
                Some(Cow::Borrowed(t))
            }
        }
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A boolean column: `true`/`false`, `0`/`1`, or those spelled as text in any casing.
pub fn bool_field(m: &Row, name: &str) -> Option<bool> {
    get(m, name).and_then(value_bool)
}

/// Boolean reading of one value (see [`bool_field`]).
pub fn value_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => text_bool(s.trim()),
        _ => None,
    }
}

/// `"True"`, `"false"`, `"1"`, `"0"` in any casing; anything else is not a boolean.
pub fn text_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") || s == "1" {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s == "0" {
        Some(false)
    } else {
        None
    }
}

/// An integer column: a JSON number (integral) or numeric text (`"1500"`). Anything else is
/// `None` plus an `invalid_number:<Column>` warning.
pub fn int_field(m: &Row, name: &str, warnings: &mut Vec<String>) -> Option<i64> {
    let v = get(m, name)?;
    let parsed = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(f64_to_i64)),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || t == "-" {
                return None;
            }
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().and_then(f64_to_i64))
        }
        _ => None,
    };
    if parsed.is_none() {
        warnings.push(format!("invalid_number:{name}"));
    }
    parsed
}

/// A real-number column: a JSON number or numeric text. Anything else is `None` plus an
/// `invalid_number:<Column>` warning.
pub fn f64_field(m: &Row, name: &str, warnings: &mut Vec<String>) -> Option<f64> {
    let v = get(m, name)?;
    let parsed = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || t == "-" {
                return None;
            }
            t.parse::<f64>().ok().filter(|x| x.is_finite())
        }
        _ => None,
    };
    if parsed.is_none() {
        warnings.push(format!("invalid_number:{name}"));
    }
    parsed
}

/// Whole-number floats only (`1500.0`), within range.
fn f64_to_i64(x: f64) -> Option<i64> {
    let in_range = x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15;
    in_range.then_some(x as i64)
}

/// A JSON-bearing column: an object or array as is, or text that begins with `{` or `[`
/// parsed as JSON. Text that fails to parse comes back as the raw string value with a
/// `parse_warning:<Column>` warning, so the row is never dropped. Other text and empty
/// strings are `None`.
pub fn json_field<'a>(
    m: &'a Row,
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<Cow<'a, Value>> {
    let v = get(m, name)?;
    match v {
        Value::Object(_) | Value::Array(_) => Some(Cow::Borrowed(v)),
        Value::String(s) => {
            let t = s.trim_start();
            if !(t.starts_with('{') || t.starts_with('[')) {
                return None;
            }
            match serde_json::from_str::<Value>(t) {
                Ok(parsed) => Some(Cow::Owned(parsed)),
                Err(_) => {
                    warnings.push(format!("parse_warning:{name}"));
                    Some(Cow::Borrowed(v))
                }
            }
        }
        _ => None,
    }
}

/// [`json_field`] reduced to an object; arrays, scalars and unparsable text give `None`
/// (the warning, if any, is still recorded).
pub fn object_field(m: &Row, name: &str, warnings: &mut Vec<String>) -> Option<Row> {
    match json_field(m, name, warnings)? {
        Cow::Owned(Value::Object(o)) => Some(o),
        Cow::Borrowed(Value::Object(o)) => Some(o.clone()),
        _ => None,
    }
}

/// A timestamp column via [`time::parse`]. Zone-less text is read as UTC and adds a
/// `naive_timestamp` warning; unparsable text is `None` with `invalid_time:<Column>`.
pub fn time_field(m: &Row, name: &str, warnings: &mut Vec<String>) -> Option<DateTime<Utc>> {
    let text = str_field(m, name)?;
    match time::parse(&text) {
        Some(p) => {
            if p.naive {
                warnings.push("naive_timestamp".to_owned());
            }
            Some(p.time)
        }
        None => {
            warnings.push(format!("invalid_time:{name}"));
            None
        }
    }
}

/// A list held as a JSON array, JSON array text, or comma-separated text. Items are trimmed;
/// empty items dropped.
pub fn list_field(m: &Row, name: &str, warnings: &mut Vec<String>) -> Vec<String> {
    let Some(v) = get(m, name) else {
        return Vec::new();
    };
    if let Value::String(s) = v
        && !s.trim_start().starts_with('[')
    {
        return split_list(s);
    }
    match json_field(m, name, warnings).as_deref() {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(value_text)
            .map(Cow::into_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Split comma-separated text into trimmed non-empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The first of `columns` that holds a usable address, with its raw spelling kept. A column
/// with text that is not an address adds an `invalid_ip:<Column>` warning and the next column
/// is tried.
pub fn ip_field(m: &Row, columns: &[&str], warnings: &mut Vec<String>) -> Option<IpRef> {
    for column in columns {
        let Some(text) = str_field(m, column) else {
            continue;
        };
        match parse_ip(&text) {
            Some(addr) => {
                let raw = match get(m, column) {
                    Some(Value::String(s)) => s.clone(),
                    _ => text.into_owned(),
                };
                return Some(IpRef { addr, raw });
            }
            None => warnings.push(format!("invalid_ip:{column}")),
        }
    }
    None
}

/// The object inside a parsed JSON column, if it is one.
pub fn as_object<'a>(v: &'a Option<Cow<'_, Value>>) -> Option<&'a Row> {
    v.as_deref().and_then(Value::as_object)
}

/// Normalise an address as written in a log column: `a.b.c.d:port`, `[v6]:port`, v6 with a
/// `%zone`, upper-case or uncompressed v6 and IPv4-mapped v6 all give the canonical address.
/// Empty text, `-` and anything unparsable give `None`.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let s = text.trim();
    if s.is_empty() || s == "-" {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (inner, _port) = rest.split_once(']')?;
        return parse_bare_ip(inner);
    }
    if let Some(ip) = parse_bare_ip(s) {
        return Some(ip);
    }
    // Only an IPv4 address with a port has exactly one colon.
    match s.split_once(':') {
        Some((host, port)) if !port.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
        }
        _ => None,
    }
}

/// An address without brackets or port; a `%zone` suffix is dropped.
fn parse_bare_ip(s: &str) -> Option<IpAddr> {
    let s = s.split_once('%').map_or(s, |(addr, _zone)| addr);
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Row {
        match v {
            Value::Object(m) => m,
            _ => panic!("test row must be an object"),
        }
    }

    #[test]
    fn get_prefers_exact_then_casing_then_variants() {
        let m = row(json!({"status_string": "s", "STATUS": "upper", "Other_d": {"a": 1}}));
        assert_eq!(get(&m, "Status"), Some(&json!("upper")));
        assert_eq!(get(&m, "Other"), Some(&json!({"a": 1})));
        let m = row(json!({"Status_dynamic": "dyn", "Status_string": "s"}));
        assert_eq!(get(&m, "Status"), Some(&json!("dyn")));
        let m = row(json!({"TimeGenerated [UTC]": "8/11/2023, 6:36:04.536 AM"}));
        assert_eq!(
            get(&m, "TimeGenerated"),
            Some(&json!("8/11/2023, 6:36:04.536 AM"))
        );
        let m = row(json!({"Status": null, "Status_d": 3}));
        assert_eq!(get(&m, "Status"), Some(&json!(3)));
        assert_eq!(get(&m, "Stat"), None);
    }

    #[test]
    fn str_field_drops_placeholders() {
        let m = row(json!({"a": " x ", "b": "", "c": "-", "d": "NULL", "e": 7, "f": true}));
        assert_eq!(str_field(&m, "a").as_deref(), Some("x"));
        assert_eq!(str_field(&m, "b"), None);
        assert_eq!(str_field(&m, "c"), None);
        assert_eq!(str_field(&m, "d"), None);
        assert_eq!(str_field(&m, "e").as_deref(), Some("7"));
        assert_eq!(str_field(&m, "f").as_deref(), Some("true"));
    }

    #[test]
    fn bool_field_reads_every_spelling() {
        let m = row(json!({
            "a": true, "b": 0, "c": 1, "d": "True", "e": "false", "f": "0", "g": "1", "h": "yes"
        }));
        let got: Vec<_> = ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .map(|k| bool_field(&m, k))
            .collect();
        let want = [true, false, true, true, false, false, true];
        let want: Vec<_> = want.into_iter().map(Some).chain([None]).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn numbers_from_numbers_and_text() {
        let m = row(json!({"a": 0, "b": "0", "c": "1500", "d": 1500, "e": "abc", "f": 2.5}));
        let mut w = Vec::new();
        let ints: Vec<_> = ["a", "b", "c", "d"]
            .iter()
            .map(|k| int_field(&m, k, &mut w))
            .collect();
        assert_eq!(ints, vec![Some(0), Some(0), Some(1500), Some(1500)]);
        assert!(w.is_empty());
        assert_eq!(int_field(&m, "e", &mut w), None);
        assert_eq!(int_field(&m, "f", &mut w), None);
        assert_eq!(w, vec!["invalid_number:e", "invalid_number:f"]);
        assert_eq!(f64_field(&m, "f", &mut w), Some(2.5));
        assert_eq!(f64_field(&m, "c", &mut w), Some(1500.0));
    }

    #[test]
    fn json_field_parses_text_and_keeps_broken_text() {
        let m = row(json!({"o": {"a": 1}, "t": "{\"a\":1}", "cut": "{\"a\":", "plain": "x"}));
        let mut w = Vec::new();
        assert_eq!(
            json_field(&m, "o", &mut w).as_deref(),
            Some(&json!({"a": 1}))
        );
        assert_eq!(
            json_field(&m, "t", &mut w).as_deref(),
            Some(&json!({"a": 1}))
        );
        assert!(w.is_empty());
        assert_eq!(
            json_field(&m, "cut", &mut w).as_deref(),
            Some(&json!("{\"a\":"))
        );
        assert_eq!(w, vec!["parse_warning:cut"]);
        assert_eq!(json_field(&m, "plain", &mut w), None);
    }

    #[test]
    fn lists_from_commas_and_json_text() {
        let m = row(json!({"a": "Execution, Persistence", "b": "[\"T1059\",\"T1078\"]", "c": []}));
        let mut w = Vec::new();
        assert_eq!(
            list_field(&m, "a", &mut w),
            vec!["Execution", "Persistence"]
        );
        assert_eq!(list_field(&m, "b", &mut w), vec!["T1059", "T1078"]);
        assert!(list_field(&m, "c", &mut w).is_empty());
        assert!(list_field(&m, "missing", &mut w).is_empty());
    }

    #[test]
    fn time_field_flags_naive_and_invalid() {
        let m = row(json!({"a": "2025-03-04 09:15:02", "b": "soon", "c": "2025-03-04T09:15:02Z"}));
        let mut w = Vec::new();
        let a = time_field(&m, "a", &mut w).map(|t| t.to_rfc3339());
        assert_eq!(a.as_deref(), Some("2025-03-04T09:15:02+00:00"));
        assert_eq!(time_field(&m, "b", &mut w), None);
        assert!(time_field(&m, "c", &mut w).is_some());
        assert_eq!(w, vec!["naive_timestamp", "invalid_time:b"]);
    }

    #[test]
    fn fc18_parse_ip_ports_zones_and_v6_spellings() {
        let cases = [
            ("203.0.113.7", Some("203.0.113.7")),
            ("203.0.113.7:50123", Some("203.0.113.7")),
            ("[2001:db8:4a::17]:443", Some("2001:db8:4a::17")),
            ("2001:db8:4a::17", Some("2001:db8:4a::17")),
            ("2001:DB8:4A:0:0:0:0:17", Some("2001:db8:4a::17")),
            (
                "fe80::1c2d:3e4f:5a6b:7c8d%12",
                Some("fe80::1c2d:3e4f:5a6b:7c8d"),
            ),
            ("::ffff:192.0.2.1", Some("192.0.2.1")),
            ("", None),
            ("-", None),
            ("not-an-ip", None),
            ("1.2.3.4:x", None),
        ];
        for (raw, want) in cases {
            let got = parse_ip(raw).map(|ip| ip.to_string());
            assert_eq!(got.as_deref(), want, "{raw}");
        }
    }
}
