//! Building blocks for generated rows: ids, timestamps and the columns every export row carries.
//!
//! [`Row`] wraps a `serde_json::Map` (sorted keys) and fills `Type`, `TenantId`, `TimeGenerated`,
//! `_ItemId`, `_Internal_WorkspaceResourceId` and `SourceSystem` the way a Log Analytics export
//! does. Invariants: `TimeGenerated` always has exactly seven fractional digits and a `Z`;
//! ids come only from the caller's seeded generator, so the same seed gives the same ids.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use rand::Rng;
use serde_json::{Map, Value};

/// Format an instant the way the export writes `TimeGenerated`: 100 ns ticks, `Z` suffix.
pub fn ts7(t: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_nanos() / 100
    )
}

/// A random GUID-shaped id (version-4 layout).
pub fn guid(rng: &mut impl Rng) -> String {
    let hi: u64 = rng.random();
    let lo: u64 = rng.random();
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// Add a random sub-second jitter in 100 ns ticks, so timestamps use all seven digits.
pub fn jitter(rng: &mut impl Rng, t: DateTime<Utc>) -> DateTime<Utc> {
    t + Duration::nanoseconds(i64::from(rng.random_range(0..10_000_000u32)) * 100)
}

/// Values shared by every row of one tenant.
#[derive(Debug, Clone)]
pub struct TenantCtx {
    pub workspace_id: String,
    pub aad_tenant_id: String,
    pub domain: String,
    /// `https://<tenant>.sharepoint.com`
    pub sharepoint: String,
    pub subscription_id: String,
    /// `_Internal_WorkspaceResourceId`, computed once from the three fields above.
    pub workspace_resource_id: String,
}

impl TenantCtx {
    /// The first label of the domain (`contoso` for `contoso.com`).
    pub fn domain_label(&self) -> &str {
        self.domain.split('.').next().unwrap_or(&self.domain)
    }

    /// The workspace ARM id as `_Internal_WorkspaceResourceId` spells it (lower case).
    pub fn resource_id_of(subscription: &str, resource_group: &str, workspace: &str) -> String {
        format!(
            "/subscriptions/{subscription}/resourcegroups/{resource_group}/providers/\
             microsoft.operationalinsights/workspaces/{workspace}"
        )
    }
}

/// One row under construction. Columns are kept as a flat list with static names and turned
/// into a `serde_json::Map` only when emitted ([`Row::into_map`]), which keeps the rows buffered
/// for time ordering cheap; a column set twice keeps its last value, as a map insert would.
#[derive(Debug, Clone)]
pub struct Row {
    pub table: &'static str,
    pub time: DateTime<Utc>,
    cols: Vec<(&'static str, Value)>,
}

impl Row {
    /// A row with the standard columns set; `item_id` becomes `_ItemId`.
    pub fn new(
        ctx: &TenantCtx,
        table: &'static str,
        time: DateTime<Utc>,
        item_id: &str,
        source_system: &str,
    ) -> Row {
        let mut cols = Vec::with_capacity(40);
        cols.push(("Type", Value::from(table)));
        cols.push(("TenantId", ctx.workspace_id.as_str().into()));
        cols.push(("TimeGenerated", ts7(time).into()));
        cols.push(("_ItemId", item_id.into()));
        cols.push((
            "_Internal_WorkspaceResourceId",
            ctx.workspace_resource_id.as_str().into(),
        ));
        cols.push(("SourceSystem", source_system.into()));
        Row { table, time, cols }
    }

    /// Set a column to any JSON value.
    pub fn set(&mut self, key: &'static str, value: impl Into<Value>) -> &mut Row {
        self.cols.push((key, value.into()));
        self
    }

    /// Set a string column.
    pub fn s(&mut self, key: &'static str, value: &str) -> &mut Row {
        self.set(key, value)
    }

    /// The current value of a column.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.cols
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// The current value of a string column, or `""`.
    pub fn get_str(&self, key: &str) -> &str {
        self.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// Drop a column (the export omits empty columns).
    pub fn remove(&mut self, key: &str) {
        self.cols.retain(|(k, _)| *k != key);
    }

    /// The row as the export writes it (sorted keys).
    pub fn into_map(self) -> Map<String, Value> {
        let mut map = Map::new();
        for (k, v) in self.cols {
            map.insert(k.to_string(), v);
        }
        map
    }
}

/// `"True"` / `"False"` as BehaviorAnalytics writes insight flags.
pub fn flag(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn ts7_has_seven_fraction_digits() {
        let t = Utc
            .with_ymd_and_hms(2025, 1, 6, 8, 15, 2)
            .single()
            .expect("valid date")
            + Duration::nanoseconds(123_456_700);
        assert_eq!(ts7(t), "2025-01-06T08:15:02.1234567Z");
        assert_eq!(
            ts7(t - Duration::nanoseconds(123_456_700)),
            "2025-01-06T08:15:02.0000000Z"
        );
    }

    #[test]
    fn guid_is_v4_shaped_and_seeded() {
        let mut a = ChaCha8Rng::seed_from_u64(7);
        let mut b = ChaCha8Rng::seed_from_u64(7);
        let g = guid(&mut a);
        assert_eq!(g, guid(&mut b));
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert!(
            matches!(&g[19..20], "8" | "9" | "a" | "b"),
            "variant nibble in {g}"
        );
        assert_ne!(g, guid(&mut a));
    }
}
