//! SecurityAlert rows into [`Event`]s with [`Detail::Alert`].
//!
//! `Entities` is JSON text (possibly empty, `"[]"`, or pretty-printed) whose objects point at
//! each other with `$id`/`$ref`: a `{"$ref":"3"}` object stands for the entity whose `$id` is
//! "3". References are resolved before entities are classified; references to unknown ids are
//! counted in `unresolved_refs` and never fail the row. Accounts become [`UserRef`]s (`Name` +
//! `UPNSuffix` → UPN, `AadUserId` → object id), hosts their FQDN, IPs their address. Legacy
//! rows (`Severity`, `StartTimeUtc`) are read too. Alert names, descriptions and command lines
//! are quoted data.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use super::event::{Detail, Event, UserRef};
use super::fields::{self, Row};
use super::{Ctx, keep_untrusted};

/// Deepest reference chain followed; deeper (or cyclic) references stay as they are.
const MAX_REF_DEPTH: usize = 8;

/// Most reference expansions per alert.
const MAX_REF_EXPANSIONS: usize = 1024;

/// Entities of one alert, classified.
#[derive(Debug, Default)]
struct Entities {
    accounts: Vec<UserRef>,
    /// (host name as written, FQDN when a domain is known)
    hosts: Vec<(String, String)>,
    ips: Vec<String>,
    command_lines: Vec<(String, String)>,
    unresolved_refs: u32,
}

/// Decode one SecurityAlert row.
pub(crate) fn decode(m: &Row, mut ctx: Ctx) -> Event {
    let w = &mut ctx.warnings;
    let entities = match fields::json_field(m, "Entities", w).as_deref() {
        Some(Value::Array(items)) => classify(items),
        _ => Entities::default(),
    };
    let detail = Detail::Alert {
        name: fields::first_string(m, &["AlertName", "DisplayName", "AlertDisplayName"]),
        severity: fields::first_string(m, &["AlertSeverity", "Severity"]),
        product: fields::first_string(m, &["ProductName", "ProviderName"]),
        system_alert_id: fields::string_field(m, "SystemAlertId"),
        tactics: fields::list_field(m, "Tactics", w),
        techniques: fields::list_field(m, "Techniques", w),
        accounts: entities.accounts.clone(),
        hosts: entities
            .hosts
            .iter()
            .map(|(_, fqdn)| fqdn.clone())
            .collect(),
        ips: entities.ips.clone(),
        unresolved_refs: entities.unresolved_refs,
        extended_properties: extended_properties(m, w),
    };

    let mut ev = ctx.event(m, "SystemAlertId", detail);
    ev.user = entities
        .accounts
        .iter()
        .find(|a| !a.is_empty())
        .or(entities.accounts.first())
        .cloned()
        .unwrap_or_default();
    ev.host = entities
        .hosts
        .first()
        .map(|(name, _)| name.clone())
        .or_else(|| compromised_host(m));
    ev.ip = entities.ips.iter().find_map(|raw| {
        fields::parse_ip(raw).map(|addr| super::event::IpRef {
            addr,
            raw: raw.clone(),
        })
    });
    ev.app = fields::first_string(m, &["ProductName", "ProviderName"]);
    keep_untrusted(&mut ev, m, "AlertName");
    keep_untrusted(&mut ev, m, "Description");
    keep_untrusted(&mut ev, m, "CompromisedEntity");
    for (id, line) in entities.command_lines {
        ev.untrusted
            .insert(format!("Entities.{id}.CommandLine"), line);
    }
    ev
}

/// `CompromisedEntity` when it reads as a host name (not a UPN, address or sentence).
fn compromised_host(m: &Row) -> Option<String> {
    let text = fields::string_field(m, "CompromisedEntity")?;
    let host_like = !text.contains('@')
        && !text.chars().any(char::is_whitespace)
        && fields::parse_ip(&text).is_none();
    host_like.then_some(text)
}

/// `ExtendedProperties` as a flat map; non-text values are kept as compact JSON.
fn extended_properties(m: &Row, w: &mut Vec<String>) -> BTreeMap<String, String> {
    let props = fields::json_field(m, "ExtendedProperties", w);
    let Some(obj) = fields::as_object(&props) else {
        return BTreeMap::new();
    };
    obj.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// Resolve references and sort entities by kind, in document order, each `$id` once.
fn classify(items: &[Value]) -> Entities {
    let ids = collect_ids(items);
    let mut out = Entities {
        unresolved_refs: count_unresolved(items, &ids),
        ..Entities::default()
    };
    let mut resolver = Resolver {
        ids: &ids,
        path: Vec::new(),
        budget: MAX_REF_EXPANSIONS,
    };
    let resolved: Vec<Value> = items.iter().map(|v| resolver.resolve(v)).collect();
    let mut seen = HashSet::new();
    for item in &resolved {
        walk_entities(item, &mut |e| {
            if let Some(id) = e.get("$id").and_then(fields::value_text)
                && !seen.insert(id.into_owned())
            {
                return;
            }
            add_entity(&mut out, e);
        });
    }
    out
}

/// Every object carrying a `$id`, anywhere in the tree.
fn collect_ids(items: &[Value]) -> HashMap<String, &Map<String, Value>> {
    let mut ids = HashMap::new();
    let mut stack: Vec<&Value> = items.iter().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(o) => {
                if let Some(id) = o.get("$id").and_then(fields::value_text) {
                    ids.entry(id.into_owned()).or_insert(o);
                }
                stack.extend(o.values());
            }
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    ids
}

/// `$ref` text of a reference object.
fn ref_target(o: &Map<String, Value>) -> Option<String> {
    o.get("$ref")
        .and_then(fields::value_text)
        .map(|t| t.into_owned())
}

fn count_unresolved(items: &[Value], ids: &HashMap<String, &Map<String, Value>>) -> u32 {
    let mut count = 0;
    let mut stack: Vec<&Value> = items.iter().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(o) => match ref_target(o) {
                Some(target) if !ids.contains_key(&target) => count += 1,
                Some(_) => {}
                None => stack.extend(o.values()),
            },
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    count
}

/// Reference expansion state: the ids being expanded (a cycle stops there) and how many more
/// expansions are allowed (hostile input cannot make the copy grow without bound).
struct Resolver<'a> {
    ids: &'a HashMap<String, &'a Map<String, Value>>,
    path: Vec<String>,
    budget: usize,
}

impl Resolver<'_> {
    /// A copy of `v` with every resolvable `{"$ref": id}` replaced by the entity it names.
    fn resolve(&mut self, v: &Value) -> Value {
        match v {
            Value::Object(o) => {
                if let Some(target) = ref_target(o)
                    && self.budget > 0
                    && self.path.len() < MAX_REF_DEPTH
                    && !self.path.contains(&target)
                    && let Some(entity) = self.ids.get(&target).copied()
                {
                    self.budget -= 1;
                    self.path.push(target);
                    let out = self.resolve_fields(entity);
                    self.path.pop();
                    return out;
                }
                self.resolve_fields(o)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.resolve(x)).collect()),
            other => other.clone(),
        }
    }

    fn resolve_fields(&mut self, o: &Map<String, Value>) -> Value {
        let map = o
            .iter()
            .map(|(k, x)| (k.clone(), self.resolve(x)))
            .collect();
        Value::Object(map)
    }
}

/// Call `f` on every object that has a `Type`, parents before children.
fn walk_entities(v: &Value, f: &mut impl FnMut(&Map<String, Value>)) {
    match v {
        Value::Object(o) => {
            if o.contains_key("Type") {
                f(o);
            }
            o.values().for_each(|x| walk_entities(x, f));
        }
        Value::Array(a) => a.iter().for_each(|x| walk_entities(x, f)),
        _ => {}
    }
}

fn add_entity(out: &mut Entities, e: &Map<String, Value>) {
    let kind = fields::str_field(e, "Type").unwrap_or_default();
    match kind.to_ascii_lowercase().as_str() {
        "account" => out.accounts.push(account(e)),
        "host" => out.hosts.extend(host(e)),
        "ip" => out.ips.extend(fields::string_field(e, "Address")),
        "process" => {
            let id = fields::string_field(e, "$id").unwrap_or_default();
            if let Some(line) = fields::string_field(e, "CommandLine") {
                out.command_lines.push((id, line));
            }
        }
        _ => {}
    }
}

fn account(e: &Map<String, Value>) -> UserRef {
    let name = fields::string_field(e, "Name");
    let suffix = fields::string_field(e, "UPNSuffix");
    let upn = match (&name, suffix) {
        (Some(n), Some(s)) if !n.contains('@') => Some(format!("{n}@{s}")),
        (Some(n), _) if n.contains('@') => Some(n.clone()),
        _ => None,
    };
    UserRef {
        upn,
        object_id: fields::string_field(e, "AadUserId"),
        display_name: fields::string_field(e, "DisplayName").or(name),
    }
}

/// (name as written, FQDN) of a host entity.
fn host(e: &Map<String, Value>) -> Option<(String, String)> {
    let fqdn = fields::string_field(e, "FQDN");
    let name = fields::first_string(e, &["HostName", "NetBiosName"]);
    let domain = fields::string_field(e, "DnsDomain");
    match (name, fqdn, domain) {
        (Some(n), Some(f), _) => Some((n, f)),
        (Some(n), None, Some(d)) => Some((n.clone(), format!("{n}.{d}"))),
        (Some(n), None, None) => Some((n.clone(), n)),
        (None, Some(f), _) => Some((f.clone(), f)),
        (None, None, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fc17_refs_resolve_into_nested_entities() {
        let items = json!([
            {"$id": "2", "Name": "alex", "UPNSuffix": "contoso.com", "Type": "account"},
            {"$id": "4", "Type": "process", "Account": {"$ref": "2"}, "Parent": {"$ref": "77"}}
        ]);
        let items = items.as_array().expect("array");
        let ids = collect_ids(items);
        let mut resolver = Resolver {
            ids: &ids,
            path: Vec::new(),
            budget: MAX_REF_EXPANSIONS,
        };
        let resolved = resolver.resolve(&items[1]);
        assert_eq!(resolved["Account"]["Name"], json!("alex"));
        assert_eq!(resolved["Parent"], json!({"$ref": "77"}));
        let out = classify(items);
        assert_eq!(out.unresolved_refs, 1);
        assert_eq!(
            out.accounts.len(),
            1,
            "the referenced account is counted once"
        );
        assert_eq!(out.accounts[0].upn.as_deref(), Some("alex@contoso.com"));
    }

    #[test]
    fn cyclic_refs_are_left_in_place() {
        let items = json!([{"$id": "1", "Type": "process", "Self": {"$ref": "1"}}]);
        let items = items.as_array().expect("array");
        let ids = collect_ids(items);
        let mut resolver = Resolver {
            ids: &ids,
            path: Vec::new(),
            budget: MAX_REF_EXPANSIONS,
        };
        let once = resolver.resolve(&json!({"$ref": "1"}));
        assert_eq!(once["Self"], json!({"$ref": "1"}));
        assert_eq!(classify(items).unresolved_refs, 0);
    }
}
