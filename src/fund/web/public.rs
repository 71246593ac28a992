//! The fund's public statement (公示): balance, donations and grants with date, amount, masked
//! name and a grant's reason, for anyone at `/public/{code}/fund` without a login.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;

use crate::console::page::{local_minute, render, ConsoleError};
use crate::deeds::http::board::mask_name;
use crate::fund::model::STATEMENT_LINES_MAX;
use crate::fund::store;
use crate::http::state::AppState;
use crate::http::with_replica;
use crate::kernel::{JournalKind, LocalCalendar, Points};

/// Longest community code looked up from a public path; longer ones name no community.
const COMMUNITY_CODE_CHARS_MAX: usize = 64;

#[derive(Debug, Clone, Serialize)]
pub struct PublicLine {
    /// `fund_donation` or `fund_grant`.
    pub kind: &'static str,
    pub label: &'static str,
    /// Community-local, to the minute.
    pub at: String,
    /// Signed from the fund's view: a donation in, a grant out.
    pub amount: String,
    pub balance_after: String,
    /// Masked (张*).
    pub member_name: String,
    /// A grant's reason; none for a donation (a donor's word is theirs).
    pub reason: Option<String>,
    pub journal_seq: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicStatement {
    pub community: String,
    pub balance: String,
    pub donated_total: String,
    pub granted_total: String,
    pub lines: Vec<PublicLine>,
}

async fn statement_of(state: &AppState, code: String) -> Result<PublicStatement, ConsoleError> {
    if code.is_empty() || code.chars().count() > COMMUNITY_CODE_CHARS_MAX {
        return Err(ConsoleError::NotFound);
    }
    let found = with_replica(state, move |conn| {
        let Some(community) = crate::communities::store::community_by_code(conn, &code)? else {
            return Ok(None);
        };
        let Some(fund) = store::fund_account(conn, community.id.into())? else {
            return Ok(None);
        };
        let lines = store::statement(conn, &fund, STATEMENT_LINES_MAX)?;
        Ok(Some((community, fund, lines)))
    })
    .await?;
    let Some((community, fund, lines)) = found else {
        return Err(ConsoleError::NotFound);
    };
    let calendar = LocalCalendar::new(community.utc_offset_minutes);
    let signed = |amount: i64| {
        let points = Points::from_hundredths(amount);
        if amount > 0 {
            format!("+{points}")
        } else {
            points.to_string()
        }
    };
    Ok(PublicStatement {
        community: community.name,
        balance: Points::from_hundredths(fund.balance).to_string(),
        donated_total: Points::from_hundredths(fund.credits_total).to_string(),
        granted_total: Points::from_hundredths(fund.credits_total - fund.balance).to_string(),
        lines: lines
            .into_iter()
            .map(|l| PublicLine {
                kind: l.kind.as_str(),
                label: l.kind.label(),
                at: local_minute(calendar, l.posted_at),
                amount: signed(l.amount),
                balance_after: Points::from_hundredths(l.balance_after).to_string(),
                member_name: mask_name(&l.member_name),
                reason: if l.kind == JournalKind::FundGrant {
                    l.reason
                } else {
                    None
                },
                journal_seq: l.journal_seq,
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "console/fund-public.html")]
struct PublicFundPage {
    chrome: Option<crate::console::page::Chrome>,
    statement: PublicStatement,
}

pub async fn show_public_fund(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let statement = statement_of(&state, path.into_inner()).await?;
    render(&PublicFundPage {
        chrome: None,
        statement,
    })
}

pub async fn public_fund_json(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let statement = statement_of(&state, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(statement))
}
