//! Per-entity state and the bounded store that holds it.
//!
//! [`EntityState`] keeps a time-ordered window of recent events (the evidence narratives cite),
//! the decayed [`Baseline`], and the few marks the rules correlate on (last located sign-in,
//! last risky sign-in, last first-time country). [`EntityStore`] keeps states in a moka cache
//! with a weigher and a byte budget; an evicted entity loses history, never an open case
//! (cases live in the coalescer).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use moka::sync::Cache;

use crate::decode::event::Event;
use crate::entity::baseline::Baseline;
use crate::entity::keys::EntityKey;

/// A sign-in with coordinates, for impossible-travel checks.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoMark {
    pub time: DateTime<Utc>,
    pub latitude: f64,
    pub longitude: f64,
    pub country: Option<String>,
    pub city: Option<String>,
    pub evidence_id: String,
}

/// One UTC day of downloads.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadDay {
    pub day: NaiveDate,
    pub count: u32,
    /// Downloads outside the user's usual hours.
    pub off_hours: u32,
    pub last_time: DateTime<Utc>,
    /// Downloads per site, for naming the main one.
    pub sites: BTreeMap<String, u32>,
    /// Evidence ids: the first few and the most recent few.
    pub ids: Vec<String>,
}

impl DownloadDay {
    const KEEP_IDS: usize = 8;

    pub fn new(day: NaiveDate, at: DateTime<Utc>) -> Self {
        DownloadDay {
            day,
            count: 0,
            off_hours: 0,
            last_time: at,
            sites: BTreeMap::new(),
            ids: Vec::new(),
        }
    }

    pub fn add(
        &mut self,
        at: DateTime<Utc>,
        evidence_id: &str,
        site: Option<&str>,
        off_hours: bool,
    ) {
        self.count += 1;
        self.off_hours += u32::from(off_hours);
        self.last_time = self.last_time.max(at);
        if let Some(s) = site {
            *self.sites.entry(s.to_owned()).or_default() += 1;
        }
        if self.ids.len() < Self::KEEP_IDS {
            self.ids.push(evidence_id.to_owned());
        } else {
            // Keep the first half fixed and roll the second half over the latest ids.
            let slot = Self::KEEP_IDS / 2 + (self.count as usize % (Self::KEEP_IDS / 2));
            self.ids[slot] = evidence_id.to_owned();
        }
    }

    /// The site with the most downloads (ties by name).
    pub fn main_site(&self) -> Option<&str> {
        self.sites
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(s, _)| s.as_str())
    }
}

/// A notable earlier moment the rules correlate later events with.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub time: DateTime<Utc>,
    pub evidence_id: String,
    /// Country, risk level or similar, for the trigger's facts.
    pub label: String,
    pub country: Option<String>,
}

/// Everything known about one entity.
#[derive(Debug)]
pub struct EntityState {
    pub key: EntityKey,
    /// Recent events in event-time order (bounded by count and age).
    pub events: VecDeque<Arc<Event>>,
    pub baseline: Baseline,
    pub last_geo: Option<GeoMark>,
    pub last_risky: Option<Mark>,
    pub last_new_country: Option<Mark>,
    /// Download volume of the entity's current UTC day, for bulk-download triggers.
    pub downloads: Option<DownloadDay>,
    /// The last day that raised a bulk-download trigger and its download count.
    pub bulk_last: Option<(NaiveDate, u32)>,
    /// Last UPN spelling seen on activity rows (used when IdentityInfo has none).
    pub seen_upn: Option<String>,
    pub seen_display_name: Option<String>,
    /// Events pushed out of the window by the count or age bound.
    pub trimmed_events: u64,
    /// Approximate bytes of `events`, kept up to date on every push and trim.
    events_bytes: usize,
    /// Weight last reported to the store, to decide when to re-weigh.
    pub(crate) reported_weight: u32,
}

impl EntityState {
    pub fn new(key: EntityKey) -> Self {
        EntityState {
            key,
            events: VecDeque::new(),
            baseline: Baseline::default(),
            last_geo: None,
            last_risky: None,
            last_new_country: None,
            downloads: None,
            bulk_last: None,
            seen_upn: None,
            seen_display_name: None,
            trimmed_events: 0,
            events_bytes: 0,
            reported_weight: 0,
        }
    }

    /// Insert an event in time order and trim the window to `max_events` and `max_age`
    /// behind the newest event.
    pub fn push_event(&mut self, ev: Arc<Event>, max_events: usize, max_age: Duration) {
        self.events_bytes += approx_event_bytes(&ev);
        match self.events.back() {
            Some(last) if last.time > ev.time => {
                let at = self.events.partition_point(|e| e.time <= ev.time);
                self.events.insert(at, ev);
            }
            _ => self.events.push_back(ev),
        }
        let newest = self.events.back().map(|e| e.time);
        while let Some(front) = self.events.front() {
            let too_old = newest.is_some_and(|n| front.time < n - max_age);
            if self.events.len() > max_events || too_old {
                if let Some(gone) = self.events.pop_front() {
                    self.events_bytes = self.events_bytes.saturating_sub(approx_event_bytes(&gone));
                }
                self.trimmed_events += 1;
            } else {
                break;
            }
        }
    }

    /// Events with `from <= time < to`.
    pub fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = &Arc<Event>> {
        let start = self.events.partition_point(|e| e.time < from);
        self.events.range(start..).take_while(move |e| e.time < to)
    }

    /// Move another state's history into this one (an `oid:` entity whose UPN became known).
    pub fn absorb(&mut self, other: EntityState, max_events: usize, max_age: Duration) {
        for ev in other.events {
            self.push_event(ev, max_events, max_age);
        }
        if self.baseline.events < other.baseline.events {
            self.baseline = other.baseline;
        }
        self.last_geo = latest(self.last_geo.take(), other.last_geo, |m| m.time);
        self.last_risky = latest(self.last_risky.take(), other.last_risky, |m| m.time);
        self.last_new_country = latest(self.last_new_country.take(), other.last_new_country, |m| {
            m.time
        });
        self.seen_upn = self.seen_upn.take().or(other.seen_upn);
        self.seen_display_name = self.seen_display_name.take().or(other.seen_display_name);
    }

    /// Approximate heap footprint, for the store's weigher.
    pub fn approx_bytes(&self) -> usize {
        let events = self.events_bytes;
        let downloads = self
            .downloads
            .as_ref()
            .map_or(0, |d| d.ids.len() * 64 + d.sites.len() * 96);
        512 + events + self.baseline.approx_bytes() + downloads
    }
}

fn latest<T>(a: Option<T>, b: Option<T>, time: impl Fn(&T) -> DateTime<Utc>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if time(&b) > time(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn approx_event_bytes(e: &Event) -> usize {
    let strings = e.evidence_id.len()
        + e.untrusted
            .iter()
            .map(|(k, v)| k.len() + v.len() + 48)
            .sum::<usize>()
        + e.resource.as_ref().map_or(0, String::len)
        + e.operation.as_ref().map_or(0, String::len);
    400 + strings
}

/// A shared handle to one entity's state.
pub type StateHandle = Arc<Mutex<EntityState>>;

/// Lock a state; a poisoned lock still holds consistent data for our single-writer use.
pub fn lock(handle: &StateHandle) -> MutexGuard<'_, EntityState> {
    handle.lock().unwrap_or_else(|p| p.into_inner())
}

/// Bounded store of entity states, weighed in bytes.
pub struct EntityStore {
    /// moka evicts by weight once the byte budget is reached; weights are refreshed by
    /// re-inserting a state when it grew or shrank by a quarter.
    cache: Cache<EntityKey, StateHandle, ahash::RandomState>,
}

impl EntityStore {
    pub fn new(budget_bytes: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(budget_bytes)
            .weigher(|_k: &EntityKey, v: &StateHandle| {
                let w = lock(v).reported_weight;
                w.max(1)
            })
            .build_with_hasher(ahash::RandomState::new());
        EntityStore { cache }
    }

    pub fn get(&self, key: &EntityKey) -> Option<StateHandle> {
        self.cache.get(key)
    }

    pub fn get_or_create(&self, key: &EntityKey) -> StateHandle {
        self.cache.get_with(key.clone(), || {
            let mut s = EntityState::new(key.clone());
            s.reported_weight = s.approx_bytes() as u32;
            Arc::new(Mutex::new(s))
        })
    }

    /// Re-insert a state whose size drifted, so the budget sees its real weight.
    pub fn reweigh(&self, key: &EntityKey, handle: &StateHandle) {
        let drifted = {
            let mut s = lock(handle);
            let now = s.approx_bytes().min(u32::MAX as usize) as u32;
            let before = s.reported_weight.max(1);
            let changed = now > before + before / 4 || now < before - before / 4;
            if changed {
                s.reported_weight = now;
            }
            changed
        };
        if drifted {
            self.cache.insert(key.clone(), handle.clone());
        }
    }

    pub fn remove(&self, key: &EntityKey) -> Option<StateHandle> {
        self.cache.remove(key)
    }

    /// Let moka apply pending evictions (it only does so when touched).
    pub fn run_pending(&self) {
        self.cache.run_pending_tasks();
    }

    pub fn entity_count(&self) -> u64 {
        self.cache.entry_count()
    }

    pub fn weighted_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }

    /// All keys, sorted (for deterministic end-of-input sweeps).
    pub fn keys(&self) -> Vec<EntityKey> {
        let mut keys: Vec<EntityKey> = self.cache.iter().map(|(k, _)| (*k).clone()).collect();
        keys.sort();
        keys
    }
}
