//! Users: who may log in, with which roles, linked to which member.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::password::{check_password_rules, hash_password};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{page_limit, parse_cursor, rfc3339, with_conn, PageQuery};
use crate::kernel::Permission;
use crate::kernel::{MemberId, Role, RoleSet, UserId};
use crate::users::store::UserRow;
use crate::users::store::{CreateUserError, NewUser};

/// Roles one user may be given in one request at most (there are five).
const ROLES_PER_USER_MAX: usize = 5;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: uuid::Uuid,
    pub username: String,
    pub roles: Vec<String>,
    pub member_id: Option<uuid::Uuid>,
    /// `active` or `disabled`.
    pub status: String,
    pub created_at: String,
    /// True after an admin reset the password, until the user sets a new one.
    pub password_change_required: bool,
    /// The name people know the user by (姓名), shown as the passbook's 经办人; null when none
    /// was given (the member's name or the username is shown instead).
    pub display_name: Option<String>,
}

pub(super) fn user_view(row: &UserRow) -> UserView {
    UserView {
        id: row.id.0,
        username: row.username.clone(),
        roles: row
            .roles
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        member_id: row.member_id.map(|m| m.0),
        status: row.status.clone(),
        created_at: rfc3339(row.created_at),
        password_change_required: row.password_change_required,
        display_name: row.display_name.clone(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub username: String,
    pub password: String,
    /// Any of `resident`, `reviewer`, `admin`, `clerk`, `auditor`.
    pub roles: Vec<String>,
    /// The member this user is; required for `resident`.
    pub member_id: Option<uuid::Uuid>,
    /// The name people know the user by (姓名), 1-40 characters once trimmed.
    #[schema(example = "王秀英")]
    pub display_name: Option<String>,
}

pub fn check_username(username: &str) -> Result<(), ApiError> {
    crate::users::model::check_username(username)
        .map_err(|why| ApiError::validation(why).with("field", "username"))
}

/// A display name given in a request: trimmed, 1-40 characters, or a 422 naming the field.
fn check_display_name(name: Option<&str>) -> Result<Option<String>, ApiError> {
    name.map(|n| {
        crate::users::model::check_display_name(n)
            .map_err(|why| ApiError::validation(why).with("field", "display_name"))
    })
    .transpose()
}

/// Creates a user who can log in (admin only).
#[utoipa::path(tag = "users", operation_id = "create_user",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses((status = 201, body = UserView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        (status = 409, description = "username_taken or member_has_user", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = create(&state, &user, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Creates a user: the JSON endpoint and the console's form.
pub async fn create(
    state: &AppState,
    user: &AuthUser,
    request: CreateUserRequest,
) -> Result<UserView, ApiError> {
    user.require(Permission::ManageUsers)?;
    check_username(&request.username)?;
    check_password_rules(&request.password).map_err(ApiError::validation)?;
    let display_name = check_display_name(request.display_name.as_deref())?;
    if request.roles.len() > ROLES_PER_USER_MAX {
        return Err(ApiError::validation("at most 5 roles"));
    }
    let roles = RoleSet::from_names(request.roles.iter().map(String::as_str))
        .map_err(ApiError::validation)?;
    if roles.contains(Role::Resident) && request.member_id.is_none() {
        return Err(ApiError::validation(
            "a resident must be linked to a member: give member_id",
        ));
    }
    let community = user.community_id;
    let member = request.member_id.map(MemberId);
    if let Some(member) = member {
        let exists = with_conn(state, move |conn| {
            Ok(crate::members::store::member_with_account(conn, community, member)?.is_some())
        })
        .await?;
        if !exists {
            return Err(
                ApiError::validation("member_id names no member of this community")
                    .with("field", "member_id"),
            );
        }
    }
    let password = request.password;
    let hash = web::block(move || hash_password(&password))
        .await?
        .map_err(ApiError::internal)?;
    let username = request.username;
    let row = with_conn(state, move |conn| {
        crate::users::store::insert_user(
            conn,
            &NewUser {
                community,
                username: &username,
                password_hash: &hash,
                roles,
                member,
                display_name: display_name.as_deref(),
            },
        )
        .map_err(|e| match e {
            CreateUserError::UsernameTaken => {
                ApiError::conflict("username_taken", "another user has this username")
            }
            CreateUserError::MemberHasUser => {
                ApiError::conflict("member_has_user", "this member already has a user")
            }
            CreateUserError::Database(e) => e.into(),
        })
    })
    .await?;
    Ok(user_view(&row))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    pub next_cursor: Option<String>,
}

/// Lists the community's users, oldest first (admin only).
#[utoipa::path(tag = "users", operation_id = "list_users",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = UserPage),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden))]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(user_page(&state, &user, query.into_inner()).await?))
}

/// A page of the community's users.
pub async fn user_page(
    state: &AppState,
    user: &AuthUser,
    query: PageQuery,
) -> Result<UserPage, ApiError> {
    user.require(Permission::ManageUsers)?;
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?.map(UserId);
    let community = user.community_id;
    let rows = with_conn(state, move |conn| {
        Ok(crate::users::store::list_users(
            conn, community, after, limit,
        )?)
    })
    .await?;
    let next_cursor = crate::http::next_cursor(&rows, limit, |u| u.id.0);
    Ok(UserPage {
        items: rows.iter().map(user_view).collect(),
        next_cursor,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// The user's new roles (replaces the old ones).
    pub roles: Option<Vec<String>>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    /// The name people know the user by (姓名), 1-40 characters once trimmed.
    pub display_name: Option<String>,
}

/// Changes a user's roles, status or display name (admin). A change of roles or status revokes
/// every token the user holds. The community's last active admin can be neither disabled nor
/// stripped of the admin role.
#[utoipa::path(tag = "users", operation_id = "update_user",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "user id")),
    request_body = UpdateUserRequest,
    responses((status = 200, body = UserView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound,
        (status = 409, description = "last_admin: the change would leave the community without an active admin; member_has_user: the user's member has another active login", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = update(&state, &user, UserId(path.into_inner()), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes a user's roles or status: the JSON endpoint and the console.
pub async fn update(
    state: &AppState,
    user: &AuthUser,
    target: UserId,
    request: UpdateUserRequest,
) -> Result<UserView, ApiError> {
    user.require(Permission::ManageUsers)?;
    let roles = match &request.roles {
        None => None,
        Some(names) if names.len() > ROLES_PER_USER_MAX => {
            return Err(ApiError::validation("at most 5 roles"))
        }
        Some(names) => Some(
            RoleSet::from_names(names.iter().map(String::as_str)).map_err(ApiError::validation)?,
        ),
    };
    let status = crate::http::parse_status(request.status.as_deref(), ["active", "disabled"])?;
    let display_name = check_display_name(request.display_name.as_deref())?;
    if roles.is_none() && status.is_none() && display_name.is_none() {
        return Err(ApiError::validation("nothing to change"));
    }
    let community = user.community_id;
    let actor = user.user_id;
    let row = with_conn(state, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            // Taken before anything is read, so that two admins removing each other at the same
            // moment are judged one after the other, each against what the other left.
            crate::users::store::lock_community_admins(conn, community)?;
            let current = crate::users::store::user_by_id(conn, target)?
                .filter(|u| u.community_id == community.into())
                .ok_or_else(|| ApiError::not_found("user"))?;
            let current_roles = RoleSet::parse_stored(&current.roles).map_err(ApiError::internal)?;
            let removes_an_admin = current.status == "active"
                && current_roles.contains(Role::Admin)
                && (status.as_deref() == Some("disabled")
                    || roles.is_some_and(|r| !r.contains(Role::Admin)));
            if removes_an_admin && crate::users::store::count_other_active_admins(conn, community, target)? == 0
            {
                return Err(ApiError::conflict(
                    "last_admin",
                    "this is the community's last active admin; make another user an admin first",
                ));
            }
            // The token was checked before the lock; an admin removed meanwhile acts no more.
            let acting = crate::users::store::user_by_id(conn, actor)?;
            if !acting.is_some_and(|a| {
                a.status == "active"
                    && RoleSet::parse_stored(&a.roles).is_ok_and(|r| r.contains(Role::Admin))
            }) {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "your admin role or account was removed meanwhile; log in again",
                ));
            }
            if target == actor && removes_an_admin {
                return Err(ApiError::validation(
                    "an admin cannot disable themself or drop their own admin role; ask another admin",
                ));
            }
            if roles.is_some_and(|r| r.contains(Role::Resident)) && current.member_id.is_none() {
                return Err(ApiError::validation(
                    "a resident must be linked to a member; create a user with member_id",
                ));
            }
            crate::users::store::update_user(
                conn,
                community,
                target,
                roles,
                status.as_deref(),
                display_name.as_deref(),
            )
                .map_err(|e| {
                    // Enabling an old login of a member who has been given a new one since.
                    if crate::users::store::is_member_has_user(&e) {
                        ApiError::conflict(
                            "member_has_user",
                            "this user's member has another active login; disable that one first",
                        )
                    } else {
                        e.into()
                    }
                })?
                .ok_or_else(|| ApiError::not_found("user"))
        })
    })
    .await;
    state.users.forget(target);
    let row = row?;
    Ok(user_view(&row))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordResetRecord {
    pub reset_at: String,
    /// When the temporary password stopped (or stops) working.
    pub expires_at: String,
    /// The admin who reset it; null when it was reset on the server's command line
    /// (`moralbank user reset-password`).
    pub reset_by: Option<UserRef>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserRef {
    pub id: uuid::Uuid,
    pub username: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: UserView,
    /// The latest password reset by an admin, or null when there was none.
    pub last_password_reset: Option<PasswordResetRecord>,
}

/// One user of the community, with their latest password reset (admin only).
#[utoipa::path(tag = "users", operation_id = "get_user",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "user id")),
    responses((status = 200, body = UserDetail),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound))]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(user_detail(&state, &user, UserId(path.into_inner())).await?))
}

/// One user with their last password reset.
pub async fn user_detail(
    state: &AppState,
    user: &AuthUser,
    target: UserId,
) -> Result<UserDetail, ApiError> {
    user.require(Permission::ManageUsers)?;
    let community = user.community_id;
    let (row, reset) = with_conn(state, move |conn| {
        let row = crate::users::store::user_by_id(conn, target)?
            .filter(|u| u.community_id == community.into())
            .ok_or_else(|| ApiError::not_found("user"))?;
        let reset = crate::users::store::last_password_reset(conn, community, target)?;
        Ok((row, reset))
    })
    .await?;
    Ok(UserDetail {
        user: user_view(&row),
        last_password_reset: reset.map(|(reset, by)| PasswordResetRecord {
            reset_at: rfc3339(reset.reset_at),
            expires_at: rfc3339(reset.expires_at),
            reset_by: reset
                .reset_by
                .zip(by)
                .map(|(id, username)| UserRef { id: id.0, username }),
        }),
    })
}
