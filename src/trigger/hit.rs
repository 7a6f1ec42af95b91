//! What a trigger rule reports: its kind, when, how severe, the evidence behind it and the
//! product-computed facts (trusted key/value pairs) narrators quote.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The rule that fired. Names are stable: they appear in output and config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// BehaviorAnalytics `InvestigationPriority` at or above the threshold.
    UebaPriority,
    /// BehaviorAnalytics row matching threat intelligence (any priority).
    ThreatIntel,
    /// Anomalies `Score` at or above the threshold.
    Anomaly,
    /// A SecurityAlert attributed to the entity.
    SecurityAlert,
    /// First successful sign-in from a country absent from the user's baseline.
    FirstTimeCountry,
    /// First access to a sensitive resource that (almost) no peer touched.
    SensitiveResourceFirstAccess,
    /// Two sign-ins whose distance and time gap need an impossible speed.
    ImpossibleTravel,
    /// Downloads far above the user's own daily volume, weighted up off-hours.
    BulkDownload,
    /// A privileged directory role granted to the user.
    PrivilegedRoleAssigned,
    /// A mail forwarding or redirect rule, weighted up after a risky sign-in.
    InboxForwardingRule,
    /// Activity from an account that had been idle for a long time.
    DormantAccountActive,
    /// A sign-in Entra ID Protection rated medium or high risk.
    RiskySignIn,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::UebaPriority => "ueba_priority",
            TriggerKind::ThreatIntel => "threat_intel",
            TriggerKind::Anomaly => "anomaly",
            TriggerKind::SecurityAlert => "security_alert",
            TriggerKind::FirstTimeCountry => "first_time_country",
            TriggerKind::SensitiveResourceFirstAccess => "sensitive_resource_first_access",
            TriggerKind::ImpossibleTravel => "impossible_travel",
            TriggerKind::BulkDownload => "bulk_download",
            TriggerKind::PrivilegedRoleAssigned => "privileged_role_assigned",
            TriggerKind::InboxForwardingRule => "inbox_forwarding_rule",
            TriggerKind::DormantAccountActive => "dormant_account_active",
            TriggerKind::RiskySignIn => "risky_sign_in",
        }
    }
}

/// One trigger inside a case. `facts` are product-computed (trusted) key/value pairs such as
/// `country=BR`, `peers_accessed=0`, `peer_count=20`, `downloads=180`, `baseline_daily=6.5`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerHit {
    pub kind: TriggerKind,
    pub time: DateTime<Utc>,
    /// 0–100, the product's view of how urgent this trigger is on its own.
    pub severity: u8,
    pub evidence_ids: Vec<String>,
    pub facts: BTreeMap<String, String>,
}
