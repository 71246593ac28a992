//! 道德银行 · Moral Bank: a community moral-coin ledger service.
//!
//! The tree is cut by business concept around a ledger kernel. From the bottom up:
//! `kernel` (pure types: ids, points, time, roles and policy), `db` and `auth` (storage and
//! credentials, no HTTP), `ledger` (the single writer, its batch and posting primitive, the stores
//! of both backends, verification), the concepts' lower parts (`model`, `store`, `view`, `plan`),
//! `commands` (every command of the writer, put together), `http` (plumbing below the handlers),
//! the concepts' JSON faces (`http`) beside the console's foundation (`console`), the concepts'
//! console pages (`web`), `app` (composition: state, routes, bootstrap, background jobs)
//! and `cli`. `tests/suite/layering.rs` holds the code to this order.

pub mod kernel;

pub mod auth;
pub mod db;

pub mod ledger;

pub mod adjustments;
pub mod audit;
pub mod communities;
pub mod deeds;
pub mod expiry;
pub mod fund;
pub mod households;
pub mod members;
pub mod orders;
pub mod passbook;
pub mod reports;
pub mod shop;
pub mod trust;
pub mod users;

pub mod commands;

pub mod http;

pub mod console;

pub mod app;
pub mod cli;

pub mod harness;
