//! Event-time clock: the watermark, allowed lateness and clock-skew protection.
//!
//! The watermark is the newest event time accepted as plausible. A record older than the
//! watermark minus the allowed lateness is *late*: it still feeds baselines but no longer opens
//! or joins windows. A record further ahead of the watermark than `max_skew` is *parked* and does
//! not move the watermark; it is released once the watermark reaches it, or once enough parked
//! records agree that time really moved on (a genuine gap in the data).

use chrono::{DateTime, Duration, Utc};

/// How a record's time relates to the watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    OnTime,
    /// Behind the watermark by more than the allowed lateness.
    Late,
    /// Too far ahead: parked until the watermark catches up or the jump is confirmed.
    Parked,
}

#[derive(Debug, Clone)]
pub struct EventClock {
    watermark: Option<DateTime<Utc>>,
    allowed_lateness: Duration,
    max_skew: Duration,
    /// Parked records needed before a jump is believed.
    confirm: usize,
    /// Times of parked records, ascending.
    parked: Vec<DateTime<Utc>>,
}

impl EventClock {
    pub fn new(allowed_lateness: Duration, max_skew: Duration, confirm: usize) -> Self {
        EventClock {
            watermark: None,
            allowed_lateness,
            max_skew,
            confirm: confirm.max(1),
            parked: Vec::new(),
        }
    }

    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        self.watermark
    }

    pub fn allowed_lateness(&self) -> Duration {
        self.allowed_lateness
    }

    /// Classify a record's time and advance the watermark when it is on time.
    pub fn admit(&mut self, t: DateTime<Utc>) -> Admission {
        let Some(wm) = self.watermark else {
            self.watermark = Some(t);
            return Admission::OnTime;
        };
        if t > wm + self.max_skew {
            let at = self.parked.partition_point(|p| *p <= t);
            self.parked.insert(at, t);
            return Admission::Parked;
        }
        if t < wm - self.allowed_lateness {
            return Admission::Late;
        }
        if t > wm {
            self.watermark = Some(t);
        }
        Admission::OnTime
    }

    /// Parked times that may now be released, oldest first: those the watermark reached, or
    /// all of them once `confirm` records agree on the jump (the watermark then moves to the
    /// oldest of them).
    pub fn release(&mut self) -> Vec<DateTime<Utc>> {
        let Some(wm) = self.watermark else {
            return Vec::new();
        };
        if self.parked.len() >= self.confirm {
            let oldest = self.parked[0];
            self.watermark = Some(wm.max(oldest));
            return std::mem::take(&mut self.parked);
        }
        let reached = self.parked.partition_point(|p| *p <= wm + self.max_skew);
        self.parked.drain(..reached).collect()
    }

    /// Move the watermark to `t` (end of input, or a processing-time tick in streaming).
    pub fn advance_to(&mut self, t: DateTime<Utc>) {
        if self.watermark.is_none_or(|wm| t > wm) {
            self.watermark = Some(t);
        }
    }

    pub fn parked(&self) -> usize {
        self.parked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, h, m, 0).unwrap()
    }

    #[test]
    fn late_and_skewed_records_do_not_move_the_watermark() {
        let mut c = EventClock::new(Duration::minutes(60), Duration::hours(6), 8);
        assert_eq!(c.admit(at(9, 2)), Admission::OnTime);
        assert_eq!(c.admit(at(9, 21)), Admission::OnTime);
        assert_eq!(c.admit(at(9, 11)), Admission::OnTime);
        assert_eq!(c.admit(at(6, 40)), Admission::Late);
        assert_eq!(c.admit(at(9, 21) + Duration::days(2)), Admission::Parked);
        assert_eq!(c.watermark(), Some(at(9, 21)));
        assert!(c.release().is_empty());
        assert_eq!(c.admit(at(9, 23)), Admission::OnTime);
        assert_eq!(c.watermark(), Some(at(9, 23)));
    }

    #[test]
    fn a_confirmed_gap_releases_parked_records() {
        let mut c = EventClock::new(Duration::minutes(60), Duration::hours(6), 3);
        c.admit(at(9, 0));
        for m in 0..3 {
            assert_eq!(c.admit(at(9, m) + Duration::days(3)), Admission::Parked);
        }
        let released = c.release();
        assert_eq!(released.len(), 3);
        assert_eq!(c.watermark(), Some(at(9, 0) + Duration::days(3)));
        assert_eq!(c.parked(), 0);
    }
}
