//! The passbook (存折): statements with running balances, the statement as a CSV or .xlsx file
//! (for the API and the console's downloads alike), the lines of the printed passbook (rendered by
//! `passbook::web::print`), and the balance at any moment.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::models::{AccountRow, CommunityRow};
use crate::db::DbConn;
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{query_moment, query_period, rfc3339, with_conn, with_replica};
use crate::kernel::dates::{day_start_utc, period_end_utc};
use crate::kernel::Permission;
use crate::kernel::{AccountId, LocalCalendar, Points, PointsTotal};
use crate::members::store::MemberRow;
use crate::passbook::export::{self, ExportFormat, PassbookFile, PassbookSheet, SheetLine};
use crate::passbook::store::{self, StatementRow};

/// Lines per statement page by default and at most.
pub const STATEMENT_PAGE_LINES_DEFAULT: i64 = 100;
pub const STATEMENT_PAGE_LINES_MAX: i64 = 500;
/// Lines one export (CSV, .xlsx or printed passbook) may hold; narrow the period beyond that.
pub const STATEMENT_EXPORT_LINES_MAX: i64 = 20_000;
/// Characters of the transaction hash shown on a line: enough to find it in the journal.
const HASH_PREFIX_CHARS: usize = 12;

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementHeader {
    pub id: uuid::Uuid,
    /// `member` or a system account kind.
    pub kind: String,
    pub member_no: Option<String>,
    pub member_name: Option<String>,
    pub community_code: String,
    pub community_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementLine {
    /// The line's number in this passbook (account sequence).
    pub seq: i64,
    pub posted_at: String,
    /// `deed_credit`, `deed_deduction`, `deed_reversal`, `redemption`, `redemption_void`,
    /// `opening_balance`, `correction`.
    pub kind: String,
    pub kind_label: String,
    pub description: String,
    pub reference_id: Option<uuid::Uuid>,
    #[schema(example = "20.00")]
    pub amount_in: String,
    #[schema(example = "0.00")]
    pub amount_out: String,
    pub balance_after: String,
    /// The transaction's place in the community journal and the start of its hash.
    pub journal_seq: i64,
    pub hash: String,
    /// Who recorded it (username); null for the notice sweeper.
    pub recorder: Option<String>,
    /// Who recorded it as people know them: the user's display name, else their member's name,
    /// else the username; null for the notice sweeper.
    #[schema(example = "王秀英")]
    pub recorder_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Statement {
    pub account: StatementHeader,
    /// First local date of the period, when given.
    pub from: Option<String>,
    /// Last local date of the period, when given.
    pub to: Option<String>,
    pub opening_balance: String,
    pub closing_balance: String,
    pub total_in: String,
    pub total_out: String,
    pub lines: Vec<StatementLine>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// First local date, YYYY-MM-DD (inclusive), 2000-01-01 … 9999-12-31.
    pub from: Option<String>,
    /// Last local date, YYYY-MM-DD (inclusive), 2000-01-01 … 9999-12-31.
    pub to: Option<String>,
    /// Lines per page (1–500, default 100).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `json` (default), `csv` (the whole period, UTF-8 with BOM, CRLF: header rows naming the
    /// holder, period, balances and totals, then the lines with local dates `2026-12-02 02:34`) or
    /// `xlsx` (the same rows, amounts as numbers, dates as date-times). Without it, `Accept:
    /// text/csv` or `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`
    /// choose the file. Either file comes with `Content-Disposition` naming it after the passbook
    /// and period: `存折-M000004-张三-2026-12.csv` (RFC 5987 `filename*`), with the ASCII
    /// `filename="statement-M000004-2026-12.csv"`.
    pub format: Option<String>,
}

/// A file's bytes, as the OpenAPI document describes a download.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// Everything a statement needs to know about its account and period.
struct Period {
    account: AccountRow,
    member: Option<MemberRow>,
    community: CommunityRow,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    open_seq: i64,
    opening: i64,
    open_credits: i64,
    last_seq: i64,
    closing: i64,
    close_credits: i64,
}

/// Loads the account (checking who may read it) and the balances at the period's edges.
fn period(
    conn: &mut DbConn,
    user: &AuthUser,
    account_id: AccountId,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Period, ApiError> {
    let (account, member) =
        crate::members::store::account_with_member(conn, user.community_id, account_id)?
            .ok_or_else(|| ApiError::not_found("account"))?;
    let own = member
        .as_ref()
        .is_some_and(|m| Some(m.id.into()) == user.member_id);
    let staff = user.may(Permission::ReadStatements);
    let allowed = match &member {
        Some(_) => own || staff,
        None => user.may(Permission::ReadSystemAccounts),
    };
    if !allowed {
        if user.may(Permission::ReadMembers) {
            return Err(ApiError::forbidden(
                "statements are for the account holder, clerks, admins and auditors",
            ));
        }
        return Err(ApiError::not_found("account"));
    }
    let community = crate::communities::store::community_by_id(conn, user.community_id)?
        .ok_or_else(|| ApiError::internal("the user's community is missing"))?;
    let offset = community.utc_offset_minutes;
    let (open_seq, opening, open_credits) = match from {
        Some(from) => store::position_before(conn, account_id, day_start_utc(from, offset))?,
        None => (0, 0, 0),
    };
    // A period that ends after any time that can be stored ends where the passbook does.
    let (last_seq, closing, close_credits) = match to.and_then(|to| period_end_utc(to, offset)) {
        Some(end) => store::position_before(conn, account_id, end)?,
        None => (account.last_seq, account.balance, account.credits_total),
    };
    Ok(Period {
        account,
        member,
        community,
        from,
        to,
        open_seq,
        opening,
        open_credits,
        last_seq: last_seq.max(open_seq),
        closing,
        close_credits,
    })
}

fn line_view(row: &StatementRow) -> StatementLine {
    let (posting, entry, recorder) = row;
    StatementLine {
        seq: posting.account_seq,
        posted_at: rfc3339(posting.posted_at),
        kind: entry.kind.as_str().to_string(),
        kind_label: entry.kind.label().to_string(),
        description: entry.memo.clone(),
        reference_id: entry.reference_id.map(|r| r.0),
        amount_in: Points::from_hundredths(posting.amount.max(0)).to_string(),
        amount_out: Points::from_hundredths((-posting.amount).max(0)).to_string(),
        balance_after: Points::from_hundredths(posting.balance_after).to_string(),
        journal_seq: entry.seq,
        hash: entry.hash.chars().take(HASH_PREFIX_CHARS).collect(),
        recorder: recorder.as_ref().map(|r| r.username.clone()),
        recorder_name: recorder.as_ref().map(|r| r.name.clone()),
    }
}

/// The period's points in and out.
fn totals(p: &Period) -> (PointsTotal, PointsTotal) {
    // Credits and balances are each an i64, but their differences need not be (a system account
    // may hold a large negative balance after large credits): totals are computed exactly.
    let total = PointsTotal::from;
    let total_in = total(p.close_credits) - total(p.open_credits);
    let total_out =
        (total(p.close_credits) - total(p.closing)) - (total(p.open_credits) - total(p.opening));
    (total_in, total_out)
}

fn statement(p: &Period, lines: Vec<StatementLine>, next_cursor: Option<String>) -> Statement {
    let (total_in, total_out) = totals(p);
    Statement {
        account: StatementHeader {
            id: p.account.id.0,
            kind: p.account.kind.as_str().to_string(),
            member_no: p.member.as_ref().map(|m| m.member_no.clone()),
            member_name: p.member.as_ref().map(|m| m.name.clone()),
            community_code: p.community.code.clone(),
            community_name: p.community.name.clone(),
        },
        from: p.from.map(|d| d.to_string()),
        to: p.to.map(|d| d.to_string()),
        opening_balance: Points::from_hundredths(p.opening).to_string(),
        closing_balance: Points::from_hundredths(p.closing).to_string(),
        total_in: total_in.to_string(),
        total_out: total_out.to_string(),
        lines,
        next_cursor,
    }
}

/// Every line of the period, for exports; refused when the period holds too many.
fn all_lines(conn: &mut DbConn, p: &Period) -> Result<Vec<StatementLine>, ApiError> {
    Ok(all_rows(conn, p)?.iter().map(line_view).collect())
}

fn all_rows(conn: &mut DbConn, p: &Period) -> Result<Vec<StatementRow>, ApiError> {
    if p.last_seq - p.open_seq > STATEMENT_EXPORT_LINES_MAX {
        return Err(ApiError::validation(format!(
            "the period holds more than {STATEMENT_EXPORT_LINES_MAX} lines; narrow from and to"
        ))
        .with("lines_max", STATEMENT_EXPORT_LINES_MAX));
    }
    let account = AccountId::from(p.account.id);
    let mut after = p.open_seq;
    let mut out = Vec::new();
    while after < p.last_seq {
        let rows = store::lines(conn, account, after, p.last_seq, 1000)?;
        let Some(last) = rows.last() else { break };
        after = last.0.account_seq;
        out.extend(rows);
    }
    Ok(out)
}

/// A passbook line as the CSV and .xlsx write it, on the community's wall clock.
fn sheet_line(row: &StatementRow, calendar: LocalCalendar) -> SheetLine {
    let (posting, entry, recorder) = row;
    SheetLine {
        at: calendar.local(posting.posted_at),
        kind: entry.kind.label(),
        description: entry.memo.clone(),
        amount_in: Points::from_hundredths(posting.amount.max(0)),
        amount_out: Points::from_hundredths((-posting.amount).max(0)),
        balance: Points::from_hundredths(posting.balance_after),
        seq: posting.account_seq,
        // 经办人: the name people know the recorder by, 系统 for the notice sweeper (as printed).
        recorder: recorder
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_else(|| "系统".to_string()),
    }
}

/// The statement as the export writes it.
fn passbook_sheet(p: &Period, rows: &[StatementRow], now_utc: NaiveDateTime) -> PassbookSheet {
    let calendar = LocalCalendar::new(p.community.utc_offset_minutes);
    let (total_in, total_out) = totals(p);
    PassbookSheet {
        community: p.community.name.clone(),
        member_no: p
            .member
            .as_ref()
            .map(|m| m.member_no.clone())
            .unwrap_or_else(|| p.account.kind.as_str().to_string()),
        member_name: p
            .member
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        from: p.from,
        to: p.to,
        opening: Points::from_hundredths(p.opening),
        closing: Points::from_hundredths(p.closing),
        total_in,
        total_out,
        exported_at: calendar.local(now_utc),
        lines: rows.iter().map(|row| sheet_line(row, calendar)).collect(),
    }
}

/// The whole period of a passbook as a file, for whoever may read its statement (the same rule
/// as the JSON statement): the one function behind the API's `format=csv|xlsx` and the console's
/// download links.
pub async fn statement_file(
    state: &AppState,
    user: &AuthUser,
    account_id: AccountId,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    format: ExportFormat,
) -> Result<PassbookFile, ApiError> {
    let now = state.clock.now();
    let user = user.clone();
    with_replica(state, move |conn| {
        let p = period(conn, &user, account_id, from, to)?;
        let rows = all_rows(conn, &p)?;
        export::passbook_file(&passbook_sheet(&p, &rows, now), format).map_err(ApiError::internal)
    })
    .await
}

/// The file a statement request asks for, if any: `format`, else the `Accept` header.
fn wanted_file(req: &HttpRequest, format: Option<&str>) -> Result<Option<ExportFormat>, ApiError> {
    match format {
        Some("csv") => Ok(Some(ExportFormat::Csv)),
        Some("xlsx") => Ok(Some(ExportFormat::Xlsx)),
        Some("json") => Ok(None),
        Some(_) => Err(
            ApiError::bad_request("invalid_query", "format must be json, csv or xlsx")
                .with("field", "format"),
        ),
        None => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Ok(if accept.contains(export::XLSX_CONTENT_TYPE) {
                Some(ExportFormat::Xlsx)
            } else if accept.contains("text/csv") {
                Some(ExportFormat::Csv)
            } else {
                None
            })
        }
    }
}

/// A passbook statement: header, opening balance, dated lines with running balance, closing
/// balance and period totals. JSON pages, or the whole period as a CSV or .xlsx file.
#[utoipa::path(tag = "accounts", operation_id = "get_statement",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "account id"), StatementQuery),
    responses((status = 200, description = "JSON pages; with format=csv or format=xlsx (or the Accept header) the whole period as a file, with Content-Disposition",
            content(
                (Statement = "application/json"),
                (String = "text/csv"),
                (FileBytes = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound,
        (status = 422, description = "the period is too long to export", body = Problem, content_type = "application/problem+json")))]
#[get("/accounts/{id}/statement")]
pub async fn get_statement(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<StatementQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let account_id = AccountId(path.into_inner());
    let (from, to) = query_period(q.from.as_deref(), q.to.as_deref())?;
    let file = wanted_file(&req, q.format.as_deref())?;
    let limit = match q.limit {
        None => STATEMENT_PAGE_LINES_DEFAULT,
        Some(n) if (1..=STATEMENT_PAGE_LINES_MAX).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_limit",
                format!("limit must be between 1 and {STATEMENT_PAGE_LINES_MAX}"),
            ))
        }
    };
    let cursor = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "the cursor is not one we issued")
            })
        })
        .transpose()?;
    if let Some(format) = file {
        let file = statement_file(&state, &user, account_id, from, to, format).await?;
        return Ok(HttpResponse::Ok()
            .content_type(file.content_type)
            .insert_header((header::CONTENT_DISPOSITION, file.disposition))
            .body(file.bytes));
    }
    let result = with_replica(&state, move |conn| {
        let p = period(conn, &user, account_id, from, to)?;
        let after = cursor.unwrap_or(0).max(p.open_seq);
        let rows = store::lines(conn, account_id, after, p.last_seq, limit)?;
        let next_cursor = match rows.last() {
            Some(last) if rows.len() as i64 == limit && last.0.account_seq < p.last_seq => {
                Some(last.0.account_seq.to_string())
            }
            _ => None,
        };
        let lines = rows.iter().map(line_view).collect();
        Ok(statement(&p, lines, next_cursor))
    })
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// The whole period of a passbook for printing (the printed 存折, `passbook::web::print`), with
/// the community's UTC offset; the same access rule as the statement.
pub fn passbook_statement(
    conn: &mut DbConn,
    user: &AuthUser,
    account_id: AccountId,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(Statement, i32), ApiError> {
    let p = period(conn, user, account_id, from, to)?;
    let lines = all_lines(conn, &p)?;
    Ok((statement(&p, lines, None), p.community.utc_offset_minutes))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BalanceQuery {
    /// An RFC 3339 moment between 2000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z; now
    /// when absent.
    pub at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceAt {
    pub account_id: uuid::Uuid,
    pub at: String,
    pub balance: String,
    /// The last passbook line at or before `at` (0: none yet).
    pub seq: i64,
}

/// The balance as of a moment: one index look-up, however long the passbook.
#[utoipa::path(tag = "accounts", operation_id = "get_balance",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "account id"), BalanceQuery),
    responses((status = 200, body = BalanceAt),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound))]
#[get("/accounts/{id}/balance")]
pub async fn get_balance(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    query: web::Query<BalanceQuery>,
) -> Result<HttpResponse, ApiError> {
    let account_id = AccountId(path.into_inner());
    let at = query_moment("at", query.at.as_deref())?.unwrap_or_else(crate::db::now_utc);
    let (seq, balance) = with_conn(&state, move |conn| {
        period(conn, &user, account_id, None, None)?;
        Ok(store::position_at(conn, account_id, at)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(BalanceAt {
        account_id: account_id.0,
        at: rfc3339(at),
        balance: Points::from_hundredths(balance).to_string(),
        seq,
    }))
}

/// Every line of an account's statement for a period of local dates, checked against who may
/// read it as the API checks it: the one read behind the console's 我的存折.
pub fn period_statement(
    conn: &mut DbConn,
    user: &AuthUser,
    account_id: AccountId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Statement, ApiError> {
    let p = period(conn, user, account_id, Some(from), Some(to))?;
    let lines = all_lines(conn, &p)?;
    Ok(statement(&p, lines, None))
}
