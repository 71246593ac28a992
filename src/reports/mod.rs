//! Reports: the honor roll (光荣榜) and the period summary.

pub mod http;
pub mod store;
pub mod web;
