//! Typed records produced by decoding.
//!
//! Every exported row becomes one [`Decoded`] value: an activity [`Event`] (sign-ins, UEBA rows,
//! anomalies, alerts, audit, Office and Azure activity), an IdentityInfo [`IdentitySnapshot`], or
//! a UserPeerAnalytics [`PeerRow`]. Downstream stages see only these types, never raw JSON.
//!
//! Invariants: `Event::time` is UTC event time (`TimeGenerated`); `Event::evidence_id` is stable
//! for the same source row across replays and redeliveries; fields an attacker can choose
//! (user agents, file names, subjects, command lines, display names) live only in
//! `Event::untrusted` and are never interpolated into instructions.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The Sentinel tables the product understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Table {
    BehaviorAnalytics,
    Anomalies,
    IdentityInfo,
    UserPeerAnalytics,
    SigninLogs,
    AADNonInteractiveUserSignInLogs,
    AuditLogs,
    OfficeActivity,
    SecurityAlert,
    AzureActivity,
}

impl Table {
    pub const ALL: [Table; 10] = [
        Table::BehaviorAnalytics,
        Table::Anomalies,
        Table::IdentityInfo,
        Table::UserPeerAnalytics,
        Table::SigninLogs,
        Table::AADNonInteractiveUserSignInLogs,
        Table::AuditLogs,
        Table::OfficeActivity,
        Table::SecurityAlert,
        Table::AzureActivity,
    ];

    /// The table named by a record's `Type` column (exact, as Log Analytics writes it).
    pub fn from_type(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Table::BehaviorAnalytics => "BehaviorAnalytics",
            Table::Anomalies => "Anomalies",
            Table::IdentityInfo => "IdentityInfo",
            Table::UserPeerAnalytics => "UserPeerAnalytics",
            Table::SigninLogs => "SigninLogs",
            Table::AADNonInteractiveUserSignInLogs => "AADNonInteractiveUserSignInLogs",
            Table::AuditLogs => "AuditLogs",
            Table::OfficeActivity => "OfficeActivity",
            Table::SecurityAlert => "SecurityAlert",
            Table::AzureActivity => "AzureActivity",
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a record came from, for dead letters and error messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A replayed file; `line` is 1-based (JSON Lines and CSV rows) or the record's index
    /// inside a `{"records":[...]}` body or query-API table (`index`).
    File { path: String, line: u64, index: u32 },
    /// A Kafka message and the record's index in its `records` array.
    Kafka {
        topic: String,
        partition: i32,
        offset: i64,
        index: u32,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line, index } => write!(f, "{path}:{line}#{index}"),
            Origin::Kafka {
                topic,
                partition,
                offset,
                index,
            } => {
                write!(f, "{topic}[{partition}]@{offset}#{index}")
            }
        }
    }
}

/// One decoded row.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Event(Box<Event>),
    Identity(Box<IdentitySnapshot>),
    Peer(PeerRow),
}

impl Decoded {
    pub fn time(&self) -> DateTime<Utc> {
        match self {
            Decoded::Event(e) => e.time,
            Decoded::Identity(i) => i.time,
            Decoded::Peer(p) => p.time,
        }
    }

    pub fn table(&self) -> Table {
        match self {
            Decoded::Event(e) => e.table,
            Decoded::Identity(_) => Table::IdentityInfo,
            Decoded::Peer(_) => Table::UserPeerAnalytics,
        }
    }
}

/// Who an event is about, as spelled in the row. Normalisation into entity keys happens in the
/// entity stage; these keep the original spelling for display.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// UPN as written (may differ in case, carry whitespace or a guest `#EXT#` form).
    pub upn: Option<String>,
    /// Entra object id, when the table carries one.
    pub object_id: Option<String>,
    /// Display name as written (attacker-influenced: never used as a key).
    pub display_name: Option<String>,
}

impl UserRef {
    pub fn is_empty(&self) -> bool {
        self.upn.is_none() && self.object_id.is_none()
    }
}

/// A network address as normalised from the row, with the raw spelling kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRef {
    pub addr: IpAddr,
    pub raw: String,
}

/// Geo-IP location of an event, where the table has one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Two-letter country or region code, or a country name where that is all there is.
    pub country: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// Success or failure of the activity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure {
        code: Option<i64>,
        reason: Option<String>,
    },
    #[default]
    Unknown,
}

/// One authentication step of a sign-in (`AuthenticationDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStep {
    pub method: Option<String>,
    pub succeeded: Option<bool>,
}

/// Table-specific facts that triggers, baselines and narrators use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    SignIn {
        interactive: bool,
        error_code: Option<i64>,
        /// `RiskLevelDuringSignIn` (none, low, medium, high), lower-cased.
        risk_level: Option<String>,
        risk_event_types: Vec<String>,
        operating_system: Option<String>,
        browser: Option<String>,
        device_id: Option<String>,
        asn: Option<i64>,
        auth_steps: Vec<AuthStep>,
        conditional_access: Option<String>,
        duration_ms: Option<i64>,
    },
    Ueba {
        /// `InvestigationPriority` 0–10; `None` when absent or null (unknown, not 0).
        priority: Option<u8>,
        activity_type: Option<String>,
        action_type: Option<String>,
        /// ActivityInsights/UsersInsights/DevicesInsights boolean flags that are true.
        true_flags: Vec<String>,
        /// Every boolean insight flag, key order stable.
        flags: BTreeMap<String, bool>,
        threat_intel: Option<String>,
        isp: Option<String>,
        blast_radius: Option<String>,
        dormant: Option<bool>,
        new_account: Option<bool>,
        /// The insight bags held more than the decoder keeps.
        insights_truncated: bool,
    },
    Anomaly {
        score: Option<f64>,
        rule_name: Option<String>,
        tactics: Vec<String>,
        techniques: Vec<String>,
    },
    Alert {
        name: Option<String>,
        severity: Option<String>,
        product: Option<String>,
        system_alert_id: Option<String>,
        tactics: Vec<String>,
        techniques: Vec<String>,
        accounts: Vec<UserRef>,
        hosts: Vec<String>,
        ips: Vec<String>,
        unresolved_refs: u32,
        extended_properties: BTreeMap<String, String>,
    },
    Audit {
        category: Option<String>,
        result: Option<String>,
        /// Target display names / UPNs.
        targets: Vec<String>,
        /// Role names added by this operation (role management).
        roles_added: Vec<String>,
        initiated_by_app: Option<String>,
    },
    Office {
        workload: Option<String>,
        record_type: Option<String>,
        site_url: Option<String>,
        file_name: Option<String>,
        /// Cmdlet parameters (`Parameters` [{Name,Value}]).
        parameters: BTreeMap<String, String>,
        /// Forwarding or redirect target set by an inbox rule or mailbox change.
        forwarding_to: Option<String>,
        external_access: Option<bool>,
    },
    AzureActivity {
        status: Option<String>,
        resource_group: Option<String>,
        subscription_id: Option<String>,
        resource_provider: Option<String>,
    },
}

/// One activity row from any activity table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable id cited as evidence: `<Table>:<native id>` (`_ItemId`, `Id`, `SourceRecordId`,
    /// `OfficeId`, `SystemAlertId`...), or `<Table>:h<hash>` of the canonical row.
    pub evidence_id: String,
    pub table: Table,
    /// Event time (`TimeGenerated`), UTC.
    pub time: DateTime<Utc>,
    pub user: UserRef,
    /// Host FQDN or NetBIOS name as written.
    pub host: Option<String>,
    pub ip: Option<IpRef>,
    pub location: Location,
    /// Application used (`AppDisplayName`, workload client...).
    pub app: Option<String>,
    /// Resource touched (SharePoint site, Azure resource id, target resource...).
    pub resource: Option<String>,
    /// Operation or action name (`OperationName`, `Operation`, `ActionType`...).
    pub operation: Option<String>,
    pub outcome: Outcome,
    pub detail: Detail,
    /// Attacker-controllable text fields, by column name; quoted data only, never instructions.
    pub untrusted: BTreeMap<String, String>,
    /// Lenient-parse notes (`naive_timestamp`, `parse_warning:LocationDetails`...).
    pub warnings: Vec<String>,
}

/// One IdentityInfo row: a snapshot of a user's directory entry at `time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentitySnapshot {
    pub time: DateTime<Utc>,
    pub object_id: Option<String>,
    pub upn: Option<String>,
    pub display_name: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub manager: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    pub enabled: Option<bool>,
    pub user_state: Option<String>,
    pub blast_radius: Option<String>,
    pub change_source: Option<String>,
    pub deleted: bool,
    /// The `Entra` tenant (`AccountTenantId`).
    pub tenant_id: Option<String>,
}

/// One UserPeerAnalytics row: `peer_id` is the `rank`-th closest peer of `user_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRow {
    pub time: DateTime<Utc>,
    pub user_id: String,
    pub peer_id: String,
    pub rank: u32,
}
