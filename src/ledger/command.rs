//! What the engine can be asked to do, and what it answers.

use crate::domain::{AccountId, CommunityId, JournalId, MemberId, Points, UserId};

/// Characters a reason or memo may have.
pub const MEMO_CHARS_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentKind {
    /// A balance carried over from a paper passbook.
    OpeningBalance,
    /// A correction of a mistake, credit or debit.
    Correction,
}

impl AdjustmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentKind::OpeningBalance => "opening_balance",
            AdjustmentKind::Correction => "correction",
        }
    }

    pub fn parse(text: &str) -> Option<AdjustmentKind> {
        match text {
            "opening_balance" => Some(AdjustmentKind::OpeningBalance),
            "correction" => Some(AdjustmentKind::Correction),
            _ => None,
        }
    }
}

/// A claim on an idempotency key, written in the same transaction as the effect it guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub user_id: UserId,
    pub key: String,
    pub request_hash: String,
}

#[derive(Debug, Clone)]
pub enum Command {
    /// Credit (positive amount) or debit (negative) a member against the issuance account.
    Adjust {
        community_id: CommunityId,
        member_account_id: AccountId,
        kind: AdjustmentKind,
        amount: Points,
        reason: String,
        actor_id: UserId,
        idempotency: IdempotencyClaim,
    },
    /// Answered after the batch it rides in commits: proves the writer and its database work.
    Ping,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedLine {
    pub account_id: AccountId,
    pub amount: Points,
    pub balance_after: Points,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub journal_id: JournalId,
    pub seq: i64,
    pub lines: Vec<PostedLine>,
    /// UTC, microsecond precision: exactly what is stored.
    pub created_at: chrono::NaiveDateTime,
}

impl Posted {
    pub fn line_for(&self, account: AccountId) -> Option<&PostedLine> {
        self.lines.iter().find(|l| l.account_id == account)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Posted(Posted),
    Pong,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("account not found")]
    AccountNotFound(AccountId),
    #[error("the account is not a member account")]
    NotAMemberAccount(AccountId),
    #[error("the account is frozen")]
    AccountFrozen(AccountId),
    #[error("the member has {balance} points; {required} are required")]
    InsufficientBalance {
        member_id: Option<MemberId>,
        balance: Points,
        required: Points,
    },
    #[error("the idempotency key was taken by a concurrent request")]
    IdempotencyKeyTaken,
    #[error("the ledger writer is busy; retry shortly")]
    QueueFull,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}
