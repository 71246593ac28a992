//! An admin's reset of a user's password: a temporary password, shown once, that the user must
//! replace at the next login before anything else works.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::password::{generate_password, hash_password};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{rfc3339, with_conn};
use crate::kernel::{Permission, UserId};
use crate::users::model::{check_reset, temporary_password_expiry, ResetRefusal};
use crate::users::store::PasswordReset;

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordResetResponse {
    pub user_id: uuid::Uuid,
    pub username: String,
    /// Shown this once and nowhere else: hand it to the user in person. It is stored only as an
    /// argon2id hash and never logged. It works until `expires_at`, for one thing only: logging
    /// in to set a new password with `POST /me/password`.
    pub temporary_password: String,
    pub expires_at: String,
    /// Always true: the next login must set a new password.
    pub password_change_required: bool,
}

fn too_many_resets(retry_after_seconds: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_password_resets",
        "too many password resets by this admin or of this user; wait before trying again",
    )
    .retry_after(retry_after_seconds)
}

/// Resets a user's password to a generated temporary one (admin; users of the admin's own
/// community). Every token the user holds is revoked; the next login with the temporary password
/// must set a new one before anything else works. An admin changes their own password with
/// `POST /me/password` instead. Throttled like a login, per admin and per user.
#[utoipa::path(tag = "users", operation_id = "reset_user_password",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "user id")),
    responses((status = 200, body = PasswordResetResponse),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden: not an admin; forbidden_self_password_reset: use POST /me/password for your own", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        (status = 429, description = "too_many_password_resets: this admin, or this user's password, was reset too often; see Retry-After", body = Problem, content_type = "application/problem+json")))]
#[post("/users/{id}/password-reset")]
pub async fn reset_user_password(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let reset = reset_password(&state, &user, UserId(path.into_inner())).await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(reset))
}

/// Resets `target`'s password to a temporary one, answered once: the JSON endpoint and the
/// console's page.
pub async fn reset_password(
    state: &AppState,
    user: &AuthUser,
    target: UserId,
) -> Result<PasswordResetResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let actor = user.user_id;
    check_reset(actor, target).map_err(|refusal| match refusal {
        ResetRefusal::OwnPassword => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_self_password_reset",
            "an admin does not reset their own password; change it with POST /api/v1/me/password",
        ),
    })?;
    let attempt = state
        .throttle
        .begin_password_reset(&actor.0.to_string(), &target.0.to_string())
        .map_err(too_many_resets)?;
    let community = user.community_id;
    // Looked up before the slow hash, so an unknown id answers at once (and gives its slot back).
    with_conn(state, move |conn| {
        crate::users::store::user_by_id(conn, target)?
            .filter(|u| u.community_id == community.into())
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found("user"))
    })
    .await?;
    let temporary_password = generate_password();
    let hash = {
        let _permit = state
            .hashing_permits
            .acquire()
            .await
            .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
        let password = temporary_password.clone();
        web::block(move || hash_password(&password))
            .await?
            .map_err(ApiError::internal)?
    };
    let reset_at = state.clock.now();
    let expires_at = temporary_password_expiry(reset_at);
    let row = with_conn(state, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            crate::users::store::reset_password(
                conn,
                &PasswordReset {
                    community,
                    user: target,
                    reset_by: Some(actor),
                    password_hash: &hash,
                    reset_at,
                    expires_at,
                },
            )
            .map_err(ApiError::from)
        })
    })
    .await;
    // Forgotten whatever the outcome: a reset that committed must not be outlived by a cached
    // token version or a cleared flag.
    state.users.forget(target);
    let row = row?.ok_or_else(|| ApiError::not_found("user"))?;
    attempt.spent();
    tracing::info!(user = %target.0, by = %actor.0, "password reset");
    Ok(PasswordResetResponse {
        user_id: row.id.0,
        username: row.username,
        temporary_password,
        expires_at: rfc3339(expires_at),
        password_change_required: row.password_change_required,
    })
}
