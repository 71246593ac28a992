//! The users' JSON faces.

pub mod login;
pub mod users;
