//! A grant's states and the rules of the four eyes, written once.

use crate::kernel::{GrantId, MemberId, UserId};
use crate::ledger::LedgerError;
use crate::stored_words;

/// Characters a grant's reason or a donation's memo may have.
pub const FUND_TEXT_CHARS_MAX: usize = crate::ledger::command::MEMO_CHARS_MAX;
/// Grants a list shows at most.
pub const GRANTS_PAGE_ROWS_MAX: i64 = 200;
/// Lines of the public statement shown at most.
pub const STATEMENT_LINES_MAX: i64 = 100;

stored_words! {
    /// Where a grant stands: proposed by one admin, then decided once by another.
    pub enum GrantStatus {
        Proposed = "proposed",
        Approved = "approved",
        Rejected = "rejected",
    }
}

/// What a decision needs to know of a grant.
#[derive(Debug, Clone, Copy)]
pub struct GrantFacts {
    pub id: GrantId,
    pub status: GrantStatus,
    pub proposed_by: UserId,
    pub member_id: MemberId,
}

/// Whether `decider` may decide the grant now: it is still proposed and was proposed by someone
/// else. (Nobody deciding for their own passbook is the policy's separation of duties.)
pub fn may_decide(grant: GrantFacts, decider: UserId) -> Result<(), LedgerError> {
    if grant.status != GrantStatus::Proposed {
        return Err(LedgerError::GrantDecided {
            status: grant.status.as_str().to_string(),
        });
    }
    if grant.proposed_by == decider {
        return Err(LedgerError::OwnProposal);
    }
    Ok(())
}
