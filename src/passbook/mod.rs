//! The passbook (存折): accounts, statements, the printable passbook, balances at a time, and the
//! statement as a CSV or .xlsx file.

pub mod export;
pub mod http;
pub mod store;
pub mod web;
