//! `[auth]`: which credential the Azure outputs use, and building it.
//!
//! Kinds: `managed_identity` (system-assigned, or user-assigned by client id), `workload_identity`
//! (AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_FEDERATED_TOKEN_FILE), `client_secret`, `azure_cli`,
//! and `static` (a fixed token for local peers). The default is `static` with no token, which
//! fails on first use: no default ever reaches a metadata or login endpoint by surprise.

use std::fmt;
use std::sync::Arc;

use anyhow::Context;
use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use serde::{Deserialize, Serialize};

use super::{CachedCredential, StaticToken, TokenProvider};

/// Which identity to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    ManagedIdentity,
    WorkloadIdentity,
    ClientSecret,
    AzureCli,
    #[default]
    Static,
}

/// The `[auth]` section.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub credential: CredentialKind,
    /// User-assigned managed identity client id, or the app id for client secret / workload.
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    /// Client secret (prefer `UEBA__AUTH__CLIENT_SECRET` over the file). Never serialised.
    #[serde(skip_serializing)]
    pub client_secret: Option<String>,
    /// Token file for workload identity (defaults to AZURE_FEDERATED_TOKEN_FILE).
    pub token_file: Option<String>,
    /// Fixed bearer token for `static`. Never serialised.
    #[serde(skip_serializing)]
    pub static_token: Option<String>,
    /// Refresh tokens this long before they expire.
    pub refresh_before_secs: u64,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mask = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("AuthConfig")
            .field("credential", &self.credential)
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("client_secret", &mask(&self.client_secret))
            .field("token_file", &self.token_file)
            .field("static_token", &mask(&self.static_token))
            .field("refresh_before_secs", &self.refresh_before_secs)
            .finish()
    }
}

/// Build the token provider `[auth]` asks for. Constructing a credential makes no network call.
pub fn provider_from_config(cfg: &AuthConfig) -> anyhow::Result<Arc<dyn TokenProvider>> {
    let credential: Arc<dyn TokenCredential> = match cfg.credential {
        CredentialKind::Static => {
            let token = cfg
                .static_token
                .clone()
                .context("[auth] credential = \"static\" needs static_token")?;
            return Ok(Arc::new(StaticToken::new(token)));
        }
        CredentialKind::ManagedIdentity => {
            let options = cfg
                .client_id
                .clone()
                .map(|id| ManagedIdentityCredentialOptions {
                    user_assigned_id: Some(UserAssignedId::ClientId(id)),
                    ..Default::default()
                });
            ManagedIdentityCredential::new(options).context("managed identity credential")?
        }
        CredentialKind::WorkloadIdentity => {
            let options = WorkloadIdentityCredentialOptions {
                client_id: cfg.client_id.clone(),
                tenant_id: cfg.tenant_id.clone(),
                token_file_path: cfg.token_file.clone().map(Into::into),
                ..Default::default()
            };
            WorkloadIdentityCredential::new(Some(options))
                .context("workload identity credential")?
        }
        CredentialKind::ClientSecret => {
            let tenant = cfg
                .tenant_id
                .as_deref()
                .context("client_secret needs tenant_id")?;
            let client = cfg
                .client_id
                .clone()
                .context("client_secret needs client_id")?;
            let secret = cfg
                .client_secret
                .clone()
                .context("client_secret needs client_secret")?;
            ClientSecretCredential::new(tenant, client, Secret::new(secret), None)
                .context("client secret credential")?
        }
        CredentialKind::AzureCli => {
            AzureCliCredential::new(None).context("Azure CLI credential")?
        }
    };
    let refresh = std::time::Duration::from_secs(if cfg.refresh_before_secs == 0 {
        300
    } else {
        cfg.refresh_before_secs
    });
    Ok(Arc::new(CachedCredential::with_refresh(
        credential, refresh,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_token_is_served_for_any_scope() {
        let cfg = AuthConfig {
            static_token: Some("local-token".into()),
            ..AuthConfig::default()
        };
        let p = provider_from_config(&cfg).unwrap();
        let t = p.token(super::super::ARM_SCOPE).await.unwrap();
        assert_eq!(t.value, "local-token");
    }

    #[test]
    fn static_without_token_is_an_error() {
        let err = provider_from_config(&AuthConfig::default()).unwrap_err();
        assert!(err.to_string().contains("static_token"), "{err}");
    }

    #[test]
    fn client_secret_needs_all_parts() {
        let cfg = AuthConfig {
            credential: CredentialKind::ClientSecret,
            client_id: Some("00000000-0000-0000-0000-000000000001".into()),
            ..AuthConfig::default()
        };
        let err = provider_from_config(&cfg).unwrap_err();
        assert!(err.to_string().contains("tenant_id"), "{err}");
    }

    #[test]
    fn managed_identity_builds_without_network() {
        let cfg = AuthConfig {
            credential: CredentialKind::ManagedIdentity,
            client_id: Some("11111111-2222-3333-4444-555555555555".into()),
            ..AuthConfig::default()
        };
        let p = provider_from_config(&cfg).unwrap();
        assert!(format!("{p:?}").contains("CachedCredential"));
    }

    #[test]
    fn secrets_are_not_serialised() {
        let cfg = AuthConfig {
            client_secret: Some("s3cr3t".into()),
            static_token: Some("t0k3n".into()),
            ..AuthConfig::default()
        };
        let text = serde_json::to_string(&cfg).unwrap();
        assert!(
            !text.contains("s3cr3t") && !text.contains("t0k3n"),
            "{text}"
        );
    }

    #[test]
    fn debug_masks_secrets() {
        let cfg = AuthConfig {
            client_secret: Some("s3cr3t".into()),
            static_token: Some("t0k3n".into()),
            ..AuthConfig::default()
        };
        let d = format!("{cfg:?}");
        assert!(!d.contains("s3cr3t") && !d.contains("t0k3n"), "{d}");
    }
}
