//! What every console page shares: the top bar and menu, rendering a template into an answer,
//! the error pages, and how amounts and times are written.

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use chrono::NaiveDateTime;

use crate::http::problem::ApiError;
use crate::kernel::{LocalCalendar, Permission, Points};

use super::session::Person;
use super::words;

/// One entry of the menu.
#[derive(Debug, Clone)]
pub struct MenuItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// The top bar and menu of a signed-in page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub community: String,
    pub username: String,
    pub roles: String,
    pub menu: Vec<MenuItem>,
    pub form_token: String,
    /// The community's local date and time when the page was drawn.
    pub now: String,
}

/// Who sees a menu entry.
#[derive(Debug, Clone, Copy)]
enum Shown {
    /// Everyone signed in.
    Always,
    /// Those whose roles hold the permission.
    To(Permission),
    /// Those whose account is linked to a member's passbook.
    PassbookHolders,
    /// Passbook holders whose roles also hold the permission.
    PassbookHoldersWith(Permission),
}

/// The menu entries in order: where, what it is called, who may see it. A resident's own pages
/// come first; staff without a passbook see none of them.
const MENU: &[(&str, &str, Shown)] = &[
    ("/me", words::MENU_MINE, Shown::PassbookHolders),
    ("/me/deeds", words::MENU_MY_DEEDS, Shown::PassbookHolders),
    (
        "/me/declare",
        words::MENU_DECLARE,
        Shown::PassbookHoldersWith(Permission::DeclareOwnDeeds),
    ),
    ("/shop", words::MENU_SHOP, Shown::PassbookHolders),
    ("/fund/donate", words::MENU_DONATE, Shown::PassbookHolders),
    (
        "/me/orders",
        words::MENU_MY_ORDERS,
        Shown::PassbookHoldersWith(Permission::ReserveOwn),
    ),
    (
        "/counter",
        words::MENU_COUNTER,
        Shown::To(Permission::Redeem),
    ),
    (
        "/counter/pickup",
        words::MENU_PICKUP,
        Shown::To(Permission::Redeem),
    ),
    (
        "/counter/register",
        words::MENU_REGISTER,
        Shown::To(Permission::ReadRegister),
    ),
    ("/desk", words::MENU_DESK, Shown::To(Permission::FirstCheck)),
    (
        "/desk/record",
        words::MENU_RECORD,
        Shown::To(Permission::DeclareForOthers),
    ),
    ("/board", words::MENU_BOARD, Shown::Always),
    ("/honor-roll", words::MENU_HONOR_ROLL, Shown::Always),
    (
        "/members",
        words::MENU_MEMBERS,
        Shown::To(Permission::RegisterMembers),
    ),
    (
        "/households",
        words::MENU_HOUSEHOLDS,
        Shown::To(Permission::RegisterMembers),
    ),
    (
        "/goods",
        words::MENU_GOODS,
        Shown::To(Permission::ManageGoods),
    ),
    (
        "/rules",
        words::MENU_RULES,
        Shown::To(Permission::ManageRules),
    ),
    (
        "/users",
        words::MENU_USERS,
        Shown::To(Permission::ManageUsers),
    ),
    ("/fund", words::MENU_FUND, Shown::To(Permission::ReadFund)),
    (
        "/reports",
        words::MENU_REPORTS,
        Shown::To(Permission::ReadReports),
    ),
    (
        "/audit/verify",
        words::MENU_VERIFY,
        Shown::To(Permission::VerifyLedger),
    ),
    (
        "/audit/journal",
        words::MENU_JOURNAL,
        Shown::To(Permission::ReadJournal),
    ),
    ("/password", words::MENU_PASSWORD, Shown::Always),
];

impl Chrome {
    /// The chrome for `person`, with the menu entry `active` (a path of [`MENU`]) marked.
    pub fn new(person: &Person, active: &str, now_utc: NaiveDateTime) -> Chrome {
        let menu = MENU
            .iter()
            .filter(|(_, _, shown)| {
                let holder = person.user.member_id.is_some();
                match *shown {
                    Shown::Always => true,
                    Shown::To(p) => person.may(p),
                    Shown::PassbookHolders => holder,
                    Shown::PassbookHoldersWith(p) => holder && person.may(p),
                }
            })
            .map(|(href, label, _)| MenuItem {
                href,
                label,
                active: *href == active,
            })
            .collect();
        let roles: Vec<&str> = person.user.roles.iter().map(words::role_name).collect();
        Chrome {
            community: person.community.name.clone(),
            username: person.user.username.clone(),
            roles: roles.join("、"),
            menu,
            form_token: person.form_token.clone(),
            now: local_minute(person.community.calendar, now_utc),
        }
    }
}

/// An amount in points, always with two decimals: `12.50`.
pub fn points(hundredths: i64) -> String {
    Points::from_hundredths(hundredths).to_string()
}

/// A moment as the community's wall clock shows it, to the minute: `2026-12-02 14:05`.
pub fn local_minute(calendar: LocalCalendar, utc: NaiveDateTime) -> String {
    calendar.local(utc).format("%Y-%m-%d %H:%M").to_string()
}

/// A moment to the second, for receipts: `2026-12-02 14:05:09`.
pub fn local_second(calendar: LocalCalendar, utc: NaiveDateTime) -> String {
    calendar.local(utc).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Renders a page with status 200.
pub fn render(template: &impl Template) -> Result<HttpResponse, ConsoleError> {
    render_with(StatusCode::OK, template)
}

/// Renders a page with `status` (a form shown again with its problem is 4xx).
pub fn render_with(
    status: StatusCode,
    template: &impl Template,
) -> Result<HttpResponse, ConsoleError> {
    let html = template
        .render()
        .map_err(|e| ConsoleError::Problem(ApiError::internal(e)))?;
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(html))
}

/// Why a console request did not get its page.
#[derive(Debug)]
pub enum ConsoleError {
    /// No session, or one that ended: to the login page.
    SignIn {
        expired: bool,
    },
    /// An admin reset the password: to the password page first.
    PasswordChangeRequired,
    /// The user's roles do not open this page.
    Forbidden,
    NotFound,
    /// A state-changing request from another site, or without the session's form token.
    ForgedRequest,
    /// A form that could not be read.
    BadForm,
    /// What a concept function refused, or a failure.
    Problem(ApiError),
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> ConsoleError {
        if e.status == StatusCode::NOT_FOUND {
            return ConsoleError::NotFound;
        }
        ConsoleError::Problem(e)
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    chrome: Option<Chrome>,
    title: &'a str,
    message: String,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } | ConsoleError::PasswordChangeRequired => {
                StatusCode::SEE_OTHER
            }
            ConsoleError::Forbidden | ConsoleError::ForgedRequest => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::BadForm => StatusCode::BAD_REQUEST,
            ConsoleError::Problem(e) => e.status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        error_page(self)
    }
}

/// The answer for a console error: a redirect, or a page that says in Chinese what happened.
pub fn error_page(error: &ConsoleError) -> HttpResponse {
    let location = match error {
        ConsoleError::SignIn { expired: true } => Some("/login?expired=1"),
        ConsoleError::SignIn { expired: false } => Some("/login"),
        ConsoleError::PasswordChangeRequired => Some("/password"),
        _ => None,
    };
    if let Some(location) = location {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish();
    }
    let (title, message) = match error {
        ConsoleError::Forbidden => (words::TITLE_FORBIDDEN, words::FORBIDDEN.to_string()),
        ConsoleError::NotFound => (words::TITLE_NOT_FOUND, words::NOT_FOUND.to_string()),
        ConsoleError::ForgedRequest => (words::TITLE_FORBIDDEN, words::FORGED.to_string()),
        ConsoleError::BadForm => (words::TITLE_BAD_FORM, words::BAD_FORM.to_string()),
        ConsoleError::Problem(e) => (words::TITLE_PROBLEM, words::problem(e).message),
        _ => (words::TITLE_PROBLEM, String::new()),
    };
    let page = ErrorPage {
        chrome: None,
        title,
        message,
    };
    let mut response = HttpResponse::build(error.status_code());
    if let ConsoleError::Problem(e) = error {
        if let Some(seconds) = e.retry_after_seconds {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
    }
    match page.render() {
        Ok(html) => response.content_type(ContentType::html()).body(html),
        Err(_) => response
            .content_type(ContentType::plaintext())
            .body(page.message),
    }
}

/// A form's problem, shown next to the field that caused it (or above the form).
#[derive(Debug, Clone, Default)]
pub struct FieldProblem {
    /// The form field the message belongs to; empty for the form as a whole.
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn on(field: &str, message: impl Into<String>) -> FieldProblem {
        FieldProblem {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The message when it belongs to `field`, for the template.
    pub fn at(&self, field: &str) -> &str {
        if self.field == field {
            &self.message
        } else {
            ""
        }
    }
}
