//! The bearer-token extractor: a request that reaches a handler with an `AuthUser` carries a
//! valid, unrevoked token of an active user, and the user's current roles.
//!
//! It is also the one place that holds a user whose password an admin reset to the password
//! change: `AuthUser` refuses them with 403 `password_change_required`, so every route that takes
//! one is closed to them without a check of its own. The few routes that must stay open to them
//! (who am I, change my password, log out) take [`PasswordChangeUser`] instead.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};

use crate::auth::cache::UserFacts;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::kernel::{CommunityId, MemberId, Permission, RoleSet, UserId};

/// Longest Authorization header considered; anything longer is not a token of ours.
const AUTHORIZATION_HEADER_BYTES_MAX: usize = 4096;

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: UserId,
    pub community_id: CommunityId,
    pub username: String,
    pub roles: RoleSet,
    pub member_id: Option<MemberId>,
    /// Always false in an `AuthUser` a handler receives; true only inside a
    /// [`PasswordChangeUser`] whose password an admin reset.
    pub password_change_required: bool,
}

/// A token holder who may still have to replace a temporary password: taken only by the routes
/// a user must reach to do so (`GET /me`, `POST /me/password`, `POST /auth/logout`). Every other
/// route takes [`AuthUser`].
#[derive(Debug, Clone)]
pub struct PasswordChangeUser(pub AuthUser);

impl AuthUser {
    /// True when one of the user's roles holds `permission` (see `kernel::policy::GRANTS`).
    pub fn may(&self, permission: Permission) -> bool {
        self.roles.may(permission)
    }

    /// Refuses with 403 unless one of the user's roles holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.may(permission) {
            return Ok(());
        }
        let names: Vec<&str> = permission.roles().iter().map(|r| r.as_str()).collect();
        Err(ApiError::forbidden(format!(
            "this needs one of the roles: {}",
            names.join(", ")
        )))
    }

    /// The user as the one acting, for the separation of duties.
    pub fn actor(&self) -> crate::kernel::Actor {
        crate::kernel::Actor {
            user_id: self.user_id,
            member_id: self.member_id,
        }
    }
}

fn invalid_token() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the access token is missing, malformed, expired or revoked; log in again",
    )
}

/// An operator's token is valid but opens no community: the platform sees no resident data.
fn operator_token() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::FORBIDDEN,
        "operator_token",
        "a platform operator's token opens the platform's endpoints only; \
         log in as a user of the community",
    )
}

/// The bearer token as text, or the problem a missing or oversized header is.
fn bearer_token(header: Option<&[u8]>) -> Result<&str, ApiError> {
    let header = header.ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "missing_token",
            "send 'Authorization: Bearer <token>' from POST /api/v1/auth/login",
        )
    })?;
    if header.len() > AUTHORIZATION_HEADER_BYTES_MAX {
        return Err(invalid_token());
    }
    let header = std::str::from_utf8(header).map_err(|_| invalid_token())?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(invalid_token)
}

fn password_change_required() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::FORBIDDEN,
        "password_change_required",
        "an admin reset your password: set a new one with POST /api/v1/me/password \
         (the temporary password as current_password), then log in again",
    )
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<AuthUser, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let authenticating = authenticate(req);
        Box::pin(async move {
            let user = authenticating.await?;
            if user.password_change_required {
                return Err(password_change_required());
            }
            Ok(user)
        })
    }
}

impl FromRequest for PasswordChangeUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<PasswordChangeUser, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let authenticating = authenticate(req);
        Box::pin(async move { Ok(PasswordChangeUser(authenticating.await?)) })
    }
}

/// The bearer token's user, whatever the state of their password. A console session's token is
/// refused here: the JSON API takes bearer tokens from a login, never the browser's cookie.
fn authenticate(req: &HttpRequest) -> impl Future<Output = Result<AuthUser, ApiError>> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    async move {
        let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
        let token = bearer_token(header.as_deref())?;
        let (user, claims) = user_of_token(&state, token).await?;
        if claims.ses.is_some() {
            return Err(invalid_token());
        }
        Ok(user)
    }
}

/// The user a token (a bearer token or a console session's) stands for, with its claims: valid,
/// unrevoked, of an active user of the community it names. Whether the password must be
/// changed is left to the caller.
pub async fn user_of_token(
    state: &AppState,
    token: &str,
) -> Result<(AuthUser, crate::auth::Claims), ApiError> {
    let claims = state.jwt.verify(token).map_err(|_| invalid_token())?;
    if claims.op {
        return Err(operator_token());
    }
    let user_id = UserId(claims.sub);
    let facts = match state.users.get(user_id) {
        Some(facts) => facts,
        None => {
            let ticket = state.users.ticket();
            let row = crate::http::with_conn_quick(state, move |conn| {
                Ok(crate::users::store::user_by_id(conn, user_id)?)
            })
            .await?
            .ok_or_else(invalid_token)?;
            let facts = UserFacts {
                community_id: row.community_id.into(),
                username: row.username,
                roles: RoleSet::parse_stored(&row.roles).map_err(ApiError::internal)?,
                member_id: row.member_id.map(Into::into),
                active: row.status == "active",
                token_version: row.token_version,
                password_change_required: row.password_change_required,
            };
            state.users.store(ticket, user_id, facts.clone());
            facts
        }
    };
    if !facts.active || facts.token_version != claims.tv || facts.community_id.0 != claims.com {
        return Err(invalid_token());
    }
    Ok((
        AuthUser {
            user_id,
            community_id: facts.community_id,
            username: facts.username,
            roles: facts.roles,
            member_id: facts.member_id,
            password_change_required: facts.password_change_required,
        },
        claims,
    ))
}

/// A platform operator: a valid, unrevoked operator token of an active operator.
#[derive(Debug, Clone)]
pub struct OperatorUser {
    pub operator_id: uuid::Uuid,
    pub username: String,
}

impl FromRequest for OperatorUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<OperatorUser, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.as_bytes().to_vec());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let token = bearer_token(header.as_deref())?;
            let claims = state.jwt.verify(token).map_err(|_| invalid_token())?;
            if !claims.op {
                return Err(ApiError::forbidden(
                    "this is for platform operators; log in with POST /api/v1/auth/operator-login",
                ));
            }
            let id = claims.sub;
            // Operators act rarely; their row is read on every request, so a revocation holds
            // at once on every instance.
            let row = crate::http::with_conn_quick(&state, move |conn| {
                Ok(crate::communities::store::operator_by_id(conn, id)?)
            })
            .await?
            .filter(|row| row.status == "active" && row.token_version == claims.tv)
            .ok_or_else(invalid_token)?;
            Ok(OperatorUser {
                operator_id: id,
                username: row.username,
            })
        })
    }
}
