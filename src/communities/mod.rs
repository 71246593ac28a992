//! Communities (社区): each keeps its own chain, settings, rules, goods and calendar.

pub mod http;
pub mod model;
pub mod store;
