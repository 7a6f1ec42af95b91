//! Reference catalogs the validator checks narratives against.
//!
//! Two embedded data files (`schemas/catalog/`): MITRE ATT&CK Enterprise techniques
//! ([`MitreEntry`]) and the Log Analytics tables and columns a generated KQL query may name
//! ([`KqlTable`]). Both are parsed once, on first use, and live for the process. Lookups of
//! technique ids are exact (`T1078.004`); table and column lookups are exact too, because KQL
//! names are case-sensitive.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

const MITRE_JSON: &str = include_str!("../../schemas/catalog/mitre_enterprise.json");
const KQL_JSON: &str = include_str!("../../schemas/catalog/kql_tables.json");

/// One ATT&CK technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MitreEntry {
    pub id: String,
    pub name: String,
    /// Tactic display names (`Initial Access`, `Persistence`...).
    pub tactics: Vec<String>,
}

impl MitreEntry {
    /// Whether `tactic` is one of this technique's tactics, ignoring case and `-`/`_`/space.
    pub fn has_tactic(&self, tactic: &str) -> bool {
        let wanted = normalise_tactic(tactic);
        self.tactics.iter().any(|t| normalise_tactic(t) == wanted)
    }
}

/// A Log Analytics table and its columns.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KqlTable {
    pub name: String,
    pub columns: Vec<String>,
}

impl KqlTable {
    pub fn has_column(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }
}

static MITRE: LazyLock<HashMap<String, MitreEntry>> = LazyLock::new(|| {
    let entries: Vec<MitreEntry> =
        serde_json::from_str(MITRE_JSON).expect("embedded MITRE catalog is valid JSON");
    entries.into_iter().map(|e| (e.id.clone(), e)).collect()
});

static KQL: LazyLock<HashMap<String, KqlTable>> = LazyLock::new(|| {
    let tables: Vec<KqlTable> =
        serde_json::from_str(KQL_JSON).expect("embedded KQL table catalog is valid JSON");
    tables.into_iter().map(|t| (t.name.clone(), t)).collect()
});

/// The technique with this exact id (`T1078`, `T1078.004`).
pub fn mitre(id: &str) -> Option<&'static MitreEntry> {
    MITRE.get(id.trim())
}

/// The table with this exact name.
pub fn kql_table(name: &str) -> Option<&'static KqlTable> {
    KQL.get(name)
}

/// Number of techniques in the catalog.
pub fn mitre_len() -> usize {
    MITRE.len()
}

fn normalise_tactic(t: &str) -> String {
    t.chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_accounts_sub_technique_is_known() {
        let e = mitre("T1078.004").expect("T1078.004 in catalog");
        assert_eq!(e.name, "Cloud Accounts");
        assert!(e.has_tactic("initial-access"));
        assert!(e.has_tactic("Initial Access"));
        assert!(!e.has_tactic("Exfiltration"));
    }

    #[test]
    fn catalog_has_at_least_120_techniques_with_tactics() {
        assert!(mitre_len() >= 120, "only {} techniques", mitre_len());
        assert_eq!(
            mitre("T1114.003").map(|e| e.name.as_str()),
            Some("Email Forwarding Rule")
        );
        assert_eq!(
            mitre("T1098.003").map(|e| e.name.as_str()),
            Some("Additional Cloud Roles")
        );
        assert!(mitre("T9999").is_none());
    }

    #[test]
    fn kql_tables_cover_sentinel_and_output_table() {
        let s = kql_table("SigninLogs").expect("SigninLogs");
        assert!(s.has_column("IPAddress"));
        assert!(!s.has_column("ClientIP"));
        let out = kql_table("UEBA_AI_Context_CL").expect("output table");
        assert_eq!(out.columns[..3], ["TimeGenerated", "RecordId", "WindowId"]);
        assert!(kql_table("signinlogs").is_none());
    }
}
