//! The community fund (爱心基金): residents donate coins from their passbooks to the fund, and an
//! admin grants from it to a resident in need with a reason, approved by a second admin (four
//! eyes). Every movement is a journal transaction through the writer; the fund never goes below
//! zero; its statement is public on the notice board with masked names.

pub mod http;
pub mod model;
pub mod plan;
pub mod store;
pub mod web;
pub mod write;
