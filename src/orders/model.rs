//! An order's states and its pickup code.

use crate::stored_words;

stored_words! {
    /// Where a reserved order stands. `held` ends exactly once, in one of the other three.
    pub enum OrderStatus {
        /// Coins and goods set aside, waiting at the counter.
        Held = "held",
        /// Picked up with the code: the hold became a redemption.
        Collected = "collected",
        /// Called off by the resident or a clerk: coins and goods back.
        Cancelled = "cancelled",
        /// Not picked up in time: released by the sweeper, coins and goods back.
        Expired = "expired",
    }
}

impl OrderStatus {
    /// How the pages say it.
    pub const fn label(self) -> &'static str {
        match self {
            OrderStatus::Held => "待取货",
            OrderStatus::Collected => "已取货",
            OrderStatus::Cancelled => "已取消",
            OrderStatus::Expired => "已过期",
        }
    }
}

/// Hours an order waits unless the community says otherwise.
pub const HOLD_HOURS_DEFAULT: i32 = 72;
/// The longest wait a community may set: 30 days.
pub const HOLD_HOURS_MAX: i32 = 720;

/// A fresh six-digit pickup code, said aloud at the counter. Random (from the operating system),
/// so the code of one order tells nothing about another's.
pub fn new_pickup_code() -> String {
    use rand::Rng;
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    format!("{n:06}")
}

/// A code as a person types it: six digits, spaces and dashes ignored; `None` otherwise.
pub fn parse_pickup_code(text: &str) -> Option<String> {
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_typed_codes_are_read_leniently() {
        for _ in 0..200 {
            let code = new_pickup_code();
            assert_eq!(parse_pickup_code(&code).as_deref(), Some(code.as_str()));
        }
        assert_eq!(parse_pickup_code(" 012 345 ").as_deref(), Some("012345"));
        assert_eq!(parse_pickup_code("012-345").as_deref(), Some("012345"));
        assert_eq!(parse_pickup_code("12345"), None);
        assert_eq!(parse_pickup_code("1234567"), None);
        assert_eq!(parse_pickup_code("12345a"), None);
        assert_eq!(parse_pickup_code("１２３４５６"), None);
    }
}
