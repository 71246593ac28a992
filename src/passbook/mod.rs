//! The passbook (存折): accounts, statements, the printable passbook, balances at a time.

pub mod http;
pub mod store;
pub mod web;
