//! Keyed, deterministic tokenization of identifiers before a context leaves the process.
//!
//! [`Tokenizer::tokenize`] replaces every identifier in a [`CaseContext`] (UPNs and e-mail
//! addresses, display names, IP addresses, host names, object ids), in structured fields and
//! inside free text and untrusted strings, by `USER_xxxxxxxx`, `NAME_…`, `IP_…`, `HOST_…` or
//! `OID_…`, where the suffix is an HMAC-SHA256 of the lower-cased value under the configured
//! key. The same key gives the same token on every run, so tokens join across restarts.
//! [`TokenMap::detokenize`] restores the originals in a model's answer.
//!
//! Invariants: evidence ids, the window id and timestamps are never rewritten (grounding needs
//! them verbatim); a token the map does not know is left as it is.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use hmac::{Hmac, Mac};
use regex::Regex;
use serde_json::Value;
use sha2::Sha256;

use crate::context::types::{CaseContext, EntityKind};

/// Hex characters kept from the HMAC (32 bits: collisions within one case are negligible).
const TOKEN_HEX: usize = 8;
/// Shorter values are not identifiers worth hiding (and would match inside words).
const MIN_LEN: usize = 3;

/// Keys whose string values are never rewritten.
const KEEP_KEYS: &[&str] = &[
    "id",
    "evidence_ids",
    "window_id",
    "time",
    "window_start",
    "window_end",
    "first_seen",
    "last_seen",
    "last_seen_before_case",
    "table",
    "kind",
];

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+'-]+@[a-z0-9.-]+\.[a-z]{2,}\b").expect("email pattern")
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")
        .expect("ipv4 pattern")
});
/// IPv6 with at least three colons or a `::` (times such as `12:30:00` have two).
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b|(?:[0-9a-f]{1,4}:)+:[0-9a-f:]*")
        .expect("ipv6 pattern")
});
static GUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
        .expect("guid pattern")
});
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:USER|NAME|IP|HOST|OID)_[0-9a-f]{8}\b").expect("token pattern")
});

/// What kind of identifier a value is; selects the token prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdClass {
    User,
    Name,
    Ip,
    Host,
    ObjectId,
}

impl IdClass {
    pub fn prefix(self) -> &'static str {
        match self {
            IdClass::User => "USER",
            IdClass::Name => "NAME",
            IdClass::Ip => "IP",
            IdClass::Host => "HOST",
            IdClass::ObjectId => "OID",
        }
    }
}

/// Makes tokens under one key.
#[derive(Clone)]
pub struct Tokenizer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokenizer { key: *** }")
    }
}

/// Token ↔ original for one context.
#[derive(Debug, Clone, Default)]
pub struct TokenMap {
    /// Lower-cased original → token.
    forward: BTreeMap<String, String>,
    /// Token → original spelling (first seen).
    back: HashMap<String, String>,
}

impl Tokenizer {
    pub fn new(key: &[u8]) -> Self {
        Tokenizer { key: key.to_vec() }
    }

    /// The token for `value`; case-insensitive and stable for a given key.
    pub fn token(&self, class: IdClass, value: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(class.prefix().as_bytes());
        mac.update(&[0]);
        mac.update(value.trim().to_lowercase().as_bytes());
        let digest = hex::encode(mac.finalize().into_bytes());
        format!("{}_{}", class.prefix(), &digest[..TOKEN_HEX])
    }

    /// A copy of `ctx` with every identifier replaced, and the map to undo it.
    pub fn tokenize(&self, ctx: &CaseContext) -> (CaseContext, TokenMap) {
        let mut map = TokenMap::default();
        for (class, value) in known_identifiers(ctx) {
            map.add(self.token(class, &value), &value);
        }
        // Evidence ids (`Table:guid`) and their guid parts are never tokenized.
        let keep: BTreeSet<String> = ctx
            .evidence
            .iter()
            .flat_map(|e| {
                let id = e.id.to_lowercase();
                let tail = id.rsplit(':').next().unwrap_or_default().to_owned();
                [id, tail]
            })
            .collect();
        let known = map.matcher();
        let mut value = serde_json::to_value(ctx).expect("a context always serialises");
        rewrite(&mut value, None, &mut |s| {
            self.rewrite_text(s, known.as_ref(), &keep, &mut map)
        });
        let out = serde_json::from_value(value).expect("tokenizing keeps the context's shape");
        (out, map)
    }

    fn rewrite_text(
        &self,
        text: &str,
        known: Option<&Regex>,
        keep: &BTreeSet<String>,
        map: &mut TokenMap,
    ) -> String {
        if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
            return text.to_owned();
        }
        let mut out = match known {
            Some(re) => re
                .replace_all(text, |c: &regex::Captures| map.lookup(&c[0]))
                .into_owned(),
            None => text.to_owned(),
        };
        for (re, class) in [
            (&*EMAIL, IdClass::User),
            (&*GUID, IdClass::ObjectId),
            (&*IPV6, IdClass::Ip),
            (&*IPV4, IdClass::Ip),
        ] {
            out = re
                .replace_all(&out, |c: &regex::Captures| {
                    let raw = &c[0];
                    if keep.contains(&raw.to_lowercase()) {
                        return raw.to_owned();
                    }
                    let token = self.token(class, raw);
                    map.add(token.clone(), raw);
                    token
                })
                .into_owned();
        }
        out
    }
}

impl TokenMap {
    fn add(&mut self, token: String, original: &str) {
        self.forward
            .entry(original.trim().to_lowercase())
            .or_insert_with(|| token.clone());
        self.back
            .entry(token)
            .or_insert_with(|| original.to_owned());
    }

    fn lookup(&self, raw: &str) -> String {
        self.forward
            .get(&raw.to_lowercase())
            .cloned()
            .unwrap_or_else(|| raw.to_owned())
    }

    /// One case-insensitive alternation of the known identifiers, longest first.
    fn matcher(&self) -> Option<Regex> {
        let mut values: Vec<&String> = self.forward.keys().collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let alts: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
        Regex::new(&format!("(?i){}", alts.join("|"))).ok()
    }

    pub fn len(&self) -> usize {
        self.back.len()
    }

    pub fn is_empty(&self) -> bool {
        self.back.is_empty()
    }

    /// The original identifiers that were hidden (for leak checks).
    pub fn originals(&self) -> impl Iterator<Item = &str> {
        self.back.values().map(String::as_str)
    }

    /// Restores originals in one string.
    pub fn detokenize_str(&self, text: &str) -> String {
        TOKEN
            .replace_all(text, |c: &regex::Captures| {
                self.back
                    .get(&c[0])
                    .cloned()
                    .unwrap_or_else(|| c[0].to_owned())
            })
            .into_owned()
    }

    /// Restores originals in every string of a JSON value.
    pub fn detokenize(&self, value: &mut Value) {
        rewrite(value, None, &mut |s| self.detokenize_str(s));
    }
}

/// Identifiers known from the structure of the context, with their class.
fn known_identifiers(ctx: &CaseContext) -> Vec<(IdClass, String)> {
    let mut ids = Vec::new();
    let mut push = |class: IdClass, v: &str| {
        if v.trim().chars().count() >= MIN_LEN {
            ids.push((class, v.trim().to_owned()));
        }
    };
    let entity_class = match ctx.entity.kind {
        Some(EntityKind::Host) => IdClass::Host,
        Some(EntityKind::Ip) => IdClass::Ip,
        _ => IdClass::User,
    };
    push(entity_class, &ctx.entity.key);
    push(entity_class, &ctx.entity.display);
    if let Some(oid) = &ctx.entity.object_id {
        push(IdClass::ObjectId, oid);
    }
    for name in ctx.entity.display_name.iter().chain(&ctx.entity.manager) {
        push(person_class(name), name);
    }
    for peer in &ctx.peers.closest {
        push(person_class(peer), peer);
    }
    for device in &ctx.baseline.devices {
        push(IdClass::Host, &device.value);
    }
    let facts = ctx
        .evidence
        .iter()
        .flat_map(|e| e.facts.iter())
        .chain(ctx.triggers.iter().flat_map(|t| t.facts.iter()));
    for (k, v) in facts {
        match k.as_str() {
            "host" | "device" | "computer" => push(IdClass::Host, v),
            "targets" | "forwarding_to" | "manager" | "user" | "upn" => {
                for part in v.split(',') {
                    push(person_class(part), part);
                }
            }
            _ => {}
        }
    }
    ids
}

fn person_class(v: &str) -> IdClass {
    if v.contains('@') {
        IdClass::User
    } else if GUID.is_match(v) {
        IdClass::ObjectId
    } else {
        IdClass::Name
    }
}

/// Applies `f` to every string value not under a [`KEEP_KEYS`] key.
fn rewrite(value: &mut Value, key: Option<&str>, f: &mut dyn FnMut(&str) -> String) {
    if key.is_some_and(|k| KEEP_KEYS.contains(&k)) {
        return;
    }
    match value {
        Value::String(s) => *s = f(s),
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, key, f)),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                rewrite(v, Some(k), f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_keyed_stable_and_case_insensitive() {
        let t = Tokenizer::new(b"k1");
        let a = t.token(IdClass::User, "Alex.Wilber@Contoso.com");
        assert_eq!(a, t.token(IdClass::User, "alex.wilber@contoso.com"));
        assert_eq!(
            a,
            Tokenizer::new(b"k1").token(IdClass::User, "alex.wilber@contoso.com")
        );
        assert_ne!(
            a,
            Tokenizer::new(b"k2").token(IdClass::User, "alex.wilber@contoso.com")
        );
        assert!(a.starts_with("USER_") && a.len() == 13, "{a}");
        assert!(t.token(IdClass::Ip, "203.0.113.7").starts_with("IP_"));
    }

    #[test]
    fn times_are_not_mistaken_for_ipv6() {
        assert!(!IPV6.is_match("at 12:30:00 UTC"));
        assert!(IPV6.is_match("from 2001:db8:85a3::8a2e:370:7334"));
        assert!(IPV6.is_match("from 2001:db8:0:0:1:0:0:1"));
    }
}
