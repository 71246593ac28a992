//! Credentials without HTTP: JWTs, password hashes, login throttling, the short memory of token
//! holders. The bearer-token extractor is the HTTP plumbing's (`crate::http::extract`).

pub mod cache;
pub mod jwt;
pub mod password;
pub mod throttle;

pub use cache::UserCache;
pub use jwt::{Claims, JwtKeys};
pub use throttle::LoginThrottle;
