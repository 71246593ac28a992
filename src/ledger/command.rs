//! What the engine can be asked to do, and what it answers.

use crate::db::models::{DeedRow, RedemptionLineRow, RedemptionRow, StockMovementRow};
use crate::domain::{
    AccountId, CommunityId, DeedId, GoodsId, JournalId, MemberId, Points, RedemptionId, UserId,
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
        actor_id: UserId,
        idempotency: IdempotencyClaim,
    },
    /// The shop counter: member −total, shop +total, stock down, redemption recorded.
    Redeem(Box<Redemption>),
    /// The exact mirror of a redemption, once: coins and stock come back.
    VoidRedemption {
        community_id: CommunityId,
        redemption_id: RedemptionId,
        actor_id: UserId,
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
        actor_id: UserId,
        actor_member_id: Option<MemberId>,
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
        actor_id: UserId,
        reason: String,
    },
    /// Answered after the batch it rides in commits: proves the writer and its database work.
    Ping,
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
    pub clerk_id: UserId,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockShortage {
    pub goods_id: GoodsId,
    pub sku: String,
    pub requested: i64,
    pub available: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    InvalidTransition {
        status: String,
        action: &'static str,
    },
    #[error("nobody approves a deed they submitted or that credits themselves")]
    ForbiddenSelfApproval,
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
