//! Entra ID tokens for SASL OAUTHBEARER, served from a cache.
//!
//! librdkafka asks for a token from inside `poll()`, which for a stream consumer runs on a
//! runtime worker thread where blocking on a future panics. So a background task fetches tokens
//! with an `azure_core` [`TokenCredential`] and refreshes them well before expiry, and the
//! client callback only reads [`TokenCache::current`]. The token never appears in logs.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use azure_core::credentials::TokenCredential;
use rdkafka::client::OAuthToken;

use crate::config::kafka::KafkaConfig;

/// Refresh this long before a token expires.
const REFRESH_BEFORE_MS: i64 = 5 * 60 * 1000;
/// Retry delay after a failed fetch.
const RETRY_AFTER: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Cached {
    token: String,
    expires_ms: i64,
}

/// A token shared between the refresher task and the client callback.
#[derive(Clone, Default)]
pub struct TokenCache {
    /// The latest token; `None` until the first fetch succeeds.
    slot: Arc<RwLock<Option<Cached>>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache(***)")
    }
}

/// The token for librdkafka's refresh callback: the cached one, or an error when no Entra
/// credential is configured (shared by the consumer and producer contexts).
pub fn callback_token(
    tokens: Option<&TokenCache>,
) -> Result<OAuthToken, Box<dyn std::error::Error>> {
    match tokens {
        Some(t) => t.current(),
        None => Err("OAUTHBEARER is not configured".into()),
    }
}

impl TokenCache {
    /// The cached token as librdkafka wants it.
    pub fn current(&self) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        let guard = self.slot.read().map_err(|_| "token cache poisoned")?;
        let c = guard.as_ref().ok_or("no Entra token fetched yet")?;
        Ok(OAuthToken {
            token: c.token.clone(),
            principal_name: String::new(),
            lifetime_ms: c.expires_ms,
        })
    }

    /// Fetch one token into the cache; returns its expiry (ms since the epoch).
    pub async fn refresh(&self, cred: &dyn TokenCredential, scope: &str) -> anyhow::Result<i64> {
        let t = cred
            .get_token(&[scope], None)
            .await
            .with_context(|| format!("getting an Entra token for {scope}"))?;
        let expires_ms = (t.expires_on.unix_timestamp_nanos() / 1_000_000) as i64;
        let cached = Cached {
            token: t.token.secret().to_owned(),
            expires_ms,
        };
        *self
            .slot
            .write()
            .map_err(|_| anyhow::anyhow!("token cache poisoned"))? = Some(cached);
        Ok(expires_ms)
    }

    /// Fetch the first token, then keep refreshing in the background until the runtime ends.
    pub async fn start(cred: Arc<dyn TokenCredential>, scope: String) -> anyhow::Result<Self> {
        let cache = TokenCache::default();
        let mut expires = cache.refresh(cred.as_ref(), &scope).await?;
        let bg = cache.clone();
        tokio::spawn(async move {
            loop {
                let now = chrono::Utc::now().timestamp_millis();
                let wait = (expires - REFRESH_BEFORE_MS - now).max(30_000);
                tokio::time::sleep(Duration::from_millis(wait as u64)).await;
                match bg.refresh(cred.as_ref(), &scope).await {
                    Ok(e) => expires = e,
                    Err(e) => {
                        metrics::counter!("ueba_token_refresh_failures_total").increment(1);
                        tracing::warn!(error = %format!("{e:#}"), "Entra token refresh failed");
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                }
            }
        });
        Ok(cache)
    }
}

/// The credential named by `kafka.credential`. Nothing is contacted until a token is asked for.
pub fn credential(k: &KafkaConfig) -> anyhow::Result<Arc<dyn TokenCredential>> {
    use azure_identity::{
        DeveloperToolsCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
        UserAssignedId, WorkloadIdentityCredential,
    };
    let cred: Arc<dyn TokenCredential> = match k.credential.as_str() {
        "workload_identity" => WorkloadIdentityCredential::new(None)?,
        "developer_tools" => DeveloperToolsCredential::new(None)?,
        _ => {
            let options = (!k.managed_identity_client_id.is_empty()).then(|| {
                ManagedIdentityCredentialOptions {
                    user_assigned_id: Some(UserAssignedId::ClientId(
                        k.managed_identity_client_id.clone(),
                    )),
                    ..Default::default()
                }
            });
            ManagedIdentityCredential::new(options)?
        }
    };
    Ok(cred)
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::{AccessToken, TokenRequestOptions};
    use azure_core::time::OffsetDateTime;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Default)]
    struct FakeCredential {
        calls: AtomicUsize,
        scopes: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl TokenCredential for FakeCredential {
        async fn get_token(
            &self,
            scopes: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if let Ok(mut s) = self.scopes.lock() {
                s.extend(scopes.iter().map(|s| s.to_string()));
            }
            let expires = OffsetDateTime::from_unix_timestamp(1_900_000_000 + n as i64)
                .expect("valid timestamp");
            Ok(AccessToken::new(format!("token-{n}"), expires))
        }
    }

    #[tokio::test]
    async fn callback_reads_the_cached_token() {
        let cache = TokenCache::default();
        assert!(cache.current().is_err(), "empty cache has no token");
        let cred = FakeCredential::default();
        let scope = "https://ns.servicebus.windows.net/.default";
        let exp = cache.refresh(&cred, scope).await.expect("refresh");
        assert_eq!(exp, 1_900_000_001_000);
        let t = cache.current().expect("token cached");
        assert_eq!(t.token, "token-1");
        assert_eq!(t.lifetime_ms, 1_900_000_001_000);
        cache.refresh(&cred, scope).await.expect("refresh");
        assert_eq!(cache.current().expect("token").token, "token-2");
        let scopes = cred.scopes.lock().expect("lock").clone();
        assert_eq!(scopes, vec![scope.to_owned(), scope.to_owned()]);
        assert_eq!(format!("{cache:?}"), "TokenCache(***)");
    }

    #[tokio::test]
    async fn start_fetches_before_returning() {
        let cred: Arc<dyn TokenCredential> = Arc::new(FakeCredential::default());
        let cache = TokenCache::start(cred, "s".into()).await.expect("start");
        assert_eq!(cache.current().expect("token").token, "token-1");
    }
}
