//! The settlement rule, pure: when coins expire, which coins a cutoff takes (oldest first, FIFO,
//! without lot tables), and the name of each expiry.
//!
//! FIFO from two running sums: every posting keeps `credits_after` (all credits the account ever
//! had up to and including it), and the account keeps `credits_total` and `balance`, so the
//! debits so far are `credits_total - balance`. Spending takes the oldest coins first, so the coins
//! earned before a cutoff that are still unspent are what was credited before the cutoff minus
//! every debit so far, never less than zero. Expiring them is itself a debit, so asking again
//! finds nothing.

use chrono::{Datelike, Months, NaiveDate};
use sha2::{Digest, Sha256};

use crate::kernel::AccountId;

/// The longest `months` a community may set: ten years.
pub const EXPIRY_MONTHS_MAX: i32 = 120;
/// How many days ahead a warning may be shown at most.
pub const EXPIRY_NOTICE_DAYS_MAX: i32 = 90;
pub const EXPIRY_NOTICE_DAYS_DEFAULT: i32 = 30;

/// When a community's coins expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryRule {
    /// Coins never expire (the default).
    Never,
    /// At the start of each local year, every coin earned before 1 January.
    YearEnd,
    /// On the first of each local month, the coins earned before the first of the month this
    /// many months earlier: a coin lives at least this many whole months.
    Months(u32),
}

/// A community's expiry settings, each part checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpirySettings {
    pub rule: ExpiryRule,
    /// How many days before an expiry a resident is told.
    pub notice_days: u32,
}

impl Default for ExpirySettings {
    fn default() -> Self {
        ExpirySettings {
            rule: ExpiryRule::Never,
            notice_days: EXPIRY_NOTICE_DAYS_DEFAULT as u32,
        }
    }
}

/// What is wrong with expiry settings, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("mode must be none, year_end or months")]
    Mode,
    #[error("months must be 1-120 with mode months, and absent otherwise")]
    Months,
    #[error("notice_days must be 0-90")]
    NoticeDays,
}

impl SettingsError {
    pub fn field(&self) -> &'static str {
        match self {
            SettingsError::Mode => "mode",
            SettingsError::Months => "months",
            SettingsError::NoticeDays => "notice_days",
        }
    }
}

impl ExpirySettings {
    /// Parses the stored or requested words: `mode`, `months` (only with `months`), `notice_days`.
    pub fn parse(
        mode: &str,
        months: Option<i32>,
        notice_days: i32,
    ) -> Result<ExpirySettings, SettingsError> {
        let rule = match (mode, months) {
            ("none", None) => ExpiryRule::Never,
            ("year_end", None) => ExpiryRule::YearEnd,
            ("months", Some(n)) if (1..=EXPIRY_MONTHS_MAX).contains(&n) => {
                ExpiryRule::Months(n as u32)
            }
            ("none" | "year_end" | "months", _) => return Err(SettingsError::Months),
            _ => return Err(SettingsError::Mode),
        };
        if !(0..=EXPIRY_NOTICE_DAYS_MAX).contains(&notice_days) {
            return Err(SettingsError::NoticeDays);
        }
        Ok(ExpirySettings {
            rule,
            notice_days: notice_days as u32,
        })
    }

    pub fn mode(&self) -> &'static str {
        match self.rule {
            ExpiryRule::Never => "none",
            ExpiryRule::YearEnd => "year_end",
            ExpiryRule::Months(_) => "months",
        }
    }

    pub fn months(&self) -> Option<i32> {
        match self.rule {
            ExpiryRule::Months(n) => Some(n as i32),
            _ => None,
        }
    }
}

/// One expiry: on the local day `due`, the coins earned before the local day `cutoff` expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub due: NaiveDate,
    pub cutoff: NaiveDate,
}

impl ExpiryRule {
    fn expiry_on(self, due: NaiveDate) -> Option<Expiry> {
        match self {
            ExpiryRule::Never => None,
            ExpiryRule::YearEnd => Some(Expiry { due, cutoff: due }),
            ExpiryRule::Months(n) => Some(Expiry {
                due,
                cutoff: due.checked_sub_months(Months::new(n))?,
            }),
        }
    }

    /// The latest expiry due on or before `today`, if any. Each expiry takes every older coin
    /// too, so an expiry missed (the service was down) is covered by the next one.
    pub fn latest(self, today: NaiveDate) -> Option<Expiry> {
        let due = match self {
            ExpiryRule::Never => return None,
            ExpiryRule::YearEnd => NaiveDate::from_ymd_opt(today.year(), 1, 1)?,
            ExpiryRule::Months(_) => today.with_day(1)?,
        };
        self.expiry_on(due)
    }

    /// The first expiry due after `today`.
    pub fn next(self, today: NaiveDate) -> Option<Expiry> {
        let due = match self {
            ExpiryRule::Never => return None,
            ExpiryRule::YearEnd => NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)?,
            ExpiryRule::Months(_) => today.with_day(1)?.checked_add_months(Months::new(1))?,
        };
        self.expiry_on(due)
    }
}

impl Expiry {
    /// The passbook's memo: which coins expired.
    pub fn memo(&self, rule: ExpiryRule) -> String {
        match rule {
            ExpiryRule::YearEnd => format!("{}年底前获得的积分清零", self.cutoff.year() - 1),
            _ => format!("{} 前获得的积分到期", self.cutoff.format("%Y-%m")),
        }
    }

    /// The expiry's reference in the journal, the same on every instance: an account's coins
    /// before a cutoff expire once, and the journal's unique (community, kind, reference) index
    /// refuses a second. A name-based UUID (version 8, SHA-256 of a fixed name space, the
    /// account and the cutoff day).
    pub fn reference(&self, account: AccountId) -> uuid::Uuid {
        let mut hash = Sha256::new();
        hash.update(b"moralbank expiry v1\0");
        hash.update(account.0.as_bytes());
        hash.update(self.cutoff.format("%Y-%m-%d").to_string().as_bytes());
        let digest = hash.finalize();
        let mut bytes = [0_u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }
}

/// The coins, in hundredths, earned before a cutoff and still unspent: `credits_before` (the
/// `credits_after` of the account's last posting before the cutoff, 0 when none) minus every
/// debit so far (`credits_total - balance`), never below zero and never above the balance.
pub fn unspent_before(credits_before: i64, credits_total: i64, balance: i64) -> i64 {
    let debits = credits_total.saturating_sub(balance);
    credits_before
        .saturating_sub(debits)
        .max(0)
        .min(balance.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// An account as a list of postings (positive credits, negative debits), and the
    /// `credits_after` of the first `before` of them.
    fn run(postings: &[i64], before: usize) -> i64 {
        let mut credits = 0;
        let mut balance = 0;
        let mut credits_before = 0;
        for (i, amount) in postings.iter().enumerate() {
            credits += amount.max(&0);
            balance += amount;
            if i < before {
                credits_before = credits;
            }
        }
        unspent_before(credits_before, credits, balance)
    }

    #[test]
    fn unspent_old_coins_are_what_the_old_credits_leave_after_every_debit() {
        // 100 earned before the cutoff, nothing spent: all 100.
        assert_eq!(run(&[100], 1), 100);
        // 100 old, 30 spent after: 70 of the old coins are left.
        assert_eq!(run(&[100, -30], 1), 70);
        // Partial spends before and after, and new coins: the spends take the old ones first.
        assert_eq!(run(&[60, 40, -20, 50, -10], 2), 70);
        // Spending more than the old coins leaves none of them; the new ones stay.
        assert_eq!(run(&[100, 80, -150], 1), 0);
        // Nothing before the cutoff: nothing expires.
        assert_eq!(run(&[100], 0), 0);
    }

    #[test]
    fn a_void_after_spending_is_a_new_credit_and_does_not_revive_old_coins() {
        // 100 old, 60 redeemed, the redemption voided (+60) after the cutoff: the void's coins
        // count as new, so 40 old coins are left to expire and the 60 stay.
        assert_eq!(run(&[100, -60, 60], 1), 40);
        // A void before the cutoff counts among the old credits.
        assert_eq!(run(&[100, -60, 60], 3), 100);
    }

    #[test]
    fn a_second_expiry_finds_nothing_and_never_more_than_the_balance() {
        // The expiry is a debit: after taking 70, asking again gives 0.
        assert_eq!(run(&[100, -30, -70], 1), 0);
        // A later cutoff takes what the first left plus the coins earned up to it.
        assert_eq!(run(&[100, -30, -70, 50], 4), 50);
        // Never above the balance, never negative, whatever the sums say.
        assert_eq!(unspent_before(500, 100, 40), 40);
        assert_eq!(unspent_before(10, 100, 0), 0);
        assert_eq!(unspent_before(0, 0, 0), 0);
    }

    #[test]
    fn year_end_expires_on_the_first_of_january_what_was_earned_before() {
        let rule = ExpiryRule::YearEnd;
        let latest = rule.latest(day("2027-03-05")).unwrap();
        assert_eq!(latest.due, day("2027-01-01"));
        assert_eq!(latest.cutoff, day("2027-01-01"));
        assert_eq!(rule.next(day("2026-12-03")).unwrap().due, day("2027-01-01"));
        assert_eq!(latest.memo(rule), "2026年底前获得的积分清零");
        assert_eq!(ExpiryRule::Never.latest(day("2027-01-01")), None);
        assert_eq!(ExpiryRule::Never.next(day("2027-01-01")), None);
    }

    #[test]
    fn months_expire_on_the_first_of_a_month_what_was_earned_n_months_before() {
        let rule = ExpiryRule::Months(3);
        let latest = rule.latest(day("2027-02-17")).unwrap();
        assert_eq!(latest.due, day("2027-02-01"));
        assert_eq!(latest.cutoff, day("2026-11-01"));
        let next = rule.next(day("2027-02-17")).unwrap();
        assert_eq!(next.due, day("2027-03-01"));
        assert_eq!(next.cutoff, day("2026-12-01"));
        assert_eq!(latest.memo(rule), "2026-11 前获得的积分到期");
        let december = ExpiryRule::Months(1).next(day("2026-12-31")).unwrap();
        assert_eq!(december.due, day("2027-01-01"));
    }

    #[test]
    fn the_reference_is_the_same_for_the_same_account_and_cutoff_only() {
        let a = AccountId::from_uuid(uuid::Uuid::from_u128(1));
        let b = AccountId::from_uuid(uuid::Uuid::from_u128(2));
        let one = Expiry {
            due: day("2027-01-01"),
            cutoff: day("2027-01-01"),
        };
        let two = Expiry {
            due: day("2028-01-01"),
            cutoff: day("2028-01-01"),
        };
        assert_eq!(one.reference(a), one.reference(a));
        assert_ne!(one.reference(a), one.reference(b));
        assert_ne!(one.reference(a), two.reference(a));
    }

    #[test]
    fn settings_parse_only_what_is_allowed() {
        assert_eq!(
            ExpirySettings::parse("months", Some(6), 30).unwrap().rule,
            ExpiryRule::Months(6)
        );
        assert_eq!(
            ExpirySettings::parse("year_end", None, 0).unwrap().rule,
            ExpiryRule::YearEnd
        );
        assert_eq!(
            ExpirySettings::parse("months", Some(0), 30),
            Err(SettingsError::Months)
        );
        assert_eq!(
            ExpirySettings::parse("months", Some(121), 30),
            Err(SettingsError::Months)
        );
        assert_eq!(
            ExpirySettings::parse("months", None, 30),
            Err(SettingsError::Months)
        );
        assert_eq!(
            ExpirySettings::parse("year_end", Some(3), 30),
            Err(SettingsError::Months)
        );
        assert_eq!(
            ExpirySettings::parse("weekly", None, 30),
            Err(SettingsError::Mode)
        );
        assert_eq!(
            ExpirySettings::parse("none", None, 91),
            Err(SettingsError::NoticeDays)
        );
        assert_eq!(
            ExpirySettings::parse("none", None, -1),
            Err(SettingsError::NoticeDays)
        );
    }
}
