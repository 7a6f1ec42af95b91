//! HTTP transport: the route for each provider, authentication headers and one POST.
//!
//! [`Auth`] holds an API key, a bearer key or an Entra credential. Entra tokens (scope
//! [`COGNITIVE_SCOPE`]) come from any `azure_core` [`TokenCredential`], are cached and
//! refreshed five minutes before they expire. Secrets live in [`Secret`] and are only exposed
//! while building a header; nothing here logs a header.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use azure_core::credentials::TokenCredential;
use azure_core::time::OffsetDateTime;
use tokio::sync::Mutex;

use super::config::{AuthKind, LlmConfig, Provider, Secret};

pub const COGNITIVE_SCOPE: &str = "https://cognitiveservices.azure.com/.default";
/// Refresh a cached Entra token this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// One raw HTTP exchange.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub latency: Duration,
}

pub enum Auth {
    ApiKey(Secret),
    Bearer(Secret),
    Entra(EntraTokens),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::ApiKey(_) => "Auth::ApiKey(***)",
            Auth::Bearer(_) => "Auth::Bearer(***)",
            Auth::Entra(_) => "Auth::Entra",
        })
    }
}

/// Entra tokens from a credential, cached until shortly before expiry.
pub struct EntraTokens {
    credential: Arc<dyn TokenCredential>,
    /// The current token and its expiry; one refresh at a time.
    cached: Mutex<Option<(Secret, OffsetDateTime)>>,
}

impl EntraTokens {
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        EntraTokens {
            credential,
            cached: Mutex::new(None),
        }
    }

    /// A valid token, fetched again when the cached one is within the refresh margin.
    pub async fn token(&self) -> anyhow::Result<Secret> {
        let mut cached = self.cached.lock().await;
        let fresh_until = OffsetDateTime::now_utc() + REFRESH_MARGIN;
        if let Some((token, expires)) = cached.as_ref()
            && *expires > fresh_until
        {
            return Ok(token.clone());
        }
        let t = self
            .credential
            .get_token(&[COGNITIVE_SCOPE], None)
            .await
            .context("getting an Entra token for Azure OpenAI")?;
        let token = Secret::new(t.token.secret());
        *cached = Some((token.clone(), t.expires_on));
        Ok(token)
    }
}

impl Auth {
    /// Auth from configuration; keys come from the environment variable it names.
    pub fn from_config(cfg: &LlmConfig) -> anyhow::Result<Self> {
        let key = || {
            std::env::var(&cfg.api_key_env)
                .map(Secret::new)
                .with_context(|| format!("environment variable {} is not set", cfg.api_key_env))
        };
        Ok(match cfg.auth {
            AuthKind::ApiKey => Auth::ApiKey(key()?),
            AuthKind::Bearer => Auth::Bearer(key()?),
            AuthKind::EntraManagedIdentity => {
                let cred = azure_identity::ManagedIdentityCredential::new(None)
                    .context("creating the managed identity credential")?;
                Auth::Entra(EntraTokens::new(cred))
            }
            AuthKind::EntraDeveloperTools => {
                let cred = azure_identity::DeveloperToolsCredential::new(None)
                    .context("creating the developer tools credential")?;
                Auth::Entra(EntraTokens::new(cred))
            }
        })
    }

    async fn header(&self) -> anyhow::Result<(&'static str, String)> {
        Ok(match self {
            Auth::ApiKey(k) => ("api-key", k.expose().to_owned()),
            Auth::Bearer(k) => ("authorization", format!("Bearer {}", k.expose())),
            Auth::Entra(t) => (
                "authorization",
                format!("Bearer {}", t.token().await?.expose()),
            ),
        })
    }
}

/// Posts chat-completions requests to one endpoint.
#[derive(Debug)]
pub struct Transport {
    http: reqwest::Client,
    url: String,
    auth: Auth,
}

/// The URL requests go to.
pub fn route(cfg: &LlmConfig) -> String {
    let base = cfg.endpoint.trim_end_matches('/');
    match cfg.provider {
        Provider::AzureClassic => format!(
            "{base}/openai/deployments/{}/chat/completions?api-version={}",
            cfg.deployment, cfg.api_version
        ),
        Provider::AzureV1 => format!("{base}/openai/v1/chat/completions"),
        Provider::Openai => format!("{base}/chat/completions"),
    }
}

impl Transport {
    pub fn new(cfg: &LlmConfig, auth: Auth) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
            .build()
            .context("building the HTTP client")?;
        Ok(Transport {
            http,
            url: route(cfg),
            auth,
        })
    }

    /// One POST. Transport errors and timeouts come back as `Err` (retriable).
    pub async fn post(&self, body: &serde_json::Value) -> anyhow::Result<RawResponse> {
        let (name, value) = self.auth.header().await?;
        let started = Instant::now();
        let resp = self
            .http
            .post(&self.url)
            .header(name, value)
            .json(body)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("request failed: {}", e.without_url()))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_lowercase(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = resp
            .text()
            .await
            .map_err(|e| anyhow::anyhow!("reading the response failed: {}", e.without_url()))?;
        Ok(RawResponse {
            status,
            headers,
            body,
            latency: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::{AccessToken, TokenRequestOptions};
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct FakeCredential {
        calls: AtomicU32,
        lifetime: Duration,
    }

    #[async_trait::async_trait]
    impl TokenCredential for FakeCredential {
        async fn get_token(
            &self,
            scopes: &[&str],
            _options: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            assert_eq!(scopes, [COGNITIVE_SCOPE]);
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let expires = OffsetDateTime::now_utc() + self.lifetime;
            Ok(AccessToken::new(format!("token-{n}"), expires))
        }
    }

    #[tokio::test]
    async fn entra_token_is_cached_until_near_expiry() {
        let cred = Arc::new(FakeCredential {
            calls: AtomicU32::new(0),
            lifetime: Duration::from_secs(3600),
        });
        let tokens = EntraTokens::new(cred.clone());
        assert_eq!(tokens.token().await.unwrap().expose(), "token-0");
        assert_eq!(tokens.token().await.unwrap().expose(), "token-0");
        assert_eq!(cred.calls.load(Ordering::SeqCst), 1);

        let short = Arc::new(FakeCredential {
            calls: AtomicU32::new(0),
            lifetime: Duration::from_secs(60),
        });
        let tokens = EntraTokens::new(short.clone());
        assert_eq!(tokens.token().await.unwrap().expose(), "token-0");
        assert_eq!(tokens.token().await.unwrap().expose(), "token-1");
    }

    #[test]
    fn routes_per_provider() {
        let mut cfg = LlmConfig {
            endpoint: "https://r.openai.azure.com/".into(),
            deployment: "gpt4o".into(),
            ..LlmConfig::default()
        };
        assert_eq!(
            route(&cfg),
            "https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions\
             ?api-version=2024-10-21"
        );
        cfg.provider = Provider::AzureV1;
        assert_eq!(
            route(&cfg),
            "https://r.openai.azure.com/openai/v1/chat/completions"
        );
        cfg.provider = Provider::Openai;
        cfg.endpoint = "http://127.0.0.1:9/v1".into();
        assert_eq!(route(&cfg), "http://127.0.0.1:9/v1/chat/completions");
    }
}
