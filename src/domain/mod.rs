//! Pure domain types: no actix, no diesel. Values are built through `parse`/`TryFrom`, so a value
//! that exists is valid.

pub mod dates;
pub mod ids;
pub mod member;
pub mod points;
pub mod policy;
pub mod roles;
pub mod transaction;

pub use ids::{
    AccountId, CommunityId, DeedId, GoodsId, JournalId, MemberId, RedemptionId, RuleId, UserId,
};
pub use points::{Points, PointsError, PointsTotal};
pub use policy::{Act, Actor, SelfDealing, Subject};
pub use roles::{Role, RoleSet};
pub use transaction::{
    BalancedTransaction, ChainLink, ChainPosting, HashFormat, PostingDraft, TransactionError,
};
