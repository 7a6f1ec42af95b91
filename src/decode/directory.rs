//! IdentityInfo rows into [`IdentitySnapshot`]s and UserPeerAnalytics rows into [`PeerRow`]s.
//!
//! IdentityInfo is a change log: each row is a snapshot at its `TimeGenerated`; choosing the
//! newest per object id is the entity stage's job. The Defender "unified" spellings
//! (`AccountUpn`...) are read through the case-insensitive getters. Fields Microsoft lists as
//! unused (InvestigationPriority, IsMFARegistered...) are not read. UserPeerAnalytics name
//! columns are empty since 2022, so only ids and rank are kept.

use super::event::{IdentitySnapshot, PeerRow};
use super::fields::{self, Row};
use super::{Ctx, DeadReason, DecodeError};

/// Decode one IdentityInfo row; it must carry an object id or a UPN.
pub(crate) fn identity(m: &Row, ctx: Ctx) -> Result<IdentitySnapshot, DecodeError> {
    let mut ignored = Vec::new();
    let snapshot = IdentitySnapshot {
        time: ctx.time,
        object_id: fields::string_field(m, "AccountObjectId"),
        upn: fields::string_field(m, "AccountUPN"),
        display_name: fields::string_field(m, "AccountDisplayName"),
        department: fields::string_field(m, "Department"),
        job_title: fields::string_field(m, "JobTitle"),
        manager: fields::string_field(m, "Manager"),
        country: fields::string_field(m, "Country"),
        city: fields::string_field(m, "City"),
        groups: fields::list_field(m, "GroupMembership", &mut ignored),
        roles: fields::list_field(m, "AssignedRoles", &mut ignored),
        enabled: fields::bool_field(m, "IsAccountEnabled"),
        user_state: fields::string_field(m, "UserState"),
        blast_radius: fields::string_field(m, "BlastRadius"),
        change_source: fields::string_field(m, "ChangeSource"),
        deleted: fields::str_field(m, "DeletedDateTime").is_some(),
        tenant_id: fields::string_field(m, "AccountTenantId"),
    };
    if snapshot.object_id.is_none() && snapshot.upn.is_none() {
        return Err(DecodeError::new(
            DeadReason::MissingEntity,
            "IdentityInfo row has neither AccountObjectId nor AccountUPN",
        ));
    }
    Ok(snapshot)
}

/// Decode one UserPeerAnalytics row; both ids and a non-negative rank are required.
pub(crate) fn peer(m: &Row, ctx: Ctx) -> Result<PeerRow, DecodeError> {
    let (Some(user_id), Some(peer_id)) = (
        fields::string_field(m, "UserId"),
        fields::string_field(m, "PeerUserId"),
    ) else {
        return Err(DecodeError::new(
            DeadReason::MissingEntity,
            "UserPeerAnalytics row lacks UserId or PeerUserId",
        ));
    };
    let mut warnings = Vec::new();
    let rank = fields::int_field(m, "Rank", &mut warnings)
        .and_then(|r| u32::try_from(r).ok())
        .ok_or_else(|| {
            let shown = fields::get(m, "Rank").map(|v| v.to_string());
            DecodeError::new(
                DeadReason::InvalidField,
                format!(
                    "UserPeerAnalytics Rank is {}",
                    shown.as_deref().unwrap_or("missing")
                ),
            )
        })?;
    Ok(PeerRow {
        time: ctx.time,
        user_id,
        peer_id,
        rank,
    })
}

#[cfg(test)]
mod tests {
    use crate::decode::event::Decoded;
    use crate::decode::{DeadReason, Outcome, decode_record};
    use serde_json::json;

    fn decode(v: serde_json::Value) -> Result<Outcome, crate::decode::DecodeError> {
        decode_record(v.as_object().expect("object"))
    }

    #[test]
    fn identity_unified_names_and_json_text_lists() {
        let row = json!({
            "Type": "IdentityInfo", "TimeGenerated": "2025-03-04T09:30:00Z",
            "AccountObjectId": "oid-1", "AccountUpn": "Alex.Wilber@Contoso.com",
            "GroupMembership": "[\"All Staff\",\"Finance\"]", "AssignedRoles": [],
            "IsAccountEnabled": "True", "DeletedDateTime": "2025-03-01T00:00:00Z",
            "Department": "Finance", "InvestigationPriority": 9
        });
        let Ok(Outcome::Decoded(Decoded::Identity(id))) = decode(row) else {
            panic!("identity row must decode");
        };
        assert_eq!(id.upn.as_deref(), Some("Alex.Wilber@Contoso.com"));
        assert_eq!(
            id.groups,
            vec!["All Staff".to_owned(), "Finance".to_owned()]
        );
        assert!(id.roles.is_empty());
        assert_eq!(id.enabled, Some(true));
        assert!(id.deleted);
        assert_eq!(id.department.as_deref(), Some("Finance"));
    }

    #[test]
    fn peer_rank_as_text_and_missing_ids() {
        let row = json!({
            "Type": "UserPeerAnalytics", "TimeGenerated": "2025-03-04T00:00:00Z",
            "UserId": "oid-1", "PeerUserId": "oid-2", "Rank": "3", "UserName": ""
        });
        let Ok(Outcome::Decoded(Decoded::Peer(p))) = decode(row) else {
            panic!("peer row must decode");
        };
        assert_eq!(
            (p.user_id.as_str(), p.peer_id.as_str(), p.rank),
            ("oid-1", "oid-2", 3)
        );
        let no_peer = json!({"Type": "UserPeerAnalytics", "TimeGenerated": "2025-03-04T00:00:00Z",
            "UserId": "oid-1", "Rank": 1});
        let err = decode(no_peer).expect_err("no peer id");
        assert_eq!(err.reason, DeadReason::MissingEntity);
        let bad_rank = json!({"Type": "UserPeerAnalytics", "TimeGenerated": "2025-03-04T00:00:00Z",
            "UserId": "oid-1", "PeerUserId": "oid-2", "Rank": "first"});
        assert_eq!(
            decode(bad_rank).expect_err("bad rank").reason,
            DeadReason::InvalidField
        );
    }
}
