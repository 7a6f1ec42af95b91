//! Synthetic Sentinel tenant generator: seeded, streaming, with injected attack scenarios.
//!
//! [`generate`] walks the tenant day by day and hands each row to a sink as a
//! `serde_json::Map` shaped like a Log Analytics export row, in event-time order; only the rows
//! of the day being built (plus a small spill into the next day) are held in memory, so a tenant
//! of millions of rows streams in constant space. [`write_blob_export`] lays the rows out like a
//! workspace data export to storage, and [`write_sample`] builds the sample shipped in
//! `samples/tenant/`.
//!
//! Invariants: the same [`TenantSpec`] (seed included) yields byte-identical output; every row
//! has `Type`, `TenantId` (the workspace id), a seven-digit `TimeGenerated` and its table's
//! native id column; each injected scenario's [`ScenarioTruth::evidence_ids`] name rows that
//! were emitted.

mod activity;
mod alerts;
mod directory;
mod engine;
mod export;
mod inject;
pub mod kafka;
mod places;
mod readme;
mod rowkit;
mod scenarios;
mod signin;
mod workloads;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use export::{ExportStats, blob_path, write_blob_export, write_sample};

/// What tenant to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSpec {
    pub seed: u64,
    /// e.g. 40 for the sample, 2000 for the benchmark.
    pub users: usize,
    /// e.g. 42. Scenarios need at least 42 days to fit after the 21-day baseline.
    pub days: u32,
    /// Day 0, 00:00Z.
    pub start: DateTime<Utc>,
    /// `contoso.com`
    pub domain: String,
    /// Log Analytics `TenantId` column value (the workspace GUID).
    pub workspace_id: String,
    /// The Entra tenant (`AADTenantId`, `AccountTenantId`).
    pub aad_tenant_id: String,
    /// Which scenarios to inject (each once, to distinct users).
    pub scenarios: Vec<ScenarioKind>,
    /// Extra high-priority UEBA noise share (0.0..1.0) for load tests.
    pub anomaly_share: f64,
}

impl TenantSpec {
    /// The shipped sample: 40 users over 42 days from Monday 2025-01-06, every scenario.
    pub fn sample() -> Self {
        TenantSpec {
            seed: 20_250_106,
            users: 40,
            days: 42,
            start: Utc
                .with_ymd_and_hms(2025, 1, 6, 0, 0, 0)
                .single()
                .expect("fixed sample start is a valid date"),
            domain: "contoso.com".into(),
            workspace_id: "8a1c4e2f-5b6d-4c7e-9f80-1a2b3c4d5e6f".into(),
            aad_tenant_id: "c0c0c0c0-1234-4abc-8def-0123456789ab".into(),
            scenarios: ScenarioKind::ALL.to_vec(),
            anomaly_share: 0.0,
        }
    }

    /// A benchmark tenant: the sample's tenant with more users and days and some UEBA noise.
    pub fn bench(users: usize, days: u32) -> Self {
        TenantSpec {
            seed: 42,
            users,
            days,
            anomaly_share: 0.02,
            ..TenantSpec::sample()
        }
    }
}

/// The attack (and one benign) stories the generator can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    NewCountryFinanceAccess,
    BulkDownloadBeforeResignation,
    InboxForwardAfterRiskySignIn,
    NewPrivilegedRole,
    DormantAccountWakes,
    ImpossibleTravel,
    BenignTravel,
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 7] = [
        ScenarioKind::NewCountryFinanceAccess,
        ScenarioKind::BulkDownloadBeforeResignation,
        ScenarioKind::InboxForwardAfterRiskySignIn,
        ScenarioKind::NewPrivilegedRole,
        ScenarioKind::DormantAccountWakes,
        ScenarioKind::ImpossibleTravel,
        ScenarioKind::BenignTravel,
    ];
}

/// What was injected, written beside the data as `ground-truth.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub scenarios: Vec<ScenarioTruth>,
}

/// One injected scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioTruth {
    pub kind: ScenarioKind,
    /// UPN as in IdentityInfo.
    pub user: String,
    pub object_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Trigger kinds (snake_case names of the product's trigger kinds) expected to fire.
    pub expected_triggers: Vec<String>,
    /// Strings the narrative must contain (country code, site, role, address, counts...).
    pub key_facts: Vec<String>,
    /// Evidence ids (`<Table>:<native id>`) of the injected rows.
    pub evidence_ids: Vec<String>,
    pub malicious: bool,
    pub description: String,
}

/// Generate every row in event-time order, calling `sink(table_name, row)`.
pub fn generate(spec: &TenantSpec, sink: &mut dyn FnMut(&str, Map<String, Value>)) -> GroundTruth {
    let mut engine = engine::Engine::new(spec);
    let mut pending: Vec<rowkit::Row> = Vec::new();
    for day in 0..spec.days {
        engine.day(day, &mut pending);
        // Rows of later days never precede the next midnight, so everything before it is final.
        pending.sort_by_key(|r| r.time);
        let cutoff = engine.day_start(day + 1);
        let ready = pending.partition_point(|r| r.time < cutoff);
        for row in pending.drain(..ready) {
            sink(row.table, row.into_map());
        }
    }
    for row in pending.drain(..) {
        sink(row.table, row.into_map());
    }
    engine.finish()
}
