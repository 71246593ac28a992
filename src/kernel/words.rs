//! The states and kinds the service stores as words (`"member"`, `"submitted"`, …), typed. Each is
//! an enum with its stored word; the database keeps the same TEXT as before, and `db::types`
//! reads and writes them. A word that is not one of them is refused where it is read, never
//! turned into something else.

/// Declares an enum whose values are stored as fixed words.
#[macro_export]
macro_rules! stored_words {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored word.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            pub fn parse(word: &str) -> Option<$name> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let word = String::deserialize(d)?;
                $name::parse(&word).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} '{word}'",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

stored_words! {
    /// What an account is for.
    pub enum AccountKind {
        /// A resident's passbook; never negative.
        Member = "member",
        /// Where minted coins come from; negative by design.
        Issuance = "issuance",
        /// Receives redeemed coins.
        Shop = "shop",
        /// Receives deducted coins.
        Deductions = "deductions",
        /// Coins of reserved orders, between the passbook and the shop; never negative.
        Holds = "holds",
        /// A household's passbook (一户一档), several per community; never negative.
        Household = "household",
        /// Receives coins that expired by the community's settlement rule (过期清零).
        Expired = "expired",
        /// The community fund (爱心基金): donations in, grants out; never negative.
        Fund = "fund",
    }
}

impl AccountKind {
    /// The accounts every community has besides its members'.
    pub const SYSTEM: [AccountKind; 6] = [
        AccountKind::Issuance,
        AccountKind::Shop,
        AccountKind::Deductions,
        AccountKind::Holds,
        AccountKind::Expired,
        AccountKind::Fund,
    ];

    /// Accounts the posting primitive, like the database, never lets go below zero: a resident's
    /// passbook, a household's, the coins held for orders, and the fund, which pays out only what
    /// was given to it.
    pub const fn never_negative(self) -> bool {
        matches!(
            self,
            AccountKind::Member | AccountKind::Holds | AccountKind::Household | AccountKind::Fund
        )
    }
}

stored_words! {
    /// What a journal transaction did. The passbook's line kinds.
    pub enum JournalKind {
        OpeningBalance = "opening_balance",
        Correction = "correction",
        Redemption = "redemption",
        RedemptionVoid = "redemption_void",
        DeedCredit = "deed_credit",
        DeedDeduction = "deed_deduction",
        DeedReversal = "deed_reversal",
        /// Part of what a reversal could not take, taken from a later credit.
        Clawback = "clawback",
        /// Coins of a reserved order set aside (passbook → holds).
        OrderHold = "order_hold",
        /// A reserved order cancelled or expired: the coins come back (holds → passbook).
        OrderRelease = "order_release",
        /// Coins that expired by the community's settlement rule.
        Expiry = "expiry",
        FundDonation = "fund_donation",
        FundGrant = "fund_grant",
    }
}

impl JournalKind {
    /// How a passbook names the line.
    pub const fn label(self) -> &'static str {
        match self {
            JournalKind::OpeningBalance => "期初结转",
            JournalKind::Correction => "更正",
            JournalKind::Redemption => "兑换",
            JournalKind::RedemptionVoid => "兑换撤销",
            JournalKind::DeedCredit => "积分入账",
            JournalKind::DeedDeduction => "扣分",
            JournalKind::DeedReversal => "冲正",
            JournalKind::Clawback => "追回",
            JournalKind::OrderHold => "预订",
            JournalKind::OrderRelease => "预订退回",
            JournalKind::Expiry => "过期清零",
            JournalKind::FundDonation => "爱心捐赠",
            JournalKind::FundGrant => "基金救助",
        }
    }
}

stored_words! {
    /// Whether a person or goods may take part.
    pub enum ActiveStatus {
        Active = "active",
        Inactive = "inactive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_itself() {
        for kind in JournalKind::ALL {
            assert_eq!(JournalKind::parse(kind.as_str()), Some(*kind));
            assert!(!kind.label().is_empty());
        }
        for kind in AccountKind::ALL {
            assert_eq!(AccountKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(JournalKind::parse("other"), None);
    }
}
