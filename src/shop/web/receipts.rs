//! The receipt (小票) on screen, its prints for 58 mm and 80 mm thermal printers and A5, and
//! voiding it with a reason.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{
    local_second, points, render, render_with, Chrome, ConsoleError, FieldProblem,
};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::{Permission, RedemptionId};
use crate::shop::http::redemptions::void;
use crate::shop::model::RedemptionStatus;
use crate::trust::view::{self as paper, PaperHead};

use super::counter::receipt_number;

pub struct ReceiptLine {
    pub name: String,
    pub quantity: i64,
    pub price: String,
    pub line_total: String,
}

/// A receipt as the screen and the prints show it.
pub struct Receipt {
    pub id: String,
    pub number: String,
    pub community: String,
    pub when: String,
    pub day: String,
    pub clerk: String,
    pub member_id: String,
    pub member_no: String,
    pub member_name: String,
    pub lines: Vec<ReceiptLine>,
    pub items: i64,
    pub total: String,
    pub balance_after: String,
    /// The ledger line the redemption produced: journal number and the start of its hash.
    pub ledger_line: String,
    pub voided: bool,
    pub void_when: String,
    pub void_reason: String,
    pub void_line: String,
    /// The signed head covering the redemption's journal transaction (signed when the receipt
    /// was shown, if none did yet).
    pub head: PaperHead,
    /// The check page of the redemption's transaction under that head, and its QR code (inline
    /// SVG we rendered from that URL).
    pub check_url: String,
    pub qr_svg: String,
}

async fn receipt_of(
    state: &AppState,
    req: &HttpRequest,
    person: &Person,
    id: RedemptionId,
) -> Result<Receipt, ConsoleError> {
    let community = person.user.community_id;
    let code = person.community.code.clone();
    let now = state.clock.now();
    let base_url = paper::base_url(&req.connection_info());
    let (row, lines, journal, void_journal, head) = with_conn(state, move |conn| {
        let (row, lines) = crate::shop::store::redemption_with_lines(conn, community, id)?
            .ok_or_else(|| ApiError::not_found("redemption"))?;
        let journal = crate::ledger::read::journal_entry(conn, row.journal_id.into())?
            .map(|(j, _)| j)
            .ok_or_else(|| ApiError::internal("a redemption without its journal entry"))?;
        let void_journal = match row.void_journal_id {
            Some(id) => crate::ledger::read::journal_entry(conn, id.into())?.map(|(j, _)| j),
            None => None,
        };
        let head = paper::head_for_print(conn, community, &code, journal.seq, now)?;
        Ok((row, lines, journal, void_journal, head))
    })
    .await?;
    let calendar = person.community.calendar;
    let check_url = paper::check_url(
        &base_url,
        &person.community.code,
        journal.seq,
        head.tree_size,
    );
    let ledger_line = |j: &crate::db::models::JournalRow| {
        format!("第 {} 笔 · {}", j.seq, &j.hash[..j.hash.len().min(12)])
    };
    Ok(Receipt {
        id: row.id.0.to_string(),
        number: receipt_number(row.id.0),
        community: person.community.name.clone(),
        when: local_second(calendar, row.created_at),
        day: row.local_day.clone(),
        clerk: row.clerk_username.clone(),
        member_id: row.member_id.0.to_string(),
        member_no: row.member_no.clone(),
        member_name: row.member_name.clone(),
        items: lines.iter().map(|l| l.quantity).sum(),
        lines: lines
            .iter()
            .map(|l| ReceiptLine {
                name: l.name.clone(),
                quantity: l.quantity,
                price: points(l.unit_price),
                line_total: points(l.line_total),
            })
            .collect(),
        total: points(row.total),
        balance_after: points(row.balance_after),
        ledger_line: ledger_line(&journal),
        voided: row.status == RedemptionStatus::Voided,
        void_when: row
            .voided_at
            .map(|t| local_second(calendar, t))
            .unwrap_or_default(),
        void_reason: row.void_reason.clone().unwrap_or_default(),
        void_line: void_journal.as_ref().map(ledger_line).unwrap_or_default(),
        head: PaperHead::of(&head, |t| crate::console::page::local_minute(calendar, t)),
        qr_svg: paper::qr_svg(&check_url),
        check_url,
    })
}

#[derive(Template)]
#[template(path = "console/receipt.html")]
struct ReceiptPage {
    chrome: Option<Chrome>,
    receipt: Receipt,
    may_void: bool,
    reason: String,
    problem: FieldProblem,
}

pub async fn show_receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    person: Person,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReadRegister)?;
    let receipt = receipt_of(&state, &req, &person, RedemptionId(path.into_inner())).await?;
    render(&ReceiptPage {
        chrome: Some(Chrome::new(&person, "/counter", state.clock.now())),
        may_void: person.may(Permission::VoidToday) && !receipt.voided,
        receipt,
        reason: String::new(),
        problem: FieldProblem::default(),
    })
}

/// The paper a receipt is printed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 58 mm thermal roll: 16 Chinese characters a line.
    Roll58,
    /// 80 mm thermal roll: 24 Chinese characters a line.
    Roll80,
    A5,
}

impl Paper {
    fn parse(text: &str) -> Option<Paper> {
        match text {
            "58" => Some(Paper::Roll58),
            "80" => Some(Paper::Roll80),
            "a5" => Some(Paper::A5),
            _ => None,
        }
    }

    /// The class of the slip, which sets its width, type size and `@page`.
    fn class(self) -> &'static str {
        match self {
            Paper::Roll58 => "w58",
            Paper::Roll80 => "w80",
            Paper::A5 => "a5",
        }
    }
}

#[derive(Template)]
#[template(path = "console/receipt-print.html")]
struct ReceiptPrint {
    receipt: Receipt,
    paper: &'static str,
}

#[derive(Debug, Deserialize)]
pub struct PrintQuery {
    paper: Option<String>,
}

pub async fn print_receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    person: Person,
    path: web::Path<uuid::Uuid>,
    query: web::Query<PrintQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReadRegister)?;
    let paper =
        Paper::parse(query.paper.as_deref().unwrap_or("80")).ok_or(ConsoleError::NotFound)?;
    let receipt = receipt_of(&state, &req, &person, RedemptionId(path.into_inner())).await?;
    render(&ReceiptPrint {
        receipt,
        paper: paper.class(),
    })
}

#[derive(Debug, Deserialize)]
pub struct VoidForm {
    form_token: String,
    #[serde(default)]
    reason: String,
}

/// Voids the receipt with a reason, by the rules that hold: a clerk the same local day, an admin
/// any day, nobody on their own passbook.
pub async fn void_receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<VoidForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::VoidToday)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let id = RedemptionId(path.into_inner());
    let refusal = if form.reason.trim().is_empty() {
        Some((
            FieldProblem::on("reason", words::VOID_REASON_REQUIRED),
            StatusCode::UNPROCESSABLE_ENTITY,
        ))
    } else {
        match void(&state, &person.user, id, &form.reason).await {
            Ok(_) => None,
            Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
                let mut problem = words::problem(&e);
                problem.field = "reason".into();
                Some((problem, e.status))
            }
            Err(e) => return Err(e.into()),
        }
    };
    match refusal {
        None => Ok(see_other(&format!("/counter/receipts/{}", id.0))),
        Some((problem, status)) => {
            let receipt = receipt_of(&state, &req, &person, id).await?;
            render_with(
                status,
                &ReceiptPage {
                    chrome: Some(Chrome::new(&person, "/counter", state.clock.now())),
                    may_void: !receipt.voided,
                    receipt,
                    reason: form.reason,
                    problem,
                },
            )
        }
    }
}
