//! The printed passbook (存折), laid out as Chinese bookkeeping does: A4 pages of a fixed number
//! of one-line rows, each page headed with the community, 户名, 存折号, the period and
//! "第 N 页 / 共 M 页"; page 1 opens with the balance brought in (上期结转 / 期初余额), every
//! later page with 承前页 (the running totals and balance carried from the page before), every
//! page but the last closes with 过次页 (the same figures, carried to the next), and the period's
//! totals (本期合计) come once, at the end of the last page, above the clerk's signature and the
//! community's stamp. Pages are cut here on the server, so a loose page can always be attributed
//! and the number of sheets is known before the printer runs.
//!
//! Served to people at `/passbook/{account_id}/print` and to API clients at
//! `GET /api/v1/accounts/{id}/passbook`; both read through `passbook_statement`, so both follow
//! the statement's access rule (the account's owner, or staff who read statements).

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::console::page::{local_minute, ConsoleError};
use crate::console::session::{Person, CONTENT_SECURITY_POLICY};
use crate::console::words;
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::{query_period, with_conn};
use crate::kernel::time::LocalCalendar;
use crate::kernel::{AccountId, Points, PointsTotal};
use crate::passbook::http::statements::{passbook_statement, Statement, StatementLine};
use crate::trust::model::SignedHead;
use crate::trust::view::{self as paper, PaperHead};

/// Lines of the passbook on one A4 sheet in the normal print (15 px type, one 7.5 mm row each),
/// besides the row it opens with and the row it closes with. Two rows fewer than the sheet once
/// held, to make room for the signed head and its check QR code in every page's footer.
pub const PASSBOOK_PAGE_LINES: usize = 22;
/// Lines on one sheet of the large print (17 px type, 9.5 mm rows), measured the same way.
pub const PASSBOOK_PAGE_LINES_LARGE: usize = 16;
const _: () = assert!(PASSBOOK_PAGE_LINES_LARGE < PASSBOOK_PAGE_LINES);

/// The two sizes of the print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintSize {
    Normal,
    Large,
}

impl PrintSize {
    fn parse(text: Option<&str>) -> Result<PrintSize, ApiError> {
        match text.map(str::trim) {
            None | Some("") | Some("normal") => Ok(PrintSize::Normal),
            Some("large") => Ok(PrintSize::Large),
            Some(_) => Err(
                ApiError::bad_request("invalid_query", "size must be normal or large")
                    .with("field", "size"),
            ),
        }
    }

    pub fn lines_per_page(self) -> usize {
        match self {
            PrintSize::Normal => PASSBOOK_PAGE_LINES,
            PrintSize::Large => PASSBOOK_PAGE_LINES_LARGE,
        }
    }
}

/// A row that carries figures rather than a transaction: 上期结转, 承前页, 过次页, 本期合计.
pub struct CarryRow {
    pub label: &'static str,
    /// Empty on the opening row, which carries a balance only.
    pub amount_in: String,
    pub amount_out: String,
    pub balance: String,
    /// `total` for 本期合计 (drawn heavier), `carry` otherwise.
    pub class: &'static str,
}

/// One transaction as the print shows it.
pub struct PrintLine {
    pub seq: i64,
    /// The line's transaction in the community's journal, which its check QR code names.
    pub journal_seq: i64,
    /// The community's local date.
    pub date: String,
    pub kind: String,
    pub description: String,
    /// Empty when nothing came in (or went out): a paper passbook leaves the cell blank.
    pub amount_in: String,
    pub amount_out: String,
    pub balance: String,
    /// 经办人: the recorder's display name, 系统 for the notice sweeper.
    pub recorder: String,
}

/// One A4 sheet.
pub struct PrintPage {
    pub number: usize,
    pub opening: CarryRow,
    pub lines: Vec<PrintLine>,
    pub closing: CarryRow,
    pub last: bool,
    /// The check QR code (inline SVG we rendered) of the page's last line under the print's
    /// head; empty on a sheet without lines.
    pub qr_svg: String,
    /// Where the QR code leads, printed small beside it for a reader without a phone camera.
    pub check_url: String,
}

fn hundredths(amount: &str) -> i64 {
    // The statement wrote these amounts itself; a figure it cannot read back is a bug.
    Points::parse(amount).map(Points::hundredths).unwrap_or(0)
}

fn blank_zero(amount: &str) -> String {
    if amount == "0.00" {
        String::new()
    } else {
        amount.to_string()
    }
}

fn local_date(calendar: LocalCalendar, rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| calendar.local(t.naive_utc()).format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn print_line(calendar: LocalCalendar, l: &StatementLine) -> PrintLine {
    PrintLine {
        seq: l.seq,
        journal_seq: l.journal_seq,
        date: local_date(calendar, &l.posted_at),
        kind: l.kind_label.clone(),
        description: l.description.clone(),
        amount_in: blank_zero(&l.amount_in),
        amount_out: blank_zero(&l.amount_out),
        balance: l.balance_after.clone(),
        recorder: l
            .recorder_name
            .clone()
            .unwrap_or_else(|| words::PASSBOOK_SYSTEM.to_string()),
    }
}

/// Cuts the statement into sheets of `per_page` lines. The running totals on 过次页 and 承前页
/// are the period's so far; the last sheet ends with the statement's own totals and closing
/// balance. A period without lines is one sheet with its opening and its totals.
pub fn paginate(s: &Statement, calendar: LocalCalendar, per_page: usize) -> Vec<PrintPage> {
    assert!(per_page > 0, "a sheet holds at least one line");
    let chunks: Vec<&[StatementLine]> = if s.lines.is_empty() {
        vec![&[]]
    } else {
        s.lines.chunks(per_page).collect()
    };
    let count = chunks.len();
    let mut total_in = PointsTotal::default();
    let mut total_out = PointsTotal::default();
    let mut balance = s.opening_balance.clone();
    let mut pages = Vec::with_capacity(count);
    for (i, chunk) in chunks.into_iter().enumerate() {
        let opening = if i == 0 {
            CarryRow {
                label: if s.from.is_some() {
                    words::PASSBOOK_BROUGHT_IN
                } else {
                    words::PASSBOOK_OPENING
                },
                amount_in: String::new(),
                amount_out: String::new(),
                balance: balance.clone(),
                class: "carry",
            }
        } else {
            CarryRow {
                label: words::PASSBOOK_CARRIED_IN,
                amount_in: total_in.to_string(),
                amount_out: total_out.to_string(),
                balance: balance.clone(),
                class: "carry",
            }
        };
        for l in chunk {
            total_in.add(hundredths(&l.amount_in));
            total_out.add(hundredths(&l.amount_out));
            balance = l.balance_after.clone();
        }
        let last = i + 1 == count;
        let closing = if last {
            // The statement's totals come from the balances at the period's edges; the sums of
            // the lines agree with them unless the ledger is broken, which `verify` names.
            if total_in.to_string() != s.total_in
                || total_out.to_string() != s.total_out
                || balance != s.closing_balance
            {
                tracing::error!(
                    account = %s.account.id,
                    "the passbook's lines do not add up to its totals: in {total_in} vs {}, \
                     out {total_out} vs {}, balance {balance} vs {}",
                    s.total_in,
                    s.total_out,
                    s.closing_balance
                );
            }
            CarryRow {
                label: words::PASSBOOK_PERIOD_TOTAL,
                amount_in: s.total_in.clone(),
                amount_out: s.total_out.clone(),
                balance: s.closing_balance.clone(),
                class: "total",
            }
        } else {
            CarryRow {
                label: words::PASSBOOK_CARRIED_OUT,
                amount_in: total_in.to_string(),
                amount_out: total_out.to_string(),
                balance: balance.clone(),
                class: "carry",
            }
        };
        pages.push(PrintPage {
            number: i + 1,
            opening,
            lines: chunk.iter().map(|l| print_line(calendar, l)).collect(),
            closing,
            last,
            qr_svg: String::new(),
            check_url: String::new(),
        });
    }
    pages
}

#[derive(Template)]
#[template(path = "console/passbook-print.html")]
struct PassbookPrint {
    account_id: String,
    community: String,
    member_name: String,
    member_no: String,
    period: String,
    from: String,
    to: String,
    large: bool,
    /// The same print in the other size, keeping the period.
    other_size_href: String,
    printed: String,
    pages: Vec<PrintPage>,
    page_count: usize,
    head: PaperHead,
}

fn period_words(s: &Statement, today: &str) -> String {
    match (&s.from, &s.to) {
        (None, None) => format!("{} 至 {today}", words::PASSBOOK_FROM_OPENING),
        (from, to) => format!(
            "{} 至 {}",
            from.as_deref().unwrap_or(words::PASSBOOK_FROM_OPENING),
            to.as_deref().unwrap_or(today)
        ),
    }
}

/// The printed passbook as HTML: every page cut and headed, ready for A4, each carrying `head`
/// (which covers every line) and a QR code to check its last line, on the site at `base_url`.
pub fn passbook_html(
    s: &Statement,
    calendar: LocalCalendar,
    size: PrintSize,
    now_utc: NaiveDateTime,
    head: &SignedHead,
    base_url: &str,
) -> Result<String, ApiError> {
    let mut pages = paginate(s, calendar, size.lines_per_page());
    for page in &mut pages {
        if let Some(line) = page.lines.last() {
            let url = paper::check_url(
                base_url,
                &s.account.community_code,
                line.journal_seq,
                head.tree_size,
            );
            page.qr_svg = paper::qr_svg(&url);
            page.check_url = url;
        }
    }
    let today = calendar.local(now_utc).format("%Y-%m-%d").to_string();
    let mut query: Vec<String> = Vec::new();
    if let Some(from) = &s.from {
        query.push(format!("from={from}"));
    }
    if let Some(to) = &s.to {
        query.push(format!("to={to}"));
    }
    if size == PrintSize::Normal {
        query.push("size=large".into());
    }
    let other_size_href = if query.is_empty() {
        format!("/passbook/{}/print", s.account.id)
    } else {
        format!("/passbook/{}/print?{}", s.account.id, query.join("&"))
    };
    let page = PassbookPrint {
        account_id: s.account.id.to_string(),
        community: s.account.community_name.clone(),
        member_name: s.account.member_name.clone().unwrap_or_default(),
        member_no: s
            .account
            .member_no
            .clone()
            .unwrap_or_else(|| s.account.kind.clone()),
        period: period_words(s, &today),
        from: s.from.clone().unwrap_or_default(),
        to: s.to.clone().unwrap_or_default(),
        large: size == PrintSize::Large,
        other_size_href,
        printed: local_minute(calendar, now_utc),
        page_count: pages.len(),
        pages,
        head: PaperHead::of(head, |t| local_minute(calendar, t)),
    };
    page.render().map_err(ApiError::internal)
}

fn html_response(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The page's style and script are the console's own files: nothing inline is allowed.
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

async fn render_passbook(
    state: &AppState,
    req: &HttpRequest,
    user: AuthUser,
    account_id: AccountId,
    query: PassbookQuery,
) -> Result<String, ApiError> {
    let (from, to) = query_period(query.from.as_deref(), query.to.as_deref())?;
    let size = PrintSize::parse(query.size.as_deref())?;
    let now = state.clock.now();
    let base_url = paper::base_url(&req.connection_info());
    let (s, offset, head) = with_conn(state, move |conn| {
        let (s, offset) = passbook_statement(conn, &user, account_id, from, to)?;
        let community =
            crate::communities::store::community_by_code(conn, &s.account.community_code)?
                .ok_or_else(|| ApiError::internal("the statement's community is missing"))?;
        // The newest head that covers the newest line covers them all; a print signs one when
        // no head does yet (a period without lines takes the newest head there is).
        let newest = s.lines.iter().map(|l| l.journal_seq).max().unwrap_or(0);
        let head = paper::head_for_print(conn, community.id.into(), &community.code, newest, now)?;
        Ok((s, offset, head))
    })
    .await?;
    passbook_html(&s, LocalCalendar::new(offset), size, now, &head, &base_url)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PassbookQuery {
    /// First local date, YYYY-MM-DD (inclusive), 2000-01-01 … 9999-12-31.
    pub from: Option<String>,
    /// Last local date, YYYY-MM-DD (inclusive), 2000-01-01 … 9999-12-31.
    pub to: Option<String>,
    /// `large` for the large print (17 px type, fewer lines a page); `normal` by default.
    pub size: Option<String>,
}

/// The printed passbook for people: `/passbook/{account_id}/print?from&to&size=large`.
pub async fn print_passbook(
    state: web::Data<AppState>,
    req: HttpRequest,
    person: Person,
    path: web::Path<uuid::Uuid>,
    query: web::Query<PassbookQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let account_id = AccountId(path.into_inner());
    let html = render_passbook(&state, &req, person.user, account_id, query.into_inner()).await?;
    Ok(html_response(html))
}

/// The printed passbook (zh-CN, A4 pages with 承前页/过次页, headed and numbered), the same as the
/// console's `/passbook/{id}/print`. Its style and script come from `/assets/`. Each sheet carries
/// the short code of a signed head covering its lines and a QR code to the public check page; when
/// no head covers the newest line yet, the print signs one (a new row in the kept heads, as
/// `POST /ledger/heads` would), so paper never shows a head that was not kept.
#[utoipa::path(tag = "accounts", operation_id = "get_passbook",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "account id"), PassbookQuery),
    responses((status = 200, description = "an HTML page", content_type = "text/html"),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound,
        problems::Unprocessable))]
#[get("/accounts/{id}/passbook")]
pub async fn get_passbook(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    query: web::Query<PassbookQuery>,
) -> Result<HttpResponse, ApiError> {
    let account_id = AccountId(path.into_inner());
    let html = render_passbook(&state, &req, user, account_id, query.into_inner()).await?;
    Ok(html_response(html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passbook::http::statements::StatementHeader;

    /// A statement from `opening` with one line per amount (positive in, negative out), all
    /// recorded by 王主任 except the last, credited by the notice sweeper.
    fn statement(opening: i64, amounts: &[i64], from: Option<&str>) -> Statement {
        let mut balance = opening;
        let (mut total_in, mut total_out) = (0, 0);
        let count = amounts.len();
        let lines = amounts
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                balance += a;
                total_in += a.max(0);
                total_out += (-a).max(0);
                StatementLine {
                    seq: i as i64 + 1,
                    posted_at: "2026-12-01T18:34:30.734509Z".into(),
                    kind: "correction".into(),
                    kind_label: "更正".into(),
                    description: "补记".into(),
                    reference_id: None,
                    amount_in: Points::from_hundredths(a.max(0)).to_string(),
                    amount_out: Points::from_hundredths((-a).max(0)).to_string(),
                    balance_after: Points::from_hundredths(balance).to_string(),
                    journal_seq: i as i64 + 1,
                    hash: "00".into(),
                    recorder: (i + 1 < count).then(|| "wang".into()),
                    recorder_name: (i + 1 < count).then(|| "王主任".into()),
                }
            })
            .collect();
        Statement {
            account: StatementHeader {
                id: uuid::Uuid::nil(),
                kind: "member".into(),
                member_no: Some("M000001".into()),
                member_name: Some("张三".into()),
                community_code: "demo".into(),
                community_name: "示范社区".into(),
            },
            from: from.map(str::to_string),
            to: None,
            opening_balance: Points::from_hundredths(opening).to_string(),
            closing_balance: Points::from_hundredths(balance).to_string(),
            total_in: Points::from_hundredths(total_in).to_string(),
            total_out: Points::from_hundredths(total_out).to_string(),
            lines,
            next_cursor: None,
        }
    }

    fn figures(row: &CarryRow) -> (&str, &str, &str, &str) {
        (row.label, &row.amount_in, &row.amount_out, &row.balance)
    }

    #[test]
    fn each_sheet_carries_in_what_the_sheet_before_carried_out() {
        // 5 lines of 3 a sheet: +10.00, -2.50, +1.00 | +4.00, -0.50.
        let s = statement(2000, &[1000, -250, 100, 400, -50], Some("2026-12-01"));
        let pages = paginate(&s, LocalCalendar::new(480), 3);
        assert_eq!(pages.len(), 2);
        assert_eq!(figures(&pages[0].opening), ("上期结转", "", "", "20.00"));
        assert_eq!(
            figures(&pages[0].closing),
            ("过次页", "11.00", "2.50", "28.50")
        );
        assert_eq!(
            figures(&pages[1].opening),
            ("承前页", "11.00", "2.50", "28.50")
        );
        assert_eq!(
            figures(&pages[1].closing),
            ("本期合计", "15.00", "3.00", "32.00")
        );
        assert_eq!(pages[1].closing.class, "total");
        assert!(pages[1].last && !pages[0].last);
        assert_eq!(pages[1].lines.len(), 2);
        // Local dates (+08:00): 18:34 UTC on the 1st is the 2nd in the community.
        assert_eq!(pages[0].lines[0].date, "2026-12-02");
        assert_eq!(pages[0].lines[1].amount_out, "2.50");
        assert_eq!(
            pages[0].lines[1].amount_in, "",
            "nothing in: the cell is blank"
        );
        assert_eq!(pages[0].lines[0].recorder, "王主任");
        assert_eq!(pages[1].lines[1].recorder, "系统", "the notice sweeper");
    }

    #[test]
    fn a_full_last_sheet_takes_no_extra_sheet_and_an_empty_period_takes_one() {
        let s = statement(0, &[100; 6], None);
        let pages = paginate(&s, LocalCalendar::new(480), 3);
        assert_eq!(pages.len(), 2);
        assert_eq!(figures(&pages[0].opening), ("期初余额", "", "", "0.00"));
        assert_eq!(
            figures(&pages[1].closing),
            ("本期合计", "6.00", "0.00", "6.00")
        );
        let empty = statement(1234, &[], Some("2026-12-01"));
        let pages = paginate(&empty, LocalCalendar::new(480), 3);
        assert_eq!(pages.len(), 1);
        assert!(pages[0].lines.is_empty());
        assert_eq!(
            figures(&pages[0].closing),
            ("本期合计", "0.00", "0.00", "12.34")
        );
    }

    #[test]
    fn the_print_size_is_normal_or_large_and_nothing_else() {
        assert_eq!(PrintSize::parse(None).unwrap(), PrintSize::Normal);
        assert_eq!(PrintSize::parse(Some("large")).unwrap(), PrintSize::Large);
        assert!(PrintSize::parse(Some("huge")).is_err());
    }
}
