//! The deeds' JSON faces.

pub mod deeds;
pub mod rules;
