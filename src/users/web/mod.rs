//! The users' console pages.

pub mod login;
