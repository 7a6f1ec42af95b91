//! KQL hunting queries for a case: one per relevant table, over the case window.
//!
//! Every value taken from the context (UPN, IP, country, site) is written as a KQL string literal
//! through [`kql_str`], which escapes quotes and backslashes, so entity strings stay data. Only
//! tables and columns from the catalog are used; tests run every emitted query through the
//! checker in [`crate::narrate::kql`].

use chrono::{DateTime, Duration, Utc};

use super::assess::kinds;
use super::facts::fact;
use crate::context::types::{CaseContext, TriggerKind};
use crate::decode::event::Table;
use crate::entity::keys::EntityKind;
use crate::narrate::Audience;
use crate::narrate::schema::KqlQuery;

use TriggerKind as K;

/// Context added on each side of the case window.
const PAD_MINUTES: i64 = 30;

/// A KQL string literal: double-quoted, with `\`, `"` and control characters escaped.
pub fn kql_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dt(t: DateTime<Utc>) -> String {
    format!("datetime({})", t.format("%Y-%m-%dT%H:%M:%SZ"))
}

struct Builder<'a> {
    ctx: &'a CaseContext,
    window: String,
    upn: String,
    out: Vec<KqlQuery>,
}

impl Builder<'_> {
    fn push(&mut self, purpose: &str, query: String) {
        self.out.push(KqlQuery {
            purpose: purpose.into(),
            query,
        });
    }

    fn has_table(&self, table: Table) -> bool {
        self.ctx.evidence.iter().any(|e| e.table == table)
    }

    fn facts(&self, kind: TriggerKind, key: &str) -> Option<String> {
        self.ctx
            .triggers
            .iter()
            .filter(|t| t.kind == kind)
            .find_map(|t| fact(t, key))
            .map(String::from)
    }
}

pub(super) fn queries(ctx: &CaseContext, audience: Audience) -> Vec<KqlQuery> {
    let start = ctx.window_start - Duration::minutes(PAD_MINUTES);
    let end = ctx.window_end + Duration::minutes(PAD_MINUTES);
    let mut b = Builder {
        ctx,
        window: format!("where TimeGenerated between ({} .. {})", dt(start), dt(end)),
        upn: kql_str(&ctx.entity.key),
        out: Vec::new(),
    };
    match ctx.entity.kind {
        Some(EntityKind::Host) => host_queries(&mut b),
        Some(EntityKind::Ip) => address_queries(&mut b),
        Some(EntityKind::User) | None => user_queries(&mut b),
    }
    if audience == Audience::Hunter {
        pivots(&mut b);
    } else {
        b.out.truncate(3);
    }
    b.out
}

/// Where a machine shows up: alerts naming it, UEBA rows from or to it, sign-ins from it.
fn host_queries(b: &mut Builder) {
    let q = format!(
        "SecurityAlert | {} | where Entities has {} \
         | project TimeGenerated, AlertName, AlertSeverity, ProductName, Tactics, Techniques",
        b.window, b.upn
    );
    b.push("Security alerts that name the host in the case window", q);
    let q = format!(
        "BehaviorAnalytics | {} | where SourceDevice =~ {h} or DestinationDevice =~ {h} \
         | project TimeGenerated, UserPrincipalName, ActivityType, ActionType, \
         InvestigationPriority, SourceIPAddress, DevicesInsights",
        b.window,
        h = b.upn
    );
    b.push("UEBA activity from or to the host in the case window", q);
    let q = format!(
        "SigninLogs | {} | where tostring(DeviceDetail.displayName) =~ {} \
         | project TimeGenerated, UserPrincipalName, IPAddress, AppDisplayName, ResultType",
        b.window, b.upn
    );
    b.push("Sign-ins made from the host in the case window", q);
}

/// Who used an address and how: sign-in outcomes, UEBA rows, Office and Azure activity.
fn address_queries(b: &mut Builder) {
    let q = format!(
        "SigninLogs | {} | where IPAddress == {} \
         | summarize Attempts = count(), Users = dcount(UserPrincipalName) \
         by ResultType, AppDisplayName, ClientAppUsed",
        b.window, b.upn
    );
    b.push(
        "Sign-in attempts from the address in the case window, by outcome",
        q,
    );
    let q = format!(
        "BehaviorAnalytics | {} | where SourceIPAddress == {} \
         | project TimeGenerated, UserPrincipalName, ActivityType, ActionType, \
         InvestigationPriority, SourceIPLocation",
        b.window, b.upn
    );
    b.push("UEBA activity from the address in the case window", q);
    let q = format!(
        "AzureActivity | {} | where CallerIpAddress == {} \
         | project TimeGenerated, Caller, OperationNameValue, ActivityStatusValue",
        b.window, b.upn
    );
    b.push(
        "Azure control-plane operations from the address in the case window",
        q,
    );
}

fn user_queries(b: &mut Builder) {
    let ctx = b.ctx;
    let k = kinds(ctx);
    let sign_in = [
        K::FirstTimeCountry,
        K::ImpossibleTravel,
        K::RiskySignIn,
        K::ThreatIntel,
        K::DormantAccountActive,
    ];
    if sign_in.iter().any(|x| k.contains(x)) || b.has_table(Table::SigninLogs) {
        signins(b);
    }
    if k.contains(&K::BulkDownload) || k.contains(&K::SensitiveResourceFirstAccess) {
        file_access(b);
    }
    if k.contains(&K::InboxForwardingRule) {
        mailbox_rules(b);
    }
    if k.contains(&K::PrivilegedRoleAssigned) || b.has_table(Table::AuditLogs) {
        role_changes(b);
    }
    if k.contains(&K::SecurityAlert) || k.contains(&K::Anomaly) || k.contains(&K::UebaPriority) {
        ueba_and_alerts(b);
    }
    if b.has_table(Table::AzureActivity) {
        let q = format!(
            "AzureActivity | {} | where Caller =~ {} \
             | project TimeGenerated, OperationNameValue, ActivityStatusValue, CallerIpAddress, \
             ResourceGroup",
            b.window, b.upn
        );
        b.push(
            "Azure control-plane operations by the user in the case window",
            q,
        );
    }
}

fn signins(b: &mut Builder) {
    let q = format!(
        "SigninLogs | {} | where UserPrincipalName =~ {} \
         | project TimeGenerated, IPAddress, Location, AppDisplayName, ResultType, \
         RiskLevelDuringSignIn, ConditionalAccessStatus",
        b.window, b.upn
    );
    b.push("Interactive sign-ins of the user in the case window", q);
}

fn file_access(b: &mut Builder) {
    let q = format!(
        "OfficeActivity | {} | where UserId =~ {} \
         | where Operation in (\"FileDownloaded\", \"FileSyncDownloadedFull\", \"FileAccessed\") \
         | summarize Files = count() by Site_Url, Operation, ClientIP",
        b.window, b.upn
    );
    b.push(
        "Files the user downloaded or opened in the case window, by site",
        q,
    );
}

fn mailbox_rules(b: &mut Builder) {
    let q = format!(
        "OfficeActivity | {} | where UserId =~ {} \
         | where Operation in \
         (\"New-InboxRule\", \"Set-InboxRule\", \"UpdateInboxRules\", \"Set-Mailbox\") \
         | project TimeGenerated, Operation, ClientIP, Parameters",
        b.window, b.upn
    );
    b.push(
        "Inbox rule and mailbox forwarding changes in the case window",
        q,
    );
}

fn role_changes(b: &mut Builder) {
    let q = format!(
        "AuditLogs | {} | where Category == \"RoleManagement\" \
         | where TargetResources has {} or InitiatedBy has {} \
         | project TimeGenerated, OperationName, Result, InitiatedBy, TargetResources",
        b.window, b.upn, b.upn
    );
    b.push(
        "Directory role changes that target or were made by the user",
        q,
    );
}

fn ueba_and_alerts(b: &mut Builder) {
    let q = format!(
        "BehaviorAnalytics | {} | where UserPrincipalName =~ {} \
         | project TimeGenerated, ActivityType, ActionType, InvestigationPriority, \
         SourceIPAddress, SourceIPLocation, ActivityInsights",
        b.window, b.upn
    );
    b.push(
        "UEBA activity and insight flags for the user in the case window",
        q,
    );
    let q = format!(
        "SecurityAlert | {} | where Entities has {} \
         | project TimeGenerated, AlertName, AlertSeverity, ProductName, Tactics, Techniques",
        b.window, b.upn
    );
    b.push("Security alerts that name the user in the case window", q);
}

/// Wider hunts for the hunter audience: the IP across users, the new country across the
/// tenant, the user's download history and earlier narratives.
fn pivots(b: &mut Builder) {
    let ip = b
        .facts(K::FirstTimeCountry, "ip")
        .or_else(|| b.facts(K::RiskySignIn, "ip"))
        .or_else(|| b.facts(K::ThreatIntel, "ip"));
    if let Some(ip) = ip {
        let q = format!(
            "union SigninLogs, AADNonInteractiveUserSignInLogs | where TimeGenerated > ago(30d) \
             | where IPAddress == {} \
             | summarize SignIns = count(), Users = dcount(UserPrincipalName), \
             FirstSeen = min(TimeGenerated) by IPAddress, Location",
            kql_str(&ip)
        );
        b.push(
            "Pivot: every user seen from the case IP in the last 30 days",
            q,
        );
    }
    if let Some(country) = b.facts(K::FirstTimeCountry, "country") {
        let q = format!(
            "SigninLogs | where TimeGenerated > ago(30d) | where Location == {} \
             | summarize SignIns = count(), Users = dcount(UserPrincipalName) by AppDisplayName",
            kql_str(&country)
        );
        b.push("Pivot: sign-ins from the new country across the tenant", q);
    }
    if kinds(b.ctx).contains(&K::BulkDownload) {
        let q = format!(
            "OfficeActivity | where TimeGenerated > ago(30d) | where UserId =~ {} \
             | where Operation == \"FileDownloaded\" \
             | summarize Downloads = count() by Day = bin(TimeGenerated, 1d) | order by Day asc",
            b.upn
        );
        b.push("Pivot: the user's daily downloads over 30 days", q);
    }
    let q = format!(
        "IdentityInfo | where AccountUPN =~ {} \
         | summarize arg_max(TimeGenerated, *) by AccountObjectId \
         | project AccountUPN, Department, JobTitle, Manager, AssignedRoles, UserState",
        b.upn
    );
    b.push("Directory profile of the user (newest snapshot)", q);
    let q = format!(
        "UEBA_AI_Context_CL | where TimeGenerated > ago(90d) | where Entity =~ {} \
         | project TimeGenerated, RiskLevel, RiskScore, Summary, EvidenceIds",
        b.upn
    );
    b.push("Earlier investigation starters for the same user", q);
}
