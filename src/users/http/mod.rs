//! The users' JSON faces.

pub mod login;
pub mod password_reset;
pub mod users;
