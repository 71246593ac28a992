//! 道德银行 · Moral Bank: a community moral-coin ledger service.
//!
//! `domain` holds pure types; `ledger` the single-writer engine and verification; `db` storage on
//! SQLite or PostgreSQL; `auth` tokens and passwords; `api` the HTTP resources; `startup` wires
//! them together.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod ledger;
pub mod request_head;
pub mod startup;
