//! Deeds (好人好事, 志愿服务), the points schedule (积分细则) and the review workflow that mints
//! coins. `model` is the workflow; `plan` its part of the ledger writer.

pub mod http;
pub mod model;
pub mod plan;
pub mod store;
pub mod view;
pub mod web;
pub mod write;
