//! What every login shares, a resident's or an operator's: the address attempts are counted
//! against, the answers for wrong credentials and for too many of them, and the slow check.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};

use crate::auth::password::{verify_against_dummy, verify_password};
use crate::http::problem::ApiError;
use crate::http::state::AppState;

/// Longest password a login considers; anything longer is wrong without being hashed.
pub const LOGIN_PASSWORD_CHARS_MAX: usize = 1024;

/// The address the throttle counts attempts against: the TCP peer, which a client cannot choose.
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub fn too_many_attempts(retry_after_seconds: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "too many wrong passwords; wait before trying again",
    )
    .retry_after(retry_after_seconds)
}

pub fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "the username or password is wrong",
    )
}

/// Checks `password` against `stored` (the hash of an active account) on the blocking pool, one
/// of a few at a time: argon2 is deliberately slow. With no account, a dummy hash is checked, so
/// an unknown name takes as long as a wrong password.
pub async fn password_matches(
    state: &AppState,
    password: String,
    stored: Option<String>,
) -> Result<bool, ApiError> {
    let _permit = state
        .hashing_permits
        .acquire()
        .await
        .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
    Ok(web::block(move || match stored {
        Some(hash) => verify_password(&password, &hash),
        None => {
            verify_against_dummy(&password);
            false
        }
    })
    .await?)
}
