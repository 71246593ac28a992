//! Who may log in, with which roles: users, login, logout, password change and reset.

pub mod http;
pub mod model;
pub mod store;
pub mod web;
