//! How a community runs households.

use crate::stored_words;

stored_words! {
    /// Whose passbook an approved deed credits.
    pub enum CreditTo {
        /// The member's own passbook (the default).
        Member = "member",
        /// The household's passbook, when the member belongs to one (一户一档).
        Household = "household",
    }
}

/// A community's household rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HouseholdRules {
    pub credit_to: CreditTo,
    /// Members may pay at the counter from their household's passbook.
    pub members_redeem: bool,
}

impl Default for HouseholdRules {
    fn default() -> Self {
        HouseholdRules {
            credit_to: CreditTo::Member,
            members_redeem: false,
        }
    }
}

/// Characters a household's name (户名: 张家, 3栋201) may have.
pub const NAME_CHARS_MAX: usize = 40;
