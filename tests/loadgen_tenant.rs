//! Tests of the tenant generator: reproducibility, row shapes, directory tables, export layout
//! and the injected scenarios' ground truth.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use ueba_narrator::decode::time::parse_instant;
use ueba_narrator::loadgen::{
    GroundTruth, ScenarioKind, ScenarioTruth, TenantSpec, blob_path, generate, write_blob_export,
};

type Rows = Vec<(String, Map<String, Value>)>;

fn run(spec: &TenantSpec) -> (Rows, GroundTruth) {
    let mut rows = Vec::new();
    let truth = generate(spec, &mut |t, r| rows.push((t.to_string(), r)));
    (rows, truth)
}

fn small(seed: u64) -> TenantSpec {
    TenantSpec {
        seed,
        users: 16,
        ..TenantSpec::sample()
    }
}

fn s<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or("")
}

fn time(row: &Map<String, Value>) -> DateTime<Utc> {
    parse_instant(s(row, "TimeGenerated")).expect("TimeGenerated parses")
}

fn native_id_column(table: &str) -> &'static str {
    match table {
        "BehaviorAnalytics" => "SourceRecordId",
        "OfficeActivity" => "OfficeId",
        "SecurityAlert" => "SystemAlertId",
        "AzureActivity" => "EventDataId",
        "IdentityInfo" | "UserPeerAnalytics" => "_ItemId",
        _ => "Id",
    }
}

fn evidence_id(table: &str, row: &Map<String, Value>) -> String {
    format!("{table}:{}", s(row, native_id_column(table)))
}

fn scenario(truth: &GroundTruth, kind: ScenarioKind) -> &ScenarioTruth {
    truth
        .scenarios
        .iter()
        .find(|s| s.kind == kind)
        .expect("scenario injected")
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out.sort();
    out
}

fn tree_hash(dir: &Path) -> String {
    let mut h = Sha256::new();
    for f in files_under(dir) {
        h.update(
            f.strip_prefix(dir)
                .expect("under root")
                .to_string_lossy()
                .as_bytes(),
        );
        h.update(std::fs::read(&f).expect("readable file"));
    }
    hex::encode(h.finalize())
}

#[test]
fn same_seed_gives_byte_identical_export_and_other_seed_differs() {
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    write_blob_export(&small(1), dirs[0].path()).expect("export a");
    write_blob_export(&small(1), dirs[1].path()).expect("export b");
    write_blob_export(&small(2), dirs[2].path()).expect("export c");
    let [a, b, c] = [0, 1, 2].map(|i| tree_hash(dirs[i].path()));
    assert_eq!(a, b, "same seed must give identical files");
    assert_ne!(a, c, "a different seed must give different files");
}

#[test]
fn sample_row_counts_are_in_expected_ranges() {
    let (rows, truth) = run(&TenantSpec::sample());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (t, _) in &rows {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    let within = |t: &str, lo: usize, hi: usize| {
        let n = counts.get(t).copied().unwrap_or(0);
        assert!(
            (lo..=hi).contains(&n),
            "{t}: {n} rows, expected {lo}..={hi}"
        );
    };
    assert!(
        (12_000..=20_000).contains(&rows.len()),
        "total {}",
        rows.len()
    );
    within("SigninLogs", 1_300, 2_000);
    within("BehaviorAnalytics", 1_300, 2_000);
    within("AADNonInteractiveUserSignInLogs", 1_500, 2_500);
    within("OfficeActivity", 6_000, 10_000);
    within("AuditLogs", 20, 200);
    within("AzureActivity", 150, 1_000);
    // 2 full syncs of 40 users, 2 title changes, a leaver and a role grant.
    within("IdentityInfo", 84, 84);
    within("UserPeerAnalytics", 1_200, 1_600);
    within("Anomalies", 1, 1);
    within("SecurityAlert", 1, 1);
    assert_eq!(truth.scenarios.len(), 7);
}

#[test]
fn every_row_has_standard_columns_and_native_id() {
    let spec = TenantSpec::sample();
    let (rows, _) = run(&spec);
    let mut seen = HashSet::new();
    let mut last = DateTime::<Utc>::MIN_UTC;
    for (table, row) in &rows {
        assert_eq!(s(row, "Type"), table);
        assert_eq!(s(row, "TenantId"), spec.workspace_id);
        let tg = s(row, "TimeGenerated");
        assert_eq!(tg.len(), 28, "{tg}");
        assert!(tg.ends_with('Z') && tg.as_bytes()[19] == b'.', "{tg}");
        assert!(tg[20..27].bytes().all(|b| b.is_ascii_digit()), "{tg}");
        assert_eq!(s(row, "_ItemId").len(), 36, "{table} _ItemId");
        let id = evidence_id(table, row);
        assert!(
            id.len() > table.len() + 10,
            "{table} lacks {}",
            native_id_column(table)
        );
        assert!(seen.insert(id.clone()), "duplicate evidence id {id}");
        assert!(time(row) >= last, "rows out of time order at {tg}");
        last = time(row);
    }
}

#[test]
fn behavior_rows_point_at_their_sign_ins_and_json_columns_keep_export_types() {
    let (rows, _) = run(&TenantSpec::sample());
    let items: HashSet<&str> = rows
        .iter()
        .filter(|(t, _)| t == "SigninLogs")
        .map(|(_, r)| s(r, "_ItemId"))
        .collect();
    for (t, r) in &rows {
        match t.as_str() {
            "BehaviorAnalytics" => {
                assert!(items.contains(s(r, "SourceRecordId")), "orphan UEBA row");
                let flag = &r["ActivityInsights"]["FirstTimeUserConnectedFromCountry"];
                assert!(flag == "True" || flag == "False", "flag {flag}");
            }
            "SigninLogs" => {
                assert!(r["LocationDetails"].is_object() && r["Status"].is_object());
                assert!(r["ResultType"].is_string());
            }
            "AADNonInteractiveUserSignInLogs" => {
                assert!(s(r, "LocationDetails").starts_with('{'));
                assert!(s(r, "DeviceDetail").starts_with('{'));
            }
            "OfficeActivity" => assert!(s(r, "UserId").ends_with("@contoso.com")),
            _ => {}
        }
    }
}

#[test]
fn peers_rank_at_most_twenty_without_self() {
    let (rows, _) = run(&TenantSpec::sample());
    let mut lists: HashMap<(String, String), Vec<(u64, String)>> = HashMap::new();
    for (_, r) in rows.iter().filter(|(t, _)| t == "UserPeerAnalytics") {
        assert_eq!(s(r, "UserPrincipalName"), "", "name columns are empty");
        let key = (
            s(r, "TimeGenerated").to_string(),
            s(r, "UserId").to_string(),
        );
        let rank = r["Rank"].as_u64().expect("integer rank");
        lists
            .entry(key)
            .or_default()
            .push((rank, s(r, "PeerUserId").to_string()));
    }
    assert_eq!(lists.len(), 80, "40 users at 2 computations");
    for ((_, user), mut peers) in lists {
        peers.sort();
        let ranks: Vec<u64> = peers.iter().map(|p| p.0).collect();
        assert_eq!(ranks, (1..=peers.len() as u64).collect::<Vec<_>>());
        assert!(
            peers.len() <= 20 && peers.len() >= 10,
            "{} peers",
            peers.len()
        );
        assert!(peers.iter().all(|p| p.1 != user), "self-peer");
        let distinct: HashSet<_> = peers.iter().map(|p| &p.1).collect();
        assert_eq!(distinct.len(), peers.len());
    }
}

#[test]
fn identity_info_has_two_full_syncs_per_user() {
    let (rows, _) = run(&TenantSpec::sample());
    let mut syncs: HashMap<&str, usize> = HashMap::new();
    for (_, r) in rows.iter().filter(|(t, _)| t == "IdentityInfo") {
        if s(r, "ChangeSource") == "FullSync" {
            *syncs.entry(s(r, "AccountObjectId")).or_default() += 1;
        }
    }
    assert_eq!(syncs.len(), 40);
    assert!(syncs.values().all(|n| *n == 2), "{syncs:?}");
}

#[test]
fn export_folders_match_time_buckets_and_hold_every_evidence_id() {
    let spec = TenantSpec::sample();
    let dir = tempfile::tempdir().expect("temp dir");
    let stats = write_blob_export(&spec, dir.path()).expect("export");
    let mut ids = HashSet::new();
    let mut total = 0u64;
    for f in files_under(dir.path())
        .iter()
        .filter(|f| f.ends_with("PT05M.json"))
    {
        let rel = f
            .strip_prefix(dir.path().join("export"))
            .expect("under export");
        for line in std::fs::read_to_string(f).expect("utf-8").lines() {
            let row: Map<String, Value> = serde_json::from_str(line).expect("JSON line");
            let table = s(&row, "Type");
            let wsid = s(&row, "_Internal_WorkspaceResourceId");
            assert_eq!(
                rel,
                blob_path(wsid, table, time(&row)),
                "row in wrong folder"
            );
            ids.insert(evidence_id(table, &row));
            total += 1;
        }
    }
    assert_eq!(total, stats.total_rows());
    let truth: GroundTruth = serde_json::from_slice(
        &std::fs::read(dir.path().join("ground-truth.json")).expect("ground truth written"),
    )
    .expect("ground truth parses");
    assert_eq!(truth.scenarios.len(), 7);
    for sc in &truth.scenarios {
        assert!(!sc.evidence_ids.is_empty(), "{:?} has no evidence", sc.kind);
        for id in &sc.evidence_ids {
            assert!(
                ids.contains(id),
                "{:?} evidence {id} not in export",
                sc.kind
            );
        }
    }
}

#[path = "loadgen_tenant/scenarios.rs"]
mod scenarios;

/// Throughput of generation alone for the benchmark tenant; run with
/// `cargo test --release --test loadgen_tenant measure -- --ignored --nocapture`.
/// Prints, never asserts.
#[test]
#[ignore = "measurement, run on demand in release"]
fn measure_bench_generation_rate() {
    let users = std::env::var("UEBA_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok());
    let spec = TenantSpec::bench(users.unwrap_or(5_000), 42);
    let started = std::time::Instant::now();
    let mut rows = 0u64;
    generate(&spec, &mut |_, _| rows += 1);
    let took = started.elapsed();
    eprintln!(
        "bench({}, 42): {rows} rows generated in {took:?}",
        spec.users
    );
}

/// Throughput of the blob export (disk-bound) for a 1,000-user benchmark tenant.
#[test]
#[ignore = "measurement, run on demand in release"]
fn measure_bench_export_rate() {
    let spec = TenantSpec::bench(1_000, 42);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = std::time::Instant::now();
    let stats = write_blob_export(&spec, dir.path()).expect("export");
    let took = started.elapsed();
    eprintln!(
        "bench(1000, 42): {} rows into {} files in {took:?}",
        stats.total_rows(),
        stats.files
    );
}
