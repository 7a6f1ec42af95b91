//! Credentials for the Azure outputs: which identity to use, and a per-scope token cache.
//!
//! [`TokenProvider`] is what every sink asks for a bearer token. [`CachedCredential`] wraps an
//! `azure_core` [`TokenCredential`] (managed identity, workload identity, client secret, Azure
//! CLI, chosen in `[auth]`) and keeps one token per scope until shortly before it expires.
//! [`StaticToken`] serves a fixed token for local peers and tests. Invariant: nothing here
//! contacts an identity endpoint until a token is first requested, and token values never reach
//! `Debug` output or logs.

pub mod select;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use time::OffsetDateTime;
use tokio::sync::Mutex;

pub use select::{AuthConfig, CredentialKind, provider_from_config};

/// Token scope of the Logs Ingestion API.
pub const MONITOR_SCOPE: &str = "https://monitor.azure.com/.default";
/// Token scope of Azure Resource Manager (Sentinel REST API).
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// Token scope of Event Hubs.
pub const EVENTHUBS_SCOPE: &str = "https://eventhubs.azure.net/.default";

/// A bearer token and when it stops being valid.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken {
    pub value: String,
    pub expires_on: OffsetDateTime,
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("value", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// Hands out bearer tokens for a scope.
#[async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    async fn token(&self, scope: &str) -> anyhow::Result<BearerToken>;
}

/// A fixed token for every scope (local peers, tests, emulators).
#[derive(Clone)]
pub struct StaticToken(String);

impl StaticToken {
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken(token.into())
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

#[async_trait]
impl TokenProvider for StaticToken {
    async fn token(&self, _scope: &str) -> anyhow::Result<BearerToken> {
        Ok(BearerToken {
            value: self.0.clone(),
            expires_on: OffsetDateTime::now_utc() + Duration::from_secs(24 * 3600),
        })
    }
}

/// Wraps a credential and caches one token per scope, refreshing `refresh_before` ahead of
/// expiry. A lock per provider keeps concurrent callers from fetching the same scope twice.
pub struct CachedCredential {
    credential: Arc<dyn TokenCredential>,
    /// Refresh when fewer than this remain before expiry.
    refresh_before: Duration,
    /// Scope to the token last obtained for it.
    cache: Mutex<HashMap<String, BearerToken>>,
}

impl fmt::Debug for CachedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedCredential")
            .field("credential", &self.credential)
            .field("refresh_before", &self.refresh_before)
            .finish_non_exhaustive()
    }
}

impl CachedCredential {
    /// Refreshes five minutes before expiry by default.
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self::with_refresh(credential, Duration::from_secs(300))
    }

    pub fn with_refresh(credential: Arc<dyn TokenCredential>, refresh_before: Duration) -> Self {
        CachedCredential {
            credential,
            refresh_before,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn fresh(&self, t: &BearerToken) -> bool {
        t.expires_on - self.refresh_before > OffsetDateTime::now_utc()
    }
}

#[async_trait]
impl TokenProvider for CachedCredential {
    async fn token(&self, scope: &str) -> anyhow::Result<BearerToken> {
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.get(scope).filter(|t| self.fresh(t)) {
            return Ok(t.clone());
        }
        let got = self
            .credential
            .get_token(&[scope], None)
            .await
            .map_err(|e| anyhow::anyhow!("getting a token for {scope}: {e}"))?;
        let token = BearerToken {
            value: got.token.secret().to_owned(),
            expires_on: got.expires_on,
        };
        tracing::debug!(scope, expires_on = %token.expires_on, "token acquired");
        cache.insert(scope.to_owned(), token.clone());
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::{AccessToken, TokenRequestOptions};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Issues `tok-<n>` tokens that live `ttl`, counting calls.
    #[derive(Debug)]
    struct CountingCredential {
        calls: AtomicU32,
        ttl: Duration,
    }

    #[async_trait]
    impl TokenCredential for CountingCredential {
        async fn get_token(
            &self,
            scopes: &[&str],
            _options: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let value = format!("tok-{n}-{}", scopes.join(","));
            Ok(AccessToken::new(
                value,
                OffsetDateTime::now_utc() + self.ttl,
            ))
        }
    }

    fn cred(ttl: Duration) -> Arc<CountingCredential> {
        Arc::new(CountingCredential {
            calls: AtomicU32::new(0),
            ttl,
        })
    }

    #[tokio::test]
    async fn token_is_cached_per_scope() {
        let c = cred(Duration::from_secs(3600));
        let p = CachedCredential::new(c.clone());
        let a = p.token(MONITOR_SCOPE).await.unwrap();
        let b = p.token(MONITOR_SCOPE).await.unwrap();
        let arm = p.token(ARM_SCOPE).await.unwrap();
        assert_eq!(a.value, format!("tok-1-{MONITOR_SCOPE}"));
        assert_eq!(b.value, a.value);
        assert_eq!(arm.value, format!("tok-2-{ARM_SCOPE}"));
        assert_eq!(c.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn token_near_expiry_is_refreshed() {
        // Lives 4 minutes: inside the 5-minute refresh margin, so every call refreshes.
        let c = cred(Duration::from_secs(240));
        let p = CachedCredential::new(c.clone());
        let a = p.token(ARM_SCOPE).await.unwrap();
        let b = p.token(ARM_SCOPE).await.unwrap();
        assert_eq!(a.value, format!("tok-1-{ARM_SCOPE}"));
        assert_eq!(b.value, format!("tok-2-{ARM_SCOPE}"));
        assert_eq!(c.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn debug_hides_token_values() {
        let s = StaticToken::new("very-secret");
        let t = BearerToken {
            value: "very-secret".into(),
            expires_on: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(!format!("{s:?}{t:?}").contains("very-secret"));
    }
}
