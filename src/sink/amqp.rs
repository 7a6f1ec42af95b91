//! AMQP 1.0 output (Event Hubs output hub, or any AMQP 1.0 broker locally).
//!
//! Each record is one message: body a data section with the record's JSON, `message-id` the
//! RecordId, `content-type` application/json. Against Event Hubs the connection is TLS
//! (`amqps://<ns>.servicebus.windows.net:5671`), SASL ANONYMOUS, and authorised by a CBS
//! put-token (SAS from a connection string, or an Entra token) that is renewed before it expires.
//! Locally (`auth = "sasl"`) credentials come from the URL (SASL PLAIN).
//!
//! Invariants: a message never passes the smaller of `max_message_bytes` (≤ 1,000,000) and the
//! link's advertised max-message-size — the evidence is trimmed (`EvidenceTruncated = true`) or
//! the record is dead-lettered, never sent to be refused by a dropped connection; a record whose
//! outcome was not received is resent after reconnecting (at-least-once; the RecordId makes the
//! repeat harmless); records still unsent when retries run out are reported pending.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fe2o3_amqp::connection::ConnectionHandle;
use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp::types::messaging::{Message, MessageId, Outcome, Properties};
use fe2o3_amqp::types::primitives::{Binary, Symbol};
use fe2o3_amqp::{Connection, Sender, Session};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::auth::TokenProvider;
use crate::sink::batch::trim_fields;
use crate::sink::cbs::{self, CbsAuth};
use crate::sink::fanout::{Sink, SinkDeadLetter, SinkReport};
use crate::sink::http::{Sleeper, TokioSleeper};
use crate::sink::record::OutputRecord;
use crate::sink::sas::ConnectionString;

/// Event Hubs' publication limit, with the margin its Kafka guidance recommends.
pub const MAX_MESSAGE_BYTES: usize = 1_000_000;
/// Room left for the message envelope (properties, section headers).
const ENVELOPE_BYTES: usize = 1024;
/// How long an orderly close may take before the connection is simply dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for the goodbye of a link that already failed.
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

/// How the connection authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AmqpAuthKind {
    /// SASL with the URL's user and password (PLAIN), or ANONYMOUS without them.
    #[default]
    Sasl,
    /// CBS with a SAS token computed from `connection_string`.
    CbsSas,
    /// CBS with an Entra token from `[auth]`.
    CbsJwt,
}

/// The `[amqp]` section.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmqpConfig {
    /// `amqp://guest:guest@127.0.0.1:5672` or `amqps://<ns>.servicebus.windows.net:5671`.
    pub url: String,
    /// Send-link target: the hub name for Event Hubs, `/queue/<name>` for RabbitMQ.
    pub address: String,
    pub auth: AmqpAuthKind,
    /// `Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...` for `cbs_sas`. Never
    /// serialised.
    #[serde(skip_serializing)]
    pub connection_string: Option<String>,
    pub container_id: String,
    pub max_message_bytes: usize,
    pub sas_ttl_secs: u64,
    /// Connection or send failures in a row before the rest of a batch is left pending.
    pub max_attempts: u32,
    pub backoff_ms: u64,
    /// Longest wait for a delivery outcome.
    pub send_timeout_secs: u64,
    /// Longest wait for open, begin, CBS put-token and attach together; a broker that accepts
    /// the socket and then stays silent counts as a failed attempt.
    pub connect_timeout_secs: u64,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        AmqpConfig {
            url: String::new(),
            address: String::new(),
            auth: AmqpAuthKind::default(),
            connection_string: None,
            container_id: "ueba-narrator".into(),
            max_message_bytes: MAX_MESSAGE_BYTES,
            sas_ttl_secs: 3600,
            max_attempts: 6,
            backoff_ms: 500,
            send_timeout_secs: 30,
            connect_timeout_secs: 30,
        }
    }
}

impl fmt::Debug for AmqpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match self.url.split_once('@') {
            Some((scheme_user, host)) => {
                let scheme = scheme_user.split("://").next().unwrap_or("amqp");
                format!("{scheme}://<redacted>@{host}")
            }
            None => self.url.clone(),
        };
        f.debug_struct("AmqpConfig")
            .field("url", &url)
            .field("address", &self.address)
            .field("auth", &self.auth)
            .field(
                "connection_string",
                &self.connection_string.as_ref().map(|_| "<redacted>"),
            )
            .field("max_message_bytes", &self.max_message_bytes)
            .finish_non_exhaustive()
    }
}

/// An open connection, session and send link.
struct Link {
    conn: ConnectionHandle<()>,
    session: SessionHandle<()>,
    sender: Sender,
    /// Unix seconds at which the CBS token must be put again.
    refresh_at: Option<u64>,
    /// Largest body this link takes.
    body_limit: usize,
}

/// Why one send did not deliver.
enum SendFailure {
    /// Refused for good (rejected outcome, too large).
    Poison(String, String),
    /// Connection or link trouble: reconnect and resend.
    Broken(String),
}

/// [`Sink`] sending one message per record.
pub struct AmqpSink {
    cfg: AmqpConfig,
    auth: Option<CbsAuth>,
    /// Host of the URL, for the CBS audience.
    host: String,
    /// The live link; `None` until first use and after a failure.
    link: Mutex<Option<Link>>,
    sleeper: Arc<dyn Sleeper>,
}

impl AmqpSink {
    pub fn new(cfg: &AmqpConfig, tokens: Option<Arc<dyn TokenProvider>>) -> anyhow::Result<Self> {
        anyhow::ensure!(!cfg.url.is_empty(), "[amqp] url is empty");
        anyhow::ensure!(!cfg.address.is_empty(), "[amqp] address is empty");
        let auth = match cfg.auth {
            AmqpAuthKind::Sasl => None,
            AmqpAuthKind::CbsSas => {
                let text = cfg
                    .connection_string
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("[amqp] cbs_sas needs connection_string"))?;
                Some(CbsAuth::Sas {
                    conn: ConnectionString::parse(text)?,
                    ttl: Duration::from_secs(cfg.sas_ttl_secs.max(60)),
                })
            }
            AmqpAuthKind::CbsJwt => {
                Some(CbsAuth::Jwt(tokens.ok_or_else(|| {
                    anyhow::anyhow!("[amqp] cbs_jwt needs [auth]")
                })?))
            }
        };
        let host = cfg
            .url
            .split("://")
            .nth(1)
            .and_then(|r| r.rsplit('@').next())
            .map(|h| h.split([':', '/']).next().unwrap_or(h).to_owned())
            .unwrap_or_default();
        Ok(AmqpSink {
            cfg: cfg.clone(),
            auth,
            host,
            link: Mutex::new(None),
            sleeper: Arc::new(TokioSleeper),
        })
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    async fn connect(&self) -> anyhow::Result<Link> {
        let wait = Duration::from_secs(self.cfg.connect_timeout_secs.max(1));
        match tokio::time::timeout(wait, self.open_link()).await {
            Ok(link) => link,
            Err(_) => anyhow::bail!(
                "no answer from {} within {}s while opening the link",
                self.host,
                wait.as_secs()
            ),
        }
    }

    async fn open_link(&self) -> anyhow::Result<Link> {
        let mut builder = Connection::builder().container_id(format!(
            "{}-{}",
            self.cfg.container_id,
            uuid::Uuid::new_v4()
        ));
        if self.auth.is_some() {
            builder = builder.sasl_profile(SaslProfile::Anonymous);
        }
        let mut conn = builder
            .open(self.cfg.url.as_str())
            .await
            .map_err(|e| anyhow::anyhow!("opening AMQP connection to {}: {e:?}", self.host))?;
        let mut session = Session::begin(&mut conn)
            .await
            .map_err(|e| anyhow::anyhow!("beginning AMQP session: {e:?}"))?;
        let refresh_at = self.put_token(&mut session).await?;
        let name = format!("{}-sender-{}", self.cfg.container_id, uuid::Uuid::new_v4());
        let sender = Sender::attach(&mut session, name, self.cfg.address.as_str())
            .await
            .map_err(|e| anyhow::anyhow!("attaching sender to {}: {e:?}", self.cfg.address))?;
        let advertised = sender
            .max_message_size()
            .filter(|n| *n > 0)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .unwrap_or(usize::MAX);
        let body_limit = self
            .cfg
            .max_message_bytes
            .min(MAX_MESSAGE_BYTES)
            .min(advertised)
            .saturating_sub(ENVELOPE_BYTES);
        tracing::info!(address = %self.cfg.address, body_limit, "AMQP sender attached");
        Ok(Link {
            conn,
            session,
            sender,
            refresh_at,
            body_limit,
        })
    }

    /// Put a CBS token when the connection uses CBS; returns when to renew it.
    async fn put_token(&self, session: &mut SessionHandle<()>) -> anyhow::Result<Option<u64>> {
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        let audience = cbs::audience(&self.host, &self.cfg.address);
        let token = auth.token(&audience, cbs::unix_now()).await?;
        cbs::put_token(session, &audience, &token).await?;
        Ok(Some(token.refresh_at()))
    }

    async fn send_one(&self, link: &mut Link, rec: &OutputRecord) -> Result<(), SendFailure> {
        // A connection the peer closed while idle (Event Hubs cuts at 240 s) is noticed here
        // rather than after a send timeout.
        if link.conn.is_closed() || link.session.is_ended() {
            return Err(SendFailure::Broken("connection closed by the peer".into()));
        }
        if link.refresh_at.is_some_and(|t| t <= cbs::unix_now()) {
            link.refresh_at = self
                .put_token(&mut link.session)
                .await
                .map_err(|e| SendFailure::Broken(format!("{e:#}")))?;
        }
        let body = encode_within(rec, link.body_limit)
            .map_err(|why| SendFailure::Poison("too_large".into(), why))?;
        let msg = message(&rec.record_id, body);
        let wait = Duration::from_secs(self.cfg.send_timeout_secs.max(1));
        match tokio::time::timeout(wait, link.sender.send(msg)).await {
            Err(_) => Err(SendFailure::Broken(
                "no outcome before the send timeout".into(),
            )),
            Ok(Err(e)) => Err(SendFailure::Broken(format!("{e}"))),
            Ok(Ok(Outcome::Accepted(_))) => Ok(()),
            Ok(Ok(Outcome::Rejected(r))) => Err(SendFailure::Poison(
                "rejected".into(),
                format!("{:?}", r.error),
            )),
            Ok(Ok(other)) => Err(SendFailure::Broken(format!("outcome {other:?}"))),
        }
    }

    /// Close the link and connection (best effort, bounded: some brokers never answer a detach).
    pub async fn close(&self) {
        if let Some(link) = self.link.lock().await.take()
            && tokio::time::timeout(CLOSE_WAIT, shut(link)).await.is_err()
        {
            tracing::debug!(host = %self.host, "AMQP peer did not answer the close in time");
        }
    }

    fn dead(&self, id: &str, reason: String, detail: String) -> SinkDeadLetter {
        SinkDeadLetter {
            reason,
            sink: "amqp".into(),
            record_id: id.to_owned(),
            status: None,
            detail,
        }
    }
}

async fn shut(mut link: Link) {
    // RabbitMQ answers a link close with an error; detach is what works everywhere.
    let _ = link.sender.detach().await;
    let _ = link.session.end().await;
    let _ = link.conn.close().await;
}

#[async_trait]
impl Sink for AmqpSink {
    fn name(&self) -> &str {
        "amqp"
    }

    async fn deliver(&self, records: &[OutputRecord]) -> SinkReport {
        let mut report = SinkReport::default();
        let mut slot = self.link.lock().await;
        let mut failures = 0u32;
        let mut i = 0;
        while i < records.len() {
            if failures >= self.cfg.max_attempts.max(1) {
                tracing::warn!(left = records.len() - i, "AMQP retries exhausted");
                report
                    .pending
                    .extend(records[i..].iter().map(|r| r.record_id.clone()));
                break;
            }
            if slot.is_none() {
                match self.connect().await {
                    Ok(l) => *slot = Some(l),
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %format!("{e:#}"), failures, "AMQP connect failed");
                        self.sleeper.sleep(self.backoff(failures)).await;
                        continue;
                    }
                }
            }
            let Some(link) = slot.as_mut() else { continue };
            let rec = &records[i];
            match self.send_one(link, rec).await {
                Ok(()) => {
                    report.delivered.push(rec.record_id.clone());
                    failures = 0;
                    i += 1;
                }
                Err(SendFailure::Poison(reason, detail)) => {
                    tracing::warn!(record_id = %rec.record_id, %reason, "AMQP refused a record");
                    report.dead.push(self.dead(&rec.record_id, reason, detail));
                    i += 1;
                }
                Err(SendFailure::Broken(why)) => {
                    failures += 1;
                    tracing::warn!(
                        record_id = %rec.record_id,
                        error = %why,
                        "AMQP link lost; reconnecting"
                    );
                    if let Some(old) = slot.take() {
                        // The peer may already be gone; do not wait long for a goodbye.
                        let _ = tokio::time::timeout(GOODBYE_WAIT, shut(old)).await;
                    }
                    self.sleeper.sleep(self.backoff(failures)).await;
                }
            }
        }
        report
    }
}

impl AmqpSink {
    fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .cfg
            .backoff_ms
            .saturating_mul(1 << failures.min(6).saturating_sub(1));
        Duration::from_millis(exp.min(30_000))
    }
}

/// The message for a record.
pub fn message(record_id: &str, body: Vec<u8>) -> Message<fe2o3_amqp::types::messaging::Data> {
    let props = Properties {
        message_id: Some(MessageId::String(record_id.to_owned())),
        content_type: Some(Symbol::from("application/json")),
        ..Default::default()
    };
    Message::builder()
        .properties(props)
        .data(Binary::from(body))
        .build()
}

/// The record's JSON, trimmed until it fits `limit` bytes. Trimming marks the record
/// `EvidenceTruncated` and shortens the longest fields first.
pub fn encode_within(rec: &OutputRecord, limit: usize) -> Result<Vec<u8>, String> {
    let full = serde_json::to_vec(rec).map_err(|e| e.to_string())?;
    if full.len() <= limit {
        return Ok(full);
    }
    let Ok(Value::Object(mut base)) = serde_json::to_value(rec) else {
        return Err("record is not an object".into());
    };
    base.insert("EvidenceTruncated".into(), Value::Bool(true));
    for divisor in [4, 16, 64, 256] {
        let mut m = base.clone();
        trim_fields(&mut m, (limit / divisor).max(512));
        let bytes = serde_json::to_vec(&m).map_err(|e| e.to_string())?;
        if bytes.len() <= limit {
            tracing::info!(
                record_id = %rec.record_id,
                from = full.len(),
                to = bytes.len(),
                "trimmed message"
            );
            return Ok(bytes);
        }
    }
    Err(format!(
        "{} bytes do not fit {limit} even trimmed",
        full.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sample::sample_record;

    #[test]
    fn small_record_is_sent_as_is() {
        let rec = sample_record("r1");
        let b = encode_within(&rec, 1_000_000).unwrap();
        assert_eq!(b, serde_json::to_vec(&rec).unwrap());
    }

    #[test]
    fn fc02_oversized_record_is_trimmed_under_the_limit() {
        let mut rec = sample_record("r1");
        rec.evidence_ids = (0..60_000).map(|i| format!("SigninLogs:{i:012}")).collect();
        rec.narrative = "n".repeat(300_000);
        assert!(serde_json::to_vec(&rec).unwrap().len() > 1_000_000);
        let b = encode_within(&rec, 1_000_000 - ENVELOPE_BYTES).unwrap();
        assert!(b.len() <= 1_000_000 - ENVELOPE_BYTES, "{}", b.len());
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["EvidenceTruncated"], true);
        assert_eq!(v["RecordId"], "r1");
        assert_eq!(v["EvidenceIds"][0], "SigninLogs:000000000000");
    }

    #[test]
    fn message_carries_record_id_and_content_type() {
        let m = message("abc", b"{}".to_vec());
        let p = m.properties.unwrap();
        assert_eq!(p.message_id, Some(MessageId::String("abc".into())));
        assert_eq!(p.content_type, Some(Symbol::from("application/json")));
    }

    #[test]
    fn cbs_needs_its_credentials_and_debug_hides_secrets() {
        let cfg = AmqpConfig {
            url: "amqps://ns.servicebus.windows.net:5671".into(),
            address: "ueba-out".into(),
            auth: AmqpAuthKind::CbsSas,
            ..AmqpConfig::default()
        };
        assert!(AmqpSink::new(&cfg, None).is_err());
        let cfg = AmqpConfig {
            url: "amqp://guest:hunter2@127.0.0.1:5672".into(),
            address: "/queue/q".into(),
            ..AmqpConfig::default()
        };
        let sink = AmqpSink::new(&cfg, None).unwrap();
        assert_eq!(sink.host, "127.0.0.1");
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
