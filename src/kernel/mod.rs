//! The kernel: pure types with no actix and no diesel. Typed ids, points that cannot round, the
//! one clock and a community's calendar, roles and the policy of who may do what, balanced
//! transactions and the bytes of their hash chain, and the stored words of the ledger. Values are
//! built through `parse`/`TryFrom`, so a value that exists is valid.

pub mod dates;
pub mod ids;
pub mod points;
pub mod policy;
pub mod roles;
pub mod time;
pub mod transaction;
pub mod words;

pub use ids::{
    AccountId, CommunityId, DeedId, GoodsId, GrantId, JournalId, MemberId, RedemptionId, RuleId,
    UserId,
};
pub use points::{Points, PointsError, PointsTotal};
pub use policy::{Act, Actor, Permission, SelfDealing, Subject};
pub use roles::{Role, RoleSet};
pub use time::{Clock, LocalCalendar};
pub use transaction::{
    BalancedTransaction, ChainLink, ChainPosting, HashFormat, PostingDraft, TransactionError,
};
pub use words::{AccountKind, ActiveStatus, JournalKind};
