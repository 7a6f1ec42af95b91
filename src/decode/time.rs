//! Lenient timestamp parsing for every spelling Sentinel exports produce.
//!
//! Accepted, always read as UTC and never in the host's zone:
//! - RFC 3339 with 0–9 fractional digits and `Z` or an offset (`2025-03-04T09:15:02.1234567Z`);
//!   digits past nanoseconds are truncated, never rounded;
//! - naive ISO (`2025-03-04 09:15:02`, `2025-03-04T09:15:02.5`), flagged [`Parsed::naive`];
//! - portal CSV and US forms, month first (`8/11/2023, 6:36:04.536 AM`, `3/4/2025 9:15:02 AM`,
//!   `08/11/2023 00:00:00`), also flagged naive.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};

/// A parsed instant and whether the input lacked an explicit zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub time: DateTime<Utc>,
    /// The text had no zone designator and was read as UTC.
    pub naive: bool,
}

/// Years outside this range are not event times (they come from corrupt or hostile input
/// and would overflow window arithmetic); such timestamps are rejected.
const PLAUSIBLE_YEARS: std::ops::Range<i32> = 1970..2200;

/// Parse any supported timestamp spelling.
pub fn parse(text: &str) -> Option<Parsed> {
    let s = text.trim();
    if s.is_empty() || !s.is_ascii() {
        return None;
    }
    let parsed = parse_any(s)?;
    PLAUSIBLE_YEARS
        .contains(&parsed.time.year())
        .then_some(parsed)
}

fn parse_any(s: &str) -> Option<Parsed> {
    let first = s.as_bytes()[0];
    if !first.is_ascii_digit() {
        return None;
    }
    if s.len() >= 10 && s.as_bytes()[4] == b'-' {
        parse_iso(s)
    } else {
        parse_us(s).map(|time| Parsed { time, naive: true })
    }
}

/// Parse and keep only the instant.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    parse(text).map(|p| p.time)
}

fn parse_iso(s: &str) -> Option<Parsed> {
    let (body, offset_secs) = split_zone(s);
    let (date_part, time_part) = body.split_once(['T', ' ']).unwrap_or((body, "00:00:00"));
    let date = parse_ymd(date_part)?;
    let time = parse_clock(time_part)?;
    let local = NaiveDateTime::new(date, time);
    let utc = Utc.from_utc_datetime(&local) - chrono::Duration::seconds(offset_secs.unwrap_or(0));
    Some(Parsed {
        time: utc,
        naive: offset_secs.is_none(),
    })
}

/// `YYYY-M[M]-D[D]`, digits only.
fn parse_ymd(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split('-');
    let year = digits(parts.next()?, 4, 4)?;
    let month = digits(parts.next()?, 1, 2)?;
    let day = digits(parts.next()?, 1, 2)?;
    if parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// An unsigned number of `min..=max` ASCII digits.
fn digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Split a trailing `Z` or `±hh:mm` / `±hhmm` off an ISO timestamp.
fn split_zone(s: &str) -> (&str, Option<i64>) {
    if let Some(body) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return (body, Some(0));
    }
    // An offset sign can only appear after the time part starts (index > 10).
    let tail_start = s.len().saturating_sub(6);
    if tail_start > 10 {
        let tail = &s[tail_start..];
        for (i, c) in tail.char_indices() {
            if (c == '+' || c == '-')
                && i <= 1
                && let Some(off) = parse_offset(&tail[i..])
            {
                return (&s[..tail_start + i], Some(off));
            }
        }
    }
    (s, None)
}

fn parse_offset(s: &str) -> Option<i64> {
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = digits[2..].parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

/// `HH:MM[:SS[.fraction]]`, fraction of any length truncated to nanoseconds.
fn parse_clock(s: &str) -> Option<NaiveTime> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = hms.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let sec: u32 = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut nanos: u32 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        nanos += (c as u32 - '0' as u32) * 10u32.pow(8 - i as u32);
    }
    NaiveTime::from_hms_nano_opt(h, m, sec, nanos)
}

/// US month-first forms, optionally with a comma and an AM/PM marker.
fn parse_us(s: &str) -> Option<DateTime<Utc>> {
    let s = s.replace(',', " ");
    let mut words = s.split_whitespace();
    let date = words.next()?;
    let clock = words.next().unwrap_or("00:00:00");
    let meridiem = words.next().map(|w| w.to_ascii_uppercase());
    if words.next().is_some() {
        return None;
    }
    let mut d = date.split('/');
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let year: i32 = d.next()?.parse().ok()?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let mut time = parse_clock(clock)?;
    match meridiem.as_deref() {
        None => {}
        Some("AM") if time.hour() == 12 => {
            time -= chrono::Duration::hours(12);
        }
        Some("PM") if time.hour() != 12 => {
            time += chrono::Duration::hours(12);
        }
        Some("AM") | Some("PM") => {}
        Some(_) => return None,
    }
    Some(Utc.from_utc_datetime(&NaiveDateTime::new(date, time)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> String {
        parse_instant(s)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
            .unwrap()
    }

    #[test]
    fn seven_fraction_digits_are_kept_not_rounded() {
        assert_eq!(
            iso("2025-03-04T09:15:02.1234567Z"),
            "2025-03-04T09:15:02.123456700Z"
        );
        assert_eq!(
            iso("2025-03-04T09:15:02.9999999999Z"),
            "2025-03-04T09:15:02.999999999Z"
        );
    }

    #[test]
    fn fraction_widths_zero_to_three() {
        assert_eq!(
            iso("2025-03-04T09:15:02Z"),
            "2025-03-04T09:15:02.000000000Z"
        );
        assert_eq!(
            iso("2025-03-04T09:15:02.1Z"),
            "2025-03-04T09:15:02.100000000Z"
        );
        assert_eq!(
            iso("2025-03-04T09:15:02.123+00:00"),
            "2025-03-04T09:15:02.123000000Z"
        );
    }

    #[test]
    fn offsets_are_applied() {
        assert_eq!(
            iso("2021-02-04T12:27:32.3783333-08:00"),
            "2021-02-04T20:27:32.378333300Z"
        );
        assert_eq!(
            iso("2021-02-04T12:27:32+0130"),
            "2021-02-04T10:57:32.000000000Z"
        );
    }

    #[test]
    fn naive_forms_are_utc_and_flagged() {
        let p = parse("2025-03-04 09:15:02").unwrap();
        assert!(p.naive);
        assert_eq!(p.time.to_rfc3339(), "2025-03-04T09:15:02+00:00");
        assert!(!parse("2025-03-04T09:15:02Z").unwrap().naive);
    }

    #[test]
    fn us_portal_forms_are_month_first() {
        assert_eq!(iso("3/4/2025 9:15:02 AM"), "2025-03-04T09:15:02.000000000Z");
        assert_eq!(
            iso("8/11/2023, 6:36:04.536 PM"),
            "2023-08-11T18:36:04.536000000Z"
        );
        assert_eq!(iso("08/11/2023 00:00:00"), "2023-08-11T00:00:00.000000000Z");
        assert_eq!(
            iso("11/14/2025 12:48:53 AM"),
            "2025-11-14T00:48:53.000000000Z"
        );
        assert_eq!(
            iso("11/14/2025 12:48:53 PM"),
            "2025-11-14T12:48:53.000000000Z"
        );
    }

    #[test]
    fn implausible_years_and_non_ascii_are_rejected_without_panicking() {
        for bad in [
            "12/31/262142 23:59:59",
            "01/01/-262143 00:00:00",
            "9999-12-31T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "2025-03-04T09:00:00€€é",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(parse("2199-12-31T23:59:59Z").is_some());
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "null",
            "yesterday",
            "2025-13-04T00:00:00Z",
            "13/40/2025 1:00:00 AM",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
