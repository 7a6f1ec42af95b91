//! AuditLogs rows into [`Event`]s with [`Detail::Audit`].
//!
//! `InitiatedBy` (`user{...}` or `app{...}`) and `TargetResources` arrive as objects or JSON text;
//! `modifiedProperties` values are JSON-encoded strings (`"\"Global Administrator\""`).
//! For role assignments the event is about the user who receives the role: `Event::user` is the
//! target and the initiator's UPN is kept in `untrusted["InitiatedBy"]`. Otherwise the event is
//! about the initiating user (or, when an app initiated it, the first target user).

use serde_json::Value;

use super::event::{Detail, Event, Outcome, UserRef};
use super::fields::{self, Row};
use super::{Ctx, keep_untrusted};

/// One entry of `TargetResources`.
struct Target {
    upn: Option<String>,
    id: Option<String>,
    display_name: Option<String>,
    kind: Option<String>,
}

impl Target {
    fn is_user(&self) -> bool {
        self.upn.is_some()
            || self
                .kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("user"))
    }

    fn user_ref(&self) -> UserRef {
        UserRef {
            upn: self.upn.clone(),
            object_id: self.id.clone(),
            display_name: self.display_name.clone(),
        }
    }
}

/// Decode one AuditLogs row.
pub(crate) fn decode(m: &Row, mut ctx: Ctx) -> Event {
    let w = &mut ctx.warnings;
    let initiated = fields::json_field(m, "InitiatedBy", w);
    let initiated = fields::as_object(&initiated);
    let init_user = initiated
        .and_then(|i| fields::get(i, "user"))
        .and_then(Value::as_object);
    let init_app = initiated
        .and_then(|i| fields::get(i, "app"))
        .and_then(Value::as_object);
    let targets_json = fields::json_field(m, "TargetResources", w);
    let target_items = match targets_json.as_deref() {
        Some(Value::Array(items)) => items.as_slice(),
        _ => &[],
    };
    let targets: Vec<Target> = target_items.iter().filter_map(target).collect();
    let operation = fields::first_string(m, &["OperationName", "ActivityDisplayName"]);
    let category = fields::string_field(m, "Category");
    let role_assignment = is_role_assignment(operation.as_deref(), category.as_deref());
    let ip = init_user.and_then(|u| fields::ip_field(u, &["ipAddress"], w));

    let initiator = UserRef {
        upn: init_user.and_then(|u| fields::string_field(u, "userPrincipalName")),
        object_id: init_user.and_then(|u| fields::string_field(u, "id")),
        display_name: init_user.and_then(|u| fields::string_field(u, "displayName")),
    };
    let first_target_user = targets.iter().find(|t| t.is_user()).map(Target::user_ref);
    let detail = Detail::Audit {
        category,
        result: fields::string_field(m, "Result"),
        targets: targets
            .iter()
            .filter_map(|t| t.upn.clone().or_else(|| t.display_name.clone()))
            .collect(),
        roles_added: if role_assignment {
            roles_added(target_items)
        } else {
            Vec::new()
        },
        initiated_by_app: init_app.and_then(|a| fields::string_field(a, "displayName")),
    };
    let outcome = outcome(m);

    let mut ev = ctx.event(m, "Id", detail);
    ev.operation = operation;
    ev.outcome = outcome;
    ev.ip = ip;
    ev.resource = targets.iter().find_map(|t| t.display_name.clone());
    if role_assignment && let Some(target) = first_target_user {
        if let Some(upn) = &initiator.upn {
            ev.untrusted.insert("InitiatedBy".to_owned(), upn.clone());
        }
        ev.user = target;
    } else if initiator.is_empty() {
        ev.user = first_target_user.unwrap_or_default();
    } else {
        ev.user = initiator;
    }
    keep_untrusted(&mut ev, m, "UserAgent");
    user_agent_detail(&mut ev, m);
    ev
}

/// "Add member to role", "Add eligible member to role"... in the RoleManagement category.
fn is_role_assignment(operation: Option<&str>, category: Option<&str>) -> bool {
    let op = operation.unwrap_or_default().to_ascii_lowercase();
    let role_category = category.is_some_and(|c| c.eq_ignore_ascii_case("RoleManagement"));
    op.starts_with("add") && op.contains("member to role") && (role_category || category.is_none())
}

fn target(v: &Value) -> Option<Target> {
    let t = v.as_object()?;
    Some(Target {
        upn: fields::string_field(t, "userPrincipalName"),
        id: fields::string_field(t, "id"),
        display_name: fields::string_field(t, "displayName"),
        kind: fields::string_field(t, "type"),
    })
}

/// `Role.DisplayName` new values across all targets, JSON-decoded and de-duplicated.
fn roles_added(targets: &[Value]) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    let props = targets
        .iter()
        .filter_map(|t| t.get("modifiedProperties"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_object);
    for p in props {
        let is_role_name =
            fields::str_field(p, "displayName").as_deref() == Some("Role.DisplayName");
        let value = fields::str_field(p, "newValue");
        if let (true, Some(value)) = (is_role_name, value) {
            let name = decode_json_text(&value);
            if !name.is_empty() && !roles.contains(&name) {
                roles.push(name);
            }
        }
    }
    roles
}

/// A JSON-encoded string value (`"\"Global Administrator\""`) as plain text.
fn decode_json_text(s: &str) -> String {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::String(inner)) => inner.trim().to_owned(),
        _ => s.trim().trim_matches('"').trim().to_owned(),
    }
}

fn outcome(m: &Row) -> Outcome {
    let Some(result) = fields::str_field(m, "Result") else {
        return Outcome::Unknown;
    };
    if result.eq_ignore_ascii_case("success") {
        Outcome::Success
    } else if result.eq_ignore_ascii_case("failure") || result.eq_ignore_ascii_case("timeout") {
        Outcome::Failure {
            code: None,
            reason: fields::string_field(m, "ResultReason"),
        }
    } else {
        Outcome::Unknown
    }
}

/// The `User-Agent` entry of `AdditionalDetails` ([{key, value}]), as quoted data.
fn user_agent_detail(ev: &mut Event, m: &Row) {
    let details = fields::json_field(m, "AdditionalDetails", &mut ev.warnings);
    let Some(Value::Array(items)) = details.as_deref() else {
        return;
    };
    let agent = items
        .iter()
        .filter_map(Value::as_object)
        .find(|kv| fields::str_field(kv, "key").as_deref() == Some("User-Agent"))
        .and_then(|kv| fields::string_field(kv, "value"));
    if let Some(agent) = agent {
        ev.untrusted.entry("UserAgent".to_owned()).or_insert(agent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::event::Decoded;
    use crate::decode::{Outcome as RowOutcome, decode_record};
    use serde_json::json;

    #[test]
    fn role_assignment_is_about_the_target_user() {
        let row = json!({
            "Type": "AuditLogs", "Id": "Directory_1", "TimeGenerated": "2025-03-04T09:00:00Z",
            "OperationName": "Add member to role", "Category": "RoleManagement",
            "Result": "success",
            "InitiatedBy": "{\"user\":{\"userPrincipalName\":\"admin@contoso.com\",\
                            \"id\":\"oid-a\",\"ipAddress\":\"203.0.113.5:4433\"}}",
            "TargetResources": [
                {"id": "oid-t", "type": "User", "userPrincipalName": "megan.bowen@contoso.com",
                 "modifiedProperties": [
                    {"displayName": "Role.DisplayName", "oldValue": null,
                     "newValue": "\"Global Administrator\""},
                    {"displayName": "Role.TemplateId", "newValue": "\"62e90394\""}
                 ]}
            ]
        });
        let Ok(RowOutcome::Decoded(Decoded::Event(ev))) =
            decode_record(row.as_object().expect("object"))
        else {
            panic!("audit row must decode");
        };
        assert_eq!(ev.user.upn.as_deref(), Some("megan.bowen@contoso.com"));
        assert_eq!(ev.user.object_id.as_deref(), Some("oid-t"));
        assert_eq!(
            ev.untrusted.get("InitiatedBy").map(String::as_str),
            Some("admin@contoso.com")
        );
        assert_eq!(
            ev.ip.as_ref().map(|i| i.addr.to_string()).as_deref(),
            Some("203.0.113.5")
        );
        assert_eq!(ev.outcome, Outcome::Success);
        let Detail::Audit {
            roles_added,
            targets,
            ..
        } = &ev.detail
        else {
            panic!("audit detail expected");
        };
        assert_eq!(roles_added, &vec!["Global Administrator".to_owned()]);
        assert_eq!(targets, &vec!["megan.bowen@contoso.com".to_owned()]);
    }
}
