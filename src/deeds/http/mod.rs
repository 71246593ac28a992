//! The deeds' JSON faces.

pub mod board;
pub mod decide;
pub mod deeds;
pub mod rules;
