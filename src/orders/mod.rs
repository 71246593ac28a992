//! Reserved orders (预订) with a pickup code: the resident, or a clerk for them, reserves goods;
//! the coins and the stock are held, not spent; at the counter the code collects them, or the
//! order is cancelled, or the sweeper releases it when the community's time runs out. `plan` is
//! its part of the ledger writer.

pub mod http;
pub mod model;
pub mod plan;
pub mod store;
pub mod view;
pub mod web;
pub mod write;
