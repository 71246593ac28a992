//! Login, logout, the current user, and password change.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::password::{check_password_rules, hash_password, verify_password};
use crate::communities::model::COMMUNITY_CODE_CHARS_MAX;
use crate::communities::store::Resolved;
use crate::http::credentials::{
    client_address, invalid_credentials, password_matches, too_many_attempts,
    LOGIN_PASSWORD_CHARS_MAX,
};
use crate::http::extract::PasswordChangeUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::{CommunityId, RoleSet};
use crate::members::http::{member_view, MemberView};
use crate::users::model::USERNAME_CHARS_MAX;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The community's code. May be left out while the database holds one community; with
    /// several it is required (422 `community_required`).
    #[schema(example = "community")]
    pub community: Option<String>,
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// True after an admin reset the password: until `POST /me/password` sets a new one, the
    /// token admits only that, `GET /me` and `POST /auth/logout` (others answer 403
    /// `password_change_required`).
    pub password_change_required: bool,
}

/// The name the throttle counts a user's attempts under: `admin` of one community is not `admin`
/// of another.
pub fn throttle_name(community: Option<CommunityId>, username: &str) -> String {
    match community {
        Some(community) => format!("{}/{username}", community.0),
        None => format!("?/{username}"),
    }
}

fn community_required(communities: i64) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "community_required",
        format!("this server holds {communities} communities; give the community's code"),
    )
    .with("field", "community")
}

fn temporary_password_expired() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "temporary_password_expired",
        "this temporary password has expired; ask an admin to reset the password again",
    )
}

/// Exchanges a community, username and password for an access token.
#[utoipa::path(tag = "auth", operation_id = "create_token",
    request_body = LoginRequest,
    responses((status = 200, body = TokenResponse),
        problems::BadRequest,
        (status = 401, description = "invalid_credentials: wrong community, username or password (one answer for all three); temporary_password_expired: the password from an admin's reset is past its time", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "community_required (the server holds several communities), malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many wrong passwords for this user or from this address; see Retry-After", body = Problem, content_type = "application/problem+json")))]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        community,
        username,
        password,
    } = body.into_inner();
    let user = check_login(
        &state,
        &client_address(&req),
        community,
        &username,
        password,
    )
    .await?;
    let roles = RoleSet::parse_stored(&user.roles).map_err(ApiError::internal)?;
    let token = state
        .jwt
        .issue(
            user.id.into(),
            user.community_id.into(),
            roles,
            user.token_version,
        )
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_seconds(),
        password_change_required: user.password_change_required,
    }))
}

/// The active user a community code, username and password name, checked as every login is:
/// throttled per user and per address, the password hashed as slowly for an unknown name as
/// for a known one, a temporary password refused once its time is over. The JSON API's login
/// and the console's both come through here.
pub async fn check_login(
    state: &AppState,
    address: &str,
    community: Option<String>,
    username: &str,
    password: String,
) -> Result<crate::users::store::UserRow, ApiError> {
    let address = address.to_string();
    let username = username.to_string();
    if username.chars().count() > USERNAME_CHARS_MAX
        || password.chars().count() > LOGIN_PASSWORD_CHARS_MAX
        || community
            .as_ref()
            .is_some_and(|c| c.chars().count() > COMMUNITY_CODE_CHARS_MAX)
    {
        return Err(invalid_credentials());
    }
    let resolved = with_conn(state, move |conn| {
        Ok(crate::communities::store::resolve_community(
            conn,
            community.as_deref(),
        )?)
    })
    .await?;
    let community_id = match resolved {
        Resolved::Found(row) => Some(CommunityId::from(row.id)),
        Resolved::Required { communities } => return Err(community_required(communities)),
        // An unknown community is answered like a wrong password, after as long a check.
        Resolved::Unknown => None,
    };
    // The slot is taken before the slow hash, so concurrent guesses cannot all pass the check.
    let attempt = state
        .throttle
        .begin_attempt(&throttle_name(community_id, &username), &address)
        .map_err(too_many_attempts)?;
    let user = match community_id {
        Some(community_id) => {
            let username = username.clone();
            with_conn(state, move |conn| {
                Ok(crate::users::store::user_by_username(
                    conn,
                    community_id,
                    &username,
                )?)
            })
            .await?
        }
        None => None,
    }
    .filter(|user| user.status == "active");
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password_matches(state, password, stored).await? {
        attempt.failed();
        tracing::info!(address = %address, "failed login");
        return Err(invalid_credentials());
    }
    let Some(user) = user else {
        return Err(invalid_credentials());
    };
    if crate::users::model::temporary_password_expired(
        user.password_change_required,
        user.temporary_password_expires_at,
        state.clock.now(),
    ) {
        attempt.failed();
        return Err(temporary_password_expired());
    }
    attempt.succeeded();
    Ok(user)
}

/// Revokes every token of the current user, on every device.
#[utoipa::path(tag = "auth", operation_id = "delete_tokens",
    security(("bearer" = [])),
    responses((status = 204, description = "all of the user's tokens are revoked"),
        problems::Unauthorized))]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    PasswordChangeUser(user): PasswordChangeUser,
) -> Result<HttpResponse, ApiError> {
    end_sessions(&state, user.user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes every token and console session of the user, on every instance.
pub async fn end_sessions(
    state: &AppState,
    user_id: crate::kernel::UserId,
) -> Result<(), ApiError> {
    let bumped = with_conn(state, move |conn| {
        Ok(crate::users::store::bump_token_version(conn, user_id)?)
    })
    .await;
    state.users.forget(user_id);
    bumped?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummary {
    pub id: uuid::Uuid,
    pub username: String,
    #[schema(example = json!(["admin"]))]
    pub roles: Vec<String>,
    pub community_id: uuid::Uuid,
    pub member_id: Option<uuid::Uuid>,
}

/// The community a user belongs to, as a console's top bar names it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommunitySummary {
    #[schema(example = "community")]
    pub code: String,
    #[schema(example = "示范社区")]
    pub name: String,
    /// Dates and months of this community are counted at this offset from UTC.
    #[schema(example = "+08:00")]
    pub utc_offset: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: UserSummary,
    pub community: CommunitySummary,
    /// The user's own member record and passbook, when the user is a resident.
    pub member: Option<MemberView>,
    /// True after an admin reset the password: set a new one with `POST /me/password` before
    /// anything else.
    pub password_change_required: bool,
}

/// Who the token belongs to, with their own member record and balance.
#[utoipa::path(tag = "auth", operation_id = "get_me",
    security(("bearer" = [])),
    responses((status = 200, body = MeResponse),
        problems::Unauthorized))]
#[get("/me")]
pub async fn me(
    state: web::Data<AppState>,
    PasswordChangeUser(user): PasswordChangeUser,
) -> Result<HttpResponse, ApiError> {
    let community = {
        let id = user.community_id;
        with_conn(&state, move |conn| {
            crate::communities::store::community_by_id(conn, id)?
                .ok_or_else(|| ApiError::internal("a user's community is missing"))
        })
        .await?
    };
    let community = CommunitySummary {
        code: community.code,
        name: community.name,
        utc_offset: crate::communities::model::format_utc_offset(community.utc_offset_minutes),
    };
    let member = match user.member_id {
        Some(member_id) => {
            let community = user.community_id;
            let now = state.clock.now();
            with_conn(&state, move |conn| {
                let found = crate::members::store::member_with_account(conn, community, member_id)?;
                let owed =
                    crate::deeds::store::receivables::owed_by_member(conn, community, member_id)?;
                let Some((m, a)) = found else {
                    return Ok(None);
                };
                let mut view = member_view(&m, &a, owed);
                view.expiring =
                    crate::expiry::store::expiring(conn, community, &a, now)?.map(Into::into);
                Ok(Some(view))
            })
            .await?
        }
        None => None,
    };
    Ok(HttpResponse::Ok().json(MeResponse {
        user: UserSummary {
            id: user.user_id.0,
            username: user.username,
            roles: user.roles.iter().map(|r| r.as_str().to_string()).collect(),
            community_id: user.community_id.0,
            member_id: user.member_id.map(|m| m.0),
        },
        community,
        member,
        password_change_required: user.password_change_required,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the current user's password and revokes every token they hold; log in again.
#[utoipa::path(tag = "auth", operation_id = "update_password",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "changed; every token is revoked"),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "wrong_password: the current password is wrong; temporary_password_expired: the password from an admin's reset is past its time", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable,
        (status = 429, description = "too many wrong passwords for this user or from this address; see Retry-After", body = Problem, content_type = "application/problem+json")))]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    PasswordChangeUser(user): PasswordChangeUser,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    change_own_password(
        &state,
        &client_address(&req),
        &user,
        current_password,
        new_password,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces the user's password after checking the current one (throttled as a login is) and
/// revokes every token and console session they hold. The JSON API and the console both come
/// through here.
pub async fn change_own_password(
    state: &AppState,
    address: &str,
    user: &crate::http::extract::AuthUser,
    current_password: String,
    new_password: String,
) -> Result<(), ApiError> {
    check_password_rules(&new_password).map_err(ApiError::validation)?;
    // A temporary password was seen by the admin who gave it out; it must not stay in use.
    if user.password_change_required && new_password == current_password {
        return Err(
            ApiError::validation("choose a new password, not the temporary one")
                .with("field", "new_password"),
        );
    }
    // A stolen token must not become a way to guess the password: the current password is
    // checked under the same limits as a login, per user and per address.
    let attempt = state
        .throttle
        .begin_attempt(
            &throttle_name(Some(user.community_id), &user.username),
            address,
        )
        .map_err(too_many_attempts)?;
    let user_id = user.user_id;
    let stored = with_conn(state, move |conn| {
        Ok(crate::users::store::user_by_id(conn, user_id)?)
    })
    .await?
    .ok_or_else(|| ApiError::unauthorized("the user no longer exists"))?;
    let expired = crate::users::model::temporary_password_expired(
        stored.password_change_required,
        stored.temporary_password_expires_at,
        state.clock.now(),
    );
    let _permit = state
        .hashing_permits
        .acquire()
        .await
        .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
    let new_hash = web::block(move || {
        if !verify_password(&current_password, &stored.password_hash) {
            return Ok(None);
        }
        hash_password(&new_password).map(Some)
    })
    .await?
    .map_err(ApiError::internal)?;
    let Some(new_hash) = new_hash else {
        attempt.failed();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is wrong",
        ));
    };
    if expired {
        attempt.failed();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "temporary_password_expired",
            "this temporary password has expired; ask an admin to reset the password again",
        ));
    }
    attempt.succeeded();
    let changed = with_conn(state, move |conn| {
        Ok(crate::users::store::set_password_hash(
            conn, user_id, &new_hash,
        )?)
    })
    .await;
    state.users.forget(user_id);
    changed?;
    Ok(())
}
