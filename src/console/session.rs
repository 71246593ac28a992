//! People's sessions in the console: a cookie that holds a console session's token, the user it
//! stands for on every page, and the defence against requests forged by other sites.
//!
//! The cookie's value is a token like the API's (same key, same user, same token version), with
//! the session's id in it; so whatever revokes a user's tokens today (logout, a password change,
//! a role change, disabling) ends their console sessions at once, on every instance. The JSON API
//! refuses a token that carries a session id (`http::extract`), and never reads the cookie.
//!
//! The token expires `idle_seconds` after it was issued; a request more than a minute after that
//! gets a fresh one (the session slides), never past the session's start plus the token lifetime.
//!
//! A state-changing request must come from the console's own pages: `Sec-Fetch-Site:
//! same-origin`, or, from a browser that does not send it, an `Origin` naming this host. Each form
//! also carries the session's form token (an HMAC of the session id), checked by the handler.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};

use crate::auth::jwt::ConsoleSession;
use crate::http::extract::{user_of_token, AuthUser};
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::kernel::{LocalCalendar, Permission};

use super::page::ConsoleError;

pub const SESSION_COOKIE: &str = "moralbank_session";
/// A session token is re-issued when it is older than this, so an active clerk stays in.
const SLIDE_AFTER_SECONDS: i64 = 60;

/// The community as every console page shows it.
#[derive(Debug, Clone)]
pub struct Community {
    pub code: String,
    pub name: String,
    pub calendar: LocalCalendar,
}

/// A signed-in person: the user (as the JSON API's handlers see them), their community, and the
/// session's form token.
#[derive(Debug, Clone)]
pub struct Person {
    pub user: AuthUser,
    pub community: Community,
    pub form_token: String,
}

impl Person {
    pub fn may(&self, permission: Permission) -> bool {
        self.user.may(permission)
    }

    /// Refuses with the console's "not for your role" page.
    pub fn require(&self, permission: Permission) -> Result<(), ConsoleError> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }

    /// Checks a form's token against the session's (in constant time).
    pub fn check_form_token(&self, sent: &str) -> Result<(), ConsoleError> {
        use subtle::ConstantTimeEq;
        if sent.len() == self.form_token.len()
            && bool::from(sent.as_bytes().ct_eq(self.form_token.as_bytes()))
        {
            Ok(())
        } else {
            Err(ConsoleError::ForgedRequest)
        }
    }
}

/// A signed-in person who may still have to replace a temporary password: taken by the password
/// page and logout only. Every other page takes [`Person`], which sends them to the password page.
pub struct PersonAny(pub Person);

/// A fresh session token the response must set (the session slid on).
struct Refreshed(String);

impl FromRequest for Person {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Person, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let person = person_of(&req).await?;
            if person.user.password_change_required {
                return Err(ConsoleError::PasswordChangeRequired);
            }
            Ok(person)
        })
    }
}

impl FromRequest for PersonAny {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<PersonAny, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(PersonAny(person_of(&req).await?)) })
    }
}

async fn person_of(req: &HttpRequest) -> Result<Person, ConsoleError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ConsoleError::Problem(ApiError::internal("application state missing")))?;
    let token = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .ok_or(ConsoleError::SignIn { expired: false })?;
    let (user, claims) = match user_of_token(&state, &token).await {
        Ok(found) => found,
        Err(e) if e.status.is_server_error() => return Err(ConsoleError::Problem(e)),
        Err(_) => return Err(ConsoleError::SignIn { expired: true }),
    };
    let (Some(session), Some(started_at)) = (claims.ses, claims.st) else {
        return Err(ConsoleError::SignIn { expired: true });
    };
    let community_id = user.community_id;
    let row = crate::http::with_conn_quick(&state, move |conn| {
        Ok(crate::communities::store::community_by_id(
            conn,
            community_id,
        )?)
    })
    .await
    .map_err(ConsoleError::Problem)?
    .ok_or(ConsoleError::SignIn { expired: true })?;
    if chrono::Utc::now().timestamp() - claims.iat > SLIDE_AFTER_SECONDS {
        let fresh = state
            .jwt
            .issue_session(
                &ConsoleSession {
                    id: session,
                    user: user.user_id,
                    community: user.community_id,
                    roles: user.roles,
                    token_version: claims.tv,
                    started_at,
                },
                state.console.idle_seconds,
            )
            .map_err(|e| ConsoleError::Problem(ApiError::internal(e)))?;
        req.extensions_mut().insert(Refreshed(fresh));
    }
    Ok(Person {
        form_token: state.jwt.form_token(session),
        user,
        community: Community {
            code: row.code,
            name: row.name,
            calendar: LocalCalendar::new(row.utc_offset_minutes),
        },
    })
}

/// The cookie that holds a session token.
pub fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.console.cookie_secure)
        .finish()
}

/// The cookie that removes the session cookie.
pub fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = session_cookie(state, String::new());
    cookie.make_removal();
    cookie
}

/// Starts a console session for a user who just logged in.
pub fn start_session(
    state: &AppState,
    user: &crate::users::store::UserRow,
) -> Result<Cookie<'static>, ApiError> {
    let roles = crate::kernel::RoleSet::parse_stored(&user.roles).map_err(ApiError::internal)?;
    let token = state
        .jwt
        .issue_session(
            &ConsoleSession {
                id: uuid::Uuid::from_bytes(rand::random()),
                user: user.id.into(),
                community: user.community_id.into(),
                roles,
                token_version: user.token_version,
                started_at: chrono::Utc::now().timestamp(),
            },
            state.console.idle_seconds,
        )
        .map_err(ApiError::internal)?;
    Ok(session_cookie(state, token))
}

/// True when the request comes from a page of this console: the browser says so
/// (`Sec-Fetch-Site: same-origin`), or its `Origin` names this host.
pub fn from_own_origin(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST))
    else {
        return false;
    };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

/// Wraps the console: refuses state-changing requests from other origins before any handler
/// runs, and sets the slid session cookie on the way out.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD);
    if changes_state && !from_own_origin(&req) {
        let mut response = super::page::error_page(&ConsoleError::ForgedRequest);
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        return Ok(req.into_response(response));
    }
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let mut res = next.call(req).await?.map_into_boxed_body();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    let refreshed = res.request().extensions_mut().remove::<Refreshed>();
    if let (Some(Refreshed(token)), Some(state)) = (refreshed, state) {
        // A response that ends the session (logout) has already set its own cookie.
        let ends = res.response().cookies().any(|c| c.name() == SESSION_COOKIE);
        if !ends {
            let cookie = session_cookie(&state, token);
            let _ = res.response_mut().add_cookie(&cookie);
        }
    }
    Ok(res)
}

/// Content-Security-Policy of every console page: nothing from elsewhere, no inline script.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// A redirect after a POST (the POST → redirect → GET of plain forms).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}
