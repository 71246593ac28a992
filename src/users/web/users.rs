//! Users' accounts (用户账号) for the committee: the list, a new account (roles, a resident's
//! passbook), changing roles, disabling and enabling, and the password reset, whose temporary
//! password is shown once in large type for the admin to read out. Every change goes through
//! the same `users::http` functions as the JSON API.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{local_minute, render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::{Freshness, PageQuery};
use crate::kernel::{Permission, Role, UserId};
use crate::members::http::{member_page, MemberListQuery};
use crate::users::http::password_reset::reset_password;
use crate::users::http::users::{self as concept, CreateUserRequest, UpdateUserRequest, UserView};

/// Users the list shows.
pub const USER_LIST_ROWS_MAX: i64 = 200;

pub struct UserLine {
    pub id: String,
    pub username: String,
    /// 姓名; empty when none was given.
    pub display_name: String,
    pub roles: String,
    pub active: bool,
    pub must_change: bool,
}

fn role_names(roles: &[String]) -> String {
    roles
        .iter()
        .filter_map(|r| Role::ALL.into_iter().find(|x| x.as_str() == r))
        .map(words::role_name)
        .collect::<Vec<_>>()
        .join("、")
}

fn user_line(u: &UserView) -> UserLine {
    UserLine {
        id: u.id.to_string(),
        username: u.username.clone(),
        display_name: u.display_name.clone().unwrap_or_default(),
        roles: role_names(&u.roles),
        active: u.status == "active",
        must_change: u.password_change_required,
    }
}

/// One role's checkbox.
pub struct RoleBox {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The role checkboxes: `role_admin=1`, … (a form cannot send a list serde reads).
#[derive(Debug, Default, Deserialize)]
pub struct RolesTyped {
    #[serde(default)]
    role_resident: String,
    #[serde(default)]
    role_reviewer: String,
    #[serde(default)]
    role_clerk: String,
    #[serde(default)]
    role_auditor: String,
    #[serde(default)]
    role_admin: String,
}

impl RolesTyped {
    fn of(roles: &[String]) -> RolesTyped {
        let has = |r: &str| {
            if roles.iter().any(|x| x == r) {
                "1".to_string()
            } else {
                String::new()
            }
        };
        RolesTyped {
            role_resident: has("resident"),
            role_reviewer: has("reviewer"),
            role_clerk: has("clerk"),
            role_auditor: has("auditor"),
            role_admin: has("admin"),
        }
    }

    fn chosen(&self) -> Vec<(Role, bool)> {
        vec![
            (Role::Admin, self.role_admin == "1"),
            (Role::Reviewer, self.role_reviewer == "1"),
            (Role::Clerk, self.role_clerk == "1"),
            (Role::Auditor, self.role_auditor == "1"),
            (Role::Resident, self.role_resident == "1"),
        ]
    }

    fn names(&self) -> Vec<String> {
        self.chosen()
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(r, _)| r.as_str().to_string())
            .collect()
    }

    fn boxes(&self) -> Vec<RoleBox> {
        self.chosen()
            .into_iter()
            .map(|(role, checked)| RoleBox {
                name: match role {
                    Role::Admin => "role_admin",
                    Role::Reviewer => "role_reviewer",
                    Role::Clerk => "role_clerk",
                    Role::Auditor => "role_auditor",
                    Role::Resident => "role_resident",
                },
                label: words::role_name(role),
                checked,
            })
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    member_no: String,
    #[serde(flatten)]
    roles: RolesTyped,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    chrome: Option<Chrome>,
    users: Vec<UserLine>,
    username: String,
    display_name: String,
    member_no: String,
    roles: Vec<RoleBox>,
    problem: FieldProblem,
}

async fn users_page(
    state: &AppState,
    person: &Person,
    form: &NewUserForm,
    problem: FieldProblem,
) -> Result<UsersPage, ConsoleError> {
    let query = PageQuery {
        limit: Some(USER_LIST_ROWS_MAX),
        cursor: None,
    };
    let page = concept::user_page(state, &person.user, query).await?;
    Ok(UsersPage {
        chrome: Some(Chrome::new(person, "/users", state.clock.now())),
        users: page.items.iter().map(user_line).collect(),
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        member_no: form.member_no.clone(),
        roles: form.roles.boxes(),
        problem,
    })
}

pub async fn show_users(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageUsers)?;
    let page = users_page(
        &state,
        &person,
        &NewUserForm::default(),
        FieldProblem::default(),
    )
    .await?;
    render(&page)
}

/// A refusal the form shows beside its field (a server failure stays an error page).
fn refusal(e: ApiError) -> Result<(FieldProblem, StatusCode), ConsoleError> {
    if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND {
        let status = e.status;
        Ok((words::user_problem(&e), status))
    } else {
        Err(e.into())
    }
}

pub async fn create_user(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageUsers)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let member_no = form.member_no.trim().to_string();
    let member_id = if member_no.is_empty() {
        Ok(None)
    } else {
        let query = MemberListQuery {
            member_no: Some(member_no),
            q: None,
            limit: Some(1),
            cursor: None,
        };
        // Linking a user to a passbook just registered: the primary.
        let found = member_page(&state, &person.user, query, Freshness::Current).await?;
        found
            .items
            .first()
            .map(|m| Some(m.id))
            .ok_or_else(|| FieldProblem::on("member_no", words::USER_MEMBER_NOT_FOUND))
    };
    let (problem, status) = match member_id {
        Err(problem) => (problem, StatusCode::UNPROCESSABLE_ENTITY),
        Ok(member_id) => {
            let request = CreateUserRequest {
                username: form.username.trim().to_string(),
                password: form.password.clone(),
                roles: form.roles.names(),
                member_id,
                // Left empty: the user is shown by their member's name or username.
                display_name: Some(form.display_name.clone()).filter(|n| !n.trim().is_empty()),
            };
            match concept::create(&state, &person.user, request).await {
                Ok(view) => return Ok(see_other(&format!("/users/{}?created=1", view.id))),
                Err(e) => refusal(e)?,
            }
        }
    };
    let page = users_page(&state, &person, &form, problem).await?;
    render_with(status, &page)
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    chrome: Option<Chrome>,
    user: UserLine,
    myself: bool,
    /// What the 姓名 field shows: the saved name, or what was typed when it was refused.
    display_name: String,
    roles: Vec<RoleBox>,
    last_reset: String,
    notice: &'static str,
    problem: FieldProblem,
}

async fn user_page(
    state: &AppState,
    person: &Person,
    id: UserId,
    typed: Typed,
    notice: &'static str,
    problem: FieldProblem,
) -> Result<UserPage, ConsoleError> {
    let Typed {
        roles,
        display_name,
    } = typed;
    let detail = concept::user_detail(state, &person.user, id).await?;
    let calendar = person.community.calendar;
    let last_reset = detail
        .last_password_reset
        .as_ref()
        .map(|r| {
            let when = chrono::DateTime::parse_from_rfc3339(&r.reset_at)
                .map(|t| local_minute(calendar, t.naive_utc()))
                .unwrap_or_else(|_| r.reset_at.clone());
            match &r.reset_by {
                Some(by) => format!("{when}（{}）", by.username),
                None => when,
            }
        })
        .unwrap_or_default();
    let roles = roles.unwrap_or_else(|| RolesTyped::of(&detail.user.roles));
    Ok(UserPage {
        chrome: Some(Chrome::new(person, "/users", state.clock.now())),
        myself: detail.user.id == person.user.user_id.0,
        display_name: display_name
            .unwrap_or_else(|| detail.user.display_name.clone().unwrap_or_default()),
        user: user_line(&detail.user),
        roles: roles.boxes(),
        last_reset,
        notice,
        problem,
    })
}

/// What a refused form on the user's page keeps as typed.
#[derive(Default)]
struct Typed {
    roles: Option<RolesTyped>,
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    created: Option<u8>,
    changed: Option<u8>,
}

pub async fn show_user(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageUsers)?;
    let notice = if query.created.is_some() {
        words::USER_CREATED
    } else if query.changed.is_some() {
        words::USER_CHANGED
    } else {
        ""
    };
    let id = UserId(path.into_inner());
    render(
        &user_page(
            &state,
            &person,
            id,
            Typed::default(),
            notice,
            FieldProblem::default(),
        )
        .await?,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct RolesForm {
    #[serde(default)]
    form_token: String,
    #[serde(flatten)]
    roles: RolesTyped,
}

pub async fn change_roles(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<RolesForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageUsers)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let id = UserId(path.into_inner());
    let request = UpdateUserRequest {
        roles: Some(form.roles.names()),
        status: None,
        display_name: None,
    };
    let (problem, status) = match concept::update(&state, &person.user, id, request).await {
        Ok(_) => return Ok(see_other(&format!("/users/{}?changed=1", id.0))),
        Err(e) => refusal(e)?,
    };
    let typed = Typed {
        roles: Some(form.roles),
        display_name: None,
    };
    let page = user_page(&state, &person, id, typed, "", problem).await?;
    render_with(status, &page)
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    active: String,
}

pub async fn set_status(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageUsers)?;
    person.check_form_token(&form.form_token)?;
    let id = UserId(path.into_inner());
    let request = UpdateUserRequest {
        roles: None,
        status: Some(
            if form.active == "1" {
                "active"
            } else {
                "disabled"
            }
            .into(),
        ),
        display_name: None,
    };
    let (mut problem, status) = match concept::update(&state, &person.user, id, request).await {
        Ok(_) => return Ok(see_other(&format!("/users/{}?changed=1", id.0))),
        Err(e) => refusal(e)?,
    };
    problem.field = "status".into();
    let page = user_page(&state, &person, id, Typed::default(), "", problem).await?;
    render_with(status, &page)
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    display_name: String,
}

/// 姓名: how the user is shown where people read it (the passbook's 经办人).
pub async fn change_name(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageUsers)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let id = UserId(path.into_inner());
    let request = UpdateUserRequest {
        roles: None,
        status: None,
        display_name: Some(form.display_name.clone()),
    };
    let (problem, status) = match concept::update(&state, &person.user, id, request).await {
        Ok(_) => return Ok(see_other(&format!("/users/{}?changed=1", id.0))),
        Err(e) => refusal(e)?,
    };
    let typed = Typed {
        roles: None,
        display_name: Some(form.display_name),
    };
    let page = user_page(&state, &person, id, typed, "", problem).await?;
    render_with(status, &page)
}

#[derive(Template)]
#[template(path = "console/temporary-password.html")]
struct TemporaryPasswordPage {
    chrome: Option<Chrome>,
    user_id: String,
    username: String,
    password: String,
    expires: String,
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    form_token: String,
}

/// The reset: the temporary password is shown on this answer only (never stored, never in a
/// URL, not cached), large enough to read out over the counter or the phone.
pub async fn reset_user_password(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageUsers)?;
    person.check_form_token(&form.form_token)?;
    let id = UserId(path.into_inner());
    match reset_password(&state, &person.user, id).await {
        Ok(reset) => {
            let expires = chrono::DateTime::parse_from_rfc3339(&reset.expires_at)
                .map(|t| local_minute(person.community.calendar, t.naive_utc()))
                .unwrap_or_else(|_| reset.expires_at.clone());
            let mut response = render(&TemporaryPasswordPage {
                chrome: Some(Chrome::new(&person, "/users", state.clock.now())),
                user_id: reset.user_id.to_string(),
                username: reset.username,
                password: reset.temporary_password,
                expires,
            })?;
            response.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        Err(e) => {
            let (mut problem, status) = refusal(e)?;
            problem.field = "reset".into();
            let page = user_page(&state, &person, id, Typed::default(), "", problem).await?;
            render_with(status, &page)
        }
    }
}
