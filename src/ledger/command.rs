//! What the engine can be asked to do, and what it answers.

use serde::{Deserialize, Serialize};

use crate::db::models::{DeedRow, RedemptionLineRow, RedemptionRow, StockMovementRow};
use crate::domain::{
    AccountId, Act, Actor, CommunityId, DeedId, GoodsId, JournalId, MemberId, Points, RedemptionId,
    UserId,
};

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
        actor: Actor,
        idempotency: IdempotencyClaim,
    },
    /// The shop counter: member −total, shop +total, stock down, redemption recorded.
    Redeem(Box<Redemption>),
    /// The exact mirror of a redemption, once: coins and stock come back.
    VoidRedemption {
        community_id: CommunityId,
        redemption_id: RedemptionId,
        actor: Actor,
        reason: String,
        /// A clerk may void only on the redemption's own local day; an admin any time.
        same_day_only: bool,
    },
    /// More goods on the shelf. No coins move, but stock is the writer's to change.
    Restock {
        community_id: CommunityId,
        goods_id: GoodsId,
        quantity: i64,
        reason: String,
        actor_id: UserId,
    },
    /// Approve a deed: it enters public notice, or (without notice) credits at once.
    ApproveDeed {
        community_id: CommunityId,
        deed_id: DeedId,
        actor: Actor,
        /// The business clock's "now": notice periods and cap months are counted from it.
        clock_now: chrono::NaiveDateTime,
        review_stages: i32,
        notice_days: i32,
    },
    /// Credit a deed whose notice ended unopposed (the sweeper's command).
    CreditDueDeed {
        community_id: CommunityId,
        deed_id: DeedId,
        clock_now: chrono::NaiveDateTime,
    },
    /// Undo a credited deed with a linked reversing transaction.
    ReverseDeed {
        community_id: CommunityId,
        deed_id: DeedId,
        actor: Actor,
        reason: String,
    },
    /// A step of the deed workflow that moves no coins: first check, rejection, withdrawal,
    /// objection. It runs in the writer like the steps that do, so every step of a deed takes
    /// the same locks in the same order, and the workflow's rules are checked in one place.
    MoveDeed(Box<DeedMove>),
    /// Answered after the batch it rides in commits: proves the writer and its database work.
    Ping,
}

/// The coinless steps of the deed workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeedStep {
    /// The first check passes the deed on to the decision.
    Pass,
    /// The first check sends the deed back to the submitter.
    Return,
    Reject,
    /// The submitter takes the deed back before a decision.
    Withdraw,
    /// Someone objects while the deed is on public notice: it goes back to review.
    Object,
}

#[derive(Debug, Clone)]
pub struct DeedMove {
    pub community_id: CommunityId,
    pub deed_id: DeedId,
    pub actor: Actor,
    pub step: DeedStep,
    pub reason: Option<String>,
    /// The business clock's "now", against which a notice period is judged.
    pub clock_now: chrono::NaiveDateTime,
    pub review_stages: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasketLine {
    pub goods_id: GoodsId,
    pub quantity: i64,
}

#[derive(Debug, Clone)]
pub struct Redemption {
    pub community_id: CommunityId,
    pub redemption_id: RedemptionId,
    /// The writer finds the member's passbook account, number and name.
    pub member_id: MemberId,
    pub clerk: Actor,
    pub clerk_username: String,
    /// Distinct goods, each at most once.
    pub lines: Vec<BasketLine>,
    /// What the counter showed; a different server total is refused with the new total.
    pub expected_total: Option<Points>,
    pub idempotency: IdempotencyClaim,
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

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Posted(Posted),
    Redeemed {
        posted: Posted,
        redemption: RedemptionRow,
        lines: Vec<RedemptionLineRow>,
    },
    Voided {
        posted: Posted,
        redemption: RedemptionRow,
        lines: Vec<RedemptionLineRow>,
    },
    Restocked {
        goods_id: GoodsId,
        movement: StockMovementRow,
    },
    Deed {
        deed: Box<DeedRow>,
        posted: Option<Posted>,
    },
    Pong,
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
    SelfDealing(#[from] crate::domain::SelfDealing),
    #[error("the monthly cap would be exceeded")]
    MonthlyCapExceeded {
        cap: Points,
        used: Points,
        remaining: Points,
    },
    #[error("the deed's public notice has not ended")]
    NoticeNotOver,
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
