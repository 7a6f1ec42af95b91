//! Entity keys: one person, host or address is one key however the tables spell it.
//!
//! Users are keyed by their trimmed, ASCII-lower-cased UPN with guest `#EXT#` forms folded to the
//! home address (`jane_fabrikam.com#EXT#@contoso.onmicrosoft.com` → `jane@fabrikam.com`); until a
//! UPN is known, by `oid:<object id>`. Hosts by lower-cased name; IPs by canonical address.
//! Display names are never keys.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// What kind of thing a case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    User,
    Host,
    Ip,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Host => "host",
            EntityKind::Ip => "ip",
        }
    }
}

/// A normalised entity identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityKey {
    pub kind: EntityKind,
    /// `alex.wilber@contoso.com`, `oid:1111...`, `contoso-ws-017.contoso.com`, `203.0.113.7`.
    pub id: String,
}

impl EntityKey {
    pub fn user(upn: &str) -> Option<EntityKey> {
        normalize_upn(upn).map(|id| EntityKey {
            kind: EntityKind::User,
            id,
        })
    }

    pub fn user_oid(object_id: &str) -> Option<EntityKey> {
        normalize_oid(object_id).map(|oid| EntityKey {
            kind: EntityKind::User,
            id: format!("oid:{oid}"),
        })
    }

    pub fn host(name: &str) -> Option<EntityKey> {
        let id = name.trim().trim_end_matches('.').to_ascii_lowercase();
        (!id.is_empty()).then_some(EntityKey {
            kind: EntityKind::Host,
            id,
        })
    }

    pub fn ip(addr: IpAddr) -> EntityKey {
        EntityKey {
            kind: EntityKind::Ip,
            id: addr.to_string(),
        }
    }

    /// True for a user key that is still only an object id.
    pub fn is_oid_only(&self) -> bool {
        self.kind == EntityKind::User && self.id.starts_with("oid:")
    }
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

/// Longest UPN accepted as a key; Entra allows far less, so anything longer is not an identity.
const MAX_UPN_CHARS: usize = 320;

/// Trim, drop invisible characters, lower-case (ASCII only, so non-ASCII letters survive as
/// written) and fold guest forms.
pub fn normalize_upn(upn: &str) -> Option<String> {
    let visible: String;
    let upn = if upn.chars().any(is_invisible) {
        visible = upn.chars().filter(|c| !is_invisible(*c)).collect();
        visible.as_str()
    } else {
        upn
    };
    let trimmed = upn.trim();
    let shape_ok = trimmed.chars().count() <= MAX_UPN_CHARS
        && !trimmed.chars().any(char::is_whitespace)
        && trimmed
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty());
    if !shape_ok {
        return None;
    }
    let lower = trimmed.to_ascii_lowercase();
    match lower.split_once("#ext#") {
        Some((local, _)) => match local.rfind('_') {
            Some(i) if i > 0 && i + 1 < local.len() => {
                Some(format!("{}@{}", &local[..i], &local[i + 1..]))
            }
            _ => Some(lower),
        },
        None => Some(lower),
    }
}

/// Zero-width and byte-order characters that would split one identity into several keys.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// Object ids compare case-insensitively (GUIDs).
pub fn normalize_oid(oid: &str) -> Option<String> {
    let t = oid.trim();
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upn_spellings_fold_to_one_key() {
        let spellings = [
            "Alex.Wilber@Contoso.com",
            "alex.wilber@contoso.com",
            "ALEX.WILBER@CONTOSO.COM ",
            " Alex.Wilber@contoso.com",
        ];
        for s in spellings {
            assert_eq!(
                normalize_upn(s).as_deref(),
                Some("alex.wilber@contoso.com"),
                "{s}"
            );
        }
    }

    #[test]
    fn guest_ext_form_becomes_home_address() {
        let guest = "Jane.Doe_Fabrikam.com#EXT#@contoso.onmicrosoft.com";
        assert_eq!(
            normalize_upn(guest).as_deref(),
            Some("jane.doe@fabrikam.com")
        );
        let underscores = "john_doe_fabrikam.com#EXT#@contoso.onmicrosoft.com";
        assert_eq!(
            normalize_upn(underscores).as_deref(),
            Some("john_doe@fabrikam.com")
        );
    }

    #[test]
    fn empty_or_non_upn_is_no_key() {
        assert_eq!(normalize_upn("@"), None);
        assert_eq!(normalize_upn("#EXT#"), None);
        assert_eq!(
            normalize_upn(&format!("{}@contoso.com", "a".repeat(400))),
            None
        );
        assert_eq!(
            normalize_upn("a\u{200b}@contoso.com").as_deref(),
            Some("a@contoso.com")
        );
        assert_eq!(normalize_upn(""), None);
        assert_eq!(normalize_upn("   "), None);
        assert_eq!(normalize_upn("Alex Wilber"), None);
    }

    #[test]
    fn non_ascii_letters_are_kept() {
        assert_eq!(
            normalize_upn("Zoë.Ångström@Contoso.com").as_deref(),
            Some("zoë.Ångström@contoso.com")
        );
    }

    #[test]
    fn host_and_ip_keys() {
        assert_eq!(
            EntityKey::host("CONTOSO-WS-017.").map(|k| k.id).as_deref(),
            Some("contoso-ws-017")
        );
        let ip: IpAddr = "2001:db8:4a::17".parse().unwrap();
        assert_eq!(EntityKey::ip(ip).to_string(), "ip:2001:db8:4a::17");
    }
}
