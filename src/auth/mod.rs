//! Authentication: JWTs, password hashes, login throttling, and the extractor that turns a
//! bearer token into a checked user with roles.

pub mod cache;
pub mod extract;
pub mod jwt;
pub mod password;
pub mod throttle;

pub use cache::UserCache;
pub use extract::AuthUser;
pub use jwt::{Claims, JwtKeys};
pub use throttle::LoginThrottle;
