//! AzureActivity rows into [`Event`]s with [`Detail::AzureActivity`].
//!
//! `Caller` is a UPN for users and an object id for service principals. The newer `*Value`
//! columns (`OperationNameValue`, `ActivityStatusValue`) are preferred over their older
//! namesakes. `_ResourceId` names the resource touched.

use super::Ctx;
use super::event::{Detail, Event, Outcome, UserRef};
use super::fields::{self, Row};

/// Decode one AzureActivity row.
pub(crate) fn decode(m: &Row, mut ctx: Ctx) -> Event {
    let status = fields::first_string(m, &["ActivityStatusValue", "ActivityStatus"]);
    let outcome = outcome(status.as_deref());
    let ip = fields::ip_field(m, &["CallerIpAddress"], &mut ctx.warnings);
    let provider = fields::first_string(m, &["ResourceProviderValue", "ResourceProvider"]);
    let detail = Detail::AzureActivity {
        status,
        resource_group: fields::string_field(m, "ResourceGroup"),
        subscription_id: fields::string_field(m, "SubscriptionId"),
        resource_provider: provider.clone(),
    };

    let mut ev = ctx.event(m, "EventDataId", detail);
    ev.user = caller(m);
    ev.ip = ip;
    ev.app = provider;
    ev.resource = fields::first_string(m, &["_ResourceId", "ResourceId"]);
    ev.operation = fields::first_string(m, &["OperationNameValue", "OperationName"]);
    ev.outcome = outcome;
    ev
}

/// `Caller`: a UPN when it has an `@`, else an object id.
fn caller(m: &Row) -> UserRef {
    match fields::string_field(m, "Caller") {
        Some(c) if c.contains('@') => UserRef {
            upn: Some(c),
            ..UserRef::default()
        },
        Some(c) => UserRef {
            object_id: Some(c),
            ..UserRef::default()
        },
        None => UserRef::default(),
    }
}

fn outcome(status: Option<&str>) -> Outcome {
    match status.map(str::to_ascii_lowercase).as_deref() {
        Some("success" | "succeeded") => Outcome::Success,
        Some("failure" | "failed") => Outcome::Failure {
            code: None,
            reason: None,
        },
        _ => Outcome::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::Decoded;
    use crate::decode::{Outcome as RowOutcome, decode_record};
    use serde_json::json;

    #[test]
    fn caller_object_id_and_resource() {
        let row = json!({
            "Type": "AzureActivity", "EventDataId": "ev-1", "TimeGenerated": "2025-03-04T09:00:00Z",
            "Caller": "0b1c2d3e-0000-4000-8000-000000000009", "CallerIpAddress": "198.51.100.4",
            "OperationNameValue": "MICROSOFT.KEYVAULT/VAULTS/SECRETS/READ",
            "ActivityStatusValue": "Success", "_ResourceId": "/subscriptions/s/resourcegroups/rg/x",
            "ResourceGroup": "rg", "SubscriptionId": "s",
            "Properties_d": {"statusCode": "OK"}
        });
        let Ok(RowOutcome::Decoded(Decoded::Event(ev))) =
            decode_record(row.as_object().expect("object"))
        else {
            panic!("azure activity row must decode");
        };
        assert_eq!(ev.evidence_id, "AzureActivity:ev-1");
        assert_eq!(ev.user.upn, None);
        assert_eq!(
            ev.user.object_id.as_deref(),
            Some("0b1c2d3e-0000-4000-8000-000000000009")
        );
        assert_eq!(
            ev.resource.as_deref(),
            Some("/subscriptions/s/resourcegroups/rg/x")
        );
        assert_eq!(ev.outcome, Outcome::Success);
        let Detail::AzureActivity { resource_group, .. } = &ev.detail else {
            panic!("azure detail expected");
        };
        assert_eq!(resource_group.as_deref(), Some("rg"));
    }
}
