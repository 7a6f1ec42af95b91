//! Validated settings of the stateful stages (windows, state, triggers, scope, context).
//! Units are in the field names; defaults are chosen for a workspace of tens of thousands of users.

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// Event-time windows and coalescing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowConfig {
    /// Grid that case windows are aligned to; part of the window id.
    pub window_secs: i64,
    /// Triggers of one entity closer than this join one case.
    pub debounce_secs: i64,
    /// A case closes at most this long after its first trigger.
    pub max_wait_secs: i64,
    /// Records up to this far behind the watermark still join windows (and revise them).
    pub allowed_lateness_secs: i64,
    /// Records further ahead of the watermark are parked as clock skew.
    pub max_skew_secs: i64,
    /// Parked records needed to believe a real jump in time.
    pub skew_confirm: usize,
    /// Evidence from this long before the first trigger is included in a case.
    pub context_lookback_secs: i64,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            window_secs: 15 * 60,
            debounce_secs: 30 * 60,
            max_wait_secs: 2 * 3600,
            allowed_lateness_secs: 3600,
            max_skew_secs: 6 * 3600,
            skew_confirm: 8,
            context_lookback_secs: 3600,
        }
    }
}

impl WindowConfig {
    pub fn window(&self) -> Duration {
        Duration::seconds(self.window_secs)
    }
    pub fn debounce(&self) -> Duration {
        Duration::seconds(self.debounce_secs)
    }
    pub fn max_wait(&self) -> Duration {
        Duration::seconds(self.max_wait_secs)
    }
    pub fn allowed_lateness(&self) -> Duration {
        Duration::seconds(self.allowed_lateness_secs)
    }
}

/// Bounds on the state the process keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// Byte budget of all entity states together.
    pub budget_bytes: u64,
    /// Recent events kept per entity.
    pub max_events_per_entity: usize,
    /// Recent events older than this (behind the entity's newest) are dropped.
    pub max_event_age_secs: i64,
    /// Evidence ids held for duplicate detection; the newest half of them is always held.
    pub dedup_capacity: u64,
    /// Baseline counts halve every this many days.
    pub half_life_days: f64,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            budget_bytes: 512 * 1024 * 1024,
            max_events_per_entity: 256,
            max_event_age_secs: 48 * 3600,
            dedup_capacity: 1_000_000,
            half_life_days: 30.0,
        }
    }
}

/// Trigger thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriggerConfig {
    /// BehaviorAnalytics `InvestigationPriority` at or above this triggers (0–10).
    pub ueba_priority_min: u8,
    /// Anomalies `Score` at or above this triggers (0–1).
    pub anomaly_score_min: f64,
    /// SecurityAlert severity at or above this triggers (Informational, Low, Medium, High).
    pub alert_severity_min: String,
    /// Baseline rules stay quiet until an entity has this many days of history.
    pub min_baseline_days: u32,
    /// Resource names containing one of these (case-insensitive) are sensitive.
    pub sensitive_resource_patterns: Vec<String>,
    /// A resource touched by at most this many peers counts as unusual for the group.
    pub peer_rare_max: u32,
    /// How far back peers' access counts.
    pub peer_lookback_days: u32,
    /// Travel speed above this between two sign-ins is impossible.
    pub impossible_speed_kmh: f64,
    /// ...when the two places are at least this far apart.
    pub impossible_min_distance_km: f64,
    /// Downloads in one UTC day at or above this, and `bulk_download_ratio` times the
    /// user's daily mean, trigger.
    pub bulk_download_min: u32,
    pub bulk_download_ratio: f64,
    /// An account idle this long that becomes active triggers.
    pub dormant_days: i64,
    /// A forwarding rule within this long after a risky sign-in is weighted up.
    pub risky_correlation_secs: i64,
    /// Privileged directory roles (display names).
    pub privileged_roles: Vec<String>,
}

impl Default for TriggerConfig {
    fn default() -> Self {
        TriggerConfig {
            ueba_priority_min: 7,
            anomaly_score_min: 0.7,
            alert_severity_min: "Medium".into(),
            min_baseline_days: 7,
            sensitive_resource_patterns: [
                "finance",
                "payroll",
                "salary",
                "hr-",
                "human resources",
                "legal",
                "confidential",
                "board",
                "merger",
                "acquisition",
                "secret",
            ]
            .map(String::from)
            .to_vec(),
            peer_rare_max: 1,
            peer_lookback_days: 30,
            impossible_speed_kmh: 900.0,
            impossible_min_distance_km: 500.0,
            bulk_download_min: 50,
            bulk_download_ratio: 10.0,
            dormant_days: 30,
            risky_correlation_secs: 24 * 3600,
            privileged_roles: [
                "Global Administrator",
                "Privileged Role Administrator",
                "Privileged Authentication Administrator",
                "Security Administrator",
                "Exchange Administrator",
                "SharePoint Administrator",
                "User Administrator",
                "Application Administrator",
                "Cloud Application Administrator",
                "Authentication Administrator",
                "Conditional Access Administrator",
                "Hybrid Identity Administrator",
                "Intune Administrator",
                "Billing Administrator",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// Which entities are narrated during a rollout; empty lists mean everyone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeConfig {
    pub users: Vec<String>,
    pub departments: Vec<String>,
    pub groups: Vec<String>,
}

/// Context size bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextConfig {
    /// Evidence rows per case (trigger evidence first).
    pub max_evidence: usize,
    /// Characters kept of any one untrusted field.
    pub max_untrusted_chars: usize,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            max_evidence: 30,
            max_untrusted_chars: 256,
        }
    }
}
