//! Mirrors the engine's run totals ([`Stats`]) into Prometheus counters by difference, so the
//! replay summary and the metrics count the same events from one place.

use std::collections::BTreeMap;

use crate::pipeline::stats::Stats;

/// The totals already exported.
#[derive(Debug, Default)]
pub struct StatsMirror {
    last: Stats,
}

fn diff_map(
    name: &'static str,
    label: &'static str,
    now: &BTreeMap<String, u64>,
    was: &BTreeMap<String, u64>,
) {
    for (k, v) in now {
        let before = was.get(k).copied().unwrap_or(0);
        if *v > before {
            metrics::counter!(name, label => k.clone()).increment(v - before);
        }
    }
}

fn diff(name: &'static str, now: u64, was: u64) {
    if now > was {
        metrics::counter!(name).increment(now - was);
    }
}

impl StatsMirror {
    /// Export what changed since the last call.
    pub fn sync(&mut self, s: &Stats) {
        let l = &self.last;
        diff_map(
            "ueba_records_in_total",
            "table",
            &s.records_read,
            &l.records_read,
        );
        diff_map(
            "ueba_dead_letters_total",
            "reason",
            &s.dead_letters,
            &l.dead_letters,
        );
        diff_map("ueba_triggers_total", "kind", &s.triggers, &l.triggers);
        diff_map(
            "ueba_narratives_total",
            "generator",
            &s.generators,
            &l.generators,
        );
        diff_map(
            "ueba_ignored_records_total",
            "table",
            &s.ignored_types,
            &l.ignored_types,
        );
        diff(
            "ueba_duplicates_dropped_total",
            s.duplicates_dropped,
            l.duplicates_dropped,
        );
        diff("ueba_late_records_total", s.late_records, l.late_records);
        diff("ueba_coalesced_triggers_total", s.coalesced, l.coalesced);
        diff("ueba_cases_total", s.cases, l.cases);
        diff("ueba_case_revisions_total", s.revisions, l.revisions);
        self.last = s.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_differences_only() {
        let handle = crate::ops::recorder().expect("recorder");
        let mut m = StatsMirror::default();
        let mut s = Stats::default();
        Stats::bump(&mut s.triggers, "mirror_test_kind");
        s.cases = 1;
        m.sync(&s);
        Stats::bump(&mut s.triggers, "mirror_test_kind");
        m.sync(&s);
        m.sync(&s);
        let text = handle.render();
        assert!(
            text.contains("ueba_triggers_total{kind=\"mirror_test_kind\"} 2"),
            "{text}"
        );
    }
}
