//! The shop's JSON faces.

pub mod goods;
pub mod redemptions;
