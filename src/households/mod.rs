//! Households (户, 一户一档): members grouped under a head (户主), with a passbook of their own.
//! A community setting says whether deeds credit the member or their household, and whether
//! members may redeem from the household's passbook at the counter.

pub mod http;
pub mod model;
pub mod store;
pub mod web;
