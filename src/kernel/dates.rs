//! Calendar dates, months and moments as the API accepts them, and the UTC bounds of a
//! community's local days. One range, [`DATE_MIN`] … [`DATE_MAX`], holds on both backends:
//! chrono's date arithmetic panics near its own limits (±262,143 years), PostgreSQL refuses
//! timestamps before 4713 BC, and SQLite compares timestamps as text, which sorts a year of five
//! digits ("+10000-…") before "2026-…". Within the range none of that can happen.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// The first local date any query may name.
pub const DATE_MIN: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => panic!("2000-01-01 is a date"),
};
/// The last local date any query may name.
pub const DATE_MAX: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(date) => date,
    None => panic!("9999-12-31 is a date"),
};
/// The last year a stored timestamp can have: every stored time has four year digits.
const STORED_YEAR_MAX: i32 = 9999;
/// Digits of a moment's fraction the backends store (microseconds).
const STORED_NANOS_PER_MICRO: u32 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("must be a date written YYYY-MM-DD, like 2026-11-27")]
    NotADate,
    #[error("must be a month written YYYY-MM, like 2026-11")]
    NotAMonth,
    #[error("must be an RFC 3339 time, like 2026-11-27T12:00:00+08:00")]
    NotAMoment,
    #[error("must be between 2000-01-01 and 9999-12-31")]
    OutOfRange,
}

/// True when `text` is ASCII digits and dashes exactly where `pattern` has `9` and `-`.
fn shaped_like(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
            b'9' => c.is_ascii_digit(),
            other => c == other,
        })
}

fn number(digits: &str) -> u32 {
    digits
        .bytes()
        .fold(0, |acc, digit| acc * 10 + u32::from(digit - b'0'))
}

fn in_range(date: NaiveDate) -> Result<NaiveDate, DateError> {
    if (DATE_MIN..=DATE_MAX).contains(&date) {
        Ok(date)
    } else {
        Err(DateError::OutOfRange)
    }
}

/// A local date written exactly `YYYY-MM-DD` (four-digit year, zero-padded), within the range.
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    if !shaped_like(text, "9999-99-99") {
        return Err(DateError::NotADate);
    }
    let date = NaiveDate::from_ymd_opt(
        number(&text[0..4]) as i32,
        number(&text[5..7]),
        number(&text[8..10]),
    )
    .ok_or(DateError::NotADate)?;
    in_range(date)
}

/// A local month written exactly `YYYY-MM`, as its first day, within the range.
pub fn parse_month(text: &str) -> Result<NaiveDate, DateError> {
    if !shaped_like(text, "9999-99") {
        return Err(DateError::NotAMonth);
    }
    let first = NaiveDate::from_ymd_opt(number(&text[0..4]) as i32, number(&text[5..7]), 1)
        .ok_or(DateError::NotAMonth)?;
    in_range(first)
}

/// An RFC 3339 moment whose UTC time lies within the range (2000-01-01T00:00:00Z …
/// 9999-12-31T23:59:59.999999Z), in UTC and cut to the microseconds the backends store, so the
/// moment compared is the moment answered.
pub fn parse_moment(text: &str) -> Result<NaiveDateTime, DateError> {
    let utc = DateTime::parse_from_rfc3339(text)
        .map_err(|_| DateError::NotAMoment)?
        .naive_utc();
    in_range(utc.date())?;
    let micros = utc.nanosecond() / STORED_NANOS_PER_MICRO * STORED_NANOS_PER_MICRO;
    utc.with_nanosecond(micros).ok_or(DateError::NotAMoment)
}

/// The UTC moment a local date begins in a community `offset_minutes` east of UTC. For dates in
/// the range this is always a time the backends can store and compare.
pub fn day_start_utc(date: NaiveDate, offset_minutes: i32) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN) - Duration::minutes(i64::from(offset_minutes))
}

/// The exclusive UTC end of a period whose last local day is `last`: the moment the next local
/// day begins. `None` when that moment lies past the year 9999: no stored time can be that
/// late, so the period is open-ended (and a bound of that size would not compare as text).
pub fn period_end_utc(last: NaiveDate, offset_minutes: i32) -> Option<NaiveDateTime> {
    let end = day_start_utc(last.succ_opt()?, offset_minutes);
    (end.year() <= STORED_YEAR_MAX).then_some(end)
}

/// The last day of the month that begins on `first`.
pub fn month_last_day(first: NaiveDate) -> NaiveDate {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_parse_in_one_form_within_the_range() {
        assert_eq!(parse_date("2026-11-27"), Ok(date(2026, 11, 27)));
        assert_eq!(parse_date("2000-01-01"), Ok(DATE_MIN));
        assert_eq!(parse_date("9999-12-31"), Ok(DATE_MAX));
        for text in [
            "2026-1-5",
            "2026-02-30",
            "26-11-27",
            "+2026-11-27",
            "2026/11/27",
            " 2026-11-27",
            "2026-11-27T00:00:00",
            "-262143-01-01",
            "+262142-12-31",
            "",
        ] {
            assert_eq!(parse_date(text), Err(DateError::NotADate), "{text:?}");
        }
        for text in ["1999-12-31", "0000-01-01", "0001-01-01"] {
            assert_eq!(parse_date(text), Err(DateError::OutOfRange), "{text}");
        }
    }

    #[test]
    fn months_parse_as_their_first_day() {
        assert_eq!(parse_month("2026-11"), Ok(date(2026, 11, 1)));
        assert_eq!(parse_month("9999-12"), Ok(date(9999, 12, 1)));
        assert_eq!(parse_month("1999-12"), Err(DateError::OutOfRange));
        for text in [
            "2026-13",
            "2026-00",
            "2026-1",
            "10000-01",
            "-262143-01",
            "2026-11-01",
        ] {
            assert_eq!(parse_month(text), Err(DateError::NotAMonth), "{text}");
        }
        assert_eq!(month_last_day(date(2026, 2, 1)), date(2026, 2, 28));
        assert_eq!(month_last_day(date(9999, 12, 1)), DATE_MAX);
    }

    #[test]
    fn moments_are_utc_within_the_range_and_cut_to_microseconds() {
        let at = parse_moment("2026-11-27T12:00:00.123456789+08:00").unwrap();
        assert_eq!(at.to_string(), "2026-11-27 04:00:00.123456");
        assert!(parse_moment("2000-01-01T00:00:00Z").is_ok());
        assert!(parse_moment("9999-12-31T23:59:59.999999999Z").is_ok());
        assert_eq!(
            parse_moment("1999-12-31T23:59:59.999999Z"),
            Err(DateError::OutOfRange)
        );
        assert_eq!(
            parse_moment("9999-12-31T23:59:59-01:00"),
            Err(DateError::OutOfRange)
        );
        assert_eq!(parse_moment("2026-11-27"), Err(DateError::NotAMoment));
    }

    #[test]
    fn the_last_day_ends_within_storable_times_or_not_at_all() {
        // East of UTC the end of 9999-12-31 is still in 9999; west of it, it is not.
        assert_eq!(
            period_end_utc(DATE_MAX, 480),
            Some(date(9999, 12, 31).and_hms_opt(16, 0, 0).unwrap())
        );
        assert_eq!(period_end_utc(DATE_MAX, -300), None);
        assert_eq!(period_end_utc(DATE_MAX, 0), None);
        assert_eq!(
            period_end_utc(date(2026, 11, 27), 480),
            Some(date(2026, 11, 27).and_hms_opt(16, 0, 0).unwrap())
        );
        assert_eq!(
            day_start_utc(DATE_MIN, 840),
            date(1999, 12, 31).and_hms_opt(10, 0, 0).unwrap()
        );
    }
}
