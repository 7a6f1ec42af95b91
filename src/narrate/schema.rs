//! The narrative every narrator returns, offline or LLM. Its JSON form is
//! `schemas/narrative.schema.json`; field names are PascalCase like Log Analytics columns.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HypothesisKind {
    Benign,
    Malicious,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Hypothesis {
    pub kind: HypothesisKind,
    pub title: String,
    /// 0.0–1.0.
    pub likelihood: f64,
    pub rationale: String,
    pub verification_steps: Vec<String>,
    pub evidence_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KqlQuery {
    pub purpose: String,
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MitreTechnique {
    /// `T1078` or `T1078.004`.
    pub id: String,
    pub name: String,
    pub tactic: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WatchlistProposal {
    pub watchlist: String,
    pub item_key: String,
    pub reason: String,
}

/// A statement in the narrative and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Claim {
    pub text: String,
    pub evidence_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Narrative {
    pub summary: String,
    pub narrative: String,
    pub baseline_comparison: String,
    pub peer_comparison: String,
    pub risk_level: RiskLevel,
    /// 0–100.
    pub risk_score: u8,
    pub hypotheses: Vec<Hypothesis>,
    pub kql_queries: Vec<KqlQuery>,
    pub mitre_techniques: Vec<MitreTechnique>,
    pub playbooks: Vec<String>,
    pub watchlist_proposal: Option<WatchlistProposal>,
    pub interview_questions: Vec<String>,
    /// 0.0–1.0.
    pub confidence: f64,
    pub claims: Vec<Claim>,
}
