//! BehaviorAnalytics (UEBA output) rows into [`Event`]s with [`Detail::Ueba`].
//!
//! The three insight bags (`UsersInsights`, `DevicesInsights`, `ActivityInsights`) are open maps,
//! as objects or JSON text. Every value that reads as a boolean (`true`, `"True"`, `"false"`...)
//! is an insight flag. At most [`MAX_FLAGS`] flags are kept, chosen in sorted key order with the
//! true ones first, so the same row always keeps the same flags; `insights_truncated` says when
//! the bags held more keys than that. Process fields are attacker-influenced and go to
//! `untrusted`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use super::event::{Detail, Event, UserRef};
use super::fields::{self, Row};
use super::{Ctx, keep_untrusted};

/// Most insight flags kept per row.
pub(crate) const MAX_FLAGS: usize = 64;

/// Insight keys that are attacker-influenced text, kept as quoted data.
const UNTRUSTED_INSIGHTS: [&str; 5] = [
    "CommandLine",
    "Process",
    "NewProcessName",
    "ParentProcessName",
    "UserAgent",
];

/// The three insight bags: borrowed when the row holds objects, parsed when it holds text.
struct Insights<'a> {
    users: Option<Cow<'a, Value>>,
    devices: Option<Cow<'a, Value>>,
    activity: Option<Cow<'a, Value>>,
}

impl<'a> Insights<'a> {
    fn read(m: &'a Row, w: &mut Vec<String>) -> Self {
        Insights {
            users: fields::json_field(m, "UsersInsights", w),
            devices: fields::json_field(m, "DevicesInsights", w),
            activity: fields::json_field(m, "ActivityInsights", w),
        }
    }

    fn users(&self) -> Option<&Row> {
        fields::as_object(&self.users)
    }

    fn devices(&self) -> Option<&Row> {
        fields::as_object(&self.devices)
    }

    fn activity(&self) -> Option<&Row> {
        fields::as_object(&self.activity)
    }

    fn bags(&self) -> impl Iterator<Item = &Row> {
        [self.users(), self.devices(), self.activity()]
            .into_iter()
            .flatten()
    }

    fn user(&self, key: &str) -> Option<&Value> {
        self.users().and_then(|u| fields::get(u, key))
    }

    fn device_text(&self, key: &str) -> Option<String> {
        self.devices().and_then(|d| fields::string_field(d, key))
    }
}

/// Decode one BehaviorAnalytics row.
pub(crate) fn decode(m: &Row, mut ctx: Ctx) -> Event {
    let insights = Insights::read(m, &mut ctx.warnings);
    let (flags, insights_truncated) = select_flags(&insights);
    let priority = priority(m, &mut ctx.warnings);
    let ip = fields::ip_field(m, &["SourceIPAddress"], &mut ctx.warnings);

    let detail = Detail::Ueba {
        priority,
        activity_type: fields::string_field(m, "ActivityType"),
        action_type: fields::string_field(m, "ActionType"),
        true_flags: flags
            .iter()
            .filter(|(_, on)| **on)
            .map(|(k, _)| k.clone())
            .collect(),
        flags,
        threat_intel: insights.device_text("ThreatIntelIndicatorType"),
        isp: insights.device_text("ISP"),
        blast_radius: insights
            .user("BlastRadius")
            .and_then(fields::value_text)
            .map(Into::into),
        dormant: insights
            .user("IsDormantAccount")
            .and_then(fields::value_bool),
        new_account: insights.user("IsNewAccount").and_then(fields::value_bool),
        insights_truncated,
    };

    let mut ev = ctx.event(m, "SourceRecordId", detail);
    ev.user = UserRef {
        upn: fields::string_field(m, "UserPrincipalName"),
        object_id: insights
            .user("AccountObjectID")
            .and_then(fields::value_text)
            .map(Into::into),
        display_name: insights
            .user("AccountDisplayName")
            .and_then(fields::value_text)
            .map(Into::into),
    };
    ev.host = fields::first_string(m, &["SourceDevice", "DestinationDevice", "Device"]);
    ev.ip = ip;
    ev.operation = fields::string_field(m, "ActionType");
    ev.app = fields::string_field(m, "EventSource");
    keep_untrusted_insights(&mut ev, &insights);
    if let Some(name) = &ev.user.display_name {
        ev.untrusted
            .insert("UsersInsights.AccountDisplayName".to_owned(), name.clone());
    }
    keep_untrusted(&mut ev, m, "SourceIPLocation");
    ev
}

/// `InvestigationPriority` 0–10; absent or null is unknown, never 0.
fn priority(m: &Row, w: &mut Vec<String>) -> Option<u8> {
    let p = fields::int_field(m, "InvestigationPriority", w)?;
    match u8::try_from(p) {
        Ok(p) if p <= 10 => Some(p),
        _ => {
            w.push("out_of_range:InvestigationPriority".to_owned());
            None
        }
    }
}

/// Boolean insight flags, capped at [`MAX_FLAGS`] (true ones first, then sorted keys), and
/// whether the bags held more keys than the cap. A key true in any bag is true.
fn select_flags(insights: &Insights) -> (BTreeMap<String, bool>, bool) {
    let mut all: BTreeMap<&str, bool> = BTreeMap::new();
    let mut total_keys = 0usize;
    for bag in insights.bags() {
        total_keys += bag.len();
        for (key, value) in bag {
            if let Some(on) = flag_value(value) {
                *all.entry(key.as_str()).or_insert(false) |= on;
            }
        }
    }
    let trues = all.iter().filter(|(_, on)| **on);
    let falses = all.iter().filter(|(_, on)| !**on);
    let kept = trues
        .chain(falses)
        .take(MAX_FLAGS)
        .map(|(k, on)| ((*k).to_owned(), *on))
        .collect();
    (kept, total_keys > MAX_FLAGS || all.len() > MAX_FLAGS)
}

/// A flag is a JSON boolean or the text `true`/`false` in any casing (not `0`/`1`, which are
/// counts in some bags).
fn flag_value(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("true") {
                Some(true)
            } else if t.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn keep_untrusted_insights(ev: &mut Event, insights: &Insights) {
    for (bag_name, bag) in [
        ("ActivityInsights", insights.activity()),
        ("DevicesInsights", insights.devices()),
    ] {
        let Some(bag) = bag else { continue };
        for key in UNTRUSTED_INSIGHTS {
            if let Some(text) = bag.get(key).and_then(fields::value_text) {
                ev.untrusted
                    .insert(format!("{bag_name}.{key}"), text.into_owned());
            }
        }
    }
}
