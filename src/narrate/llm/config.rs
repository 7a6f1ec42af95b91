//! `[llm]` settings: the endpoint, authentication, limits, retry policy, budgets and prices.
//!
//! [`LlmConfig`] is what the TOML file and `UEBA__LLM__*` variables deserialize into. Secrets are
//! never stored here: the API key and the tokenization key are read from the environment
//! variables named by `api_key_env` / `token_key_env` and wrapped in [`Secret`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string: `Debug` and `Display` print `***`, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for building a request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Serialises as `***`: a dumped configuration never holds the value.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Which HTTP route and body shape the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`
    AzureClassic,
    /// `{endpoint}/openai/v1/chat/completions`, deployment as `model` in the body.
    AzureV1,
    /// `{endpoint}/chat/completions` with `Authorization: Bearer`, `model` in the body.
    Openai,
}

/// How requests authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// `api-key: <key>` (Azure).
    ApiKey,
    /// `Authorization: Bearer <key>` (OpenAI-compatible).
    Bearer,
    /// `Authorization: Bearer <Entra token>` from a managed identity.
    EntraManagedIdentity,
    /// `Authorization: Bearer <Entra token>` from the Azure CLI / azd (development).
    EntraDeveloperTools,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    pub provider: Provider,
    /// `https://<resource>.openai.azure.com` or an OpenAI-compatible base URL.
    pub endpoint: String,
    /// Azure deployment name (classic route) or model name (v1 / OpenAI).
    pub deployment: String,
    /// Latest dated GA version with structured outputs; classic route only.
    pub api_version: String,
    pub auth: AuthKind,
    /// Environment variable holding the API key (api_key / bearer auth).
    pub api_key_env: String,
    /// Environment variable holding the tokenization key (HMAC); falls back to `token_key`.
    pub token_key_env: String,
    /// Tokenization key for local use when the variable is unset. Change it in production.
    pub token_key: Secret,
    pub max_tokens: u32,
    /// Upper bound when a truncated answer is retried with more room.
    pub max_tokens_retry: u32,
    pub temperature: f32,
    /// Token budget of the case data block (estimated at 4 bytes per token).
    pub context_budget_tokens: usize,
    pub requests_per_minute: u32,
    pub tokens_per_minute: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub timeout_secs: u64,
    /// Attempts for 429 / 5xx / timeouts before falling back.
    pub max_attempts: u32,
    /// A server-requested wait longer than this opens the circuit instead of sleeping.
    pub max_retry_wait_secs: u64,
    /// First backoff step when the server gives no hint.
    pub backoff_base_ms: u64,
    /// Narratives remembered by context fingerprint.
    pub cache_entries: u64,
    pub price_prompt_per_1k: f64,
    pub price_completion_per_1k: f64,
    /// Send one small request at startup to catch unsupported api-version / schema early.
    pub startup_probe: bool,
    /// Append every exchange to this JSON Lines file (`--audit` on replay).
    pub audit_file: Option<String>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            provider: Provider::AzureClassic,
            endpoint: String::new(),
            deployment: String::new(),
            api_version: "2024-10-21".into(),
            auth: AuthKind::ApiKey,
            api_key_env: "AZURE_OPENAI_API_KEY".into(),
            token_key_env: "UEBA_TOKEN_KEY".into(),
            token_key: Secret::new("ueba-narrator-local-token-key"),
            max_tokens: 1800,
            max_tokens_retry: 3600,
            temperature: 0.2,
            context_budget_tokens: 6000,
            requests_per_minute: 60,
            tokens_per_minute: 60_000,
            concurrency: 4,
            timeout_secs: 60,
            max_attempts: 5,
            max_retry_wait_secs: 300,
            backoff_base_ms: 2000,
            cache_entries: 10_000,
            price_prompt_per_1k: 0.0025,
            price_completion_per_1k: 0.01,
            startup_probe: true,
            audit_file: None,
        }
    }
}

impl LlmConfig {
    /// Problems that make the section unusable when the LLM narrator is selected.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.endpoint.is_empty() {
            p.push("llm.endpoint is required when narrator.kind = \"llm\"".into());
        }
        if self.deployment.is_empty() {
            p.push("llm.deployment is required when narrator.kind = \"llm\"".into());
        }
        let zero = [
            ("llm.requests_per_minute", self.requests_per_minute as u64),
            ("llm.tokens_per_minute", self.tokens_per_minute as u64),
            ("llm.concurrency", self.concurrency as u64),
            ("llm.max_attempts", self.max_attempts as u64),
            ("llm.max_tokens", self.max_tokens as u64),
        ];
        for (name, v) in zero {
            if v == 0 {
                p.push(format!("{name} must be at least 1"));
            }
        }
        p
    }

    /// The tokenization key: the variable named by `token_key_env`, else `token_key`.
    pub fn token_key(&self) -> Secret {
        std::env::var(&self.token_key_env)
            .map(Secret::new)
            .unwrap_or_else(|_| self.token_key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "sk-very-secret");
    }

    #[test]
    fn config_dump_hides_the_token_key() {
        let cfg = LlmConfig::default();
        assert!(!format!("{cfg:?}").contains("local-token-key"));
        let text = toml::to_string(&cfg).expect("toml");
        assert!(text.contains("token_key = \"***\""), "{text}");
        let back: LlmConfig = toml::from_str("token_key = \"k2\"").expect("parse");
        assert_eq!(back.token_key.expose(), "k2");
    }

    #[test]
    fn missing_endpoint_is_a_problem() {
        let p = LlmConfig::default().problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("llm.endpoint"));
    }
}
