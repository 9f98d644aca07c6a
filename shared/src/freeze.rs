//! Freeze windows: whether an instant is open for deployments or frozen, and until when.
//!
//! A calendar is a time zone (IANA name) and a list of windows, each one string in one of three
//! forms (civil times in that zone, 24-hour `HH:MM`, days `Mon Tue Wed Thu Fri Sat Sun`):
//!
//! ```text
//! Fri 18:00 - Mon 06:00                   weekly: every week from Friday 18:00 to Monday 06:00
//! daily 22:00 - 06:00                     daily: every day from 22:00 to 06:00 the next morning
//! 2026-12-24T00:00 - 2027-01-02T00:00     absolute: once, start and end as civil date-times
//! ```
//!
//! The start is inside the window, the end is not. Parsing is strict: one space each side of the
//! ` - `, exact spellings, no empty or whole-period windows, an absolute end after its start, and
//! an absolute time that the zone skips or repeats (a DST change) is refused; any slip is
//! `InvalidInput`, never a window that silently covers nothing. Weekly and daily windows use the
//! zone's rules of each week (a time the zone skips moves forward by the gap, 02:30 -> 03:30, as RFC
//! 5545 does; a repeated one is its first occurrence). Overlapping or
//! touching windows chain: "frozen until" is the end of the whole frozen stretch.

use std::fmt;

use jiff::civil::{Date, DateTime as CivilDateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::time::DateTime;

/// How many chained windows "frozen until" follows before it stops (a calendar whose windows
/// cover every instant for years is a configuration mistake, reported as frozen until the last).
const MAX_CHAIN: usize = 1000;

/// The configuration as a request or a service's settings give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreezeSpec {
    /// IANA time zone name, e.g. `Europe/Berlin`, `America/New_York`, `UTC`.
    pub time_zone: String,
    #[serde(default)]
    pub windows: Vec<String>,
}

/// What the calendar says about an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezeState {
    Open,
    Frozen {
        /// The first instant after the frozen stretch (windows chained), UTC.
        until: DateTime,
        /// The window (as written) that holds the instant asked about.
        window: String,
    },
}

impl FreezeState {
    pub fn is_frozen(&self) -> bool {
        matches!(self, FreezeState::Frozen { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Weekly {
        start: (Weekday, Time),
        end: (Weekday, Time),
    },
    Daily {
        start: Time,
        end: Time,
    },
    Absolute {
        start: Timestamp,
        end: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    text: String,
    kind: Kind,
}

/// A parsed, valid freeze calendar.
#[derive(Debug, Clone)]
pub struct FreezeCalendar {
    zone: TimeZone,
    zone_name: String,
    windows: Vec<Window>,
}

impl fmt::Display for FreezeCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<&str> = self.windows.iter().map(|w| w.text.as_str()).collect();
        write!(f, "{} [{}]", self.zone_name, texts.join("; "))
    }
}

impl FreezeCalendar {
    /// Parse and check every window; the first bad one is an `InvalidInput` error naming it.
    pub fn parse(spec: &FreezeSpec) -> Result<Self> {
        let zone = TimeZone::get(&spec.time_zone).map_err(|e| {
            Error::invalid_input(format!(
                "freeze timeZone {:?} is not an IANA time zone name: {e}",
                spec.time_zone
            ))
        })?;
        let windows = spec
            .windows
            .iter()
            .enumerate()
            .map(|(i, text)| {
                parse_window(text, &zone).map_err(|why| {
                    Error::invalid_input(format!("freeze windows[{i}] {text:?}: {why}"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            zone,
            zone_name: spec.time_zone.clone(),
            windows,
        })
    }

    /// Open, or frozen until the end of the stretch of (chained) windows holding `at`.
    pub fn at(&self, at: DateTime) -> FreezeState {
        let Ok(t) = Timestamp::from_second(at.secs()) else {
            return FreezeState::Open;
        };
        let Some((window, mut until)) = self.holding(t) else {
            return FreezeState::Open;
        };
        let window = window.text.clone();
        for _ in 0..MAX_CHAIN {
            match self.holding(until) {
                Some((_, later)) if later > until => until = later,
                _ => break,
            }
        }
        FreezeState::Frozen {
            until: DateTime::from_secs(until.as_second()),
            window,
        }
    }

    /// The window holding `t` whose occurrence ends last, and that end.
    fn holding(&self, t: Timestamp) -> Option<(&Window, Timestamp)> {
        self.windows
            .iter()
            .filter_map(|w| self.occurrence_holding(w, t).map(|end| (w, end)))
            .max_by_key(|(_, end)| *end)
    }

    /// The end of the occurrence of `w` that holds `t`, if one does.
    fn occurrence_holding(&self, w: &Window, t: Timestamp) -> Option<Timestamp> {
        let today = t.to_zoned(self.zone.clone()).date();
        let holds = |start: Timestamp, end: Timestamp| (start <= t && t < end).then_some(end);
        match w.kind {
            Kind::Absolute { start, end } => holds(start, end),
            Kind::Daily { start, end } => {
                // An occurrence is shorter than a day, so it started today or yesterday.
                (0..=1).find_map(|back| {
                    let day = days_before(today, back)?;
                    let end_day = if end > start {
                        day
                    } else {
                        days_before(day, -1)?
                    };
                    holds(self.instant(day, start)?, self.instant(end_day, end)?)
                })
            }
            Kind::Weekly { start, end } => {
                // An occurrence is at most a week long: it started this week or the week before.
                let since_start_day = i64::from(
                    (today.weekday().to_monday_zero_offset() - start.0.to_monday_zero_offset())
                        .rem_euclid(7),
                );
                let mut span_days = i64::from(
                    (end.0.to_monday_zero_offset() - start.0.to_monday_zero_offset()).rem_euclid(7),
                );
                if span_days == 0 && end.1 <= start.1 {
                    span_days = 7;
                }
                [since_start_day, since_start_day + 7]
                    .into_iter()
                    .find_map(|back| {
                        let day = days_before(today, back)?;
                        let end_day = days_before(day, -span_days)?;
                        holds(self.instant(day, start.1)?, self.instant(end_day, end.1)?)
                    })
            }
        }
    }

    /// A civil date and time in the zone as an instant; a time the zone skips moves forward by
    /// the gap and a repeated one takes its first occurrence (jiff's `compatible`, RFC 5545's rule).
    fn instant(&self, day: Date, time: Time) -> Option<Timestamp> {
        self.zone
            .to_ambiguous_zoned(day.to_datetime(time))
            .compatible()
            .ok()
            .map(|z| z.timestamp())
    }
}

fn days_before(day: Date, n: i64) -> Option<Date> {
    day.checked_sub(Span::new().days(n)).ok()
}

fn parse_window(text: &str, zone: &TimeZone) -> std::result::Result<Window, String> {
    let (left, right) = text.split_once(" - ").ok_or(
        "expected `START - END` (one space each side of the hyphen), e.g. `Fri 18:00 - Mon 06:00`, \
         `daily 22:00 - 06:00` or `2026-12-24T00:00 - 2027-01-02T00:00`",
    )?;
    if right.contains(" - ") {
        return Err("more than one ` - `".into());
    }
    let kind = if let Some(start) = left.strip_prefix("daily ") {
        let (start, end) = (parse_time(start)?, parse_time(right)?);
        if start == end {
            return Err("start and end are the same time: the window would be empty or the whole day; write two windows or an absolute one".into());
        }
        Kind::Daily { start, end }
    } else if left.len() == 16 && left.as_bytes()[10] == b'T' {
        let start = parse_absolute(left, zone)?;
        let end = parse_absolute(right, zone)?;
        if end <= start {
            return Err(format!("the end {right} is not after the start {left}"));
        }
        Kind::Absolute { start, end }
    } else {
        let start = parse_day_time(left)?;
        let end = parse_day_time(right)?;
        if start == end {
            return Err("start and end are the same: the window would be empty or the whole week; write two windows or an absolute one".into());
        }
        Kind::Weekly { start, end }
    };
    Ok(Window {
        text: text.to_string(),
        kind,
    })
}

fn parse_day_time(s: &str) -> std::result::Result<(Weekday, Time), String> {
    let (day, time) = s.split_once(' ').ok_or_else(|| {
        format!("{s:?} is not `DAY HH:MM` (DAY one of Mon Tue Wed Thu Fri Sat Sun), nor `daily HH:MM`, nor `YYYY-MM-DDTHH:MM`")
    })?;
    let day = match day {
        "Mon" => Weekday::Monday,
        "Tue" => Weekday::Tuesday,
        "Wed" => Weekday::Wednesday,
        "Thu" => Weekday::Thursday,
        "Fri" => Weekday::Friday,
        "Sat" => Weekday::Saturday,
        "Sun" => Weekday::Sunday,
        other => {
            return Err(format!(
                "{other:?} is not a day (Mon Tue Wed Thu Fri Sat Sun)"
            ))
        }
    };
    Ok((day, parse_time(time)?))
}

/// Exactly `HH:MM`, 00:00 to 23:59.
fn parse_time(s: &str) -> std::result::Result<Time, String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i8> {
        b.get(r.clone())
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .and_then(|_| s[r].parse().ok())
    };
    let parsed = (b.len() == 5 && b[2] == b':')
        .then(|| Some((digits(0..2)?, digits(3..5)?)))
        .flatten();
    let (h, m) = parsed.ok_or_else(|| format!("{s:?} is not a time `HH:MM`"))?;
    Time::new(h, m, 0, 0).map_err(|_| format!("{s:?} is not a time of day (00:00 to 23:59)"))
}

/// Exactly `YYYY-MM-DDTHH:MM`, a civil time the zone has exactly once.
fn parse_absolute(s: &str, zone: &TimeZone) -> std::result::Result<Timestamp, String> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 16
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && [0..4, 5..7, 8..10]
            .into_iter()
            .all(|r| b[r].iter().all(u8::is_ascii_digit));
    if !shape_ok {
        return Err(format!("{s:?} is not `YYYY-MM-DDTHH:MM`"));
    }
    let time = parse_time(&s[11..])?;
    let (y, m, d) = (
        s[0..4].parse::<i16>().map_err(|e| e.to_string())?,
        s[5..7].parse::<i8>().map_err(|e| e.to_string())?,
        s[8..10].parse::<i8>().map_err(|e| e.to_string())?,
    );
    let date = Date::new(y, m, d).map_err(|_| format!("{s:?}: no such date"))?;
    let dt: CivilDateTime = date.to_datetime(time);
    zone.to_ambiguous_zoned(dt)
        .unambiguous()
        .map(|z| z.timestamp())
        .map_err(|_| {
            format!("{s:?} does not happen exactly once in this time zone (a daylight-saving change skips or repeats it)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(zone: &str, windows: &[&str]) -> FreezeCalendar {
        FreezeCalendar::parse(&FreezeSpec {
            time_zone: zone.into(),
            windows: windows.iter().map(|w| w.to_string()).collect(),
        })
        .unwrap()
    }

    fn error(zone: &str, windows: &[&str]) -> Error {
        FreezeCalendar::parse(&FreezeSpec {
            time_zone: zone.into(),
            windows: windows.iter().map(|w| w.to_string()).collect(),
        })
        .unwrap_err()
    }

    fn utc(s: &str) -> DateTime {
        crate::time::parse("t", s).unwrap()
    }

    fn frozen_until(state: FreezeState) -> String {
        match state {
            FreezeState::Frozen { until, .. } => crate::time::format(until),
            FreezeState::Open => "open".into(),
        }
    }

    #[test]
    fn weekend_freeze_holds_from_friday_evening_to_monday_morning_in_the_zone() {
        // GIVEN a Berlin weekend freeze (Berlin is UTC+1 in winter)
        let cal = calendar("Europe/Berlin", &["Fri 18:00 - Mon 06:00"]);
        // 2026-12-04 is a Friday.
        assert_eq!(cal.at(utc("2026-12-04T16:59:59Z")), FreezeState::Open);
        assert_eq!(
            cal.at(utc("2026-12-04T17:00:00Z")),
            FreezeState::Frozen {
                until: utc("2026-12-07T05:00:00Z"),
                window: "Fri 18:00 - Mon 06:00".into()
            }
        );
        assert_eq!(
            frozen_until(cal.at(utc("2026-12-06T12:00:00Z"))),
            "2026-12-07T05:00:00Z"
        );
        assert_eq!(
            frozen_until(cal.at(utc("2026-12-07T04:59:59Z"))),
            "2026-12-07T05:00:00Z"
        );
        // THEN the end is not inside
        assert_eq!(cal.at(utc("2026-12-07T05:00:00Z")), FreezeState::Open);
        assert_eq!(cal.at(utc("2026-12-09T12:00:00Z")), FreezeState::Open);
    }

    #[test]
    fn the_same_window_follows_the_zone_across_daylight_saving() {
        // Berlin is UTC+2 in summer: Friday 18:00 there is 16:00 UTC. 2026-07-03 is a Friday.
        let cal = calendar("Europe/Berlin", &["Fri 18:00 - Mon 06:00"]);
        assert_eq!(cal.at(utc("2026-07-03T15:59:00Z")), FreezeState::Open);
        assert_eq!(
            frozen_until(cal.at(utc("2026-07-03T16:00:00Z"))),
            "2026-07-06T04:00:00Z"
        );
        // The weekend of the change (2026-10-25, Sunday, 03:00 CEST -> 02:00 CET) ends at
        // Monday 06:00 CET = 05:00 UTC, though it started at 16:00 UTC on Friday.
        assert_eq!(
            frozen_until(cal.at(utc("2026-10-23T16:00:00Z"))),
            "2026-10-26T05:00:00Z"
        );
    }

    #[test]
    fn a_window_within_one_day_of_the_week_and_a_window_wrapping_the_week() {
        let cal = calendar("UTC", &["Wed 09:00 - Wed 11:00"]);
        // 2026-12-02 is a Wednesday.
        assert_eq!(cal.at(utc("2026-12-02T08:59:59Z")), FreezeState::Open);
        assert_eq!(
            frozen_until(cal.at(utc("2026-12-02T10:00:00Z"))),
            "2026-12-02T11:00:00Z"
        );
        assert_eq!(cal.at(utc("2026-12-02T11:00:00Z")), FreezeState::Open);
        assert_eq!(cal.at(utc("2026-12-09T08:00:00Z")), FreezeState::Open);
        assert!(cal.at(utc("2026-12-09T09:00:00Z")).is_frozen());
        let cal = calendar("UTC", &["Sun 22:00 - Sun 21:00"]);
        // Sun 22:00 -> the next Sun 21:00: almost the whole week, one hour open on Sunday.
        assert_eq!(cal.at(utc("2026-12-06T21:30:00Z")), FreezeState::Open);
        assert_eq!(
            frozen_until(cal.at(utc("2026-12-06T22:00:00Z"))),
            "2026-12-13T21:00:00Z"
        );
        assert_eq!(
            frozen_until(cal.at(utc("2026-12-04T00:00:00Z"))),
            "2026-12-06T21:00:00Z"
        );
    }

    #[test]
    fn a_daily_window_crosses_midnight() {
        let cal = calendar("America/New_York", &["daily 22:00 - 06:00"]);
        // New York is UTC-5 in December: 22:00 local is 03:00 UTC the next day.
        assert_eq!(cal.at(utc("2026-12-02T02:59:00Z")), FreezeState::Open);
        assert_eq!(
            frozen_until(cal.at(utc("2026-12-02T03:00:00Z"))),
            "2026-12-02T11:00:00Z"
        );
        assert_eq!(
            frozen_until(cal.at(utc("2026-12-02T10:00:00Z"))),
            "2026-12-02T11:00:00Z"
        );
        assert_eq!(cal.at(utc("2026-12-02T11:00:00Z")), FreezeState::Open);
        let same_day = calendar("UTC", &["daily 12:00 - 13:00"]);
        assert!(same_day.at(utc("2026-12-02T12:30:00Z")).is_frozen());
        assert!(!same_day.at(utc("2026-12-02T13:30:00Z")).is_frozen());
    }

    #[test]
    fn an_absolute_window_is_read_in_the_zone() {
        let cal = calendar("Asia/Tokyo", &["2026-12-24T00:00 - 2027-01-02T00:00"]);
        // Tokyo is UTC+9.
        assert_eq!(cal.at(utc("2026-12-23T14:59:59Z")), FreezeState::Open);
        assert_eq!(
            frozen_until(cal.at(utc("2026-12-23T15:00:00Z"))),
            "2027-01-01T15:00:00Z"
        );
        assert_eq!(cal.at(utc("2027-01-01T15:00:00Z")), FreezeState::Open);
    }

    #[test]
    fn touching_and_overlapping_windows_chain_into_one_frozen_stretch() {
        let cal = calendar(
            "UTC",
            &[
                "Fri 18:00 - Mon 06:00",
                "2026-12-07T06:00 - 2026-12-07T09:00",
                "daily 08:00 - 10:00",
            ],
        );
        // Friday evening: frozen until Monday 10:00 (weekend, then the absolute window, then daily).
        let state = cal.at(utc("2026-12-04T20:00:00Z"));
        assert_eq!(
            state,
            FreezeState::Frozen {
                until: utc("2026-12-07T10:00:00Z"),
                window: "Fri 18:00 - Mon 06:00".into()
            }
        );
    }

    #[test]
    fn no_windows_is_always_open() {
        let cal = calendar("UTC", &[]);
        assert_eq!(cal.at(utc("2026-12-04T20:00:00Z")), FreezeState::Open);
    }

    #[test]
    fn every_typo_is_an_error_naming_the_window() {
        let bad = [
            "Fri 18:00 -Mon 06:00",
            "Fri 18:00-Mon 06:00",
            "Fri 18:00 - Mon 06:00 - Tue 01:00",
            "Fr 18:00 - Mon 06:00",
            "fri 18:00 - Mon 06:00",
            "Friday 18:00 - Mon 06:00",
            "Fri 18 - Mon 06:00",
            "Fri 8:00 - Mon 06:00",
            "Fri 24:00 - Mon 06:00",
            "Fri 18:60 - Mon 06:00",
            "Fri  18:00 - Mon 06:00",
            "Fri 18:00 - Fri 18:00",
            "daily 22:00 - 22:00",
            "daily 22:00 - Mon 06:00",
            "Daily 22:00 - 06:00",
            "2026-12-24T00:00 - 2026-12-24T00:00",
            "2026-12-24T00:00 - 2026-12-23T00:00",
            "2026-02-30T00:00 - 2026-03-02T00:00",
            "2026-12-24 00:00 - 2027-01-02 00:00",
            "2026-12-24T00:00:00 - 2027-01-02T00:00",
            "2026-12-24T00:00 - 2027-01-02",
            "",
            " - ",
            "always",
        ];
        for window in bad {
            let e = error("UTC", &["Sat 00:00 - Sun 00:00", window]);
            assert_eq!(
                e.name(),
                crate::error::ErrorName::InvalidInput,
                "{window:?}"
            );
            assert!(
                e.message().starts_with("freeze windows[1] "),
                "{window:?}: {}",
                e.message()
            );
        }
    }

    #[test]
    fn an_unknown_time_zone_is_an_error() {
        let e = error("Europe/Berlim", &["Fri 18:00 - Mon 06:00"]);
        assert_eq!(e.name(), crate::error::ErrorName::InvalidInput);
        assert!(e.message().contains("Europe/Berlim"), "{}", e.message());
    }

    #[test]
    fn an_absolute_time_skipped_or_repeated_by_daylight_saving_is_refused() {
        // Berlin skips 02:00-03:00 on 2026-03-29 and repeats 02:00-03:00 on 2026-10-25.
        for window in [
            "2026-03-29T02:30 - 2026-03-30T00:00",
            "2026-10-24T00:00 - 2026-10-25T02:30",
        ] {
            let e = error("Europe/Berlin", &[window]);
            assert!(
                e.message().contains("daylight-saving"),
                "{window}: {}",
                e.message()
            );
        }
    }

    #[test]
    fn a_weekly_start_in_a_daylight_saving_gap_moves_forward() {
        // Sun 02:30 does not exist in Berlin on 2026-03-29 (02:00 CET -> 03:00 CEST): that week
        // the window starts at 03:30 CEST (01:30 UTC), moved forward by the gap as RFC 5545 does.
        let cal = calendar("Europe/Berlin", &["Sun 02:30 - Sun 04:00"]);
        assert_eq!(cal.at(utc("2026-03-29T01:29:59Z")), FreezeState::Open);
        assert_eq!(
            frozen_until(cal.at(utc("2026-03-29T01:30:00Z"))),
            "2026-03-29T02:00:00Z"
        );
        // The week before: 02:30 CET = 01:30 UTC to 04:00 CET = 03:00 UTC.
        assert_eq!(
            frozen_until(cal.at(utc("2026-03-22T01:30:00Z"))),
            "2026-03-22T03:00:00Z"
        );
    }

    #[test]
    fn the_spec_reads_camel_case_and_refuses_unknown_fields() {
        let spec: FreezeSpec = serde_json::from_str(
            r#"{"timeZone": "Europe/Berlin", "windows": ["Fri 18:00 - Mon 06:00"]}"#,
        )
        .unwrap();
        assert_eq!(spec.time_zone, "Europe/Berlin");
        assert!(serde_json::from_str::<FreezeSpec>(
            r#"{"timezone": "Europe/Berlin", "windows": []}"#
        )
        .is_err());
    }
}
