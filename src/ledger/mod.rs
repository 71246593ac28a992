//! The ledger: money-moving commands, the single writer that executes them with group commit,
//! and verification of everything written.

mod checkpoint;
pub mod command;
pub mod engine;
mod plan;
pub mod verify;
mod view;
mod write;
mod write_pg;

pub use command::{
    AdjustmentKind, BasketLine, Command, IdempotencyClaim, LedgerError, Outcome, Posted,
    PostedLine, Redemption, StockShortage,
};
pub use engine::{Engine, EngineSettings};
pub use plan::STOCK_MAX;

/// Account kinds as stored.
pub const ACCOUNT_KIND_MEMBER: &str = "member";
pub const ACCOUNT_KIND_ISSUANCE: &str = "issuance";
pub const ACCOUNT_KIND_SHOP: &str = "shop";
pub const ACCOUNT_KIND_DEDUCTIONS: &str = "deductions";
pub const SYSTEM_ACCOUNT_KINDS: [&str; 3] = [
    ACCOUNT_KIND_ISSUANCE,
    ACCOUNT_KIND_SHOP,
    ACCOUNT_KIND_DEDUCTIONS,
];
