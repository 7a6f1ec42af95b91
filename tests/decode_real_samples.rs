//! Every row of each real sample export (`tests/fixtures/real/`) decodes without panicking,
//! with the counts of decoded, ignored and dead-lettered rows we expect from the data.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use ueba_narrator::decode::event::{Decoded, Detail, Event, Outcome as EventOutcome};
use ueba_narrator::decode::{DeadReason, DecodeError, Outcome, decode_record, envelope};

type Row = Map<String, Value>;

fn fixture(rel: &str) -> String {
    format!("{}/tests/fixtures/real/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// JSON Lines, one row per non-empty line.
fn jsonl_rows(rel: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(fixture(rel)).expect("fixture readable");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let rows = envelope::split_body(l.as_bytes()).expect("line is JSON");
            rows.into_iter()
                .next()
                .expect("one row")
                .expect("object row")
        })
        .collect()
}

/// Portal CSV: header names lose their ` [UTC]` suffix, empty cells are dropped.
fn csv_rows(rel: &str) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(fixture(rel)).expect("fixture readable");
    let headers: Vec<String> = reader
        .headers()
        .expect("header row")
        .iter()
        .map(|h| h.trim_end_matches(" [UTC]").to_owned())
        .collect();
    reader
        .records()
        .map(|rec| {
            let rec = rec.expect("well-formed CSV row");
            headers
                .iter()
                .zip(rec.iter())
                .filter(|(_, cell)| !cell.is_empty())
                .map(|(h, cell)| (h.clone(), Value::from(cell)))
                .collect()
        })
        .collect()
}

/// Log Analytics query API response: `tables[0].columns` names, `rows` values.
fn query_api_rows(rel: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(fixture(rel)).expect("fixture readable");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    let table = &v["tables"][0];
    let names: Vec<&str> = table["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().expect("column name"))
        .collect();
    table["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let cells = r.as_array().expect("row array");
            names
                .iter()
                .zip(cells)
                .map(|(n, c)| ((*n).to_owned(), c.clone()))
                .collect()
        })
        .collect()
}

#[derive(Debug, Default, PartialEq)]
struct Counts {
    decoded: usize,
    ignored: usize,
    dead: BTreeMap<&'static str, usize>,
}

fn decode_all(rows: &[Row]) -> (Counts, Vec<Event>) {
    let mut counts = Counts::default();
    let mut events = Vec::new();
    for row in rows {
        match decode_record(row) {
            Ok(Outcome::Decoded(d)) => {
                counts.decoded += 1;
                if let Decoded::Event(e) = d {
                    events.push(*e);
                }
            }
            Ok(Outcome::Ignored { .. }) => counts.ignored += 1,
            Err(DecodeError { reason, .. }) => {
                *counts.dead.entry(reason.as_str()).or_default() += 1
            }
        }
    }
    (counts, events)
}

fn counts(decoded: usize, ignored: usize, dead: &[(DeadReason, usize)]) -> Counts {
    Counts {
        decoded,
        ignored,
        dead: dead.iter().map(|(r, n)| (r.as_str(), *n)).collect(),
    }
}

#[test]
fn real_behavior_analytics_portal_csv() {
    let rows = csv_rows("azure-sentinel/Behavior-Analytics.csv");
    let (c, events) = decode_all(&rows);
    assert_eq!(c, counts(17, 0, &[]));
    let first = &events[0];
    assert_eq!(first.time.to_rfc3339(), "2023-08-11T06:36:04.536+00:00");
    assert_eq!(first.warnings, vec!["naive_timestamp".to_owned()]);
    assert_eq!(
        first.user.object_id.as_deref(),
        Some("e92cf820-2d8b-4d4f-aa52-4bb87dcf3812")
    );
    assert_eq!(
        first
            .untrusted
            .get("ActivityInsights.Process")
            .map(String::as_str),
        Some("powershell.exe")
    );
    let Detail::Ueba {
        priority, flags, ..
    } = &first.detail
    else {
        panic!("ueba detail expected");
    };
    assert_eq!(*priority, Some(0));
    assert_eq!(flags.get("UncommonHighVolumeOfActions"), Some(&false));
    assert!(!flags.contains_key("LastTimeUserPerformedAction"));
}

#[test]
fn real_office_activity_portal_csv() {
    let (c, _) = decode_all(&csv_rows("azure-sentinel/office_activity.csv"));
    assert_eq!(c, counts(4, 0, &[]));
}

#[test]
fn real_demo_exchange_csv_without_type() {
    // The 5-column export has no Type column: tag it as the table it came from. Rows with
    // neither UserId nor ClientIP name no entity and are dead-lettered.
    let mut rows = csv_rows("msticpy/demo_exchange_data.csv");
    for row in &mut rows {
        row.insert("Type".to_owned(), Value::from("OfficeActivity"));
    }
    let (c, events) = decode_all(&rows);
    assert_eq!(c, counts(244, 0, &[(DeadReason::MissingEntity, 1090)]));
    assert_eq!(events.iter().filter(|e| e.ip.is_some()).count(), 64);
    let v6 = events
        .iter()
        .filter_map(|e| e.ip.as_ref())
        .find(|ip| ip.raw == "[2603:1036:302:4091::5]:51902")
        .expect("bracketed v6 row present");
    assert_eq!(v6.addr.to_string(), "2603:1036:302:4091::5");
    let with_params = events
        .iter()
        .filter(
            |e| matches!(&e.detail, Detail::Office { parameters, .. } if !parameters.is_empty()),
        )
        .count();
    assert_eq!(with_params, 244);
}

#[test]
fn real_signin_logs_jsonl() {
    let (c, events) = decode_all(&jsonl_rows("msticpy/aad_logons.jsonl"));
    assert_eq!(c, counts(86, 0, &[]));
    let failures = events
        .iter()
        .filter(|e| {
            matches!(
                e.outcome,
                EventOutcome::Failure {
                    code: Some(90072),
                    ..
                }
            )
        })
        .count();
    assert_eq!(failures, 2);
    let first = &events[0];
    assert_eq!(
        first.evidence_id,
        "SigninLogs:f05079ed-f820-4531-ab26-498b53af3800"
    );
    assert_eq!(first.user.upn.as_deref(), Some("ctfuser3@seccxp.ninja"));
    assert_eq!(first.location.city.as_deref(), Some("Park Ridge"));
    assert_eq!(first.location.country.as_deref(), Some("US"));
    assert_eq!(
        first.ip.as_ref().map(|i| i.addr.to_string()).as_deref(),
        Some("24.13.212.221")
    );
}

#[test]
fn real_security_alerts_legacy_jsonl() {
    let (c, events) = decode_all(&jsonl_rows("msticpy/alerts_list.jsonl"));
    assert_eq!(c, counts(25, 0, &[]));
    let first = &events[0];
    assert_eq!(first.host.as_deref(), Some("MSTICAlertsLxVM2"));
    assert_eq!(
        first.ip.as_ref().map(|i| i.addr.to_string()).as_deref(),
        Some("23.97.60.214")
    );
    let Detail::Alert {
        severity,
        extended_properties,
        accounts,
        unresolved_refs,
        ..
    } = &first.detail
    else {
        panic!("alert detail expected");
    };
    assert_eq!(severity.as_deref(), Some("Low"));
    assert_eq!(extended_properties.len(), 10);
    assert_eq!(accounts[0].display_name.as_deref(), Some("dbadmin"));
    assert_eq!(*unresolved_refs, 0);
}

#[test]
fn real_security_alerts_query_api() {
    // These three alerts carry no entities and an empty CompromisedEntity.
    let (c, _) = decode_all(&query_api_rows("msticpy/az_mon_raw_query.json"));
    assert_eq!(c, counts(0, 0, &[(DeadReason::MissingEntity, 3)]));
}

#[test]
fn real_audit_logs_hunting_export() {
    // The hunting query overwrote Type with "Application" and "ServicePrincipal" in two rows.
    let (c, events) = decode_all(&jsonl_rows("otrf-security-datasets/AADAuditEvents.json"));
    assert_eq!(c, counts(2, 2, &[]));
    let first = &events[0];
    assert_eq!(first.user.upn.as_deref(), Some("pgarcia@simulandlabs.com"));
    assert_eq!(first.resource.as_deref(), Some("SimuLandApp"));
    assert_eq!(first.outcome, EventOutcome::Success);
    assert!(
        first.untrusted["UserAgent"].contains("WindowsPowerShell/5.1"),
        "{:?}",
        first.untrusted
    );
}

#[test]
fn real_office_activity_mail_items_accessed() {
    let (c, events) = decode_all(&jsonl_rows(
        "otrf-security-datasets/OfficeActivityEvents.json",
    ));
    assert_eq!(c, counts(1, 0, &[]));
    assert_eq!(
        events[0].evidence_id,
        "OfficeActivity:699e0b10-1c53-403e-976f-ce0847a92b44"
    );
    assert_eq!(events[0].operation.as_deref(), Some("MailItemsAccessed"));
    assert_eq!(events[0].app.as_deref(), Some("Exchange"));
}

/// A short hand-written export record with the quirks of a real SecurityAlert export:
/// `IsIncident` as 0, Entities as JSON text, null columns omitted, `_ItemId` present.
#[test]
fn export_record_with_omitted_columns_and_item_id() {
    let body = br#"{"records":[{"TenantId":"t","TimeGenerated":"2024-09-26T05:23:30.5594143Z",
        "AlertName":"Fixture alert","AlertSeverity":"High","IsIncident":0,
        "Entities":"[{\"$id\":\"2\",\"HostName\":\"srv-01\",\"Type\":\"host\"}]",
        "ExtendedProperties":"{\"Count\":2}","_ItemId":"item-77",
        "_Internal_WorkspaceResourceId":"/subscriptions/x","Type":"SecurityAlert"}]}"#;
    let rows = envelope::split_body(body).expect("valid body");
    let row = rows[0].as_ref().expect("object row");
    let Ok(Outcome::Decoded(Decoded::Event(e))) = decode_record(row) else {
        panic!("export record must decode");
    };
    assert_eq!(e.evidence_id, "SecurityAlert:item-77");
    assert_eq!(e.host.as_deref(), Some("srv-01"));
    let Detail::Alert {
        extended_properties,
        ..
    } = &e.detail
    else {
        panic!("alert detail expected");
    };
    assert_eq!(
        extended_properties.get("Count").map(String::as_str),
        Some("2")
    );
}
