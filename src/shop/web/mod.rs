//! The shop counter (积分超市柜台) in the console: find the resident, their card and the goods,
//! the basket, the receipt and its prints, voids, and the day's register.

pub mod counter;
pub mod receipts;
pub mod register;
