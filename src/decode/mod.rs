//! Decoding: export envelopes and rows of each Sentinel table into typed [`event::Decoded`].
//!
//! [`envelope::split_body`] turns a message body into rows; [`decode_record`] turns one row into
//! a [`Decoded`] value, an [`Outcome::Ignored`] (a table the product does not read), or a
//! [`DecodeError`] whose [`DeadReason`] the caller records with the dead letter.
//!
//! Invariants: routing is by the `Type` column only; every decoded row has a parsed
//! `TimeGenerated`; every [`Event`] names at least one entity (UPN, object id, host or IP) and
//! carries an evidence id that is stable for the same row (`<Table>:<native id>`, else
//! `<Table>:<_ItemId>`, else `<Table>:h<16 hex of SHA-256 of the row with sorted keys>`).

pub mod envelope;
pub mod event;
pub mod fields;
pub mod time;

mod alert;
mod anomaly;
mod audit;
mod azure;
mod directory;
mod office;
mod signin;
mod ueba;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use event::{Decoded, Detail, Event, Location, Table};
use fields::Row;

/// Why a row was dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadReason {
    /// An entry of a message body is not a JSON object.
    NotAnObject,
    /// The message body is not JSON.
    InvalidJson,
    /// The row has no `Type` column, so it cannot be routed.
    MissingType,
    /// `TimeGenerated` is absent, null or empty.
    MissingTime,
    /// `TimeGenerated` is present but not a timestamp.
    InvalidTime,
    /// The row names no user, host or address.
    MissingEntity,
    /// A required column holds a value of the wrong shape.
    InvalidField,
}

impl DeadReason {
    /// Stable snake_case name, as used in metrics labels and dead letters.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadReason::NotAnObject => "not_an_object",
            DeadReason::InvalidJson => "invalid_json",
            DeadReason::MissingType => "missing_type",
            DeadReason::MissingTime => "missing_time",
            DeadReason::InvalidTime => "invalid_time",
            DeadReason::MissingEntity => "missing_entity",
            DeadReason::InvalidField => "invalid_field",
        }
    }
}

/// A row (or body) that cannot be decoded, with what was wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason:?}: {detail}")]
pub struct DecodeError {
    pub reason: DeadReason,
    pub detail: String,
}

impl DecodeError {
    pub(crate) fn new(reason: DeadReason, detail: impl Into<String>) -> Self {
        DecodeError {
            reason,
            detail: detail.into(),
        }
    }
}

/// What became of a row that is not an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Decoded(Decoded),
    /// A table the product does not read (Heartbeat, a query-renamed `Type`...).
    Ignored {
        type_name: String,
    },
}

/// Decode one exported row (a flat JSON object of columns).
pub fn decode_record(fields: &Map<String, Value>) -> Result<Outcome, DecodeError> {
    let Some(type_name) = fields::str_field(fields, "Type") else {
        return Err(DecodeError::new(DeadReason::MissingType, "no Type column"));
    };
    let Some(table) = Table::from_type(&type_name) else {
        return Ok(Outcome::Ignored {
            type_name: type_name.into_owned(),
        });
    };
    let mut warnings = Vec::new();
    let time = time_generated(fields, &mut warnings)?;
    let ctx = Ctx {
        table,
        time,
        warnings,
    };
    let decoded = match table {
        Table::IdentityInfo => Decoded::Identity(Box::new(directory::identity(fields, ctx)?)),
        Table::UserPeerAnalytics => Decoded::Peer(directory::peer(fields, ctx)?),
        Table::SigninLogs | Table::AADNonInteractiveUserSignInLogs => {
            checked(signin::decode(fields, ctx))?
        }
        Table::BehaviorAnalytics => checked(ueba::decode(fields, ctx))?,
        Table::Anomalies => checked(anomaly::decode(fields, ctx))?,
        Table::SecurityAlert => checked(alert::decode(fields, ctx))?,
        Table::AuditLogs => checked(audit::decode(fields, ctx))?,
        Table::OfficeActivity => checked(office::decode(fields, ctx))?,
        Table::AzureActivity => checked(azure::decode(fields, ctx))?,
    };
    Ok(Outcome::Decoded(decoded))
}

/// `TimeGenerated` (or the portal's `TimeGenerated [UTC]`), required.
fn time_generated(m: &Row, warnings: &mut Vec<String>) -> Result<DateTime<Utc>, DecodeError> {
    let text = fields::get(m, "TimeGenerated")
        .and_then(fields::value_text)
        .ok_or_else(|| DecodeError::new(DeadReason::MissingTime, "TimeGenerated is missing"))?;
    let parsed = time::parse(&text).ok_or_else(|| {
        DecodeError::new(
            DeadReason::InvalidTime,
            format!("TimeGenerated {text:?} is not a timestamp"),
        )
    })?;
    if parsed.naive {
        warnings.push("naive_timestamp".to_owned());
    }
    Ok(parsed.time)
}

/// Reject events that name no entity at all.
fn checked(ev: Event) -> Result<Decoded, DecodeError> {
    if ev.user.is_empty() && ev.host.is_none() && ev.ip.is_none() {
        return Err(DecodeError::new(
            DeadReason::MissingEntity,
            format!("{} names no user, host or IP", ev.evidence_id),
        ));
    }
    Ok(Decoded::Event(Box::new(ev)))
}

/// What every table decoder starts from: the routed table, the event time and the warnings
/// gathered so far.
pub(crate) struct Ctx {
    pub table: Table,
    pub time: DateTime<Utc>,
    pub warnings: Vec<String>,
}

impl Ctx {
    /// An event with the evidence id resolved from `id_column` and every other field empty.
    pub fn event(self, m: &Row, id_column: &str, detail: Detail) -> Event {
        Event {
            evidence_id: evidence_id(self.table, m, id_column),
            table: self.table,
            time: self.time,
            user: Default::default(),
            host: None,
            ip: None,
            location: Location::default(),
            app: None,
            resource: None,
            operation: None,
            outcome: Default::default(),
            detail,
            untrusted: BTreeMap::new(),
            warnings: self.warnings,
        }
    }
}

/// `<Table>:<native id>`, else `<Table>:<_ItemId>`, else `<Table>:h<hash of the row>`.
pub(crate) fn evidence_id(table: Table, m: &Row, id_column: &str) -> String {
    if let Some(id) = fields::str_field(m, id_column).or_else(|| fields::str_field(m, "_ItemId")) {
        return format!("{table}:{id}");
    }
    format!("{table}:h{}", row_hash(m))
}

/// First 16 hex digits of the SHA-256 of the row serialised with sorted keys (serde_json's
/// default map is ordered by key, so equal rows hash equally whatever their column order).
fn row_hash(m: &Row) -> String {
    let mut hasher = Sha256::new();
    if serde_json::to_writer(&mut HashWriter(&mut hasher), m).is_err() {
        // A JSON map always serialises; keep the id deterministic regardless.
        hasher.update(b"unserialisable");
    }
    let digest = hasher.finalize();
    hex::encode(&digest[..8])
}

/// Streams serialised bytes into the hasher without building the whole text.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Copy a text column into `untrusted` under its column name.
pub(crate) fn keep_untrusted(ev: &mut Event, m: &Row, column: &str) {
    if let Some(text) = fields::string_field(m, column) {
        ev.untrusted.insert(column.to_owned(), text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: Value) -> Result<Outcome, DecodeError> {
        decode_record(v.as_object().expect("object"))
    }

    fn evidence(v: Value) -> String {
        match decode(v) {
            Ok(Outcome::Decoded(Decoded::Event(e))) => e.evidence_id,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn evidence_id_falls_back_to_item_id_then_row_hash() {
        let base = json!({"Type": "SigninLogs", "TimeGenerated": "2025-03-04T09:00:00Z",
            "UserPrincipalName": "a@contoso.com"});
        let mut with_item = base.clone();
        with_item["_ItemId"] = json!("item-1");
        assert_eq!(evidence(with_item), "SigninLogs:item-1");
        let hashed = evidence(base.clone());
        assert!(hashed.starts_with("SigninLogs:h"), "{hashed}");
        assert_eq!(hashed.len(), "SigninLogs:h".len() + 16);
        // Same columns in another order hash the same; another value hashes differently.
        let reordered = json!({"UserPrincipalName": "a@contoso.com",
            "TimeGenerated": "2025-03-04T09:00:00Z", "Type": "SigninLogs"});
        assert_eq!(evidence(reordered), hashed);
        let mut other = base;
        other["UserPrincipalName"] = json!("b@contoso.com");
        assert_ne!(evidence(other), hashed);
    }

    #[test]
    fn time_and_entity_failures_name_their_reason() {
        let bad_time = json!({"Type": "SigninLogs", "TimeGenerated": "yesterday",
            "UserPrincipalName": "a@contoso.com"});
        assert_eq!(
            decode(bad_time).expect_err("bad time").reason,
            DeadReason::InvalidTime
        );
        let empty_time = json!({"Type": "SigninLogs", "TimeGenerated": "",
            "UserPrincipalName": "a@contoso.com"});
        assert_eq!(
            decode(empty_time).expect_err("no time").reason,
            DeadReason::MissingTime
        );
        let nobody = json!({"Type": "SigninLogs", "TimeGenerated": "2025-03-04T09:00:00Z",
            "UserPrincipalName": "", "IPAddress": "-"});
        let err = decode(nobody).expect_err("no entity");
        assert_eq!(err.reason, DeadReason::MissingEntity);
        assert_eq!(err.reason.as_str(), "missing_entity");
    }

    #[test]
    fn portal_csv_time_header_and_ip_only_rows_decode() {
        let row = json!({"Type": "OfficeActivity", "TimeGenerated [UTC]": "3/4/2025, 9:15:02.5 AM",
            "ClientIP": "198.51.100.7:443"});
        let Ok(Outcome::Decoded(d)) = decode(row) else {
            panic!("ip-only row must decode");
        };
        assert_eq!(d.time().to_rfc3339(), "2025-03-04T09:15:02.500+00:00");
        let Decoded::Event(e) = d else {
            panic!("event expected");
        };
        assert!(e.user.is_empty());
        assert_eq!(e.warnings, vec!["naive_timestamp".to_owned()]);
    }

    #[test]
    fn dead_reasons_serialise_as_snake_case() {
        let all = [
            DeadReason::NotAnObject,
            DeadReason::InvalidJson,
            DeadReason::MissingType,
            DeadReason::MissingTime,
            DeadReason::InvalidTime,
            DeadReason::MissingEntity,
            DeadReason::InvalidField,
        ];
        for r in all {
            let json = serde_json::to_string(&r).expect("serialisable");
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
    }
}
