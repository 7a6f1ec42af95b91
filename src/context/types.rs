//! The narrator's input: a compact, self-contained picture of one coalesced case.
//!
//! A [`CaseContext`] holds only what a narrator may use: product-computed facts (trusted), the
//! selected evidence with its ids, the entity's baseline and peer comparison, and the raw
//! attacker-controllable strings kept apart in [`EvidenceItem::untrusted`]. Narrators never see
//! entity state or raw rows. Every collection is ordered deterministically.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::decode::event::Table;
pub use crate::entity::keys::EntityKind;
pub use crate::trigger::hit::{TriggerHit, TriggerKind};

/// Directory facts about the entity (IdentityInfo, newest row wins).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityProfile {
    pub kind: Option<EntityKind>,
    /// Normalised key (`alex.wilber@contoso.com`, `contoso-ws-017`, `203.0.113.7`).
    pub key: String,
    /// The spelling shown to analysts: IdentityInfo's UPN where known.
    pub display: String,
    pub object_id: Option<String>,
    pub display_name: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub manager: Option<String>,
    pub country: Option<String>,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    pub enabled: Option<bool>,
    pub user_state: Option<String>,
    pub blast_radius: Option<String>,
    pub deleted: bool,
}

/// How often a value appears in the entity's baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueCount {
    pub value: String,
    /// Decayed count (events), rounded to 2 decimals.
    pub count: f64,
    pub last_seen: DateTime<Utc>,
}

/// The entity's own history before this case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineSummary {
    /// Days between the first and the last event that fed the baseline.
    pub days_observed: u32,
    pub events_observed: u64,
    pub first_seen: Option<DateTime<Utc>>,
    /// Last activity before the case started.
    pub last_seen_before_case: Option<DateTime<Utc>>,
    pub countries: Vec<ValueCount>,
    pub apps: Vec<ValueCount>,
    pub resources: Vec<ValueCount>,
    pub devices: Vec<ValueCount>,
    pub isps: Vec<ValueCount>,
    /// UTC hours that hold 80% of the user's activity, ascending.
    pub usual_hours_utc: Vec<u8>,
    pub daily_events_mean: f64,
    pub daily_downloads_mean: f64,
}

/// The entity's peer group (UserPeerAnalytics ranks resolved through IdentityInfo).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerSummary {
    pub peer_count: u32,
    /// Resolved peer UPNs, closest first (at most 5 shown).
    pub closest: Vec<String>,
    /// For each resource of interest in the case: how many peers touched it in the lookback.
    pub resource_access: Vec<PeerUsage>,
    /// For each country of interest in the case: how many peers signed in from it.
    pub country_usage: Vec<PeerUsage>,
    pub lookback_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerUsage {
    pub value: String,
    pub peers: u32,
}

/// One evidence row as the narrator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceItem {
    pub id: String,
    pub table: Table,
    pub time: DateTime<Utc>,
    /// Product-computed facts (trusted): `operation`, `country`, `city`, `ip`, `app`,
    /// `resource`, `outcome`, `error_code`, `priority`, `true_flags`, `risk_level`...
    pub facts: BTreeMap<String, String>,
    /// Attacker-controllable strings by column, quoted verbatim (user agent, file name...).
    pub untrusted: BTreeMap<String, String>,
    /// This row is cited by a trigger.
    pub is_trigger: bool,
}

/// Everything a narrator needs for one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseContext {
    /// Workspace (Log Analytics `TenantId`) the case belongs to.
    pub tenant: String,
    /// Deterministic id of the case window (entity + window start + window length).
    pub window_id: String,
    /// 1 for the first narrative of a window; revisions count up.
    pub version: u32,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub entity: EntityProfile,
    /// Triggers in time order.
    pub triggers: Vec<TriggerHit>,
    /// How many triggers were coalesced into this case (>= triggers.len()).
    pub coalesced: u32,
    /// Selected evidence in time order; trigger evidence is always kept.
    pub evidence: Vec<EvidenceItem>,
    /// More evidence existed than was kept.
    pub evidence_truncated: bool,
    pub baseline: BaselineSummary,
    pub peers: PeerSummary,
    /// Untrusted fields that read like instructions to a model (field names), for flagging.
    pub instruction_like_fields: Vec<String>,
}
