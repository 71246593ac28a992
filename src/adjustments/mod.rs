//! Opening balances carried over from paper passbooks, and corrections.

pub mod http;
pub mod plan;
