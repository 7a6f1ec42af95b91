//! Applying decoded rows to state: entity resolution, rules, window and baseline updates.
//!
//! Order matters: rules read the entity's state *before* the row updates it. Object-id-only
//! users are merged into their UPN entity as soon as any source links the two.

use std::cell::OnceCell;
use std::sync::Arc;

use chrono::{NaiveDate, Timelike};

use crate::decode::event::{Detail, Event, IdentitySnapshot, Outcome, Table};
use crate::entity::baseline::Observation;
use crate::entity::directory::{Directory, IdentityChange};
use crate::entity::keys::{EntityKey, EntityKind, normalize_oid};
use crate::entity::state::{DownloadDay, EntityState, EntityStore, GeoMark, Mark, lock};
use crate::pipeline::engine::Engine;
use crate::trigger::hit::TriggerKind;
use crate::trigger::rules::{self, PeerDim, PeerLookup, is_download, resource_key};

/// Apply an IdentityInfo snapshot; a new object id ↔ UPN link merges the `oid:` entity.
pub(crate) fn identity(engine: &mut Engine, snap: IdentitySnapshot) {
    let link = snap.object_id.clone().zip(snap.upn.clone());
    let change = engine.directory.apply_identity(snap);
    if change != IdentityChange::Stale
        && let Some((oid, upn)) = link
    {
        merge_oid_entity(engine, &oid, &upn);
    }
}

fn merge_oid_entity(engine: &mut Engine, oid: &str, upn: &str) {
    let (Some(from), Some(to)) = (
        normalize_oid(oid).and_then(|o| EntityKey::user_oid(&o)),
        EntityKey::user(upn),
    ) else {
        return;
    };
    let Some(handle) = engine.store.remove(&from) else {
        engine.coalescer.rekey(&from, &to);
        return;
    };
    let moved = std::mem::replace(&mut *lock(&handle), EntityState::new(from.clone()));
    let target = engine.store.get_or_create(&to);
    let st = &engine.cfg.state;
    lock(&target).absorb(
        moved,
        st.max_events_per_entity,
        chrono::Duration::seconds(st.max_event_age_secs),
    );
    engine.store.reweigh(&to, &target);
    engine.coalescer.rekey(&from, &to);
    if let Some(day) = engine.download_days.remove(&from) {
        engine.download_days.insert(to, day);
    }
}

/// Whether the entity stage can name who a row is about: a UPN or object id, or for verdict
/// and resource tables a host or address. Decided from the row alone.
pub fn attributable(ev: &Event) -> bool {
    let user = ev.user.upn.as_deref().and_then(EntityKey::user).is_some()
        || ev
            .user
            .object_id
            .as_deref()
            .is_some_and(|o| !o.trim().is_empty());
    let machine = matches!(
        ev.table,
        Table::SecurityAlert | Table::Anomalies | Table::AzureActivity | Table::BehaviorAnalytics
    ) && (ev.host.as_deref().and_then(EntityKey::host).is_some() || ev.ip.is_some());
    user || machine
}

/// The entity an activity row is about, learning object id ↔ UPN links on the way.
fn resolve(engine: &mut Engine, ev: &Event) -> Option<EntityKey> {
    if let Some(key) = ev.user.upn.as_deref().and_then(EntityKey::user) {
        if let Some(oid) = ev.user.object_id.as_deref()
            && engine.directory.learn_link(oid, &key.id)
        {
            let upn = key.id.clone();
            merge_oid_entity(engine, oid, &upn);
        }
        return Some(key);
    }
    if let Some(oid) = ev.user.object_id.as_deref() {
        return match engine.directory.upn_for_oid(oid) {
            Some(upn) => EntityKey::user(upn),
            None => EntityKey::user_oid(oid),
        };
    }
    match ev.table {
        Table::SecurityAlert
        | Table::Anomalies
        | Table::AzureActivity
        | Table::BehaviorAnalytics => ev
            .host
            .as_deref()
            .and_then(EntityKey::host)
            .or_else(|| ev.ip.as_ref().map(|i| EntityKey::ip(i.addr))),
        _ => None,
    }
}

/// Apply one activity row. `on_time` rows also run rules and join windows; late rows only
/// feed the baseline. Returns the dead-letter detail when the row names nobody.
pub(crate) fn event(engine: &mut Engine, ev: Event, on_time: bool) -> Result<(), &'static str> {
    let Some(key) = resolve(engine, &ev) else {
        return Err("no user principal name or object id, and the table is user-centric");
    };
    let handle = engine.store.get_or_create(&key);
    let hits = {
        let mut state = lock(&handle);
        remember_spelling(&mut state, &ev);
        let mut hits = if on_time {
            let peers = StorePeers::lazy(&engine.store, &engine.directory, &key);
            rules::evaluate(&ev, &state, &peers, &engine.cfg.triggers)
        } else {
            Vec::new()
        };
        if on_time {
            hits.extend(judge_finished_day(
                &mut state,
                ev.time.date_naive(),
                &engine.cfg.triggers,
            ));
        }
        update_state(engine, &mut state, &ev, &hits, on_time);
        if on_time && is_download(&ev) {
            engine
                .download_days
                .insert(key.clone(), ev.time.date_naive());
        }
        let time = ev.time;
        if on_time {
            let st = &engine.cfg.state;
            let max_age = chrono::Duration::seconds(st.max_event_age_secs);
            state.push_event(Arc::new(ev), st.max_events_per_entity, max_age);
        }
        (hits, time)
    };
    let (hits, time) = hits;
    engine.store.reweigh(&key, &handle);
    if !on_time {
        return Ok(());
    }
    if hits.is_empty() && !engine.coalescer.late_evidence(&key, time, engine.tag) {
        return Ok(());
    }
    for hit in hits {
        engine.trigger(&key, hit);
    }
    Ok(())
}

fn remember_spelling(state: &mut EntityState, ev: &Event) {
    if let Some(upn) = ev.user.upn.as_deref().filter(|u| !u.trim().is_empty())
        && state.seen_upn.is_none()
    {
        state.seen_upn = Some(upn.trim().to_owned());
    }
    if state.seen_display_name.is_none() {
        state.seen_display_name = ev.user.display_name.clone();
    }
}

fn update_state(
    engine: &mut Engine,
    state: &mut EntityState,
    ev: &Event,
    hits: &[crate::trigger::hit::TriggerHit],
    on_time: bool,
) {
    let cfg = &engine.cfg;
    let success = matches!(ev.outcome, Outcome::Success);
    if let Detail::SignIn {
        risk_level: Some(level),
        ..
    } = &ev.detail
        && success
        && (level == "high" || level == "medium")
    {
        state.last_risky = Some(Mark {
            time: ev.time,
            evidence_id: ev.evidence_id.clone(),
            label: level.clone(),
            country: ev.location.country.clone(),
        });
    }
    if let Some(h) = hits
        .iter()
        .find(|h| h.kind == TriggerKind::FirstTimeCountry)
    {
        state.last_new_country = Some(Mark {
            time: ev.time,
            evidence_id: ev.evidence_id.clone(),
            label: h.facts.get("country").cloned().unwrap_or_default(),
            country: ev.location.country.clone(),
        });
    }
    if let (true, Some(lat), Some(lon)) = (success, ev.location.latitude, ev.location.longitude)
        && state.last_geo.as_ref().is_none_or(|g| g.time <= ev.time)
    {
        state.last_geo = Some(GeoMark {
            time: ev.time,
            latitude: lat,
            longitude: lon,
            country: ev.location.country.clone(),
            city: ev.location.city.clone(),
            evidence_id: ev.evidence_id.clone(),
        });
    }
    if on_time && is_download(ev) {
        track_download(state, ev);
    }
    observe(state, ev, cfg.state.half_life_days);
}

fn track_download(state: &mut EntityState, ev: &Event) {
    let day = ev.time.date_naive();
    let usual = state.baseline.usual_hours(0.8);
    let off_hours = !usual.is_empty() && !usual.contains(&(ev.time.hour() as u8));
    let site = match &ev.detail {
        Detail::Office {
            site_url: Some(s), ..
        } => Some(s.trim_end_matches('/').to_owned()),
        _ => ev.resource.clone(),
    };
    let dd = state
        .downloads
        .get_or_insert_with(|| DownloadDay::new(day, ev.time));
    if dd.day != day {
        // Only a late download of an already judged day gets here: start afresh.
        *dd = DownloadDay::new(day, ev.time);
    }
    dd.add(ev.time, &ev.evidence_id, site.as_deref(), off_hours);
}

/// Fold a row into the baseline. Sentinel's verdict tables describe activity already counted
/// from the raw tables, so they only contribute the ISP UEBA resolved.
fn observe(state: &mut EntityState, ev: &Event, half_life: f64) {
    match &ev.detail {
        Detail::Ueba { isp: Some(isp), .. } => state.baseline.isps.add(isp, ev.time),
        Detail::Ueba { .. } | Detail::Anomaly { .. } | Detail::Alert { .. } => {}
        _ => {
            let device = match &ev.detail {
                Detail::SignIn {
                    operating_system,
                    browser,
                    ..
                } => match (operating_system, browser) {
                    (Some(os), Some(b)) => Some(format!("{os} / {b}")),
                    (Some(os), None) => Some(os.clone()),
                    (None, b) => b.clone(),
                },
                _ => None,
            };
            let resource = ev.resource.as_deref().map(resource_key);
            let obs = Observation {
                country: ev.location.country.as_deref(),
                app: ev.app.as_deref(),
                resource: resource.as_deref(),
                device: device.as_deref(),
                isp: None,
                download: is_download(ev),
            };
            state.baseline.observe(ev.time, obs, half_life);
        }
    }
}

/// Judge the entity's download day once a later day begins, before the baseline rolls over
/// (so the day is compared with the days before it, never with itself).
fn judge_finished_day(
    state: &mut EntityState,
    today: NaiveDate,
    cfg: &crate::config::engine::TriggerConfig,
) -> Option<crate::trigger::hit::TriggerHit> {
    if state.downloads.as_ref().is_none_or(|d| d.day >= today) {
        return None;
    }
    let day = state.downloads.take()?;
    let hit = rules::bulk_download(state, &day, cfg);
    tracing::debug!(
        entity = %state.key,
        day = %day.day,
        downloads = day.count,
        daily_mean = state.baseline.daily_downloads_mean(),
        triggered = hit.is_some(),
        "download day judged"
    );
    if hit.is_some() {
        let prev = state.bulk_last.map_or(0, |(_, n)| n);
        state.bulk_last = Some((day.day, day.count.max(prev)));
    }
    if !rules::bulk_learnable(state, day.count, cfg) {
        state.baseline.discount_current_day();
    }
    hit
}

/// Judge download days that ended before `until` (all when `until` is None) for entities with
/// no later activity yet.
pub(crate) fn close_download_days(engine: &mut Engine, until: Option<NaiveDate>) {
    let due: Vec<EntityKey> = engine
        .download_days
        .iter()
        .filter(|(_, d)| until.is_none_or(|u| **d < u))
        .map(|(k, _)| k.clone())
        .collect();
    for key in due {
        engine.download_days.remove(&key);
        let Some(handle) = engine.store.get(&key) else {
            continue;
        };
        let hit = {
            let mut state = lock(&handle);
            let next_day = until.unwrap_or(NaiveDate::MAX);
            judge_finished_day(&mut state, next_day, &engine.cfg.triggers)
        };
        if let Some(hit) = hit {
            engine.trigger(&key, hit);
        }
    }
}

/// Peer questions answered from the peers' own baselines in the store. The peer list is
/// resolved on the first question only: most rows never ask one.
pub(crate) struct StorePeers<'a> {
    store: &'a EntityStore,
    directory: &'a Directory,
    me: &'a EntityKey,
    keys: OnceCell<Vec<EntityKey>>,
}

impl<'a> StorePeers<'a> {
    pub(crate) fn lazy(
        store: &'a EntityStore,
        directory: &'a Directory,
        me: &'a EntityKey,
    ) -> Self {
        StorePeers {
            store,
            directory,
            me,
            keys: OnceCell::new(),
        }
    }

    fn keys(&self) -> &[EntityKey] {
        self.keys.get_or_init(|| {
            if self.me.kind != EntityKind::User {
                return Vec::new();
            }
            self.directory
                .peers_of(&self.me.id)
                .iter()
                .filter_map(|p| match p.strip_prefix("oid:") {
                    Some(oid) => EntityKey::user_oid(oid),
                    None => EntityKey::user(p),
                })
                .filter(|k| k != self.me)
                .collect()
        })
    }
}

impl PeerLookup for StorePeers<'_> {
    fn peer_count(&self) -> u32 {
        self.keys().len() as u32
    }

    fn peers_with(&self, dim: PeerDim, value: &str, since: chrono::DateTime<chrono::Utc>) -> u32 {
        let mut n = 0;
        for key in self.keys() {
            let Some(handle) = self.store.get(key) else {
                continue;
            };
            let state = lock(&handle);
            let d = match dim {
                PeerDim::Country => &state.baseline.countries,
                PeerDim::Resource => &state.baseline.resources,
            };
            if d.get(value).is_some_and(|s| s.last_seen >= since) {
                n += 1;
            }
        }
        n
    }
}
