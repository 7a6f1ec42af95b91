//! SecurityAlert and Anomalies rows that scenarios inject.
//!
//! SecurityAlert keeps the export's string-typed JSON columns (`Entities` with `$id`,
//! `ExtendedProperties`) and `IsIncident` as the number 0; Anomalies keeps `Tactics` and
//! `Techniques` as strings and its insight bags as objects (`UserInsights`, singular spelling).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::json;

use super::directory::User;
use super::places::City;
use super::rowkit::{Row, TenantCtx, guid, ts7};

/// Entra ID Protection's alert for a sign-in with unfamiliar properties.
/// Returns the row and its `SystemAlertId`.
pub fn unfamiliar_signin_alert(
    ctx: &TenantCtx,
    rng: &mut impl Rng,
    user: &User,
    signin_time: DateTime<Utc>,
    signin_id: &str,
    city: &City,
    ip: &str,
) -> (Row, String) {
    let id = guid(rng);
    let time = signin_time + Duration::minutes(6);
    let entities = json!([
        {"$id": "2", "Name": user.account_name, "UPNSuffix": ctx.domain,
         "AadUserId": user.object_id, "Type": "account"},
        {"$id": "3", "Address": ip, "Location": {"CountryCode": city.country, "City": city.name},
         "Type": "ip"},
    ]);
    let props = json!({
        "Client IP Address": ip,
        "Client Location": format!("{}, {}, {}", city.name, city.state, city.country),
        "Request Id": signin_id,
        "User Account": user.upn,
        "Detail Description": "The sign-in had properties not seen recently for this user.",
    });
    let mut row = Row::new(ctx, "SecurityAlert", time, &guid(rng), "Detection");
    row.s("SystemAlertId", &id)
        .s("VendorOriginalId", &guid(rng))
        .s("AlertName", "Unfamiliar sign-in properties")
        .s("DisplayName", "Unfamiliar sign-in properties")
        .s("AlertType", "UnfamiliarLocation")
        .s("AlertSeverity", "Medium")
        .s(
            "Description",
            "The sign-in used properties (address, location, device) not recently seen \
             for the user.",
        )
        .s("ProviderName", "IPC")
        .s("VendorName", "Microsoft")
        .s("ProductName", "Azure Active Directory Identity Protection")
        .s("CompromisedEntity", &user.upn)
        .s("Status", "New")
        .s("ConfidenceLevel", "Unknown")
        .set("IsIncident", 0)
        .s("StartTime", &ts7(signin_time))
        .s("EndTime", &ts7(signin_time))
        .s("ProcessingEndTime", &ts7(time))
        .s("Tactics", "InitialAccess")
        .s("Entities", &entities.to_string())
        .s("ExtendedProperties", &props.to_string());
    (row, id)
}

/// A UEBA "Anomalous Role Assignment" anomaly about `target`, granted by `actor`.
/// Returns the row and its `Id`.
pub fn role_anomaly(
    ctx: &TenantCtx,
    rng: &mut impl Rng,
    target: &User,
    actor: &User,
    actor_ip: &str,
    assigned_at: DateTime<Utc>,
    role: &str,
) -> (Row, String) {
    let id = guid(rng);
    let time = assigned_at + Duration::minutes(45);
    let mut row = Row::new(ctx, "Anomalies", time, &guid(rng), "Azure");
    row.s("Id", &id)
        .s("WorkspaceId", &ctx.workspace_id)
        .s("VendorName", "Microsoft")
        .s("AnomalyTemplateId", "5ab0ba3e-9d4c-4b6e-8f3a-2c1d7e6f5a40")
        .s("AnomalyTemplateName", "Anomalous Role Assignment")
        .s("AnomalyTemplateVersion", "1.0.3")
        .s("RuleId", "9f1c2b3a-4d5e-4f60-8a7b-1c2d3e4f5a6b")
        .s("RuleName", "UEBA Anomalous Role Assignment")
        .s("RuleStatus", "Production")
        .s("RuleConfigVersion", "1.0.3")
        .s(
            "Description",
            "A directory role was assigned in a way that is unusual for the assigner \
             and the tenant.",
        )
        .set("Score", 0.82)
        .s("StartTime", &ts7(assigned_at))
        .s("EndTime", &ts7(assigned_at))
        .s("UserName", &target.account_name)
        .s("UserPrincipalName", &target.upn)
        .s("SourceIpAddress", actor_ip)
        .s("Tactics", "PrivilegeEscalation")
        .s("Techniques", "T1098")
        .set(
            "UserInsights",
            json!({
                "AccountObjectID": target.object_id,
                "AccountDisplayName": target.display_name()
            }),
        )
        .set(
            "ActivityInsights",
            json!({
                "FirstTimeUserPerformedAction": "True",
                "ActionUncommonlyPerformedInTenant": "True"
            }),
        )
        .set(
            "AnomalyDetails",
            json!({"Role": role, "AssignedBy": actor.upn, "Target": target.upn}),
        )
        .set(
            "AnomalyReasons",
            json!([{"Name": "FirstTimeUserPerformedAction", "Value": true,
                    "Description": "The assigner had not granted this role before."}]),
        )
        .set(
            "Entities",
            json!([
                {"Type": "account", "Name": target.account_name, "UPNSuffix": ctx.domain,
                 "AadUserId": target.object_id},
                {"Type": "account", "Name": actor.account_name, "UPNSuffix": ctx.domain,
                 "AadUserId": actor.object_id},
            ]),
        );
    (row, id)
}
