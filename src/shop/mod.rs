//! The points shop (积分超市): goods and stock, the counter's redemptions, voids, the register.

pub mod http;
pub mod model;
pub mod plan;
pub mod store;
pub mod view;
pub mod web;
pub mod write;
