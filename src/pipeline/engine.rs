//! The stateful core shared by `replay` and `run`: decode → dedup → event-time admission →
//! entity state → triggers → coalescing → case contexts.
//!
//! [`Engine`] is synchronous and single-writer: the same rows in the same order give the same
//! cases, byte for byte. It never narrates; it hands out [`Emitted`] items (case contexts and
//! dead letters) that the caller narrates and delivers. Duplicate rows (same evidence id) are
//! dropped before they touch state; late rows feed baselines only; rows too far ahead are parked.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Map, Value};

use crate::config::engine::{ContextConfig, StateConfig, TriggerConfig, WindowConfig};
use crate::context::build::{self, Inputs};
use crate::context::types::CaseContext;
use crate::decode::event::{Decoded, Event, Origin};
use crate::decode::{self, Outcome as DecodeOutcome};
use crate::entity::clock::{Admission, EventClock};
use crate::entity::directory::Directory;
use crate::entity::keys::EntityKey;
use crate::entity::state::{EntityStore, lock};
use crate::pipeline::apply;
use crate::pipeline::seen::SeenIds;
use crate::pipeline::stats::Stats;
use crate::sink::dead_letter::DeadLetter;
use crate::trigger::coalesce::{Added, Coalescer, ReadyCase};
use crate::trigger::scope::Scope;

/// Settings of the stateful stages.
#[derive(Debug, Clone, Default)]
pub struct EngineSettings {
    /// Workspace id written into window ids when rows carry none.
    pub tenant: String,
    pub window: WindowConfig,
    pub state: StateConfig,
    pub triggers: TriggerConfig,
    pub scope: crate::config::engine::ScopeConfig,
    pub context: ContextConfig,
}

/// Dead-letter reason for activity rows that name nobody.
pub const UNATTRIBUTED: &str = "unattributed";

/// A row decoded ahead of the engine, e.g. on the reader thread, so the engine thread only
/// applies state. The input map is released where it was parsed.
#[derive(Debug)]
pub struct Prepared {
    pub origin: Origin,
    /// The row's `Type`, or `(none)`.
    pub type_name: String,
    /// The workspace id of the first row a [`Preparer`] saw.
    pub tenant: Option<String>,
    pub body: Body,
}

#[derive(Debug)]
pub enum Body {
    Decoded(Decoded),
    Ignored,
    Dead {
        reason: &'static str,
        detail: String,
        raw: String,
    },
}

/// Decodes rows into [`Prepared`] items; keeps only whether it already reported a tenant.
#[derive(Debug, Default)]
pub struct Preparer {
    tenant_reported: bool,
}

impl Preparer {
    pub fn prepare(&mut self, fields: &Map<String, Value>, origin: Origin) -> Prepared {
        let type_name = fields
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("(none)")
            .to_owned();
        let mut tenant = None;
        if !self.tenant_reported {
            tenant = fields
                .get("TenantId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            self.tenant_reported = tenant.is_some();
        }
        let body = match decode::decode_record(fields) {
            Ok(DecodeOutcome::Decoded(Decoded::Event(ev))) if !apply::attributable(&ev) => {
                Body::Dead {
                    reason: UNATTRIBUTED,
                    detail: "no user principal name or object id, and the table is user-centric"
                        .into(),
                    raw: serde_json::to_string(fields).unwrap_or_default(),
                }
            }
            Ok(DecodeOutcome::Decoded(d)) => Body::Decoded(d),
            Ok(DecodeOutcome::Ignored { .. }) => Body::Ignored,
            Err(e) => Body::Dead {
                reason: e.reason.as_str(),
                detail: e.detail,
                raw: serde_json::to_string(fields).unwrap_or_default(),
            },
        };
        Prepared {
            origin,
            type_name,
            tenant,
            body,
        }
    }

    /// Input that never became a row (bad JSON line, bad CSV row...).
    pub fn reject(origin: Origin, detail: String, raw: String) -> Prepared {
        Prepared {
            origin,
            type_name: "(unreadable)".into(),
            tenant: None,
            body: Body::Dead {
                reason: "invalid_input",
                detail,
                raw,
            },
        }
    }
}

/// What the engine hands to the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Emitted {
    /// A case to narrate; `min_tag` is the smallest source tag among its new triggers.
    Case {
        ctx: Box<CaseContext>,
        min_tag: u64,
    },
    Dead(DeadLetter),
}

pub struct Engine {
    pub(crate) cfg: EngineSettings,
    scope: Scope,
    /// Evidence ids already seen; bounded, so very old duplicates may pass (they then only
    /// re-feed a baseline and coalesce into an existing case).
    dedup: SeenIds,
    pub(crate) directory: Directory,
    pub(crate) store: EntityStore,
    clock: EventClock,
    pub(crate) coalescer: Coalescer,
    /// Rows parked for clock skew, in time order, with their source tags.
    parked: Vec<(DateTime<Utc>, Origin, Decoded, u64)>,
    /// Source tag of the row being ingested (a Kafka message sequence; 0 in replay).
    pub(crate) tag: u64,
    /// Entities with an open download day, for the daily bulk-download rule.
    pub(crate) download_days: BTreeMap<EntityKey, NaiveDate>,
    last_day_sweep: Option<NaiveDate>,
    tenant_seen: Option<String>,
    pub(crate) stats: Stats,
}

impl Engine {
    pub fn new(cfg: EngineSettings) -> Self {
        let w = &cfg.window;
        Engine {
            scope: Scope::new(&cfg.scope),
            dedup: SeenIds::new(cfg.state.dedup_capacity),
            directory: Directory::default(),
            store: EntityStore::new(cfg.state.budget_bytes),
            clock: EventClock::new(
                w.allowed_lateness(),
                Duration::seconds(w.max_skew_secs),
                w.skew_confirm,
            ),
            coalescer: Coalescer::new(w.clone()),
            parked: Vec::new(),
            tag: 0,
            download_days: BTreeMap::new(),
            last_day_sweep: None,
            tenant_seen: None,
            stats: Stats::default(),
            cfg,
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        self.clock.watermark()
    }

    /// Entities currently held.
    pub fn entity_count(&self) -> u64 {
        self.store.run_pending();
        self.store.entity_count()
    }

    /// The recent events held for an entity key (`alex@contoso.com`, `oid:...`), in time order.
    pub fn entity_events(&self, key: &EntityKey) -> Vec<Arc<Event>> {
        self.store
            .get(key)
            .map(|h| lock(&h).events.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Streaming mode: judge clock skew against this wall-clock time.
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.clock.set_now(now);
    }

    /// Tag the rows ingested next (e.g. with the sequence number of their Kafka message).
    pub fn set_tag(&mut self, tag: u64) {
        self.tag = tag;
    }

    /// Smallest tag whose rows may still change an output: rows with this tag or later must
    /// not be acknowledged to their source yet. `None` when nothing is pending.
    pub fn min_pending_tag(&self) -> Option<u64> {
        let parked = self.parked.iter().map(|p| p.3).min();
        match (self.coalescer.min_pending_tag(), parked) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Feed one exported row (decode and apply in one step).
    pub fn ingest(&mut self, fields: &Map<String, Value>, origin: Origin, out: &mut Vec<Emitted>) {
        let prepared = Preparer::default().prepare(fields, origin);
        self.ingest_prepared(prepared, out);
    }

    /// Feed a row decoded ahead of time (possibly on another thread) by a [`Preparer`].
    pub fn ingest_prepared(&mut self, p: Prepared, out: &mut Vec<Emitted>) {
        Stats::bump(&mut self.stats.records_read, &p.type_name);
        if self.tenant_seen.is_none() {
            self.tenant_seen = p.tenant;
        }
        match p.body {
            Body::Decoded(d) => {
                self.stats.decoded += 1;
                self.ingest_decoded(d, p.origin, out);
            }
            Body::Ignored => Stats::bump(&mut self.stats.ignored_types, &p.type_name),
            Body::Dead {
                reason,
                detail,
                raw,
            } => {
                if reason == UNATTRIBUTED {
                    self.stats.decoded += 1;
                    self.stats.unattributed += 1;
                }
                self.dead(reason, detail, p.origin, raw, out);
            }
        }
    }

    /// Record input that never became a row (bad JSON line, bad CSV row...).
    pub fn reject(
        &mut self,
        reason: &str,
        detail: String,
        origin: Origin,
        raw: String,
        out: &mut Vec<Emitted>,
    ) {
        self.dead(reason, detail, origin, raw, out);
    }

    fn dead(
        &mut self,
        reason: &str,
        detail: String,
        origin: Origin,
        raw: String,
        out: &mut Vec<Emitted>,
    ) {
        tracing::debug!(reason, %origin, detail = %detail, "dead letter");
        Stats::bump(&mut self.stats.dead_letters, reason);
        out.push(Emitted::Dead(DeadLetter::new(reason, detail, origin, raw)));
    }

    fn ingest_decoded(&mut self, d: Decoded, origin: Origin, out: &mut Vec<Emitted>) {
        match d {
            Decoded::Identity(snap) => {
                self.stats.identity_updates += 1;
                apply::identity(self, *snap);
            }
            Decoded::Peer(row) => {
                self.stats.peer_rows += 1;
                self.directory.apply_peer(row);
            }
            Decoded::Event(ev) => {
                if !self.dedup.insert(&ev.evidence_id) {
                    self.stats.duplicates_dropped += 1;
                    return;
                }
                for w in &ev.warnings {
                    let kind = w.split_once('=').map_or(w.as_str(), |(k, _)| k);
                    Stats::bump(&mut self.stats.parse_warnings, kind);
                }
                match self.clock.admit(ev.time) {
                    Admission::OnTime => self.on_time(*ev, origin, out),
                    Admission::Late => self.late(*ev, origin, out),
                    Admission::Parked => {
                        tracing::debug!(
                            %origin,
                            time = %ev.time,
                            "record ahead of the watermark parked"
                        );
                        let at = self.parked.partition_point(|p| p.0 <= ev.time);
                        self.parked
                            .insert(at, (ev.time, origin, Decoded::Event(ev), self.tag));
                    }
                }
                self.release_parked(out);
            }
        }
    }

    fn on_time(&mut self, ev: Event, origin: Origin, out: &mut Vec<Emitted>) {
        // Cases the watermark has passed are emitted before this row can push their
        // evidence out of the entity's window.
        self.advance(out);
        let raw = self.raw_if_unattributed(&ev);
        if let Err(reason) = apply::event(self, ev, true) {
            self.unattributed(reason, origin, raw, out);
        }
        self.advance(out);
    }

    /// Late rows still feed baselines; the dead letter carries the decoded record as its raw
    /// form (the input row itself was released when it was decoded).
    fn late(&mut self, ev: Event, origin: Origin, out: &mut Vec<Emitted>) {
        self.stats.late_records += 1;
        let watermark = self
            .clock
            .watermark()
            .map(|w| w.to_rfc3339())
            .unwrap_or_default();
        let detail = format!(
            "TimeGenerated {} is more than {} s behind the watermark {watermark}; \
             baselines updated, no window joined",
            ev.time.to_rfc3339(),
            self.cfg.window.allowed_lateness_secs,
        );
        let raw = serde_json::to_string(&ev).unwrap_or_default();
        let unattributed = self.raw_if_unattributed(&ev);
        if let Err(reason) = apply::event(self, ev, false) {
            self.unattributed(reason, origin.clone(), unattributed, out);
        }
        self.dead("late_record", detail, origin, raw, out);
    }

    /// The record's JSON, only when the entity stage will not be able to attribute it.
    fn raw_if_unattributed(&self, ev: &Event) -> String {
        if apply::attributable(ev) {
            String::new()
        } else {
            serde_json::to_string(ev).unwrap_or_default()
        }
    }

    fn unattributed(
        &mut self,
        reason: &'static str,
        origin: Origin,
        raw: String,
        out: &mut Vec<Emitted>,
    ) {
        self.stats.unattributed += 1;
        self.dead(UNATTRIBUTED, reason.to_owned(), origin, raw, out);
    }

    fn release_parked(&mut self, out: &mut Vec<Emitted>) {
        let released = self.clock.release();
        if released.count == 0 {
            return;
        }
        if !released.confirmed_jump {
            self.stats.clock_skew += released.count as u64;
        }
        let n = released.count.min(self.parked.len());
        let batch: Vec<_> = self.parked.drain(..n).collect();
        let current = self.tag;
        for (_, origin, d, tag) in batch {
            if let Decoded::Event(ev) = d {
                self.tag = tag;
                self.on_time(*ev, origin, out);
            }
        }
        self.tag = current;
    }

    /// Close download days and emit cases the watermark has passed.
    fn advance(&mut self, out: &mut Vec<Emitted>) {
        let Some(wm) = self.clock.watermark() else {
            return;
        };
        let closable = (wm - self.cfg.window.allowed_lateness()).date_naive();
        if self.last_day_sweep.is_none_or(|d| d < closable) {
            self.last_day_sweep = Some(closable);
            apply::close_download_days(self, Some(closable));
        }
        let ready = self.coalescer.ready(wm);
        self.emit(ready, out);
    }

    /// Processing-time tick: move the watermark to `now` (never backwards), release parked rows
    /// it reaches and emit the cases it closes, so quiet inputs still produce output.
    pub fn tick(&mut self, now: DateTime<Utc>, out: &mut Vec<Emitted>) {
        if self.clock.watermark().is_none_or(|wm| wm >= now) {
            return;
        }
        self.clock.advance_to(now);
        self.release_parked(out);
        self.advance(out);
    }

    /// End of input: release parked rows, close every day and emit every case.
    pub fn finish(&mut self, out: &mut Vec<Emitted>) {
        let parked: Vec<_> = self.parked.drain(..).collect();
        self.stats.clock_skew += parked.len() as u64;
        for (t, origin, d, tag) in parked {
            self.clock.advance_to(t);
            if let Decoded::Event(ev) = d {
                self.tag = tag;
                self.on_time(*ev, origin, out);
            }
        }
        apply::close_download_days(self, None);
        let ready = self.coalescer.drain();
        self.emit(ready, out);
        self.store.run_pending();
    }

    /// Record a trigger in the coalescer and the counters.
    pub(crate) fn trigger(&mut self, key: &EntityKey, hit: crate::trigger::hit::TriggerHit) {
        Stats::bump(&mut self.stats.triggers, hit.kind.as_str());
        tracing::debug!(entity = %key, kind = hit.kind.as_str(), time = %hit.time, "trigger");
        match self.coalescer.add(key, hit, self.tag) {
            Added::Opened => {}
            Added::Joined | Added::Revised => self.stats.coalesced += 1,
        }
    }

    fn emit(&mut self, ready: Vec<ReadyCase>, out: &mut Vec<Emitted>) {
        for case in ready {
            let identity = self.directory.identity_for_key(&case.entity.id);
            let (dept, groups) = identity.map_or((None, &[][..]), |i| {
                (i.department.as_deref(), &i.groups[..])
            });
            if !self.scope.admits(&case.entity, dept, groups) {
                self.stats.out_of_scope += 1;
                continue;
            }
            let ctx = self.case_context(&case);
            if case.version > 1 {
                self.stats.revisions += 1;
            } else {
                self.stats.cases += 1;
            }
            out.push(Emitted::Case {
                ctx: Box::new(ctx),
                min_tag: case.min_tag,
            });
        }
    }

    fn case_context(&self, case: &ReadyCase) -> CaseContext {
        let tenant = self
            .tenant_seen
            .clone()
            .unwrap_or_else(|| self.cfg.tenant.clone());
        let handle = self.store.get(&case.entity);
        let guard = handle.as_ref().map(lock);
        let peer_keys = self.directory.peers_of(&case.entity.id);
        let peers = apply::StorePeers::lazy(&self.store, &self.directory, &case.entity);
        let inputs = Inputs {
            tenant: &tenant,
            window: self.cfg.window.window(),
            lookback: Duration::seconds(self.cfg.window.context_lookback_secs),
            cfg: &self.cfg.context,
            state: guard.as_deref(),
            identity: self.directory.identity_for_key(&case.entity.id),
            peer_keys: &peer_keys,
            peers: &peers,
            peer_lookback_days: self.cfg.triggers.peer_lookback_days,
        };
        build::build(case, &inputs)
    }
}
