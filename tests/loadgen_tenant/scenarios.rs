//! Each injected scenario has the rows the product keys on, and its ground truth agrees.

use super::*;

fn rows_of<'a>(rows: &'a Rows, sc: &ScenarioTruth) -> Vec<&'a (String, Map<String, Value>)> {
    let ids: HashSet<&str> = sc.evidence_ids.iter().map(String::as_str).collect();
    rows.iter()
        .filter(|(t, r)| ids.contains(evidence_id(t, r).as_str()))
        .collect()
}

fn haversine_km(a: &Value, b: &Value) -> f64 {
    let coord = |v: &Value, k: &str| v["geoCoordinates"][k].as_f64().expect("coordinate");
    let (la1, lo1) = (
        coord(a, "latitude").to_radians(),
        coord(a, "longitude").to_radians(),
    );
    let (la2, lo2) = (
        coord(b, "latitude").to_radians(),
        coord(b, "longitude").to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

fn sample() -> &'static (Rows, GroundTruth) {
    static CELL: std::sync::OnceLock<(Rows, GroundTruth)> = std::sync::OnceLock::new();
    CELL.get_or_init(|| run(&TenantSpec::sample()))
}

#[test]
fn scenarios_go_to_distinct_users_after_the_baseline() {
    let (_, truth) = sample();
    let users: HashSet<&str> = truth.scenarios.iter().map(|s| s.user.as_str()).collect();
    assert_eq!(users.len(), 7);
    let baseline_end = TenantSpec::sample().start + Duration::days(21);
    for sc in &truth.scenarios {
        assert!(sc.start > baseline_end, "{:?} starts {}", sc.kind, sc.start);
        assert!(sc.end >= sc.start);
        assert_eq!(sc.malicious, sc.kind != ScenarioKind::BenignTravel);
    }
}

#[test]
fn new_country_finance_access_signs_in_from_br_then_reads_payroll() {
    let (rows, truth) = sample();
    let sc = scenario(truth, ScenarioKind::NewCountryFinanceAccess);
    assert_eq!(sc.key_facts, ["BR", "Finance-Payroll", "02:15"]);
    let ev = rows_of(rows, sc);
    let signin = ev.iter().find(|(t, _)| t == "SigninLogs").expect("sign-in");
    assert_eq!(s(&signin.1, "Location"), "BR");
    assert_eq!(s(&signin.1, "ResultType"), "0");
    assert_eq!(&s(&signin.1, "TimeGenerated")[11..16], "02:15");
    let ba = ev
        .iter()
        .find(|(t, _)| t == "BehaviorAnalytics")
        .expect("UEBA row");
    assert_eq!(ba.1["InvestigationPriority"], 8);
    assert_eq!(
        ba.1["ActivityInsights"]["FirstTimeUserConnectedFromCountry"],
        "True"
    );
    assert_eq!(
        ba.1["ActivityInsights"]["CountryUncommonlyConnectedFromAmongPeers"],
        "True"
    );
    let files: Vec<_> = ev.iter().filter(|(t, _)| t == "OfficeActivity").collect();
    assert!(
        files
            .iter()
            .filter(|(_, r)| s(r, "Operation") == "FileDownloaded")
            .count()
            >= 2
    );
    for (_, r) in &files {
        assert!(s(r, "Site_Url").ends_with("/sites/Finance-Payroll/"));
        assert!(time(r) - time(&signin.1) <= Duration::minutes(30));
    }
    // Nobody outside Finance touches the payroll site in ordinary activity.
    let payroll_users: HashSet<&str> = rows
        .iter()
        .filter(|(t, r)| t == "OfficeActivity" && s(r, "Site_Url").contains("Finance-Payroll"))
        .map(|(_, r)| s(r, "UserId"))
        .filter(|u| *u != sc.user)
        .collect();
    let finance: HashSet<&str> = rows
        .iter()
        .filter(|(t, r)| t == "IdentityInfo" && s(r, "Department") == "Finance")
        .map(|(_, r)| s(r, "AccountUPN"))
        .collect();
    assert!(!payroll_users.is_empty() && payroll_users.is_subset(&finance));
    assert!(!finance.contains(sc.user.as_str()));
}

#[test]
fn bulk_download_key_fact_is_largest_day_count() {
    let (rows, truth) = sample();
    let sc = scenario(truth, ScenarioKind::BulkDownloadBeforeResignation);
    let mut injected: BTreeMap<String, usize> = BTreeMap::new();
    for (_, r) in rows_of(rows, sc) {
        assert!(matches!(
            s(r, "Operation"),
            "FileDownloaded" | "FileSyncDownloadedFull"
        ));
        assert!(s(r, "Site_Url").contains(&format!("/sites/{}/", sc.key_facts[1])));
        *injected
            .entry(s(r, "TimeGenerated")[..10].to_string())
            .or_default() += 1;
    }
    assert!(injected.len() >= 9, "{} days of downloads", injected.len());
    let mut all: BTreeMap<String, usize> = BTreeMap::new();
    for (_, r) in rows
        .iter()
        .filter(|(t, r)| t == "OfficeActivity" && s(r, "UserId") == sc.user)
    {
        if matches!(
            s(r, "Operation"),
            "FileDownloaded" | "FileSyncDownloadedFull"
        ) {
            *all.entry(s(r, "TimeGenerated")[..10].to_string())
                .or_default() += 1;
        }
    }
    let largest = all.values().max().copied().unwrap_or(0);
    assert!((150..=310).contains(&largest), "largest day {largest}");
    assert_eq!(sc.key_facts[0], largest.to_string());
    let before: Vec<usize> = all
        .iter()
        .filter(|(d, _)| !injected.contains_key(*d))
        .map(|(_, n)| *n)
        .collect();
    assert!(before.iter().all(|n| *n <= 5), "baseline days {before:?}");
    let leaver = rows.iter().any(|(t, r)| {
        t == "IdentityInfo"
            && s(r, "AccountUPN") == sc.user
            && r["GroupMembership"]
                .as_array()
                .is_some_and(|g| g.iter().any(|x| x == "Leavers"))
    });
    assert!(leaver, "resignation signal missing");
}

#[test]
fn inbox_forward_follows_risky_sign_in_and_alert() {
    let (rows, truth) = sample();
    let sc = scenario(truth, ScenarioKind::InboxForwardAfterRiskySignIn);
    assert_eq!(
        sc.key_facts,
        ["external.collector@proton.example", "New-InboxRule"]
    );
    let ev = rows_of(rows, sc);
    let signin = ev.iter().find(|(t, _)| t == "SigninLogs").expect("sign-in");
    assert_eq!(s(&signin.1, "RiskLevelDuringSignIn"), "high");
    assert_eq!(s(&signin.1, "RiskState"), "atRisk");
    assert_eq!(
        s(&signin.1, "RiskEventTypes_V2"),
        "[\"unfamiliarFeatures\"]"
    );
    let alert = ev
        .iter()
        .find(|(t, _)| t == "SecurityAlert")
        .expect("alert");
    assert_eq!(s(&alert.1, "AlertName"), "Unfamiliar sign-in properties");
    let entities: Value = serde_json::from_str(s(&alert.1, "Entities")).expect("JSON text");
    assert_eq!(entities[0]["$id"], "2");
    let rule = ev
        .iter()
        .find(|(t, _)| t == "OfficeActivity")
        .expect("rule");
    assert_eq!(s(&rule.1, "Operation"), "New-InboxRule");
    let params: Value = serde_json::from_str(s(&rule.1, "Parameters")).expect("JSON text");
    assert!(
        params
            .as_array()
            .expect("array")
            .iter()
            .any(|p| p["Name"] == "ForwardTo" && p["Value"] == "external.collector@proton.example")
    );
    let gap = time(&rule.1) - time(&signin.1);
    assert!(
        gap >= Duration::minutes(20) && gap < Duration::minutes(21),
        "gap {gap}"
    );
}

#[test]
fn privileged_role_audit_and_anomaly() {
    let (rows, truth) = sample();
    let sc = scenario(truth, ScenarioKind::NewPrivilegedRole);
    let ev = rows_of(rows, sc);
    let audit = ev
        .iter()
        .find(|(t, _)| t == "AuditLogs")
        .expect("audit row");
    assert_eq!(s(&audit.1, "OperationName"), "Add member to role");
    let target = &audit.1["TargetResources"][0];
    assert_eq!(target["userPrincipalName"], sc.user.as_str());
    assert_eq!(
        target["modifiedProperties"][0]["newValue"],
        "\"Global Administrator\""
    );
    assert!(target["modifiedProperties"][0]["oldValue"].is_null());
    let anomaly = ev.iter().find(|(t, _)| t == "Anomalies").expect("anomaly");
    assert_eq!(anomaly.1["Score"], 0.82);
    assert_eq!(s(&anomaly.1, "Techniques"), "T1098");
}

#[test]
fn dormant_account_is_silent_for_five_weeks_before_waking() {
    let (rows, truth) = sample();
    let sc = scenario(truth, ScenarioKind::DormantAccountWakes);
    let activity: Vec<DateTime<Utc>> = rows
        .iter()
        .filter(|(t, r)| {
            !matches!(
                t.as_str(),
                "IdentityInfo" | "UserPeerAnalytics" | "AuditLogs"
            ) && [s(r, "UserPrincipalName"), s(r, "UserId")].contains(&sc.user.as_str())
        })
        .map(|(_, r)| time(r))
        .collect();
    let wake = sc.start;
    let last_before = activity
        .iter()
        .filter(|t| **t < wake)
        .max()
        .expect("early activity");
    let idle = (wake - *last_before).num_days();
    assert!(idle >= 35, "idle {idle} days");
    assert_eq!(sc.key_facts, [idle.to_string()]);
    let ba = rows_of(rows, sc)
        .into_iter()
        .find(|(t, _)| t == "BehaviorAnalytics")
        .expect("UEBA");
    assert_eq!(ba.1["UsersInsights"]["IsDormantAccount"], "True");
    assert_eq!(ba.1["InvestigationPriority"], 7);
}

#[test]
fn impossible_travel_is_forty_minutes_and_over_5000_km() {
    let (rows, truth) = sample();
    let sc = scenario(truth, ScenarioKind::ImpossibleTravel);
    let signins: Vec<_> = rows_of(rows, sc)
        .into_iter()
        .filter(|(t, _)| t == "SigninLogs")
        .collect();
    assert_eq!(signins.len(), 2);
    let (a, b) = (&signins[0].1, &signins[1].1);
    assert_eq!(time(b) - time(a), Duration::minutes(40));
    assert!(haversine_km(&a["LocationDetails"], &b["LocationDetails"]) > 5_000.0);
    assert_eq!(sc.key_facts, [s(a, "Location"), s(b, "Location")]);
}

#[test]
fn benign_travel_uses_usual_device_from_germany() {
    let (rows, truth) = sample();
    let sc = scenario(truth, ScenarioKind::BenignTravel);
    let signins: Vec<_> = rows_of(rows, sc)
        .into_iter()
        .filter(|(t, _)| t == "SigninLogs")
        .collect();
    assert!(signins.len() >= 4, "{} trip sign-ins", signins.len());
    let usual = rows
        .iter()
        .find(|(t, r)| {
            t == "SigninLogs" && s(r, "UserPrincipalName") == sc.user && s(r, "Location") != "DE"
        })
        .map(|(_, r)| r["DeviceDetail"]["deviceId"].clone())
        .expect("home sign-in");
    for (_, r) in &signins {
        assert_eq!(s(r, "Location"), "DE");
        assert_eq!(r["DeviceDetail"]["deviceId"], usual);
    }
    assert!(!sc.malicious);
}
