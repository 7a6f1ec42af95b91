//! SigninLogs and AADNonInteractiveUserSignInLogs rows into [`Event`]s with [`Detail::SignIn`].
//!
//! The two tables carry the same concepts, but the non-interactive one types `LocationDetails`,
//! `DeviceDetail`, `Status`, `ConditionalAccessPolicies` and `MfaDetail` as JSON text where the
//! interactive one has objects; both spellings give identical values here. A cut-off
//! `LocationDetails` keeps the row with the location unknown, a `parse_warning:LocationDetails`
//! warning, and the raw text in `untrusted["LocationDetails.raw"]`.

use serde_json::Value;

use super::event::{AuthStep, Detail, Event, Location, Outcome, UserRef};
use super::fields::{self, Row};
use super::{Ctx, keep_untrusted};

/// Decode one sign-in row (either table).
pub(crate) fn decode(m: &Row, mut ctx: Ctx) -> Event {
    let w = &mut ctx.warnings;
    let status = fields::json_field(m, "Status", w);
    let device = fields::json_field(m, "DeviceDetail", w);
    let status = fields::as_object(&status);
    let device = fields::as_object(&device);
    let default_interactive = ctx.table == super::event::Table::SigninLogs;

    let detail = Detail::SignIn {
        interactive: fields::bool_field(m, "IsInteractive").unwrap_or(default_interactive),
        error_code: status
            .and_then(|s| fields::int_field(s, "errorCode", w))
            .or_else(|| fields::int_field(m, "ResultType", w)),
        risk_level: risk_level(m),
        risk_event_types: risk_event_types(m, w),
        operating_system: device.and_then(|d| fields::string_field(d, "operatingSystem")),
        browser: device.and_then(|d| fields::string_field(d, "browser")),
        device_id: device.and_then(|d| fields::string_field(d, "deviceId")),
        asn: fields::int_field(m, "AutonomousSystemNumber", w),
        auth_steps: auth_steps(m, w),
        conditional_access: fields::string_field(m, "ConditionalAccessStatus"),
        duration_ms: fields::int_field(m, "DurationMs", w),
    };
    let outcome = outcome(m, status, w);
    let location = location(m, &mut ctx.warnings);
    let ip = fields::ip_field(m, &["IPAddress"], &mut ctx.warnings);

    let mut ev = ctx.event(m, "Id", detail);
    ev.user = UserRef {
        upn: fields::string_field(m, "UserPrincipalName"),
        object_id: fields::string_field(m, "UserId"),
        display_name: fields::string_field(m, "UserDisplayName"),
    };
    ev.ip = ip;
    ev.app = fields::string_field(m, "AppDisplayName");
    ev.resource = fields::string_field(m, "ResourceDisplayName");
    ev.operation = fields::string_field(m, "OperationName");
    ev.outcome = outcome;
    match location {
        Ok(loc) => ev.location = loc,
        Err(raw) => {
            ev.untrusted.insert("LocationDetails.raw".to_owned(), raw);
        }
    }
    keep_untrusted(&mut ev, m, "UserAgent");
    keep_untrusted(&mut ev, m, "UserDisplayName");
    agent(&mut ev, m);
    ev
}

/// `RiskLevelDuringSignIn` lower-cased; `none` means no risk level.
fn risk_level(m: &Row) -> Option<String> {
    let level = fields::str_field(m, "RiskLevelDuringSignIn")?.to_ascii_lowercase();
    (level != "none").then_some(level)
}

fn risk_event_types(m: &Row, w: &mut Vec<String>) -> Vec<String> {
    let v2 = fields::list_field(m, "RiskEventTypes_V2", w);
    if v2.is_empty() {
        fields::list_field(m, "RiskEventTypes", w)
    } else {
        v2
    }
}

/// `ResultType` "0" is success; another code is a failure with `ResultDescription` or
/// `Status.failureReason`. Without `ResultType`, `Status.errorCode` decides.
fn outcome(m: &Row, status: Option<&Row>, w: &mut Vec<String>) -> Outcome {
    let code = match fields::str_field(m, "ResultType") {
        Some(text) => match text.parse::<i64>() {
            Ok(code) => Some(code),
            Err(_) => {
                w.push("invalid_number:ResultType".to_owned());
                None
            }
        },
        None => status.and_then(|s| fields::int_field(s, "errorCode", w)),
    };
    match code {
        Some(0) => Outcome::Success,
        Some(code) => Outcome::Failure {
            code: Some(code),
            reason: fields::string_field(m, "ResultDescription")
                .or_else(|| status.and_then(|s| fields::string_field(s, "failureReason"))),
        },
        None => Outcome::Unknown,
    }
}

/// Location from `LocationDetails`, or from the `Location` country column when there is no
/// `LocationDetails`. `Err(raw)` when `LocationDetails` is text that is not valid JSON.
fn location(m: &Row, w: &mut Vec<String>) -> Result<Location, String> {
    let details = fields::json_field(m, "LocationDetails", w);
    let country_column = || fields::string_field(m, "Location");
    let obj = match details.as_deref() {
        None => {
            return Ok(Location {
                country: country_column(),
                ..Location::default()
            });
        }
        Some(Value::String(raw)) => return Err(raw.clone()),
        Some(v) => v.as_object(),
    };
    let Some(obj) = obj else {
        return Ok(Location::default());
    };
    let geo = fields::get(obj, "geoCoordinates").and_then(Value::as_object);
    let mut ignored = Vec::new();
    Ok(Location {
        country: fields::string_field(obj, "countryOrRegion").or_else(country_column),
        city: fields::string_field(obj, "city"),
        latitude: geo.and_then(|g| fields::f64_field(g, "latitude", &mut ignored)),
        longitude: geo.and_then(|g| fields::f64_field(g, "longitude", &mut ignored)),
    })
}

/// `AuthenticationDetails`: one step per array entry.
fn auth_steps(m: &Row, w: &mut Vec<String>) -> Vec<AuthStep> {
    let details = fields::json_field(m, "AuthenticationDetails", w);
    let Some(Value::Array(steps)) = details.as_deref() else {
        return Vec::new();
    };
    steps
        .iter()
        .filter_map(Value::as_object)
        .map(|s| AuthStep {
            method: fields::string_field(s, "authenticationMethod"),
            succeeded: fields::bool_field(s, "succeeded"),
        })
        .collect()
}

/// `Agent` (object or JSON text): its `agentType` is kept as quoted data.
fn agent(ev: &mut Event, m: &Row) {
    let agent = fields::json_field(m, "Agent", &mut ev.warnings);
    let kind = fields::as_object(&agent).and_then(|a| fields::string_field(a, "agentType"));
    if let Some(kind) = kind {
        ev.untrusted.insert("Agent.agentType".to_owned(), kind);
    }
}
