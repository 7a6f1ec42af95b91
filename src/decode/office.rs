//! OfficeActivity rows into [`Event`]s with [`Detail::Office`].
//!
//! `UserId` is a UPN here (unlike SigninLogs). The client address may be in `ClientIP`,
//! `Client_IPAddress` or `ActorIpAddress`, with ports, brackets or zones (see
//! [`fields::parse_ip`]). `Parameters` ([{Name, Value}], object or JSON text) becomes a map; a
//! forwarding or redirect target set by an inbox rule or mailbox change is lifted into
//! `forwarding_to`. File names, rule names, subjects and client strings are quoted data.

use std::collections::BTreeMap;

use serde_json::Value;

use super::event::{Detail, Event, UserRef};
use super::fields::{self, Row};
use super::{Ctx, keep_untrusted};

/// Parameters that name where mail is forwarded or redirected, in preference order.
const FORWARDING_PARAMS: [&str; 5] = [
    "ForwardTo",
    "RedirectTo",
    "ForwardAsAttachmentTo",
    "ForwardingSmtpAddress",
    "ForwardingAddress",
];

/// Columns holding attacker-influenced text.
const UNTRUSTED_COLUMNS: [&str; 5] = [
    "SourceFileName",
    "Subject",
    "ClientInfoString",
    "UserAgent",
    "DestinationFileName",
];

/// Decode one OfficeActivity row.
pub(crate) fn decode(m: &Row, mut ctx: Ctx) -> Event {
    let w = &mut ctx.warnings;
    let parameters = parameters(m, w);
    let ip = fields::ip_field(m, &["ClientIP", "Client_IPAddress", "ActorIpAddress"], w);
    let site_url = fields::string_field(m, "Site_Url");
    let resource = resource(m, site_url.as_deref());
    let workload = fields::string_field(m, "OfficeWorkload");
    let detail = Detail::Office {
        workload: workload.clone(),
        record_type: fields::string_field(m, "RecordType"),
        site_url,
        file_name: fields::string_field(m, "SourceFileName"),
        forwarding_to: forwarding_to(&parameters),
        external_access: fields::bool_field(m, "ExternalAccess"),
        parameters,
    };
    let operation = fields::string_field(m, "Operation");
    let inbox_rule = operation
        .as_deref()
        .is_some_and(|op| op.to_ascii_lowercase().contains("inboxrule"));

    let mut ev = ctx.event(m, "OfficeId", detail);
    ev.user = UserRef {
        upn: fields::string_field(m, "UserId"),
        ..UserRef::default()
    };
    ev.ip = ip;
    ev.app = workload;
    ev.resource = resource;
    ev.operation = operation;
    for column in UNTRUSTED_COLUMNS {
        keep_untrusted(&mut ev, m, column);
    }
    if let Detail::Office { parameters, .. } = &ev.detail
        && inbox_rule
        && let Some(name) = parameters.get("Name")
    {
        let name = name.clone();
        ev.untrusted.insert("Parameters.Name".to_owned(), name);
    }
    ev
}

/// The site (`Site_Url`, the unit access is granted on), else `OfficeObjectId`.
/// `SourceRelativeUrl` is relative to the tenant root, not the site, so it is not joined.
fn resource(m: &Row, site_url: Option<&str>) -> Option<String> {
    match site_url {
        Some(site) => Some(site.trim_end_matches('/').to_owned()),
        None => fields::string_field(m, "OfficeObjectId"),
    }
}

/// `Parameters` as a name → value map; non-text values kept as compact JSON.
fn parameters(m: &Row, w: &mut Vec<String>) -> BTreeMap<String, String> {
    let params = fields::json_field(m, "Parameters", w);
    let Some(Value::Array(items)) = params.as_deref() else {
        return BTreeMap::new();
    };
    items
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|p| {
            let name = fields::string_field(p, "Name")?;
            let value = match fields::get(p, "Value") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            Some((name, value))
        })
        .collect()
}

/// The first forwarding parameter with a value, without an `smtp:` prefix.
fn forwarding_to(parameters: &BTreeMap<String, String>) -> Option<String> {
    FORWARDING_PARAMS.iter().find_map(|name| {
        let value = parameters.get(*name)?.trim();
        let value = match value.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case("smtp:") => &value[5..],
            _ => value,
        };
        (!value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::Decoded;
    use crate::decode::{Outcome, decode_record};
    use serde_json::json;

    #[test]
    fn inbox_rule_forwarding_and_quoted_rule_name() {
        let row = json!({
            "Type": "OfficeActivity", "OfficeId": "o-1", "TimeGenerated": "2025-03-04T09:00:00Z",
            "Operation": "New-InboxRule", "OfficeWorkload": "Exchange", "RecordType": "1",
            "UserId": "adele.vance@contoso.com", "Client_IPAddress": "[2001:db8::5]:1234",
            "Parameters": "[{\"Name\":\"Name\",\"Value\":\"ignore all rules\"},\
                           {\"Name\":\"ForwardTo\",\"Value\":\"SMTP:x@evil.example\"},\
                           {\"Name\":\"StopProcessingRules\",\"Value\":true}]"
        });
        let Ok(Outcome::Decoded(Decoded::Event(ev))) =
            decode_record(row.as_object().expect("object"))
        else {
            panic!("office row must decode");
        };
        assert_eq!(ev.evidence_id, "OfficeActivity:o-1");
        assert_eq!(
            ev.ip.as_ref().map(|i| i.addr.to_string()).as_deref(),
            Some("2001:db8::5")
        );
        assert_eq!(
            ev.untrusted.get("Parameters.Name").map(String::as_str),
            Some("ignore all rules")
        );
        let Detail::Office {
            forwarding_to,
            parameters,
            record_type,
            ..
        } = &ev.detail
        else {
            panic!("office detail expected");
        };
        assert_eq!(forwarding_to.as_deref(), Some("x@evil.example"));
        assert_eq!(
            parameters.get("StopProcessingRules").map(String::as_str),
            Some("true")
        );
        assert_eq!(record_type.as_deref(), Some("1"));
    }

    #[test]
    fn sharepoint_resource_is_the_site() {
        let m = json!({
            "Site_Url": "https://c.sharepoint.com/sites/legal/",
            "SourceRelativeUrl": "sites/legal/Shared Documents"
        });
        let m = m.as_object().expect("object");
        assert_eq!(
            resource(m, Some("https://c.sharepoint.com/sites/legal/")).as_deref(),
            Some("https://c.sharepoint.com/sites/legal")
        );
        let m = json!({"OfficeObjectId": "https://c.sharepoint.com/x.docx"});
        assert_eq!(
            resource(m.as_object().expect("object"), None).as_deref(),
            Some("https://c.sharepoint.com/x.docx")
        );
    }
}
