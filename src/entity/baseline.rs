//! Decayed per-entity baselines: where, when, with what and how much an entity usually acts.
//!
//! Each dimension (countries, apps, resources, devices, ISPs) is a bounded map of value →
//! (decayed count, last seen). Counts halve every `half_life_days` of event time; when a map is
//! full the weakest value is dropped. Hour-of-day is a decayed 24-bin histogram; daily volumes
//! are exponentially weighted means over days with activity. Updates are order-independent
//! enough that late records may still feed the baseline.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::context::types::{BaselineSummary, ValueCount};

/// Values kept per dimension.
const MAX_VALUES: usize = 32;
/// Weight of a finished day in the daily means.
const DAILY_ALPHA: f64 = 0.2;

/// One decayed value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub count: f64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// A bounded, decayed value counter.
#[derive(Debug, Clone, Default)]
pub struct Dimension {
    values: BTreeMap<String, Seen>,
}

impl Dimension {
    pub fn get(&self, value: &str) -> Option<&Seen> {
        self.values.get(value)
    }

    pub fn add(&mut self, value: &str, at: DateTime<Utc>) {
        if let Some(seen) = self.values.get_mut(value) {
            seen.count += 1.0;
            seen.last_seen = seen.last_seen.max(at);
            seen.first_seen = seen.first_seen.min(at);
            return;
        }
        if self.values.len() >= MAX_VALUES {
            self.evict_weakest();
        }
        self.values.insert(
            value.to_owned(),
            Seen {
                count: 1.0,
                first_seen: at,
                last_seen: at,
            },
        );
    }

    fn evict_weakest(&mut self) {
        let weakest = self
            .values
            .iter()
            .min_by(|a, b| {
                a.1.count
                    .total_cmp(&b.1.count)
                    .then(a.1.last_seen.cmp(&b.1.last_seen))
            })
            .map(|(k, _)| k.clone());
        if let Some(k) = weakest {
            self.values.remove(&k);
        }
    }

    fn decay(&mut self, factor: f64) {
        for seen in self.values.values_mut() {
            seen.count *= factor;
        }
    }

    /// Strongest values first (ties by name), counts rounded to 2 decimals.
    pub fn top(&self, n: usize) -> Vec<ValueCount> {
        self.top_before(n, None)
    }

    /// Like [`Dimension::top`], keeping only values first seen before `before`.
    pub fn top_before(&self, n: usize, before: Option<DateTime<Utc>>) -> Vec<ValueCount> {
        let mut all: Vec<_> = self
            .values
            .iter()
            .filter(|(_, s)| before.is_none_or(|b| s.first_seen < b))
            .collect();
        all.sort_by(|a, b| b.1.count.total_cmp(&a.1.count).then(a.0.cmp(b.0)));
        all.into_iter()
            .take(n)
            .map(|(v, s)| ValueCount {
                value: v.clone(),
                count: (s.count * 100.0).round() / 100.0,
                last_seen: s.last_seen,
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn approx_bytes(&self) -> usize {
        self.values.keys().map(|k| k.len() + 48).sum()
    }
}

/// The entity's history.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub countries: Dimension,
    pub apps: Dimension,
    pub resources: Dimension,
    pub devices: Dimension,
    pub isps: Dimension,
    /// Activity per UTC hour over finished, non-anomalous days (decayed).
    hours: [f64; 24],
    /// Activity per UTC hour of the running day; folded into `hours` when the day ends normally.
    day_hours: [f64; 24],
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub events: u64,
    /// The UTC day being counted and its running totals.
    day: Option<NaiveDate>,
    day_events: u32,
    day_downloads: u32,
    daily_events_mean: f64,
    daily_downloads_mean: f64,
    days_counted: u32,
    last_decay_day: Option<NaiveDate>,
    /// The running day was anomalous: keep it out of the daily means.
    discount_day: bool,
}

/// What an event contributes to a baseline.
#[derive(Debug, Default, Clone, Copy)]
pub struct Observation<'a> {
    pub country: Option<&'a str>,
    pub app: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub device: Option<&'a str>,
    pub isp: Option<&'a str>,
    pub download: bool,
}

impl Baseline {
    /// Fold one event into the baseline. `half_life_days` controls decay.
    pub fn observe(&mut self, at: DateTime<Utc>, obs: Observation<'_>, half_life_days: f64) {
        self.roll_day(at, half_life_days);
        self.first_seen = Some(self.first_seen.map_or(at, |f| f.min(at)));
        self.last_seen = Some(self.last_seen.map_or(at, |l| l.max(at)));
        self.events += 1;
        if Some(at.date_naive()) == self.day {
            self.day_hours[at.hour() as usize] += 1.0;
            self.day_events += 1;
            self.day_downloads += u32::from(obs.download);
        } else {
            // A late row of a finished day joins that day's history directly.
            self.hours[at.hour() as usize] += 1.0;
        }
        let dims: [(&mut Dimension, Option<&str>); 5] = [
            (&mut self.countries, obs.country),
            (&mut self.apps, obs.app),
            (&mut self.resources, obs.resource),
            (&mut self.devices, obs.device),
            (&mut self.isps, obs.isp),
        ];
        for (dim, value) in dims {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                dim.add(v, at);
            }
        }
    }

    /// Close the running day when `at` starts a later one, and decay once per new day.
    fn roll_day(&mut self, at: DateTime<Utc>, half_life_days: f64) {
        let today = at.date_naive();
        match self.day {
            Some(d) if d >= today => return,
            Some(_) if self.discount_day => self.discount_day = false,
            Some(_) => {
                for (h, n) in self.hours.iter_mut().zip(self.day_hours) {
                    *h += n;
                }
                self.daily_events_mean =
                    ewma(self.daily_events_mean, self.day_events, self.days_counted);
                self.daily_downloads_mean = ewma(
                    self.daily_downloads_mean,
                    self.day_downloads,
                    self.days_counted,
                );
                self.days_counted += 1;
            }
            None => {}
        }
        self.day = Some(today);
        self.day_hours = [0.0; 24];
        self.day_events = 0;
        self.day_downloads = 0;
        if let Some(last) = self.last_decay_day {
            let days = (today - last).num_days() as f64;
            let factor = 0.5f64.powf(days / half_life_days.max(0.1));
            for dim in [
                &mut self.countries,
                &mut self.apps,
                &mut self.resources,
                &mut self.devices,
                &mut self.isps,
            ] {
                dim.decay(factor);
            }
            for h in &mut self.hours {
                *h *= factor;
            }
        }
        self.last_decay_day = Some(today);
    }

    /// Keep the running day out of the daily means and the usual hours (it triggered:
    /// anomalies must not become the baseline they are measured against).
    pub fn discount_current_day(&mut self) {
        self.discount_day = true;
    }

    /// Days between first and last event.
    pub fn days_observed(&self) -> u32 {
        match (self.first_seen, self.last_seen) {
            (Some(f), Some(l)) => (l - f).num_days().max(0) as u32,
            _ => 0,
        }
    }

    /// UTC hours holding `share` of the activity of finished days, ascending; empty without
    /// history.
    pub fn usual_hours(&self, share: f64) -> Vec<u8> {
        let total: f64 = self.hours.iter().sum();
        if total <= 0.0 {
            return Vec::new();
        }
        let mut order: Vec<usize> = (0..24).collect();
        order.sort_by(|a, b| self.hours[*b].total_cmp(&self.hours[*a]).then(a.cmp(b)));
        let mut acc = 0.0;
        let mut picked = Vec::new();
        for h in order {
            if acc >= share * total {
                break;
            }
            acc += self.hours[h];
            picked.push(h as u8);
        }
        picked.sort_unstable();
        picked
    }

    /// Mean downloads per active day, counting only finished days.
    pub fn daily_downloads_mean(&self) -> f64 {
        self.daily_downloads_mean
    }

    /// Downloads counted so far on `day` (0 for any other day).
    pub fn downloads_on(&self, day: NaiveDate) -> u32 {
        if self.day == Some(day) {
            self.day_downloads
        } else {
            0
        }
    }

    /// The baseline as it stood before `case_start`: values first seen inside the case are left
    /// out so the case's own novelty never reads as usual.
    pub fn summary(
        &self,
        case_start: DateTime<Utc>,
        last_before: Option<DateTime<Utc>>,
    ) -> BaselineSummary {
        let before = Some(case_start);
        let days = match self.first_seen {
            Some(f) if f < case_start => (case_start - f).num_days().max(0) as u32,
            _ => 0,
        };
        BaselineSummary {
            days_observed: days,
            events_observed: self.events,
            first_seen: self.first_seen,
            last_seen_before_case: last_before,
            countries: self.countries.top_before(8, before),
            apps: self.apps.top_before(8, before),
            resources: self.resources.top_before(8, before),
            devices: self.devices.top_before(5, before),
            isps: self.isps.top_before(5, before),
            usual_hours_utc: self.usual_hours(0.8),
            daily_events_mean: round2(self.daily_events_mean),
            daily_downloads_mean: round2(self.daily_downloads_mean),
        }
    }

    pub fn approx_bytes(&self) -> usize {
        256 + self.countries.approx_bytes()
            + self.apps.approx_bytes()
            + self.resources.approx_bytes()
            + self.devices.approx_bytes()
            + self.isps.approx_bytes()
    }
}

fn ewma(mean: f64, value: u32, days: u32) -> f64 {
    if days == 0 {
        f64::from(value)
    } else {
        mean + DAILY_ALPHA * (f64::from(value) - mean)
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Day of week helper for narrators and rules (Monday = 0).
pub fn weekday_index(at: DateTime<Utc>) -> u32 {
    at.weekday().num_days_from_monday()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn counts_decay_by_half_life() {
        let mut b = Baseline::default();
        b.observe(
            t(1, 9),
            Observation {
                country: Some("US"),
                ..Default::default()
            },
            7.0,
        );
        b.observe(
            t(8, 9),
            Observation {
                country: Some("NL"),
                ..Default::default()
            },
            7.0,
        );
        let us = b.countries.get("US").unwrap().count;
        assert!((us - 0.5).abs() < 1e-9, "{us}");
        assert_eq!(b.countries.get("NL").unwrap().count, 1.0);
        assert_eq!(b.days_observed(), 7);
    }

    #[test]
    fn dimension_is_bounded() {
        let mut d = Dimension::default();
        for i in 0..100 {
            d.add(&format!("site-{i}"), t(1, 0) + Duration::minutes(i));
        }
        assert_eq!(d.len(), MAX_VALUES);
        assert!(d.get("site-99").is_some());
    }

    /// Ten days of activity every hour from 08:00 to 16:59 UTC.
    fn office_hours_for_ten_days() -> Baseline {
        let mut b = Baseline::default();
        for day in 1..=10 {
            for hour in 8..17 {
                b.observe(t(day, hour), Observation::default(), 30.0);
            }
        }
        b
    }

    #[test]
    fn usual_hours_cover_most_activity() {
        let mut b = office_hours_for_ten_days();
        b.observe(t(11, 2), Observation::default(), 30.0);
        let hours = b.usual_hours(0.8);
        assert!(!hours.contains(&2));
        assert!(hours.iter().all(|h| (8..17).contains(h)));
        assert!(hours.len() >= 7);
    }

    #[test]
    fn a_discounted_day_does_not_teach_its_hours() {
        let mut b = office_hours_for_ten_days();
        // Day 11: a burst at 21:00 that triggered; day 12: an ordinary day.
        for _ in 0..200 {
            b.observe(t(11, 21), Observation::default(), 30.0);
        }
        b.discount_current_day();
        b.observe(t(12, 9), Observation::default(), 30.0);
        assert!(!b.usual_hours(0.8).contains(&21));

        // Without the discount the same burst becomes a usual hour once its day is over.
        let mut c = office_hours_for_ten_days();
        for _ in 0..200 {
            c.observe(t(11, 21), Observation::default(), 30.0);
        }
        assert!(
            !c.usual_hours(0.8).contains(&21),
            "the running day is not history yet"
        );
        c.observe(t(12, 9), Observation::default(), 30.0);
        assert!(c.usual_hours(0.8).contains(&21));
    }

    #[test]
    fn daily_download_mean_counts_finished_days() {
        let mut b = Baseline::default();
        for day in 1..=5 {
            for _ in 0..4 {
                b.observe(
                    t(day, 10),
                    Observation {
                        download: true,
                        ..Default::default()
                    },
                    30.0,
                );
            }
        }
        assert_eq!(b.daily_downloads_mean(), 4.0);
        assert_eq!(b.downloads_on(t(5, 0).date_naive()), 4);
    }
}
