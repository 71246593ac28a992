//! 我的存折: the balance in large type and the passbook lines of one month with their running
//! balance, read through the statement the API answers (`statements::period_statement`), so a
//! resident reads exactly what the JSON statement and the printed passbook say.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use crate::console::page::{local_minute, points, render, Chrome, ConsoleError, FieldProblem};
use crate::console::session::Person;
use crate::console::words;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::dates::{month_last_day, parse_month};
use crate::kernel::{AccountId, MemberId};
use crate::passbook::http::statements::period_statement;

/// One passbook line as the page writes it.
pub struct Line {
    /// Community-local, to the minute.
    pub at: String,
    pub kind: String,
    pub description: String,
    /// Empty when the line takes nothing in (or out).
    pub amount_in: String,
    pub amount_out: String,
    pub balance: String,
    pub recorder: String,
}

#[derive(Template)]
#[template(path = "console/me.html")]
struct MinePage {
    chrome: Option<Chrome>,
    name: String,
    member_no: String,
    account_id: String,
    balance: String,
    /// What a reversal could not take and the next credits repay; empty when nothing is owed.
    owed: String,
    /// The resident's household and its passbook balance, as one line; empty without one.
    household: String,
    /// Open reserved orders: (order id, what, coins held, pickup code, until when).
    holds: Vec<(String, String, String, String, String)>,
    /// Coins announced to expire, in words; empty when none expire soon.
    expiring: String,
    /// `2026-12`, and as people write it (2026年12月).
    month: String,
    month_words: String,
    from: String,
    to: String,
    previous: String,
    /// Empty when the month shown is this month (nothing after it yet).
    next: String,
    total_in: String,
    total_out: String,
    opening: String,
    closing: String,
    lines: Vec<Line>,
    problem: FieldProblem,
}

#[derive(Debug, Deserialize)]
pub struct MineQuery {
    month: Option<String>,
}

fn month_words(first: NaiveDate) -> String {
    format!("{}年{}月", first.year(), first.month())
}

fn neighbour_month(first: NaiveDate, forward: bool) -> Option<NaiveDate> {
    if forward {
        month_last_day(first).succ_opt()
    } else {
        first.pred_opt().map(|d| d.with_day(1).unwrap_or(d))
    }
}

/// The member whose passbook the person holds; staff without one are told the page is not theirs.
pub fn own_member(person: &Person) -> Result<MemberId, ConsoleError> {
    person.user.member_id.ok_or(ConsoleError::Forbidden)
}

pub async fn show_mine(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<MineQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let member = own_member(&person)?;
    let calendar = person.community.calendar;
    let now = state.clock.now();
    let this_month = calendar
        .day_of(now)
        .with_day(1)
        .unwrap_or(calendar.day_of(now));
    let mut problem = FieldProblem::default();
    let first = match query.month.as_deref().map(str::trim) {
        None | Some("") => this_month,
        Some(text) => match parse_month(text) {
            Ok(first) if first <= this_month => first,
            Ok(_) => {
                problem = FieldProblem::on("month", words::ME_MONTH_AHEAD);
                this_month
            }
            Err(_) => {
                problem = FieldProblem::on("month", words::MONTH_INVALID);
                this_month
            }
        },
    };
    let last = month_last_day(first);
    let community = person.user.community_id;
    let user = person.user.clone();
    let (member_row, account, statement, (owed, holds, household, expiring)) =
        with_conn(&state, move |conn| {
            let (member_row, account) =
                crate::members::store::member_with_account(conn, community, member)?
                    .ok_or_else(|| crate::http::problem::ApiError::not_found("member"))?;
            let statement =
                period_statement(conn, &user, AccountId::from(account.id), first, last)?;
            let owed = crate::deeds::store::receivables::owed_by_member(conn, community, member)?;
            let holds = crate::orders::store::list(
                conn,
                community,
                Some(member),
                Some(crate::orders::model::OrderStatus::Held),
                20,
            )?;
            let household = crate::households::store::current_household(conn, community, member)?
                .map(|(h, a)| format!("{} · 家庭存折 {} 分", h.name, points(a.balance)))
                .unwrap_or_default();
            let expiring = crate::expiry::store::expiring(conn, community, &account, now)?;
            Ok((
                member_row,
                account,
                statement,
                (owed, holds, household, expiring),
            ))
        })
        .await?;
    let holds = holds
        .iter()
        .map(|(o, lines)| {
            let what: Vec<String> = lines
                .iter()
                .map(|l| format!("{}×{}", l.name, l.quantity))
                .collect();
            (
                o.id.0.to_string(),
                what.join("，"),
                points(o.total),
                o.pickup_code.clone(),
                local_minute(calendar, o.expires_at),
            )
        })
        .collect();
    let lines = statement
        .lines
        .iter()
        .map(|l| Line {
            at: chrono::DateTime::parse_from_rfc3339(&l.posted_at)
                .map(|t| local_minute(calendar, t.naive_utc()))
                .unwrap_or_else(|_| l.posted_at.clone()),
            kind: l.kind_label.clone(),
            description: l.description.clone(),
            amount_in: if l.amount_in == "0.00" {
                String::new()
            } else {
                format!("+{}", l.amount_in)
            },
            amount_out: if l.amount_out == "0.00" {
                String::new()
            } else {
                format!("-{}", l.amount_out)
            },
            balance: l.balance_after.clone(),
            recorder: l
                .recorder
                .clone()
                .unwrap_or_else(|| words::ME_RECORDER_SYSTEM.to_string()),
        })
        .collect();
    let key = |d: NaiveDate| d.format("%Y-%m").to_string();
    render(&MinePage {
        chrome: Some(Chrome::new(&person, "/me", now)),
        name: member_row.name,
        member_no: member_row.member_no,
        account_id: account.id.0.to_string(),
        balance: points(account.balance),
        holds,
        household,
        owed: if owed > 0 {
            points(owed)
        } else {
            String::new()
        },
        expiring: words::expiring_words(expiring),
        month: key(first),
        month_words: month_words(first),
        from: first.format("%Y-%m-%d").to_string(),
        to: last.format("%Y-%m-%d").to_string(),
        previous: neighbour_month(first, false).map(key).unwrap_or_default(),
        next: neighbour_month(first, true)
            .filter(|n| *n <= this_month)
            .map(key)
            .unwrap_or_default(),
        total_in: statement.total_in,
        total_out: statement.total_out,
        opening: statement.opening_balance,
        closing: statement.closing_balance,
        lines,
        problem,
    })
}
