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
    /// Wall-clock time in streaming mode: then "too far ahead" means ahead of now.
    now: Option<DateTime<Utc>>,
}

/// Parked records that may be processed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub count: usize,
    /// True when enough records agreed on a jump in time: they were not skewed after all.
    pub confirmed_jump: bool,
}

impl EventClock {
    pub fn new(allowed_lateness: Duration, max_skew: Duration, confirm: usize) -> Self {
        EventClock {
            watermark: None,
            allowed_lateness,
            max_skew,
            confirm: confirm.max(1),
            parked: Vec::new(),
            now: None,
        }
    }

    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        self.watermark
    }

    pub fn allowed_lateness(&self) -> Duration {
        self.allowed_lateness
    }

    /// Streaming mode: judge skew against the wall clock instead of the watermark.
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = Some(now);
    }

    /// Classify a record's time and advance the watermark when it is on time.
    pub fn admit(&mut self, t: DateTime<Utc>) -> Admission {
        if self.now.is_some_and(|now| t > now + self.max_skew) {
            let at = self.parked.partition_point(|p| *p <= t);
            self.parked.insert(at, t);
            return Admission::Parked;
        }
        let Some(wm) = self.watermark else {
            self.watermark = Some(t);
            return Admission::OnTime;
        };
        if self.now.is_none() && t > wm + self.max_skew {
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

    /// How many of the oldest parked records may now be processed: those the watermark (or
    /// the wall clock) reached, or all of them once `confirm` records agree on a jump in event
    /// time (the watermark then moves to the oldest of them).
    pub fn release(&mut self) -> Released {
        let none = Released {
            count: 0,
            confirmed_jump: false,
        };
        if self.parked.is_empty() {
            return none;
        }
        if let Some(now) = self.now {
            let reached = self.parked.partition_point(|p| *p <= now + self.max_skew);
            self.parked.drain(..reached);
            return Released {
                count: reached,
                confirmed_jump: false,
            };
        }
        let Some(wm) = self.watermark else {
            return none;
        };
        if self.parked.len() >= self.confirm {
            let oldest = self.parked[0];
            self.watermark = Some(wm.max(oldest));
            let count = self.parked.len();
            self.parked.clear();
            return Released {
                count,
                confirmed_jump: true,
            };
        }
        let reached = self.parked.partition_point(|p| *p <= wm + self.max_skew);
        self.parked.drain(..reached);
        Released {
            count: reached,
            confirmed_jump: false,
        }
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
        assert_eq!(c.release().count, 0);
        assert_eq!(c.admit(at(9, 23)), Admission::OnTime);
        assert_eq!(c.watermark(), Some(at(9, 23)));
    }

    #[test]
    fn wall_clock_mode_parks_only_the_future() {
        let mut c = EventClock::new(Duration::minutes(60), Duration::hours(1), 2);
        c.set_now(at(12, 0));
        assert_eq!(c.admit(at(9, 0)), Admission::OnTime);
        assert_eq!(c.admit(at(11, 0) + Duration::days(3)), Admission::Parked);
        assert_eq!(c.admit(at(12, 30)), Admission::OnTime);
        assert_eq!(c.watermark(), Some(at(12, 30)));
        assert_eq!(c.release().count, 0);
        c.set_now(at(11, 0) + Duration::days(3));
        assert_eq!(
            c.release(),
            Released {
                count: 1,
                confirmed_jump: false
            }
        );
    }

    #[test]
    fn a_confirmed_gap_releases_parked_records() {
        let mut c = EventClock::new(Duration::minutes(60), Duration::hours(6), 3);
        c.admit(at(9, 0));
        for m in 0..3 {
            assert_eq!(c.admit(at(9, m) + Duration::days(3)), Admission::Parked);
        }
        let released = c.release();
        assert_eq!(
            released,
            Released {
                count: 3,
                confirmed_jump: true
            }
        );
        assert_eq!(c.watermark(), Some(at(9, 0) + Duration::days(3)));
        assert_eq!(c.parked(), 0);
    }
}
