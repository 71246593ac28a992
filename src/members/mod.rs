//! Residents (居民) and their passbook numbers: the roster.

pub mod http;
pub mod model;
pub mod store;
pub mod web;
