//! Sign-in rows (SigninLogs, AADNonInteractiveUserSignInLogs) and the BehaviorAnalytics row
//! UEBA writes for each interactive sign-in.
//!
//! Shapes follow the export: SigninLogs carries `LocationDetails`, `DeviceDetail` and `Status`
//! as JSON objects, the non-interactive table carries the same columns as JSON text;
//! BehaviorAnalytics insight flags are `"True"`/`"False"` strings and its `SourceRecordId` is the
//! sign-in's `_ItemId`. Every builder returns the row and the native id the decoder cites.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::{Map, Value, json};

use super::directory::User;
use super::places::City;
use super::rowkit::{Row, TenantCtx, flag, guid, ts7};

/// An Entra application users sign in to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App {
    pub name: &'static str,
    pub id: &'static str,
    pub resource: &'static str,
}

pub const TEAMS: App = App {
    name: "Microsoft Teams",
    id: "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    resource: "Microsoft Teams Services",
};
pub const OUTLOOK: App = App {
    name: "Office 365 Exchange Online",
    id: "00000002-0000-0ff1-ce00-000000000000",
    resource: "Office 365 Exchange Online",
};
pub const SHAREPOINT: App = App {
    name: "Office 365 SharePoint Online",
    id: "00000003-0000-0ff1-ce00-000000000000",
    resource: "Office 365 SharePoint Online",
};
pub const AZURE_PORTAL: App = App {
    name: "Azure Portal",
    id: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
    resource: "Windows Azure Service Management API",
};

/// Every BehaviorAnalytics activity flag the generator writes, all `"False"` unless raised.
const ACTIVITY_FLAGS: [&str; 10] = [
    "FirstTimeUserConnectedFromCountry",
    "CountryUncommonlyConnectedFromByUser",
    "CountryUncommonlyConnectedFromAmongPeers",
    "FirstTimeConnectionFromCountryObservedInTenant",
    "FirstTimeUserConnectedViaISP",
    "ISPUncommonlyUsedByUser",
    "FirstTimeUserConnectedFromDevice",
    "FirstTimeUserUsedApp",
    "AppUncommonlyUsedByUser",
    "UncommonHighVolumeOfActions",
];

/// One sign-in to generate.
#[derive(Debug, Clone)]
pub struct SignIn<'a> {
    pub user: &'a User,
    pub time: DateTime<Utc>,
    pub city: &'a City,
    pub ip: String,
    pub app: App,
    /// `"0"` for success, else an AADSTS code such as `"50126"`.
    pub result: &'static str,
    /// `RiskLevelDuringSignIn`; `None` means `"none"`.
    pub risk: Option<&'static str>,
    /// Device and browser differ from the user's usual ones.
    pub foreign_device: bool,
}

/// What UEBA concluded about a sign-in.
#[derive(Debug, Clone, Default)]
pub struct Insights {
    pub priority: u8,
    pub true_flags: Vec<&'static str>,
    pub dormant: bool,
}

fn location(city: &City) -> Value {
    json!({
        "city": city.name,
        "state": city.state,
        "countryOrRegion": city.country,
        "geoCoordinates": {"latitude": city.lat, "longitude": city.lon},
    })
}

fn device(s: &SignIn) -> Value {
    if s.foreign_device {
        return json!({"deviceId": "", "operatingSystem": "Linux", "browser": "Firefox 128.0"});
    }
    json!({
        "deviceId": s.user.device_id,
        "displayName": s.user.device_name,
        "operatingSystem": s.user.os,
        "browser": s.user.browser,
        "isCompliant": true,
        "isManaged": true,
        "trustType": "Azure AD joined",
    })
}

fn status(result: &str) -> Value {
    match result {
        "0" => json!({"errorCode": 0}),
        code => json!({
            "errorCode": code.parse::<i64>().unwrap_or(0),
            "failureReason":
                "Invalid username or password or Invalid on-premise username or password.",
        }),
    }
}

fn auth_details(s: &SignIn) -> String {
    let ok = s.result == "0";
    let steps = json!([{
        "authenticationStepDateTime": ts7(s.time),
        "authenticationMethod": "Password",
        "succeeded": ok,
        "authenticationStepResultDetail": if ok { "Correct password" } else { "Invalid password" },
    }]);
    steps.to_string()
}

fn user_agent(s: &SignIn) -> &'static str {
    if s.foreign_device {
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    } else {
        s.user.user_agent
    }
}

/// Columns both sign-in tables share.
fn base(ctx: &TenantCtx, rng: &mut impl Rng, s: &SignIn, table: &'static str) -> (Row, String) {
    let id = guid(rng);
    let mut row = Row::new(ctx, table, s.time, &guid(rng), "Azure AD");
    let risk = s.risk.unwrap_or("none");
    row.s("Id", &id)
        .s("CorrelationId", &guid(rng))
        .s("OriginalRequestId", &id)
        .s("OperationName", "Sign-in activity")
        .s("CreatedDateTime", &ts7(s.time))
        .s("ResultType", s.result)
        .s(
            "ResultDescription",
            if s.result == "0" {
                ""
            } else {
                "Invalid username or password."
            },
        )
        .set("DurationMs", 0)
        .s("Identity", &s.user.display_name())
        .s("UserPrincipalName", &s.user.upn)
        .s("UserDisplayName", &s.user.display_name())
        .s("UserId", &s.user.object_id)
        .s("UserType", "Member")
        .s("AppDisplayName", s.app.name)
        .s("AppId", s.app.id)
        .s("ResourceDisplayName", s.app.resource)
        .s("UserAgent", user_agent(s))
        .s("IPAddress", &s.ip)
        .s("AutonomousSystemNumber", &s.city.asn.to_string())
        .s("Location", s.city.country)
        .s("AADTenantId", &ctx.aad_tenant_id)
        .s("HomeTenantId", &ctx.aad_tenant_id)
        .s("ResourceTenantId", &ctx.aad_tenant_id)
        .s(
            "ResourceId",
            &format!("/tenants/{}/providers/Microsoft.aadiam", ctx.aad_tenant_id),
        )
        .s("ConditionalAccessStatus", "notApplied")
        .s("AuthenticationDetails", &auth_details(s))
        .set("IsRisky", s.risk.is_some())
        .s("RiskLevelDuringSignIn", risk)
        .s("RiskLevelAggregated", risk)
        .s(
            "RiskState",
            if s.risk.is_some() { "atRisk" } else { "none" },
        )
        .s("RiskDetail", "none");
    if row.get("ResultDescription") == Some(&Value::from("")) {
        row.remove("ResultDescription");
    }
    (row, id)
}

/// An interactive SigninLogs row; returns it and its `Id`.
pub fn interactive(ctx: &TenantCtx, rng: &mut impl Rng, s: &SignIn) -> (Row, String) {
    let (mut row, id) = base(ctx, rng, s, "SigninLogs");
    let risk_types = match s.risk {
        Some(_) => "[\"unfamiliarFeatures\"]",
        None => "[]",
    };
    row.s("Category", "SignInLogs")
        .set("IsInteractive", true)
        .s("ClientAppUsed", "Browser")
        .s("AuthenticationRequirement", "multiFactorAuthentication")
        .s("RiskEventTypes_V2", risk_types)
        .set("LocationDetails", location(s.city))
        .set("DeviceDetail", device(s))
        .set("Status", status(s.result))
        .set("ConditionalAccessPolicies", json!([]))
        .set("MfaDetail", json!({}));
    (row, id)
}

/// An AADNonInteractiveUserSignInLogs token refresh: JSON columns as text.
pub fn non_interactive(ctx: &TenantCtx, rng: &mut impl Rng, s: &SignIn) -> (Row, String) {
    let (mut row, id) = base(ctx, rng, s, "AADNonInteractiveUserSignInLogs");
    row.s("Category", "NonInteractiveUserSignInLogs")
        .set("IsInteractive", false)
        .s("ClientAppUsed", "Mobile Apps and Desktop clients")
        .s("AuthenticationRequirement", "singleFactorAuthentication")
        .s("RiskEventTypes_V2", "[]")
        .s("SignInEventTypes", "[\"nonInteractiveUser\"]")
        .set("ProcessingTimeInMs", rng.random_range(40..400u32))
        .s("LocationDetails", &location(s.city).to_string())
        .s("DeviceDetail", &device(s).to_string())
        .s("Status", &status(s.result).to_string())
        .s("ConditionalAccessPolicies", "[]")
        .s("MfaDetail", "{}");
    (row, id)
}

/// The BehaviorAnalytics row for a sign-in whose `_ItemId` is `signin_item`.
/// Returns it and its `SourceRecordId`.
pub fn behavior(
    ctx: &TenantCtx,
    rng: &mut impl Rng,
    s: &SignIn,
    signin_item: &str,
    ins: &Insights,
) -> (Row, String) {
    let processed = s.time + Duration::seconds(rng.random_range(300..2400));
    let mut row = Row::new(ctx, "BehaviorAnalytics", s.time, &guid(rng), "Azure");
    let mut activity = Map::new();
    for f in ACTIVITY_FLAGS {
        activity.insert(f.into(), flag(ins.true_flags.contains(&f)).into());
    }
    for f in &ins.true_flags {
        activity.insert((*f).into(), flag(true).into());
    }
    let (os, browser) = if s.foreign_device {
        ("Linux", "Firefox")
    } else {
        (s.user.os, s.user.browser.split(' ').next().unwrap_or(""))
    };
    let failed = s.result != "0";
    row.s("SourceRecordId", signin_item)
        .s("TimeProcessed", &ts7(processed))
        .s("ActivityType", if failed { "FailedLogOn" } else { "LogOn" })
        .s("ActionType", "Sign-in")
        .s("UserName", &s.user.account_name)
        .s("UserPrincipalName", &s.user.upn)
        .s("EventSource", "Azure AD")
        .s("EventVendor", "Microsoft")
        .s("SourceIPAddress", &s.ip)
        .s(
            "SourceIPLocation",
            &format!("{}, {}", s.city.name, s.city.country),
        )
        .s("DestinationDevice", "")
        .s("NativeTableName", "SigninLogs")
        .set("InvestigationPriority", ins.priority)
        .set("ActivityInsights", Value::Object(activity))
        .set(
            "UsersInsights",
            json!({
                "AccountDisplayName": s.user.display_name(),
                "AccountDomain": ctx.domain,
                "AccountObjectID": s.user.object_id,
                "IsDormantAccount": flag(ins.dormant),
                "IsNewAccount": "False",
            }),
        )
        .set(
            "DevicesInsights",
            json!({
                "Browser": browser,
                "OperatingSystem": os,
                "ISP": s.city.isp,
                "UserAgentFamily": browser,
            }),
        );
    (row, signin_item.to_string())
}
