//! 流水账: the journal for the auditor, page by page in order, each transaction with its time,
//! kind, memo, postings (named accounts and amounts), hash and who made it. Read only.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{local_second, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::Person;
use crate::console::words;
use crate::db::DbUuid;
use crate::http::state::AppState;
use crate::http::with_replica;
use crate::kernel::{JournalKind, Permission};
use crate::reports::http::{journal_page, JournalPage};
use crate::reports::store;

/// Transactions a page of the console's journal shows.
pub const JOURNAL_CONSOLE_PAGE_ROWS: i64 = 50;
/// Hex digits of a hash the page shows (the whole hash is in its tooltip).
const HASH_PREFIX_CHARS: usize = 12;

#[derive(Debug, Deserialize)]
pub struct JournalQuery {
    after: Option<String>,
}

pub struct PostingLine {
    pub account: String,
    pub amount: String,
    pub credit: bool,
}

pub struct JournalLine {
    pub seq: i64,
    pub time: String,
    pub kind: &'static str,
    pub memo: String,
    pub postings: Vec<PostingLine>,
    pub hash_prefix: String,
    pub hash: String,
    pub actor: String,
}

#[derive(Template)]
#[template(path = "console/journal.html")]
struct JournalView {
    chrome: Option<Chrome>,
    after: String,
    lines: Vec<JournalLine>,
    previous: Option<i64>,
    next: Option<i64>,
    first_seq: i64,
    last_seq: i64,
    problem: FieldProblem,
}

async fn lines_of(
    state: &AppState,
    person: &Person,
    page: &JournalPage,
) -> Result<Vec<JournalLine>, ConsoleError> {
    let accounts: Vec<DbUuid> = page
        .items
        .iter()
        .flat_map(|t| t.postings.iter().map(|p| DbUuid(p.account_id)))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let actors: Vec<DbUuid> = page
        .items
        .iter()
        .filter_map(|t| t.actor_id.map(DbUuid))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let community = person.user.community_id;
    let (account_names, usernames) = with_replica(state, move |conn| {
        Ok((
            store::account_names(conn, community, &accounts)?,
            store::usernames(conn, community, &actors)?,
        ))
    })
    .await?;
    let calendar = person.community.calendar;
    Ok(page
        .items
        .iter()
        .map(|t| JournalLine {
            seq: t.seq,
            time: chrono::DateTime::parse_from_rfc3339(&t.created_at)
                .map(|d| local_second(calendar, d.naive_utc()))
                .unwrap_or_else(|_| t.created_at.clone()),
            kind: JournalKind::parse(&t.kind).map_or("", JournalKind::label),
            memo: t.memo.clone(),
            postings: t
                .postings
                .iter()
                .map(|p| {
                    let named = account_names.get(&DbUuid(p.account_id));
                    PostingLine {
                        account: named
                            .map(|(kind, member)| words::account_name(*kind, member.as_ref()))
                            .unwrap_or_default(),
                        credit: !p.amount.starts_with('-'),
                        amount: p.amount.clone(),
                    }
                })
                .collect(),
            hash_prefix: t.hash.chars().take(HASH_PREFIX_CHARS).collect(),
            hash: t.hash.clone(),
            actor: t
                .actor_id
                .and_then(|a| usernames.get(&DbUuid(a)).cloned())
                .unwrap_or_else(|| "系统".to_string()),
        })
        .collect())
}

/// A page of the journal after the sequence number `after` (the beginning when absent).
pub async fn show_journal(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<JournalQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReadJournal)?;
    let now = state.clock.now();
    let typed = query.after.as_deref().unwrap_or("").trim().to_string();
    let after: Option<i64> = if typed.is_empty() {
        Some(0)
    } else {
        typed.parse::<i64>().ok().filter(|n| *n >= 0)
    };
    let mut view = JournalView {
        chrome: Some(Chrome::new(&person, "/audit/journal", now)),
        after: typed,
        lines: Vec::new(),
        previous: None,
        next: None,
        first_seq: 0,
        last_seq: 0,
        problem: FieldProblem::default(),
    };
    let Some(after) = after else {
        view.problem = FieldProblem::on("after", words::JOURNAL_AFTER_INVALID);
        return render_with(StatusCode::BAD_REQUEST, &view);
    };
    let page = match journal_page(
        &state,
        &person.user,
        Some(after),
        Some(JOURNAL_CONSOLE_PAGE_ROWS),
    )
    .await
    {
        Ok(page) => page,
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            view.problem = words::problem(&e);
            return render_with(e.status, &view);
        }
        Err(e) => return Err(e.into()),
    };
    view.lines = lines_of(&state, &person, &page).await?;
    view.previous = (after > 0).then(|| (after - JOURNAL_CONSOLE_PAGE_ROWS).max(0));
    view.next =
        (page.items.len() as i64 == JOURNAL_CONSOLE_PAGE_ROWS).then_some(page.next_after_seq);
    view.first_seq = page.items.first().map_or(0, |t| t.seq);
    view.last_seq = page.items.last().map_or(0, |t| t.seq);
    render_with(StatusCode::OK, &view)
}
