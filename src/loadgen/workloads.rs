//! Rows for OfficeActivity (SharePoint/OneDrive files, Exchange mail access and inbox rules),
//! AuditLogs (directory changes) and AzureActivity (resource operations).
//!
//! Export quirks kept on purpose: OfficeActivity `UserId` is the UPN and `RecordType` a name,
//! `Parameters` and `Folders` are JSON text; AuditLogs `InitiatedBy`/`TargetResources` are
//! objects whose `modifiedProperties` values are JSON-encoded strings; AzureActivity carries
//! `Authorization`/`Properties` both as text and as `_d` objects. Each builder returns the row
//! and the native id the decoder cites (`OfficeId`, `Id`, `EventDataId`).

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

use super::directory::User;
use super::rowkit::{Row, TenantCtx, guid, ts7};

const FILE_STEMS: [&str; 12] = [
    "Q4-Forecast",
    "Budget-2025",
    "Team-Roster",
    "Project-Plan",
    "Meeting-Notes",
    "Customer-List",
    "Roadmap",
    "Status-Report",
    "Contract-Draft",
    "Onboarding-Guide",
    "Pricing-Model",
    "Architecture-Overview",
];
const FILE_EXTS: [&str; 4] = ["xlsx", "docx", "pptx", "pdf"];

/// A file operation on a SharePoint site.
#[derive(Debug, Clone)]
pub struct FileOp<'a> {
    pub user: &'a User,
    pub time: DateTime<Utc>,
    pub site: &'a str,
    /// `FileAccessed`, `FileDownloaded`, `FileModified`, `FileSyncDownloadedFull`...
    pub operation: &'static str,
    pub ip: &'a str,
}

/// A plausible document name for a site.
pub fn file_name(rng: &mut impl Rng, site: &str) -> String {
    let stem = FILE_STEMS.choose(rng).expect("stems");
    let ext = FILE_EXTS.choose(rng).expect("extensions");
    let prefix = site.split('-').next_back().unwrap_or(site);
    format!("{prefix}-{stem}-{:02}.{ext}", rng.random_range(1..40u8))
}

/// A SharePoint file operation row; returns it and its `OfficeId`.
pub fn file_op(ctx: &TenantCtx, rng: &mut impl Rng, op: &FileOp) -> (Row, String) {
    let id = guid(rng);
    let name = file_name(rng, op.site);
    let ext = name.rsplit('.').next().unwrap_or("").to_string();
    let site_url = format!("{}/sites/{}/", ctx.sharepoint, op.site);
    let folder = "Shared Documents";
    let mut row = Row::new(
        ctx,
        "OfficeActivity",
        op.time,
        &guid(rng),
        "OfficeActivityManager",
    );
    row.s("OfficeId", &id)
        .s("Operation", op.operation)
        .s("OfficeWorkload", "SharePoint")
        .s("RecordType", "SharePointFileOperation")
        .s("UserId", &op.user.upn)
        .s("UserKey", &op.user.object_id)
        .s("UserType", "Regular")
        .s("ClientIP", op.ip)
        .s("OrganizationId", &ctx.aad_tenant_id)
        .s("Site_Url", &site_url)
        .s("SourceRelativeUrl", &format!("sites/{}/{folder}", op.site))
        .s("SourceFileName", &name)
        .s("SourceFileExtension", &ext)
        .s("OfficeObjectId", &format!("{site_url}{folder}/{name}"))
        .s("ItemType", "File")
        .s("EventSource", "SharePoint")
        .s("UserAgent", op.user.user_agent);
    (row, id)
}

/// An Exchange `MailItemsAccessed` row; returns it and its `OfficeId`.
pub fn mail_access(
    ctx: &TenantCtx,
    rng: &mut impl Rng,
    user: &User,
    time: DateTime<Utc>,
    ip: &str,
) -> (Row, String) {
    let id = guid(rng);
    let message_id = format!("<{}@{}>", guid(rng), ctx.domain);
    let folders = json!([{"Path": "\\Inbox", "FolderItems": [{"InternetMessageId": message_id}]}]);
    let mut row = Row::new(
        ctx,
        "OfficeActivity",
        time,
        &guid(rng),
        "OfficeActivityManager",
    );
    row.s("OfficeId", &id)
        .s("Operation", "MailItemsAccessed")
        .s("OfficeWorkload", "Exchange")
        .s("RecordType", "ExchangeItemAggregated")
        .s("UserId", &user.upn)
        .s("UserKey", &user.object_id)
        .s("UserType", "Regular")
        .s("MailboxOwnerUPN", &user.upn)
        .s("Logon_Type", "0")
        .s("ClientIP", ip)
        .s("Client_IPAddress", ip)
        .s("ClientInfoString", "Client=OWA;Action=ViaProxy")
        .s("OrganizationId", &ctx.aad_tenant_id)
        .s("ResultStatus", "Succeeded")
        .set("ExternalAccess", false)
        .s("Folders", &folders.to_string())
        .set(
            "OperationProperties",
            json!([{"Name": "MailAccessType", "Value": "Bind"}]),
        );
    (row, id)
}

/// An Exchange `New-InboxRule` row forwarding matching mail; returns it and its `OfficeId`.
pub fn inbox_rule(
    ctx: &TenantCtx,
    rng: &mut impl Rng,
    user: &User,
    time: DateTime<Utc>,
    ip: &str,
    forward_to: &str,
) -> (Row, String) {
    let id = guid(rng);
    let params = json!([
        {"Name": "Name", "Value": "..."},
        {"Name": "ForwardTo", "Value": forward_to},
        {"Name": "SubjectContainsWords", "Value": "invoice"},
        {"Name": "StopProcessingRules", "Value": "True"},
    ]);
    let mut row = Row::new(
        ctx,
        "OfficeActivity",
        time,
        &guid(rng),
        "OfficeActivityManager",
    );
    row.s("OfficeId", &id)
        .s("Operation", "New-InboxRule")
        .s("OfficeWorkload", "Exchange")
        .s("RecordType", "ExchangeAdmin")
        .s("UserId", &user.upn)
        .s("UserKey", &user.object_id)
        .s("UserType", "Regular")
        .s(
            "ClientIP",
            &format!("{ip}:{}", rng.random_range(30_000..60_000u32)),
        )
        .s("OrganizationId", &ctx.aad_tenant_id)
        .s(
            "OrganizationName",
            &format!("{}.onmicrosoft.com", ctx.domain_label()),
        )
        .s("OriginatingServer", "AM0PR01MB1234 (15.20.8293.000)\r\n")
        .s("ResultStatus", "True")
        .set("ExternalAccess", false)
        .s("OfficeObjectId", &format!("{}\\...", user.account_name))
        .s("Parameters", &params.to_string());
    (row, id)
}

/// A directory change made by `actor` to `target`.
#[derive(Debug, Clone)]
pub struct DirChange<'a> {
    pub actor: &'a User,
    pub target: &'a User,
    pub time: DateTime<Utc>,
    pub actor_ip: &'a str,
    pub operation: &'static str,
    pub category: &'static str,
    pub op_type: &'static str,
    /// `(displayName, newValue)`, the value already JSON-encoded as the log writes it.
    pub modified: Vec<(&'static str, String)>,
}

/// An AuditLogs row; returns it and its `Id`.
pub fn audit(ctx: &TenantCtx, rng: &mut impl Rng, c: &DirChange) -> (Row, String) {
    let id = format!("Directory_{}", guid(rng));
    let modified: Vec<Value> = c
        .modified
        .iter()
        .map(|(name, new)| json!({"displayName": name, "oldValue": null, "newValue": new}))
        .collect();
    let mut row = Row::new(ctx, "AuditLogs", c.time, &guid(rng), "Azure AD");
    row.s("Id", &id)
        .s("OperationName", c.operation)
        .s("ActivityDisplayName", c.operation)
        .s("Category", c.category)
        .s("AADOperationType", c.op_type)
        .s("Result", "success")
        .s("LoggedByService", "Core Directory")
        .s("CorrelationId", &guid(rng))
        .s("ActivityDateTime", &ts7(c.time))
        .s("Identity", &c.actor.display_name())
        .s("AADTenantId", &ctx.aad_tenant_id)
        .s("OperationVersion", "1.0")
        .s(
            "ResourceId",
            &format!("/tenants/{}/providers/Microsoft.aadiam", ctx.aad_tenant_id),
        )
        .set(
            "InitiatedBy",
            json!({"user": {
                "id": c.actor.object_id,
                "displayName": c.actor.display_name(),
                "userPrincipalName": c.actor.upn,
                "ipAddress": c.actor_ip,
                "roles": [],
            }}),
        )
        .set(
            "TargetResources",
            json!([{
                "id": c.target.object_id,
                "displayName": c.target.display_name(),
                "type": "User",
                "userPrincipalName": c.target.upn,
                "modifiedProperties": modified,
                "administrativeUnits": [],
            }]),
        )
        .set(
            "AdditionalDetails",
            json!([{"key": "UserType", "value": "Member"}]),
        );
    (row, id)
}

const AZURE_OPS: [(&str, &str, &str); 4] = [
    (
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
        "virtualMachines",
        "vm-build",
    ),
    ("MICROSOFT.WEB/SITES/RESTART/ACTION", "sites", "app-portal"),
    (
        "MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE",
        "deployments",
        "deploy-main",
    ),
    (
        "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
        "storageAccounts",
        "stbuildartifacts",
    ),
];

/// An AzureActivity administrative operation; returns it and its `EventDataId`.
pub fn azure_op(
    ctx: &TenantCtx,
    rng: &mut impl Rng,
    user: &User,
    time: DateTime<Utc>,
    ip: &str,
) -> (Row, String) {
    let (op, kind, name) = *AZURE_OPS.choose(rng).expect("operations");
    let id = guid(rng);
    let provider = op.split('/').next().unwrap_or(op);
    let rg = format!("rg-{}", user.dept.name().to_lowercase());
    let resource = format!(
        "/subscriptions/{}/resourceGroups/{rg}/providers/{}/{kind}/{name}",
        ctx.subscription_id,
        provider.to_lowercase()
    );
    let auth = json!({"action": op.to_lowercase(), "scope": resource});
    let props =
        json!({"entity": resource, "message": op.to_lowercase(), "hierarchy": ctx.aad_tenant_id});
    let mut row = Row::new(ctx, "AzureActivity", time, &guid(rng), "Azure");
    row.s("EventDataId", &id)
        .s("OperationNameValue", op)
        .s("CategoryValue", "Administrative")
        .s("ActivityStatusValue", "Success")
        .s("ActivitySubstatusValue", "OK")
        .s("Level", "Informational")
        .s("Caller", &user.upn)
        .s("CallerIpAddress", ip)
        .s("ResourceProviderValue", provider)
        .s("ResourceGroup", &rg)
        .s("SubscriptionId", &ctx.subscription_id)
        .s("_ResourceId", &resource.to_lowercase())
        .s("CorrelationId", &guid(rng))
        .s(
            "Hierarchy",
            &format!("{}/{}", ctx.aad_tenant_id, ctx.subscription_id),
        )
        .s("EventSubmissionTimestamp", &ts7(time))
        .s("Authorization", &auth.to_string())
        .set("Authorization_d", auth)
        .s("Properties", &props.to_string())
        .set("Properties_d", props);
    (row, id)
}
