//! Logging in and out of the console, and changing one's password there: the same checks as the
//! JSON API's login (`users::http::login`), with a session cookie instead of a bearer token.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::password::PASSWORD_CHARS_MIN;
use crate::console::page::{render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{removal_cookie, see_other, start_session, Person, PersonAny};
use crate::console::words;
use crate::http::credentials::client_address;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::users::http::login::{change_own_password, check_login, end_sessions};

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    chrome: Option<Chrome>,
    ask_community: bool,
    community: String,
    username: String,
    notice: &'static str,
    problem: FieldProblem,
    idle_minutes: u64,
}

#[derive(Debug, Deserialize)]
pub struct LoginNotice {
    expired: Option<String>,
    bye: Option<String>,
    changed: Option<String>,
}

/// The community field is asked for only where the database holds several communities.
async fn several_communities(state: &AppState) -> Result<bool, ConsoleError> {
    Ok(with_conn(state, |conn| {
        Ok(crate::communities::store::count_communities(conn)?)
    })
    .await?
        > 1)
}

fn login_page(state: &AppState, ask_community: bool) -> LoginPage {
    LoginPage {
        chrome: None,
        ask_community,
        community: String::new(),
        username: String::new(),
        notice: "",
        problem: FieldProblem::default(),
        idle_minutes: state.console.idle_seconds / 60,
    }
}

pub async fn show_login(
    state: web::Data<AppState>,
    query: web::Query<LoginNotice>,
) -> Result<HttpResponse, ConsoleError> {
    let mut page = login_page(&state, several_communities(&state).await?);
    page.notice = if query.expired.is_some() {
        words::SESSION_EXPIRED
    } else if query.changed.is_some() {
        words::PASSWORD_CHANGED
    } else if query.bye.is_some() {
        words::SIGNED_OUT
    } else {
        ""
    };
    render(&page)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    community: String,
    username: String,
    password: String,
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    let LoginForm {
        community,
        username,
        password,
    } = form.into_inner();
    let community = community.trim().to_string();
    let checked = check_login(
        &state,
        &client_address(&req),
        (!community.is_empty()).then(|| community.clone()),
        username.trim(),
        password,
    )
    .await;
    let user = match checked {
        Ok(user) => user,
        Err(e) if e.status.is_client_error() => {
            let mut problem = words::problem(&e);
            if problem.field.is_empty() && e.code == "invalid_credentials" {
                problem.field = "password".into();
            }
            let mut page = login_page(
                &state,
                e.code == "community_required" || several_communities(&state).await?,
            );
            page.community = community;
            page.username = username;
            page.problem = problem;
            let mut response = render_with(e.status, &page)?;
            if let Some(seconds) = e.retry_after_seconds {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, seconds.into());
            }
            return Ok(response);
        }
        Err(e) => return Err(e.into()),
    };
    let cookie = start_session(&state, &user)?;
    let next = if user.password_change_required {
        "/password"
    } else {
        "/"
    };
    let mut response = see_other(next);
    response
        .add_cookie(&cookie)
        .map_err(|e| ConsoleError::Problem(crate::http::problem::ApiError::internal(e)))?;
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    form_token: String,
}

/// Ends every session of the user (as the API's logout does) and forgets the cookie.
pub async fn logout(
    state: web::Data<AppState>,
    PersonAny(person): PersonAny,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.check_form_token(&form.form_token)?;
    end_sessions(&state, person.user.user_id).await?;
    let mut response = see_other("/login?bye=1");
    response
        .add_cookie(&removal_cookie(&state))
        .map_err(|e| ConsoleError::Problem(crate::http::problem::ApiError::internal(e)))?;
    Ok(response)
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage {
    chrome: Option<Chrome>,
    must_change: bool,
    must_change_text: &'static str,
    min_chars: usize,
    problem: FieldProblem,
}

fn password_page(state: &AppState, person: &Person, problem: FieldProblem) -> PasswordPage {
    PasswordPage {
        chrome: Some(Chrome::new(person, "/password", state.clock.now())),
        must_change: person.user.password_change_required,
        must_change_text: words::MUST_CHANGE_PASSWORD,
        min_chars: PASSWORD_CHARS_MIN,
        problem,
    }
}

pub async fn show_password(
    state: web::Data<AppState>,
    PersonAny(person): PersonAny,
) -> Result<HttpResponse, ConsoleError> {
    render(&password_page(&state, &person, FieldProblem::default()))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    form_token: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    PersonAny(person): PersonAny,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let refuse = |problem: FieldProblem, status: StatusCode| {
        render_with(status, &password_page(&state, &person, problem))
    };
    if form.new_password != form.confirm_password {
        return refuse(
            FieldProblem::on("confirm_password", words::PASSWORDS_DIFFER),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    match change_own_password(
        &state,
        &client_address(&req),
        &person.user,
        form.current_password,
        form.new_password,
    )
    .await
    {
        Ok(()) => {}
        Err(e) if e.status.is_client_error() => {
            let mut problem = words::problem(&e);
            if problem.field.is_empty() {
                problem.field = match e.code {
                    "validation_failed" => "new_password".into(),
                    _ => "current_password".into(),
                };
            }
            return refuse(problem, e.status);
        }
        Err(e) => return Err(e.into()),
    }
    // Every session of the user ended with the change; this browser's cookie goes too.
    let mut response = see_other("/login?changed=1");
    response
        .add_cookie(&removal_cookie(&state))
        .map_err(|e| ConsoleError::Problem(crate::http::problem::ApiError::internal(e)))?;
    Ok(response)
}
