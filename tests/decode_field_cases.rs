//! Field cases for the decode stage: each test feeds the fixture of one production fault
//! (`tests/fixtures/field/`) through `split_body` and `decode_record` and checks the values the
//! later stages rely on.

use std::net::IpAddr;

use ueba_narrator::decode::event::{Decoded, Detail, Event, Outcome as Result_, Table};
use ueba_narrator::decode::{DeadReason, DecodeError, Outcome, decode_record, envelope, fields};

type Decoded_ = Result<Outcome, DecodeError>;

fn decode_fixture(name: &str) -> Vec<Decoded_> {
    let path = format!("{}/tests/fixtures/field/{name}", env!("CARGO_MANIFEST_DIR"));
    let body = std::fs::read(&path).expect("fixture readable");
    envelope::split_body(&body)
        .expect("fixture body is valid")
        .into_iter()
        .map(|row| decode_record(&row.expect("fixture rows are objects")))
        .collect()
}

fn event(d: &Decoded_) -> &Event {
    match d {
        Ok(Outcome::Decoded(Decoded::Event(e))) => e,
        other => panic!("expected an event, got {other:?}"),
    }
}

fn ip(e: &Event) -> Option<String> {
    e.ip.as_ref().map(|i| i.addr.to_string())
}

#[test]
fn fc11_mixed_types_route_by_type_column() {
    let out = decode_fixture("FC-11-mixed-types-one-hub.json");
    assert_eq!(out.len(), 5);
    let tables: Vec<Option<Table>> = out
        .iter()
        .map(|d| match d {
            Ok(Outcome::Decoded(x)) => Some(x.table()),
            _ => None,
        })
        .collect();
    assert_eq!(
        tables,
        vec![
            Some(Table::BehaviorAnalytics),
            Some(Table::SigninLogs),
            Some(Table::IdentityInfo),
            None,
            None
        ]
    );
    match &out[3] {
        Ok(Outcome::Ignored { type_name }) => assert_eq!(type_name, "Heartbeat"),
        other => panic!("Heartbeat must be ignored, got {other:?}"),
    }
    let err = out[4].as_ref().expect_err("row without Type");
    assert_eq!(err.reason, DeadReason::MissingType);
    assert_eq!(err.reason.as_str(), "missing_type");
    let Ok(Outcome::Decoded(Decoded::Identity(id))) = &out[2] else {
        panic!("identity expected");
    };
    assert_eq!(id.upn.as_deref(), Some("adele.vance@contoso.com"));
    assert_eq!(
        id.groups,
        vec!["All Staff".to_owned(), "Legal Team".to_owned()]
    );
}

/// City, country, error code, operating system and step results of a sign-in.
type SignInFacts<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
    Option<&'a str>,
    Vec<bool>,
);

/// The values FC-12 requires to be equal whatever the column typing.
fn signin_facts(e: &Event) -> SignInFacts<'_> {
    let Detail::SignIn {
        error_code,
        operating_system,
        auth_steps,
        ..
    } = &e.detail
    else {
        panic!("sign-in detail expected");
    };
    (
        e.location.city.as_deref(),
        e.location.country.as_deref(),
        *error_code,
        operating_system.as_deref(),
        auth_steps
            .iter()
            .map(|s| s.succeeded.unwrap_or(true))
            .collect(),
    )
}

#[test]
fn fc12_dynamic_column_as_json_string() {
    let out = decode_fixture("FC-12-string-vs-dynamic-signin.json");
    let (interactive, text) = (event(&out[0]), event(&out[1]));
    let want = (
        Some("Amsterdam"),
        Some("NL"),
        Some(50126),
        Some("Windows10"),
        vec![false],
    );
    assert_eq!(signin_facts(interactive), want);
    assert_eq!(signin_facts(text), want);
    assert_eq!(interactive.location, text.location);
    assert_eq!(text.location.latitude, Some(52.37));
    assert_eq!(text.table, Table::AADNonInteractiveUserSignInLogs);
    let failure = Result_::Failure {
        code: Some(50126),
        reason: Some("Invalid credentials (fixture text)".to_owned()),
    };
    assert_eq!(interactive.outcome, failure);
    assert_eq!(text.outcome, failure);
    assert!(
        interactive.warnings.is_empty(),
        "{:?}",
        interactive.warnings
    );
    assert!(text.warnings.is_empty(), "{:?}", text.warnings);
}

#[test]
fn fc12_truncated_location_details_keeps_record() {
    let out = decode_fixture("FC-12-string-vs-dynamic-signin.json");
    let cut = event(&out[2]);
    assert_eq!(
        cut.evidence_id,
        "AADNonInteractiveUserSignInLogs:5e1a0003-0000-4000-8000-000000000003"
    );
    assert_eq!(cut.location, Default::default());
    assert_eq!(
        cut.warnings,
        vec!["parse_warning:LocationDetails".to_owned()]
    );
    assert_eq!(
        cut.untrusted.get("LocationDetails.raw").map(String::as_str),
        Some("{\"city\":\"Amsterdam\",\"countryOrRegion\":")
    );
    assert_eq!(
        cut.untrusted.get("Agent.agentType").map(String::as_str),
        Some("notAgentic")
    );
    assert_eq!(cut.outcome, Result_::Success);
    let (.., os, steps) = signin_facts(cut);
    assert_eq!((os, steps), (Some("Windows10"), vec![true]));
}

#[test]
fn fc13_timestamps_with_seven_decimals_and_numeric_strings() {
    let out = decode_fixture("FC-13-timestamps-and-numbers.json");
    assert_eq!(out.len(), 7);
    let times: Vec<String> = out[..6]
        .iter()
        .map(|d| {
            event(d)
                .time
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
        })
        .collect();
    assert_eq!(
        times,
        vec![
            "2025-03-04T09:15:02.123456700Z",
            "2025-03-04T09:15:02.000000000Z",
            "2025-03-04T09:15:02.100000000Z",
            "2025-03-04T09:15:02.123000000Z",
            "2025-03-04T09:15:02.123456700Z",
            "2025-03-04T09:15:02.000000000Z",
        ]
    );
    let durations: Vec<Option<i64>> = out[..5]
        .iter()
        .map(|d| match &event(d).detail {
            Detail::SignIn { duration_ms, .. } => *duration_ms,
            _ => panic!("sign-in expected"),
        })
        .collect();
    assert_eq!(
        durations,
        vec![Some(0), Some(0), Some(1500), Some(1500), Some(250)]
    );
    let warnings: Vec<usize> = out[..6].iter().map(|d| event(d).warnings.len()).collect();
    assert_eq!(warnings, vec![0, 0, 0, 0, 0, 1]);
    assert_eq!(event(&out[5]).warnings, vec!["naive_timestamp".to_owned()]);
    assert_eq!(event(&out[4]).evidence_id, "SigninLogs:t13-5");
    assert_eq!(created_date_time(4), "2025-03-04T09:15:02+00:00");
    let err = out[6].as_ref().expect_err("null TimeGenerated");
    assert_eq!(err.reason, DeadReason::MissingTime);
}

/// t13-5's `CreatedDateTime` (US month-first, no zone) read through the shared getter.
fn created_date_time(index: usize) -> String {
    let path = format!(
        "{}/tests/fixtures/field/FC-13-timestamps-and-numbers.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let body = std::fs::read(path).expect("fixture readable");
    let rows = envelope::split_body(&body).expect("valid body");
    let row = rows[index].as_ref().expect("object row");
    let mut warnings = Vec::new();
    let t = fields::time_field(row, "CreatedDateTime", &mut warnings).expect("US form parses");
    assert_eq!(warnings, vec!["naive_timestamp".to_owned()]);
    t.to_rfc3339()
}

fn ueba(e: &Event) -> &Detail {
    assert!(
        matches!(e.detail, Detail::Ueba { .. }),
        "ueba detail expected"
    );
    &e.detail
}

#[test]
fn fc16_priority_zero_with_threat_intel_and_null_priority() {
    let out = decode_fixture("FC-16-behavioranalytics-quirks.json");
    assert_eq!(out.len(), 5);
    let a = event(&out[0]);
    assert_eq!(a.evidence_id, "BehaviorAnalytics:ba16-a");
    assert_eq!(ip(a).as_deref(), Some("192.0.2.77"));
    let Detail::Ueba {
        priority,
        threat_intel,
        isp,
        ..
    } = ueba(a)
    else {
        unreachable!()
    };
    assert_eq!(*priority, Some(0));
    assert_eq!(threat_intel.as_deref(), Some("Botnet"));
    assert_eq!(isp.as_deref(), Some("Example Hosting Ltd"));
    let priorities: Vec<Option<u8>> = out
        .iter()
        .map(|d| match ueba(event(d)) {
            Detail::Ueba { priority, .. } => *priority,
            _ => None,
        })
        .collect();
    assert_eq!(priorities, vec![Some(0), None, Some(7), Some(4), Some(6)]);
    assert_eq!(
        event(&out[1]).user.object_id.as_deref(),
        Some("11111111-aaaa-4bbb-8ccc-000000000002")
    );
}

#[test]
fn fc16_string_flags_read_as_booleans() {
    let out = decode_fixture("FC-16-behavioranalytics-quirks.json");
    let Detail::Ueba {
        flags,
        true_flags,
        insights_truncated,
        ..
    } = ueba(event(&out[3]))
    else {
        unreachable!()
    };
    let want = [
        ("ActionUncommonlyPerformedByUser", false),
        ("AppUncommonlyUsedAmongPeers", false),
        ("CountryUncommonlyConnectedFromByUser", true),
        ("FirstTimeUserConnectedFromCountry", true),
        ("FirstTimeUserUsedApp", true),
        ("IsDormantAccount", false),
        ("IsNewAccount", false),
    ];
    let got: Vec<(&str, bool)> = flags.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(got, want);
    assert!(!flags.contains_key("LastTimeUserPerformedAction"));
    assert_eq!(
        true_flags,
        &vec![
            "CountryUncommonlyConnectedFromByUser".to_owned(),
            "FirstTimeUserConnectedFromCountry".to_owned(),
            "FirstTimeUserUsedApp".to_owned()
        ]
    );
    assert!(!insights_truncated);
}

#[test]
fn fc16_oversized_insights_truncated_keeps_true_flag() {
    let first = decode_fixture("FC-16-behavioranalytics-quirks.json");
    let again = decode_fixture("FC-16-behavioranalytics-quirks.json");
    let e = event(&first[4]);
    let Detail::Ueba {
        flags,
        true_flags,
        insights_truncated,
        ..
    } = ueba(e)
    else {
        unreachable!()
    };
    assert!(*insights_truncated);
    assert!(flags.len() <= 64);
    assert_eq!(
        true_flags,
        &vec!["FirstTimeUserAccessedResource".to_owned()]
    );
    assert_eq!(flags.get("FirstTimeUserAccessedResource"), Some(&true));
    assert_eq!(e, event(&again[4]), "same row, same decoded value");
    let bytes = serde_json::to_vec(&e.detail).expect("serialisable");
    assert!(
        bytes.len() < 4096,
        "kept insights stay small: {} bytes",
        bytes.len()
    );
}

#[test]
fn fc17_securityalert_entities_ref() {
    let out = decode_fixture("FC-17-securityalert-entities-ref.json");
    let a = event(&out[0]);
    assert_eq!(
        a.evidence_id,
        "SecurityAlert:a1e7f000-0000-4000-8000-000000000017"
    );
    assert_eq!(a.user.upn.as_deref(), Some("alex.wilber@contoso.com"));
    assert_eq!(
        a.user.object_id.as_deref(),
        Some("11111111-aaaa-4bbb-8ccc-000000000001")
    );
    assert_eq!(a.host.as_deref(), Some("CONTOSO-WS-017"));
    assert_eq!(ip(a).as_deref(), Some("203.0.113.45"));
    let Detail::Alert {
        accounts,
        hosts,
        ips,
        unresolved_refs,
        extended_properties,
        severity,
        techniques,
        tactics,
        ..
    } = &a.detail
    else {
        panic!("alert detail expected");
    };
    assert_eq!(accounts.len(), 1);
    assert_eq!(hosts, &vec!["CONTOSO-WS-017.corp.contoso.com".to_owned()]);
    assert_eq!(ips, &vec!["203.0.113.45".to_owned()]);
    assert_eq!(*unresolved_refs, 1);
    assert_eq!(extended_properties.len(), 3);
    assert_eq!(
        extended_properties.get("Query Period").map(String::as_str),
        Some("01:00:00")
    );
    assert_eq!(severity.as_deref(), Some("Medium"));
    assert_eq!(
        (tactics.clone(), techniques.clone()),
        (vec!["Execution".into()], vec!["T1059".into()])
    );
    assert_eq!(
        a.untrusted
            .get("Entities.4.CommandLine")
            .map(String::as_str),
        Some("powershell.exe -NoProfile -File fixture.ps1")
    );
    for (i, d) in out[1..].iter().enumerate() {
        let e = event(d);
        assert!(e.user.is_empty(), "alert {i} has no account");
        assert_eq!(e.host.as_deref(), Some("CONTOSO-WS-017"));
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    }
    let Detail::Alert {
        extended_properties,
        ..
    } = &event(&out[1]).detail
    else {
        panic!("alert detail expected");
    };
    assert!(extended_properties.is_empty());
}

#[test]
fn fc18_officeactivity_clientip_ports_zones_v6() {
    let out = decode_fixture("FC-18-officeactivity-clientip.json");
    assert_eq!(out.len(), 8);
    let events: Vec<&Event> = out.iter().map(event).collect();
    let ips: Vec<Option<String>> = events.iter().map(|e| ip(e)).collect();
    let want = [
        Some("203.0.113.7"),
        Some("203.0.113.7"),
        Some("2001:db8:4a::17"),
        Some("2001:db8:4a::17"),
        Some("2001:db8:4a::17"),
        Some("fe80::1c2d:3e4f:5a6b:7c8d"),
        None,
        None,
    ];
    let want: Vec<Option<String>> = want.iter().map(|w| w.map(str::to_owned)).collect();
    assert_eq!(ips, want);
    let raws: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.ip.as_ref().map(|i| i.raw.as_str()))
        .collect();
    assert_eq!(raws[1], Some("203.0.113.7:50123"));
    assert_eq!(raws[4], Some("2001:DB8:4A:0:0:0:0:17"));
    assert_eq!(raws[5], Some("fe80::1c2d:3e4f:5a6b:7c8d%12"));
    let distinct: std::collections::BTreeSet<IpAddr> = events
        .iter()
        .filter_map(|e| e.ip.as_ref().map(|i| i.addr))
        .collect();
    assert_eq!(distinct.len(), 3);
    assert!(
        events
            .iter()
            .all(|e| e.user.upn.as_deref() == Some("adele.vance@contoso.com"))
    );
    assert_eq!(
        events[0]
            .untrusted
            .get("SourceFileName")
            .map(String::as_str),
        Some("fixture-0.docx")
    );
    assert_eq!(
        events[0].resource.as_deref(),
        Some("https://contoso.sharepoint.com/sites/legal")
    );
}
