//! Points (道德币) as an exact count of hundredths. Amounts are parsed from decimal strings and
//! never rounded: a value with more than two decimals is refused, not truncated.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// The largest absolute amount one movement may carry: one hundred million points. Nothing a
/// community does comes near it; anything above is a typo or an attack.
pub const POINTS_ABS_MAX_HUNDREDTHS: i64 = 100_000_000 * 100;

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

    /// Parses a signed decimal string. Zero is allowed here; callers that need a non-zero or
    /// positive amount use [`Points::parse_nonzero`] or [`Points::parse_positive`].
    pub fn parse(text: &str) -> Result<Points, PointsError> {
        let trimmed = text.trim();
        // Decimal accepts forms such as "1e3" only through a separate API, but guard the length
        // so that a megabyte of digits is refused before any parsing work.
        if trimmed.is_empty() || trimmed.len() > 32 {
            return Err(PointsError::NotADecimal);
        }
        if !trimmed
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')))
        {
            return Err(PointsError::NotADecimal);
        }
        let value = Decimal::from_str(trimmed).map_err(|_| PointsError::NotADecimal)?;
        let normalized = value.normalize();
        if normalized.scale() > 2 {
            return Err(PointsError::TooManyDecimals);
        }
        let hundredths = (normalized * Decimal::from(100)).trunc();
        let hundredths: i64 = hundredths.try_into().map_err(|_| PointsError::TooLarge)?;
        if hundredths.abs() > POINTS_ABS_MAX_HUNDREDTHS {
            return Err(PointsError::TooLarge);
        }
        Ok(Points(hundredths))
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
    fn displays_with_two_decimals() {
        assert_eq!(Points::from_hundredths(1250).to_string(), "12.50");
        assert_eq!(Points::from_hundredths(-5).to_string(), "-0.05");
        assert_eq!(Points::from_hundredths(0).to_string(), "0.00");
    }
}
