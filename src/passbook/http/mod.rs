//! The passbook's JSON faces.

pub mod accounts;
pub mod statements;
