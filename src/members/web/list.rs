//! The roster list: every resident with passbook number, phone, address, group and balance,
//! searched by name, number, phone or address.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::Person;
use crate::console::words;
use crate::http::state::AppState;
use crate::http::Freshness;
use crate::kernel::Permission;
use crate::members::http::{member_page, MemberListQuery};

/// Residents one page of the list shows.
pub const MEMBER_LIST_ROWS_MAX: i64 = 100;

pub struct MemberLine {
    pub id: String,
    pub member_no: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub group: String,
    pub joined_on: String,
    pub balance: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "console/members.html")]
struct MembersPage {
    chrome: Option<Chrome>,
    q: String,
    members: Vec<MemberLine>,
    next: String,
    imported: String,
    may_import: bool,
    problem: FieldProblem,
}

#[derive(Debug, Deserialize)]
pub struct MembersQuery {
    q: Option<String>,
    cursor: Option<String>,
    imported: Option<u32>,
}

pub async fn show_members(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<MembersQuery>,
) -> Result<HttpResponse, ConsoleError> {
    // The committee's roster: those who register residents (the counter finds them its own way).
    person.require(Permission::RegisterMembers)?;
    let query = query.into_inner();
    let q = query.q.clone().unwrap_or_default();
    let asked = MemberListQuery {
        member_no: None,
        q: Some(q.clone()),
        limit: Some(MEMBER_LIST_ROWS_MAX),
        cursor: query.cursor.clone(),
    };
    // Back from an import the roster must show who was just added: the primary. Otherwise the
    // roster may lag a moment.
    let freshness = if query.imported.is_some() {
        Freshness::Current
    } else {
        Freshness::MayLag
    };
    let (page, problem) = match member_page(&state, &person.user, asked, freshness).await {
        Ok(page) => (page, FieldProblem::default()),
        Err(e) if e.status.is_client_error() => {
            let everyone = MemberListQuery {
                member_no: None,
                q: None,
                limit: Some(MEMBER_LIST_ROWS_MAX),
                cursor: None,
            };
            let page = member_page(&state, &person.user, everyone, freshness).await?;
            (page, FieldProblem::on("q", words::MEMBER_SEARCH_INVALID))
        }
        Err(e) => return Err(e.into()),
    };
    let next = match &page.next_cursor {
        Some(cursor) => format!(
            "/members?q={}&cursor={}",
            urlencoding(&q),
            urlencoding(cursor)
        ),
        None => String::new(),
    };
    let view = MembersPage {
        chrome: Some(Chrome::new(&person, "/members", state.clock.now())),
        q,
        members: page
            .items
            .iter()
            .map(|m| MemberLine {
                id: m.id.to_string(),
                member_no: m.member_no.clone(),
                name: m.name.clone(),
                phone: m.phone.clone().unwrap_or_default(),
                address: m.address_line.clone(),
                group: m.group.clone().unwrap_or_default(),
                joined_on: m.joined_on.clone(),
                balance: m.balance.clone(),
                active: m.status == "active",
            })
            .collect(),
        next,
        imported: query
            .imported
            .map(|n| {
                format!(
                    "{}{n}{}",
                    words::ROSTER_IMPORTED_BEFORE,
                    words::ROSTER_IMPORTED_AFTER
                )
            })
            .unwrap_or_default(),
        may_import: person.may(Permission::RegisterMembers),
        problem,
    };
    if view.problem.field.is_empty() {
        render(&view)
    } else {
        render_with(actix_web::http::StatusCode::BAD_REQUEST, &view)
    }
}

/// `text` for a query string: every byte but the unreserved ones percent-encoded.
pub fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
