//! Claims-based security (CBS) for Event Hubs over AMQP: which token to put, for which audience,
//! and when to put it again.
//!
//! A SAS token is computed from the connection string (`type=servicebus.windows.net:sastoken`);
//! an Entra token comes from the [`TokenProvider`] (`type=jwt`). The token is put on the `$cbs`
//! node before the send link attaches and again `REFRESH_BEFORE` ahead of its expiry.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp::types::messaging::Message;
use fe2o3_amqp::types::primitives::Timestamp;
use fe2o3_amqp_cbs::client::CbsClient;
use fe2o3_amqp_cbs::put_token::PutTokenRequest;
use fe2o3_amqp_cbs::token::CbsToken;
use fe2o3_amqp_management::request::Request;

use crate::auth::{EVENTHUBS_SCOPE, TokenProvider};
use crate::sink::sas::{ConnectionString, sas_token};

pub const SAS_TOKEN_TYPE: &str = "servicebus.windows.net:sastoken";
pub const JWT_TOKEN_TYPE: &str = "jwt";
/// Put a fresh token this long before the current one expires.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(6 * 60);

/// How the AMQP connection proves who it is.
#[derive(Clone, Debug)]
pub enum CbsAuth {
    Sas {
        conn: ConnectionString,
        ttl: Duration,
    },
    Jwt(Arc<dyn TokenProvider>),
}

/// A token ready to put.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedToken {
    pub value: String,
    pub token_type: &'static str,
    /// Seconds since 1970.
    pub expires_at: u64,
}

impl std::fmt::Debug for PreparedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedToken")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl PreparedToken {
    /// When to put the next token.
    pub fn refresh_at(&self) -> u64 {
        self.expires_at.saturating_sub(REFRESH_BEFORE.as_secs())
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The audience of a hub: `amqps://<host>/<hub>`.
pub fn audience(host: &str, hub: &str) -> String {
    format!("amqps://{host}/{}", hub.trim_start_matches('/'))
}

impl CbsAuth {
    pub async fn token(&self, audience: &str, now: u64) -> anyhow::Result<PreparedToken> {
        match self {
            CbsAuth::Sas { conn, ttl } => {
                let expires_at = now + ttl.as_secs();
                Ok(PreparedToken {
                    value: sas_token(audience, &conn.key_name, &conn.key, expires_at),
                    token_type: SAS_TOKEN_TYPE,
                    expires_at,
                })
            }
            CbsAuth::Jwt(p) => {
                let t = p.token(EVENTHUBS_SCOPE).await?;
                Ok(PreparedToken {
                    value: t.value,
                    token_type: JWT_TOKEN_TYPE,
                    expires_at: u64::try_from(t.expires_on.unix_timestamp()).unwrap_or(0),
                })
            }
        }
    }
}

fn timestamp(secs: u64) -> Timestamp {
    Timestamp::from_milliseconds(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
}

/// The put-token request message exactly as sent to `$cbs` (application properties
/// `operation`, `type`, `name`, `expiration`; body the token).
pub fn put_token_message(audience: &str, token: &PreparedToken) -> Message<String> {
    PutTokenRequest::new(
        audience,
        token.value.as_str(),
        timestamp(token.expires_at),
        token.token_type,
        None,
    )
    .into_message()
}

/// Put the token on the session's `$cbs` node.
pub async fn put_token(
    session: &mut SessionHandle<()>,
    audience: &str,
    token: &PreparedToken,
) -> anyhow::Result<()> {
    let mut client = CbsClient::attach(session)
        .await
        .map_err(|e| anyhow::anyhow!("attaching the CBS client: {e:?}"))?;
    let cbs_token = CbsToken::new(
        token.value.as_str(),
        token.token_type,
        timestamp(token.expires_at),
    );
    let result = client.put_token(audience, cbs_token).await;
    // The CBS link is closed best effort: a peer that never answers the detach must not stall
    // the connection being opened.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), client.close()).await;
    result.map_err(|e| anyhow::anyhow!("CBS put-token for {audience}: {e:?}"))?;
    tracing::debug!(
        audience,
        expires_at = token.expires_at,
        "CBS token accepted"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fe2o3_amqp::types::primitives::SimpleValue;

    fn sas_auth() -> CbsAuth {
        let conn = ConnectionString::parse(
            "Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=send-policy;\
             SharedAccessKey=c2VjcmV0LWtleS1mb3ItdGVzdHM=",
        )
        .unwrap();
        CbsAuth::Sas {
            conn,
            ttl: Duration::from_secs(3600),
        }
    }

    #[tokio::test]
    async fn sas_put_token_message_carries_the_cbs_properties() {
        let aud = audience("contoso-ns.servicebus.windows.net", "ueba-out");
        assert_eq!(aud, "amqps://contoso-ns.servicebus.windows.net/ueba-out");
        let tok = sas_auth().token(&aud, 1_767_222_000).await.unwrap();
        assert_eq!(tok.expires_at, 1_767_225_600);
        assert_eq!(tok.refresh_at(), 1_767_225_240);
        let msg = put_token_message(&aud, &tok);
        let props = msg.application_properties.as_ref().unwrap();
        let get = |k: &str| match props.get(k) {
            Some(SimpleValue::String(s)) => s.clone(),
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(get("operation"), "put-token");
        assert_eq!(get("type"), SAS_TOKEN_TYPE);
        assert_eq!(get("name"), aud);
        assert!(matches!(
            props.get("expiration"),
            Some(SimpleValue::Timestamp(t)) if t.milliseconds() == 1_767_225_600_000
        ));
        let v = &msg.body;
        assert!(v.starts_with(
            "SharedAccessSignature \
             sr=amqps%3A%2F%2Fcontoso-ns.servicebus.windows.net%2Fueba-out&sig="
        ));
        assert!(v.ends_with("&se=1767225600&skn=send-policy"));
    }

    #[tokio::test]
    async fn jwt_token_comes_from_the_provider() {
        let auth = CbsAuth::Jwt(Arc::new(crate::auth::StaticToken::new("eyJ.jwt")));
        let tok = auth.token("amqps://h/ueba-out", 0).await.unwrap();
        assert_eq!(tok.token_type, "jwt");
        assert_eq!(tok.value, "eyJ.jwt");
        let msg = put_token_message("amqps://h/ueba-out", &tok);
        let props = msg.application_properties.as_ref().unwrap();
        assert_eq!(props.get("type"), Some(&SimpleValue::String("jwt".into())));
    }
}
