//! What every command shares: the idempotency claim it may carry, what a posting answers, and the
//! refusals the writer can give. The commands themselves belong to their concepts (see
//! `crate::commands`).

use serde::{Deserialize, Serialize};

use crate::kernel::{
    AccountId, Act, DeedId, GoodsId, JournalId, MemberId, Points, RedemptionId, UserId,
};

/// Characters a reason or memo may have.
pub const MEMO_CHARS_MAX: usize = 500;

/// A claim on an idempotency key, written in the same transaction as the effect it guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub user_id: UserId,
    pub key: String,
    pub request_hash: String,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockShortage {
    pub goods_id: GoodsId,
    pub sku: String,
    pub requested: i64,
    pub available: i64,
}

/// A refusal or failure of one command. Refusals are final answers and are stored with the
/// idempotency key of the request that heard them (see [`LedgerError::is_final`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerError {
    #[error("account not found")]
    AccountNotFound(AccountId),
    #[error("member not found")]
    MemberNotFound(MemberId),
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
    #[error("not enough stock")]
    OutOfStock(Vec<StockShortage>),
    #[error("goods not found")]
    GoodsNotFound(GoodsId),
    #[error("the goods are not on sale")]
    GoodsInactive { goods_id: GoodsId, sku: String },
    #[error("the member is inactive")]
    MemberInactive(MemberId),
    #[error("the monthly limit for these goods would be exceeded")]
    MonthlyLimit {
        goods_id: GoodsId,
        sku: String,
        limit: i64,
        already: i64,
        requested: i64,
    },
    #[error("the prices changed; the basket now costs {total}")]
    PriceChanged { total: Points },
    #[error("the redemption was already voided")]
    AlreadyVoided(RedemptionId),
    #[error("redemption not found")]
    RedemptionNotFound(RedemptionId),
    #[error("a clerk may void a redemption only on the day it was made")]
    VoidWindowClosed,
    #[error("the amount is too large")]
    TooLarge,
    #[error("deed not found")]
    DeedNotFound(DeedId),
    #[error("a {status} deed cannot be {action}")]
    InvalidTransition { status: String, action: String },
    #[error("this community decides in one stage: an admin approves or rejects directly")]
    SingleStageReview,
    #[error("only the submitter withdraws a deed")]
    NotTheSubmitter,
    #[error(transparent)]
    SelfDealing(#[from] crate::kernel::SelfDealing),
    #[error("the monthly cap would be exceeded")]
    MonthlyCapExceeded {
        cap: Points,
        used: Points,
        remaining: Points,
    },
    #[error("the deed's public notice has not ended")]
    NoticeNotOver,
    #[error("the deed has {count} undecided objection(s); an admin rules on them first")]
    ObjectionsUndecided { count: usize },
    #[error("objection not found")]
    ObjectionNotFound,
    #[error("this user's objection to the deed is still undecided")]
    AlreadyObjected,
    #[error("the objection was already {status}")]
    ObjectionRuled { status: String },
    #[error("order not found")]
    OrderNotFound(uuid::Uuid),
    #[error("the order was already {status}")]
    OrderEnded { status: String },
    #[error("the order's time has not run out")]
    OrderNotDue,
    #[error("no coins of this account are due to expire")]
    NothingToExpire(AccountId),
    #[error("grant not found")]
    GrantNotFound,
    #[error("the grant was already {status}")]
    GrantDecided { status: String },
    #[error("the admin who proposed a grant does not decide it")]
    OwnProposal,
    #[error("the fund holds {balance} points; {required} are required")]
    FundInsufficient { balance: Points, required: Points },
    #[error("the idempotency key was taken by a concurrent request")]
    IdempotencyKeyTaken,
    #[error("the ledger writer is busy; retry shortly")]
    QueueFull,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl LedgerError {
    pub fn invalid_transition(status: &str, action: &str) -> LedgerError {
        LedgerError::InvalidTransition {
            status: status.to_string(),
            action: action.to_string(),
        }
    }

    /// True for a refusal judged on the ledger's rows, which is the answer to the request for
    /// good; false for a failure a retry may get past (busy, unavailable, a key in use).
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            LedgerError::QueueFull | LedgerError::Unavailable(_) | LedgerError::IdempotencyKeyTaken
        )
    }

    /// The form kept with an idempotency key.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "\"unreadable\"".into())
    }

    pub fn from_stored(text: &str) -> Option<LedgerError> {
        serde_json::from_str(text).ok()
    }

    /// The act a self-dealing refusal names.
    pub fn self_dealing_act(&self) -> Option<Act> {
        match self {
            LedgerError::SelfDealing(s) => Some(s.act),
            _ => None,
        }
    }
}
