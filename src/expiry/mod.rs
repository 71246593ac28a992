//! Coins that expire (清零): a community's rule (never, at the start of each year, or N months
//! after they were earned), the sweeper's expiry of the oldest unspent coins to the community's
//! `expired` account exactly once, and the warning residents see before. `model` is the rule;
//! `plan` its part of the ledger writer.

pub mod http;
pub mod model;
pub mod plan;
pub mod store;
