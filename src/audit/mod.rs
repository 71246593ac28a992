//! For the auditor: ledger verification and the journal feed.

pub mod http;
pub mod web;
