//! Points (道德币) as an exact count of hundredths. Amounts are parsed from decimal strings and
//! never rounded: a value that is not a whole number of hundredths is refused, not truncated.

use std::fmt;

use rust_decimal::Decimal;

/// The largest absolute amount one movement may carry: one hundred million points. Nothing a
/// community does comes near it; anything above is a typo or an attack.
pub const POINTS_ABS_MAX_HUNDREDTHS: i64 = 100_000_000 * 100;
/// Digits before the point in the largest amount (100000000).
const POINTS_ABS_MAX_WHOLE_DIGITS: usize = 9;
/// Longest amount text accepted, in characters: room for any sensible way of writing an amount.
pub const AMOUNT_CHARS_MAX: usize = 32;

/// A signed amount of points in hundredths (`1250` is `12.50`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Points(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointsError {
    #[error("amount must be a decimal string such as \"12.50\"")]
    NotADecimal,
    #[error("amount may have at most 2 decimal places")]
    TooManyDecimals,
    #[error("amount is larger than the limit of 100000000.00 points")]
    TooLarge,
    #[error("amount must not be zero")]
    Zero,
    #[error("amount must be positive")]
    NotPositive,
}

impl Points {
    pub const ZERO: Points = Points(0);

    pub fn from_hundredths(hundredths: i64) -> Points {
        Points(hundredths)
    }

    pub fn hundredths(self) -> i64 {
        self.0
    }

    /// Parses a signed decimal string: an optional sign, digits, and an optional point with
    /// more digits. The value must be a whole number of hundredths; trailing zeros are exact
    /// ("1.500" is 1.50), any other digit past the second decimal is refused. The digits are
    /// read here, never by a decimal type that holds fewer digits than it is given: rust_decimal
    /// rounds beyond 28 significant digits, so "1.99999999999999999999999999999" would become
    /// 2.00. Zero is allowed here; callers that need a non-zero or positive amount use
    /// [`Points::parse_nonzero`] or [`Points::parse_positive`].
    pub fn parse(text: &str) -> Result<Points, PointsError> {
        let trimmed = text.trim();
        // A megabyte of digits is refused before any work is done on it.
        if trimmed.is_empty() || trimmed.len() > AMOUNT_CHARS_MAX {
            return Err(PointsError::NotADecimal);
        }
        let (negative, unsigned) = match trimmed.as_bytes()[0] {
            b'-' => (true, &trimmed[1..]),
            b'+' => (false, &trimmed[1..]),
            _ => (false, trimmed),
        };
        // Split at the first point; a second one lands in the fraction and fails as a non-digit.
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction)
        {
            return Err(PointsError::NotADecimal);
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > 2 {
            return Err(PointsError::TooManyDecimals);
        }
        let whole = whole.trim_start_matches('0');
        // Anything with more whole digits than the limit has is too large; checking the length
        // first also keeps the parse below inside an i64.
        if whole.len() > POINTS_ABS_MAX_WHOLE_DIGITS {
            return Err(PointsError::TooLarge);
        }
        let whole_value: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| PointsError::NotADecimal)?
        };
        let cents = fraction
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(2)
            .fold(0_i64, |acc, digit| acc * 10 + i64::from(digit - b'0'));
        let hundredths = whole_value
            .checked_mul(100)
            .and_then(|h| h.checked_add(cents))
            .filter(|h| *h <= POINTS_ABS_MAX_HUNDREDTHS)
            .ok_or(PointsError::TooLarge)?;
        Ok(Points(if negative { -hundredths } else { hundredths }))
    }

    pub fn parse_nonzero(text: &str) -> Result<Points, PointsError> {
        let points = Points::parse(text)?;
        if points.0 == 0 {
            return Err(PointsError::Zero);
        }
        Ok(points)
    }

    pub fn parse_positive(text: &str) -> Result<Points, PointsError> {
        let points = Points::parse(text)?;
        if points.0 <= 0 {
            return Err(PointsError::NotPositive);
        }
        Ok(points)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    pub fn checked_add(self, other: Points) -> Option<Points> {
        self.0.checked_add(other.0).map(Points)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn abs(self) -> Points {
        Points(self.0.abs())
    }
}

impl std::ops::Neg for Points {
    type Output = Points;

    fn neg(self) -> Points {
        Points(-self.0)
    }
}

/// Points travel as decimal strings (`"12.50"`), as in the API.
impl serde::Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads back what `Serialize` wrote. Unlike [`Points::parse`], which judges client input, it
/// takes any amount the service itself stated (a balance may exceed one movement's limit).
impl<'de> serde::Deserialize<'de> for Points {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Points, D::Error> {
        let text = String::deserialize(deserializer)?;
        stated_hundredths(&text)
            .map(Points)
            .ok_or_else(|| serde::de::Error::custom("not an amount the service states"))
    }
}

/// `-12.34` → `-1234`: an optional minus, digits, a point and exactly two digits.
fn stated_hundredths(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, cents) = digits.split_once('.')?;
    if whole.is_empty()
        || cents.len() != 2
        || !whole
            .bytes()
            .chain(cents.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let value = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents.parse::<i64>().ok()?)?;
    Some(if negative { -value } else { value })
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{}{}.{:02}", sign, abs / 100, abs % 100)
    }
}

/// A total of many amounts in hundredths, exact however many are added. Reports add up rows
/// whose amounts and balances may each be as large as an i64 holds; an i128 holds the sum of
/// 2^64 of them, which no ledger reaches, so sums neither wrap nor saturate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PointsTotal(i128);

impl PointsTotal {
    pub const ZERO: PointsTotal = PointsTotal(0);

    pub fn hundredths(self) -> i128 {
        self.0
    }

    /// Adds one stored amount (or balance) in hundredths.
    pub fn add(&mut self, hundredths: i64) {
        self.0 += i128::from(hundredths);
    }

    /// Adds the size of one stored amount, whatever its sign (even i64::MIN).
    pub fn add_abs(&mut self, hundredths: i64) {
        self.0 += i128::from(hundredths).abs();
    }

    /// Price × quantity, exact for any two stored values.
    pub fn product(price_hundredths: i64, quantity: i64) -> PointsTotal {
        PointsTotal(i128::from(price_hundredths) * i128::from(quantity))
    }
}

impl From<i64> for PointsTotal {
    fn from(hundredths: i64) -> PointsTotal {
        PointsTotal(i128::from(hundredths))
    }
}

impl From<Points> for PointsTotal {
    fn from(points: Points) -> PointsTotal {
        PointsTotal::from(points.0)
    }
}

impl std::ops::Add for PointsTotal {
    type Output = PointsTotal;

    fn add(self, other: PointsTotal) -> PointsTotal {
        PointsTotal(self.0 + other.0)
    }
}

impl std::ops::Sub for PointsTotal {
    type Output = PointsTotal;

    fn sub(self, other: PointsTotal) -> PointsTotal {
        PointsTotal(self.0 - other.0)
    }
}

impl std::iter::Sum for PointsTotal {
    fn sum<I: Iterator<Item = PointsTotal>>(items: I) -> PointsTotal {
        items.fold(PointsTotal::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for PointsTotal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{}{}.{:02}", sign, abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_two_decimals_exactly() {
        assert_eq!(Points::parse("12.50").unwrap().hundredths(), 1250);
        assert_eq!(Points::parse("12.5").unwrap().hundredths(), 1250);
        assert_eq!(Points::parse("12").unwrap().hundredths(), 1200);
        assert_eq!(Points::parse("-0.01").unwrap().hundredths(), -1);
        assert_eq!(Points::parse("1.500").unwrap().hundredths(), 150);
    }

    #[test]
    fn refuses_three_decimals_rather_than_rounding() {
        assert_eq!(Points::parse("1.005"), Err(PointsError::TooManyDecimals));
    }

    #[test]
    fn refuses_junk_and_huge_values() {
        for junk in ["", "abc", "1e3", "1,5", " ", "--1", "NaN", "1.2.3"] {
            assert_eq!(Points::parse(junk), Err(PointsError::NotADecimal), "{junk}");
        }
        assert_eq!(Points::parse("100000000.01"), Err(PointsError::TooLarge));
        assert_eq!(
            Points::parse("99999999999999999999999999"),
            Err(PointsError::TooLarge)
        );
        assert_eq!(Points::parse_positive("0"), Err(PointsError::NotPositive));
        assert_eq!(Points::parse_nonzero("0.00"), Err(PointsError::Zero));
    }

    #[test]
    fn stated_amounts_read_back_exactly() {
        for hundredths in [0, 1, -5, 1250, -1_000_000_000_000, i64::MAX / 2] {
            let points = Points::from_hundredths(hundredths);
            let json = serde_json::to_string(&points).unwrap();
            assert_eq!(
                serde_json::from_str::<Points>(&json).unwrap(),
                points,
                "{json}"
            );
        }
        assert!(serde_json::from_str::<Points>("\"1.5\"").is_err());
    }

    #[test]
    fn refuses_digits_beyond_what_a_decimal_holds_rather_than_rounding() {
        // rust_decimal keeps 28 significant digits and rounds the rest away; each of these would
        // come out as a whole number of hundredths if it were allowed to.
        for text in [
            "1.99999999999999999999999999999",
            "1.00000000000000000000000000001",
            "-1.99999999999999999999999999999",
            "0.000000000000000000000000000001",
            "20.00000000000000000000000000001",
            "99999999.999999999999999999999",
        ] {
            assert_eq!(
                Points::parse(text),
                Err(PointsError::TooManyDecimals),
                "{text}"
            );
        }
    }

    #[test]
    fn trailing_zeros_are_exact() {
        assert_eq!(Points::parse("1.500").unwrap().hundredths(), 150);
        assert_eq!(
            Points::parse("1.0000000000000000000000000000").unwrap(),
            Points::from_hundredths(100)
        );
        assert_eq!(Points::parse("-0.10").unwrap().hundredths(), -10);
        assert_eq!(Points::parse("+7.").unwrap().hundredths(), 700);
        assert_eq!(Points::parse(".5").unwrap().hundredths(), 50);
        assert_eq!(
            Points::parse("100000000.00").unwrap().hundredths(),
            POINTS_ABS_MAX_HUNDREDTHS
        );
        assert_eq!(
            Points::parse("000000000000000000000000000012")
                .unwrap()
                .hundredths(),
            1200
        );
    }

    #[test]
    fn refuses_signs_and_points_without_digits() {
        for junk in ["-", "+", ".", "-.", "+.", "1.-2", "1+", "+-1", "1..0"] {
            assert_eq!(Points::parse(junk), Err(PointsError::NotADecimal), "{junk}");
        }
    }

    #[test]
    fn totals_are_exact_past_what_an_i64_holds() {
        let mut total = PointsTotal::ZERO;
        total.add(i64::MAX);
        total.add(i64::MAX);
        assert_eq!(total.to_string(), "184467440737095516.14");
        assert_eq!(
            PointsTotal::product(POINTS_ABS_MAX_HUNDREDTHS, 1_000_000_000).to_string(),
            "100000000000000000.00"
        );
        let mut negative = PointsTotal::ZERO;
        negative.add(i64::MIN);
        negative.add(i64::MIN);
        assert_eq!(negative.to_string(), "-184467440737095516.16");
        assert_eq!(PointsTotal::from(-5).to_string(), "-0.05");
        assert_eq!(
            (PointsTotal::from(i64::MAX) - PointsTotal::from(i64::MIN)).to_string(),
            "184467440737095516.15"
        );
    }

    #[test]
    fn displays_with_two_decimals() {
        assert_eq!(Points::from_hundredths(1250).to_string(), "12.50");
        assert_eq!(Points::from_hundredths(-5).to_string(), "-0.05");
        assert_eq!(Points::from_hundredths(0).to_string(), "0.00");
    }
}
