//! Coalescing: triggers of one entity that arrive close together become one case.
//!
//! A case opens at its first trigger, on a window grid (`window_secs`), and ends at the grid
//! point after its last trigger plus the debounce, but never later than `max_wait` after it
//! opened. It is *ready* once the watermark passes its end. After it was emitted it is kept for
//! the allowed lateness: a late trigger or late evidence inside its span marks it for a revision
//! with the same window id and the next version. Open cases are never evicted: a trigger, once
//! accepted, always reaches a narrative.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::config::engine::WindowConfig;
use crate::entity::keys::EntityKey;
use crate::trigger::hit::TriggerHit;

/// A case ready to be narrated.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyCase {
    pub entity: EntityKey,
    pub span_start: DateTime<Utc>,
    pub span_end: DateTime<Utc>,
    pub triggers: Vec<TriggerHit>,
    /// Triggers folded into this case, including duplicates of one kind.
    pub coalesced: u32,
    pub version: u32,
    /// Smallest source tag (e.g. a Kafka message sequence) among the triggers in this emission.
    pub min_tag: u64,
}

#[derive(Debug, Clone)]
struct Case {
    span_start: DateTime<Utc>,
    span_end: DateTime<Utc>,
    triggers: Vec<TriggerHit>,
    coalesced: u32,
    /// Versions emitted so far (0 = never).
    emitted: u32,
    /// Changed since the last emission.
    dirty: bool,
    /// Smallest source tag among triggers not yet emitted (u64::MAX when none).
    min_tag: u64,
}

/// What `add` did with a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Opened,
    Joined,
    /// Joined a case already narrated: a revision will follow.
    Revised,
}

/// Per-entity cases in flight.
#[derive(Debug, Default)]
pub struct Coalescer {
    cfg: WindowConfig,
    cases: BTreeMap<EntityKey, Vec<Case>>,
    /// Earliest span end among cases waiting to be emitted.
    next_due: Option<DateTime<Utc>>,
}

/// Align `t` down to the grid.
pub fn floor_to(t: DateTime<Utc>, step: Duration) -> DateTime<Utc> {
    let s = step.num_seconds().max(1);
    let secs = t.timestamp().div_euclid(s) * s;
    DateTime::from_timestamp(secs, 0).unwrap_or(t)
}

/// Align `t` up to the grid (a point on the grid stays).
pub fn ceil_to(t: DateTime<Utc>, step: Duration) -> DateTime<Utc> {
    let f = floor_to(t, step);
    if f == t && t.timestamp_subsec_nanos() == 0 {
        t
    } else {
        f + step
    }
}

impl Coalescer {
    pub fn new(cfg: WindowConfig) -> Self {
        Coalescer {
            cfg,
            cases: BTreeMap::new(),
            next_due: None,
        }
    }

    /// Add a trigger for `entity`, carrying the source tag of the row that raised it.
    pub fn add(&mut self, entity: &EntityKey, hit: TriggerHit, tag: u64) -> Added {
        let cfg = &self.cfg;
        let cases = self.cases.entry(entity.clone()).or_default();
        let joinable = cases.iter_mut().rev().find(|c| {
            hit.time >= c.span_start - cfg.debounce() && hit.time < c.span_end
                || (c.emitted == 0
                    && hit.time >= c.span_start
                    && hit.time < c.span_start + cfg.max_wait())
        });
        let outcome = match joinable {
            Some(case) => {
                let limit = case.span_start + cfg.max_wait();
                let end = ceil_to(hit.time + cfg.debounce(), cfg.window())
                    .min(ceil_to(limit, cfg.window()));
                if case.emitted == 0 {
                    case.span_end = case.span_end.max(end);
                }
                case.coalesced += 1;
                merge_hit(&mut case.triggers, hit);
                case.dirty = true;
                case.min_tag = case.min_tag.min(tag);
                if case.emitted > 0 {
                    Added::Revised
                } else {
                    Added::Joined
                }
            }
            None => {
                let span_start = floor_to(hit.time, cfg.window());
                let span_end = ceil_to(hit.time + cfg.debounce(), cfg.window())
                    .min(ceil_to(span_start + cfg.max_wait(), cfg.window()))
                    .max(span_start + cfg.window());
                cases.push(Case {
                    span_start,
                    span_end,
                    triggers: vec![hit],
                    coalesced: 1,
                    emitted: 0,
                    dirty: true,
                    min_tag: tag,
                });
                cases.sort_by_key(|c| c.span_start);
                Added::Opened
            }
        };
        self.recompute_due();
        outcome
    }

    /// Late non-trigger evidence at `t`: revise an emitted case whose span holds it.
    pub fn late_evidence(&mut self, entity: &EntityKey, t: DateTime<Utc>, tag: u64) -> bool {
        let Some(cases) = self.cases.get_mut(entity) else {
            return false;
        };
        let hit = cases
            .iter_mut()
            .find(|c| c.emitted > 0 && t >= c.span_start && t < c.span_end);
        match hit {
            Some(c) => {
                c.dirty = true;
                c.min_tag = c.min_tag.min(tag);
                self.recompute_due();
                true
            }
            None => false,
        }
    }

    /// Cases whose span ended at or before the watermark (first emissions and revisions), in a
    /// deterministic order; forgets emitted cases older than the allowed lateness.
    pub fn ready(&mut self, watermark: DateTime<Utc>) -> Vec<ReadyCase> {
        if self.next_due.is_none_or(|due| watermark < due) {
            self.expire(watermark);
            return Vec::new();
        }
        let out = self.take(|c| c.span_end <= watermark);
        self.expire(watermark);
        out
    }

    /// Every case with unemitted changes, whatever the watermark (end of input, shutdown).
    pub fn drain(&mut self) -> Vec<ReadyCase> {
        let out = self.take(|_| true);
        self.cases.clear();
        self.next_due = None;
        out
    }

    fn take(&mut self, due: impl Fn(&Case) -> bool) -> Vec<ReadyCase> {
        let mut out = Vec::new();
        for (entity, cases) in &mut self.cases {
            for c in cases.iter_mut().filter(|c| c.dirty && due(c)) {
                c.dirty = false;
                c.emitted += 1;
                let min_tag = std::mem::replace(&mut c.min_tag, u64::MAX);
                out.push(ReadyCase {
                    entity: entity.clone(),
                    span_start: c.span_start,
                    span_end: c.span_end,
                    triggers: c.triggers.clone(),
                    coalesced: c.coalesced,
                    version: c.emitted,
                    min_tag,
                });
            }
        }
        out.sort_by(|a, b| a.span_end.cmp(&b.span_end).then(a.entity.cmp(&b.entity)));
        self.recompute_due();
        out
    }

    fn expire(&mut self, watermark: DateTime<Utc>) {
        let keep_until = self.cfg.allowed_lateness();
        self.cases.retain(|_, cases| {
            cases.retain(|c| c.dirty || c.emitted == 0 || c.span_end + keep_until > watermark);
            !cases.is_empty()
        });
    }

    fn recompute_due(&mut self) {
        self.next_due = self
            .cases
            .values()
            .flatten()
            .filter(|c| c.dirty)
            .map(|c| c.span_end)
            .min();
    }

    /// Move an entity's cases to another key (an `oid:` user whose UPN became known).
    pub fn rekey(&mut self, from: &EntityKey, to: &EntityKey) {
        if let Some(mut moved) = self.cases.remove(from) {
            let target = self.cases.entry(to.clone()).or_default();
            target.append(&mut moved);
            target.sort_by_key(|c| c.span_start);
        }
    }

    /// Smallest source tag any unemitted trigger carries: rows at or after it must not be
    /// acknowledged to the source yet.
    pub fn min_pending_tag(&self) -> Option<u64> {
        self.cases
            .values()
            .flatten()
            .filter(|c| c.dirty)
            .map(|c| c.min_tag)
            .min()
    }

    /// Cases held (open, or emitted and awaiting late data).
    pub fn open_cases(&self) -> usize {
        self.cases.values().map(Vec::len).sum()
    }
}

/// Keep one hit per (kind, evidence), so a redelivered trigger does not inflate the case.
fn merge_hit(triggers: &mut Vec<TriggerHit>, hit: TriggerHit) {
    if triggers
        .iter()
        .any(|t| t.kind == hit.kind && t.evidence_ids == hit.evidence_ids)
    {
        return;
    }
    let at = triggers.partition_point(|t| (t.time, t.kind) <= (hit.time, hit.kind));
    triggers.insert(at, hit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::keys::EntityKind;
    use crate::trigger::hit::TriggerKind;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, h, m, 0).unwrap()
    }

    fn hit(t: DateTime<Utc>, id: &str) -> TriggerHit {
        TriggerHit {
            kind: TriggerKind::Anomaly,
            time: t,
            severity: 70,
            evidence_ids: vec![id.into()],
            facts: Default::default(),
        }
    }

    fn alex() -> EntityKey {
        EntityKey {
            kind: EntityKind::User,
            id: "alex@contoso.com".into(),
        }
    }

    #[test]
    fn a_burst_of_thirty_becomes_one_case() {
        let mut c = Coalescer::new(WindowConfig::default());
        for i in 0..30 {
            c.add(
                &alex(),
                hit(at(9, 0) + Duration::minutes(i), &format!("a{i}")),
                i as u64,
            );
        }
        assert!(c.ready(at(9, 30)).is_empty());
        assert_eq!(c.min_pending_tag(), Some(0));
        let ready = c.ready(at(11, 0));
        assert_eq!(ready.len(), 1);
        assert_eq!(c.min_pending_tag(), None);
        assert_eq!(ready[0].coalesced, 30);
        assert_eq!(ready[0].span_start, at(9, 0));
        assert_eq!(ready[0].span_end, at(10, 0));
    }

    #[test]
    fn max_wait_caps_a_never_ending_burst() {
        let mut c = Coalescer::new(WindowConfig::default());
        for i in 0..20 {
            c.add(
                &alex(),
                hit(at(9, 0) + Duration::minutes(20 * i), &format!("a{i}")),
                i as u64,
            );
        }
        let ready = c.drain();
        assert!(ready.len() >= 3, "{}", ready.len());
        assert!(
            ready
                .iter()
                .all(|r| r.span_end - r.span_start <= Duration::hours(2))
        );
        assert_eq!(ready.iter().map(|r| r.coalesced).sum::<u32>(), 20);
    }

    #[test]
    fn a_late_trigger_revises_with_the_next_version() {
        let mut c = Coalescer::new(WindowConfig::default());
        c.add(&alex(), hit(at(9, 2), "r1"), 1);
        let first = c.ready(at(10, 0));
        assert_eq!(first.len(), 1);
        assert_eq!(c.add(&alex(), hit(at(9, 11), "r4"), 4), Added::Revised);
        let second = c.ready(at(10, 1));
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].version, 2);
        assert_eq!(second[0].span_start, first[0].span_start);
        assert_eq!(second[0].triggers.len(), 2);
    }

    #[test]
    fn grid_alignment() {
        let step = Duration::minutes(15);
        assert_eq!(floor_to(at(9, 7), step), at(9, 0));
        assert_eq!(ceil_to(at(9, 7), step), at(9, 15));
        assert_eq!(ceil_to(at(9, 15), step), at(9, 15));
    }
}
