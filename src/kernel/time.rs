//! Time: the one clock of the service, and a community's calendar — the only place a "local day"
//! or "local month" is computed.
//!
//! Rule: every "now" comes from [`Clock`]: the time stamped on rows, the notice periods, the
//! day a redemption belongs to. Real time by default; tests move the clock instead of sleeping,
//! and everything moves with it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// UTC with microsecond precision: what both backends store exactly, so a value read back hashes
/// the same as the value written.
pub fn micros_to_time(micros: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .naive_utc()
}

pub fn time_to_micros(time: NaiveDateTime) -> i64 {
    time.and_utc().timestamp_micros()
}

/// The real time now, truncated to microseconds. Only [`Clock`] calls it.
fn real_now() -> NaiveDateTime {
    micros_to_time(chrono::Utc::now().timestamp_micros())
}

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> NaiveDateTime {
        micros_to_time(time_to_micros(real_now()) + self.offset_micros.load(Ordering::SeqCst))
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: chrono::Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX / 4);
        self.offset_micros.fetch_add(micros, Ordering::SeqCst);
    }
}

/// A community's calendar: its UTC offset defines its days and months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalCalendar {
    offset_minutes: i32,
}

impl LocalCalendar {
    pub fn new(offset_minutes: i32) -> LocalCalendar {
        LocalCalendar { offset_minutes }
    }

    pub fn offset_minutes(self) -> i32 {
        self.offset_minutes
    }

    fn offset(self) -> chrono::Duration {
        chrono::Duration::minutes(self.offset_minutes as i64)
    }

    /// Wall-clock time in the community.
    pub fn local(self, utc: NaiveDateTime) -> NaiveDateTime {
        utc + self.offset()
    }

    pub fn day_of(self, utc: NaiveDateTime) -> NaiveDate {
        self.local(utc).date()
    }

    /// The stored form of a local day, `2026-11-27`.
    pub fn day_key(self, utc: NaiveDateTime) -> String {
        self.day_of(utc).format("%Y-%m-%d").to_string()
    }

    /// The stored form of a local month, `2026-11`.
    pub fn month_key(self, utc: NaiveDateTime) -> String {
        self.day_of(utc).format("%Y-%m").to_string()
    }

    /// The UTC moment a local day begins.
    pub fn start_of(self, day: NaiveDate) -> NaiveDateTime {
        crate::kernel::dates::day_start_utc(day, self.offset_minutes)
    }

    /// The UTC moment the local day after `day` begins (the exclusive end of `day`).
    pub fn end_of(self, day: NaiveDate) -> NaiveDateTime {
        self.start_of(day) + chrono::Duration::days(1)
    }

    /// The first local day of the month `day` is in.
    pub fn first_of_month(day: NaiveDate) -> NaiveDate {
        day.with_day(1).unwrap_or(day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn an_evening_shift_in_china_is_the_next_local_day() {
        let china = LocalCalendar::new(8 * 60);
        assert_eq!(china.day_key(at("2026-11-30 17:00:00")), "2026-12-01");
        assert_eq!(china.month_key(at("2026-11-30 15:59:59")), "2026-11");
        assert_eq!(china.month_key(at("2026-11-30 16:00:00")), "2026-12");
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(china.start_of(day), at("2026-11-30 16:00:00"));
        assert_eq!(china.end_of(day), at("2026-12-01 16:00:00"));
    }

    #[test]
    fn the_clock_moves_every_copy() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(chrono::Duration::days(3));
        assert!(copy.now() - before >= chrono::Duration::days(3));
    }
}
