//! The directory: who a user is (IdentityInfo) and who their peers are (UserPeerAnalytics).
//!
//! IdentityInfo is a change log, so the newest `TimeGenerated` per object id wins whatever the
//! arrival order; exactly one snapshot is held per id. Object id ↔ UPN links come from
//! IdentityInfo first and, where it is silent, from activity rows that carry both. Peer lists
//! keep only the newest computation per user (ranks 1..20), resolved to UPN keys on demand.

use std::collections::HashMap as StdHashMap;

/// Keys come from exported rows, so hashing stays DoS-resistant (random keys) but fast.
type HashMap<K, V> = StdHashMap<K, V, ahash::RandomState>;

use chrono::{DateTime, Utc};

use crate::decode::event::{IdentitySnapshot, PeerRow};
use crate::entity::keys::{normalize_oid, normalize_upn};

/// What changed when a snapshot was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityChange {
    /// Older than the snapshot held: ignored.
    Stale,
    /// Newer, and department, title, roles, groups or state differ.
    Material,
    /// Newer, but nothing an analyst would read differs (a full re-sync).
    Refresh,
}

#[derive(Debug, Default)]
struct PeerList {
    computed: Option<DateTime<Utc>>,
    /// (rank, peer object id), ascending rank.
    ranked: Vec<(u32, String)>,
}

/// Directory of identities and peer groups.
#[derive(Debug, Default)]
pub struct Directory {
    /// Newest snapshot per lower-cased object id (or `upn:<key>` when a row has no object id).
    identities: HashMap<String, IdentitySnapshot>,
    /// User key (normalised UPN) → object id, from IdentityInfo.
    upn_to_oid: HashMap<String, String>,
    /// Object id → user key, from IdentityInfo (authoritative).
    oid_to_upn: HashMap<String, String>,
    /// Object id → user key, learned from activity rows (used when IdentityInfo is silent).
    learned: HashMap<String, String>,
    peers: HashMap<String, PeerList>,
}

impl Directory {
    /// Apply one IdentityInfo row; the newest `time` per object id wins.
    pub fn apply_identity(&mut self, snap: IdentitySnapshot) -> IdentityChange {
        let upn_key = snap.upn.as_deref().and_then(normalize_upn);
        let oid = snap.object_id.as_deref().and_then(normalize_oid);
        let id = match (&oid, &upn_key) {
            (Some(o), _) => o.clone(),
            (None, Some(u)) => format!("upn:{u}"),
            (None, None) => return IdentityChange::Stale,
        };
        let change = match self.identities.get(&id) {
            Some(held) if held.time > snap.time => return IdentityChange::Stale,
            Some(held) if !materially_differs(held, &snap) => IdentityChange::Refresh,
            _ => IdentityChange::Material,
        };
        if let (Some(o), Some(u)) = (oid, upn_key) {
            self.oid_to_upn.insert(o.clone(), u.clone());
            self.upn_to_oid.insert(u, o);
        }
        self.identities.insert(id, snap);
        change
    }

    /// Remember an object id ↔ UPN pair seen on an activity row. Returns true when the link is
    /// new (callers then merge any `oid:` entity into the UPN entity).
    pub fn learn_link(&mut self, object_id: &str, upn: &str) -> bool {
        let (Some(oid), Some(key)) = (normalize_oid(object_id), normalize_upn(upn)) else {
            return false;
        };
        if self.oid_to_upn.contains_key(&oid) {
            return false;
        }
        self.upn_to_oid
            .entry(key.clone())
            .or_insert_with(|| oid.clone());
        self.learned.insert(oid, key).is_none()
    }

    /// The user key (normalised UPN) for an object id, if any source linked them.
    pub fn upn_for_oid(&self, object_id: &str) -> Option<&str> {
        let oid = normalize_oid(object_id)?;
        self.oid_to_upn
            .get(&oid)
            .or_else(|| self.learned.get(&oid))
            .map(String::as_str)
    }

    pub fn oid_for_upn(&self, upn_key: &str) -> Option<&str> {
        self.upn_to_oid.get(upn_key).map(String::as_str)
    }

    /// The newest snapshot for a user key (`alex@...`) or `oid:` key.
    pub fn identity_for_key(&self, key: &str) -> Option<&IdentitySnapshot> {
        if let Some(oid) = key.strip_prefix("oid:") {
            return self.identities.get(oid);
        }
        match self.upn_to_oid.get(key) {
            Some(oid) => self.identities.get(oid),
            None => self.identities.get(&format!("upn:{key}")),
        }
    }

    /// Number of identities held (one per object id).
    pub fn identities(&self) -> usize {
        self.identities.len()
    }

    /// Apply one UserPeerAnalytics row: a newer computation replaces the list, rows of the same
    /// computation accumulate.
    pub fn apply_peer(&mut self, row: PeerRow) {
        let (Some(user), Some(peer)) = (normalize_oid(&row.user_id), normalize_oid(&row.peer_id))
        else {
            return;
        };
        if user == peer {
            return;
        }
        let list = self.peers.entry(user).or_default();
        match list.computed {
            Some(t) if t > row.time => return,
            Some(t) if t < row.time => list.ranked.clear(),
            _ => {}
        }
        list.computed = Some(row.time);
        list.ranked.retain(|(_, p)| *p != peer);
        let at = list.ranked.partition_point(|(r, _)| *r <= row.rank);
        list.ranked.insert(at, (row.rank, peer));
        list.ranked.truncate(20);
    }

    /// Peer user keys of a user key, closest first; peers not resolvable to a UPN are kept as
    /// `oid:` keys so they still count.
    pub fn peers_of(&self, user_key: &str) -> Vec<String> {
        let oid = match user_key.strip_prefix("oid:") {
            Some(o) => Some(o),
            None => self.oid_for_upn(user_key),
        };
        let Some(list) = oid.and_then(|o| self.peers.get(o)) else {
            return Vec::new();
        };
        list.ranked
            .iter()
            .map(|(_, p)| {
                self.upn_for_oid(p)
                    .map_or_else(|| format!("oid:{p}"), str::to_owned)
            })
            .collect()
    }
}

fn materially_differs(a: &IdentitySnapshot, b: &IdentitySnapshot) -> bool {
    a.department != b.department
        || a.job_title != b.job_title
        || a.manager != b.manager
        || a.roles != b.roles
        || a.groups != b.groups
        || a.enabled != b.enabled
        || a.user_state != b.user_state
        || a.deleted != b.deleted
        || a.upn != b.upn
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn snap(day: u32, dept: &str, source: &str) -> IdentitySnapshot {
        IdentitySnapshot {
            time: Utc.with_ymd_and_hms(2025, 3, day, 9, 0, 0).unwrap(),
            object_id: Some("11111111-AAAA-4bbb-8ccc-000000000001".into()),
            upn: Some("Alex.Wilber@Contoso.com".into()),
            display_name: Some("Alex Wilber".into()),
            department: Some(dept.into()),
            job_title: None,
            manager: None,
            country: None,
            city: None,
            groups: vec![],
            roles: vec![],
            enabled: Some(true),
            user_state: None,
            blast_radius: None,
            change_source: Some(source.into()),
            deleted: false,
            tenant_id: None,
        }
    }

    #[test]
    fn newest_snapshot_wins_whatever_the_arrival_order() {
        let mut d = Directory::default();
        assert_eq!(
            d.apply_identity(snap(4, "Finance", "AzureActiveDirectory")),
            IdentityChange::Material
        );
        assert_eq!(
            d.apply_identity(snap(1, "Sales", "FullSync")),
            IdentityChange::Stale
        );
        assert_eq!(
            d.apply_identity(snap(5, "Finance", "FullSync")),
            IdentityChange::Refresh
        );
        let held = d.identity_for_key("alex.wilber@contoso.com").unwrap();
        assert_eq!(held.department.as_deref(), Some("Finance"));
        assert_eq!(d.identities(), 1);
        assert_eq!(
            d.upn_for_oid("11111111-aaaa-4bbb-8ccc-000000000001"),
            Some("alex.wilber@contoso.com")
        );
    }

    #[test]
    fn newer_peer_computation_replaces_older() {
        let mut d = Directory::default();
        let t0 = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
        let t1 = Utc.with_ymd_and_hms(2025, 3, 15, 0, 0, 0).unwrap();
        let row = |t, peer: &str, rank| PeerRow {
            time: t,
            user_id: "u".into(),
            peer_id: peer.into(),
            rank,
        };
        d.apply_peer(row(t0, "p1", 1));
        d.apply_peer(row(t0, "p2", 2));
        d.apply_peer(row(t1, "p3", 1));
        d.apply_peer(row(t0, "p4", 3));
        d.learn_link("u", "u@contoso.com");
        assert_eq!(d.peers_of("u@contoso.com"), vec!["oid:p3".to_string()]);
    }
}
