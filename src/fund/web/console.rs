//! The fund in the console: the admins' fund page (balance, grants waiting for a second admin
//! with approve and reject buttons, the propose form), and the donate form a resident uses on
//! their own passbook and a clerk at the counter. Every change goes through `fund::http`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{local_minute, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::fund::http::{self as concept, FundView, GrantView};
use crate::fund::model::GrantStatus;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::Freshness;
use crate::kernel::{GrantId, MemberId, Permission};
use crate::members::http::{member_page, MemberListQuery};

/// A grant as the fund page lists it.
pub struct GrantLine {
    pub id: String,
    pub member: String,
    pub amount: String,
    pub reason: String,
    pub status: &'static str,
    pub proposed_at: String,
    /// This admin may decide it (proposed, by someone else).
    pub decidable: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProposeForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    member_no: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "console/fund.html")]
struct FundPage {
    chrome: Option<Chrome>,
    fund: FundView,
    waiting: Vec<GrantLine>,
    decided: Vec<GrantLine>,
    may_grant: bool,
    may_donate_for_others: bool,
    public_path: String,
    done: &'static str,
    member_no: String,
    amount: String,
    reason: String,
    problem: FieldProblem,
}

fn grant_line(person: &Person, g: &GrantView) -> GrantLine {
    let status = GrantStatus::parse(&g.status).unwrap_or(GrantStatus::Proposed);
    GrantLine {
        id: g.id.to_string(),
        member: format!("{}（{}）", g.member_name, g.member_no),
        amount: g.amount.clone(),
        reason: g.reason.clone(),
        status: words::grant_status(status),
        proposed_at: chrono::DateTime::parse_from_rfc3339(&g.proposed_at)
            .map(|t| local_minute(person.community.calendar, t.naive_utc()))
            .unwrap_or_default(),
        decidable: status == GrantStatus::Proposed
            && g.proposed_by != person.user.user_id.0
            && person.may(Permission::GrantFromFund),
    }
}

async fn fund_page(
    state: &AppState,
    person: &Person,
    form: &ProposeForm,
    problem: FieldProblem,
    done: &'static str,
) -> Result<FundPage, ConsoleError> {
    let fund = concept::fund_view(state, &person.user).await?;
    let grants = concept::grants(state, &person.user, None).await?;
    let (waiting, decided): (Vec<_>, Vec<_>) = grants
        .iter()
        .map(|g| {
            (
                g.status == GrantStatus::Proposed.as_str(),
                grant_line(person, g),
            )
        })
        .partition(|(waiting, _)| *waiting);
    Ok(FundPage {
        chrome: Some(Chrome::new(person, "/fund", state.clock.now())),
        fund,
        waiting: waiting.into_iter().map(|(_, l)| l).collect(),
        decided: decided.into_iter().map(|(_, l)| l).collect(),
        may_grant: person.may(Permission::GrantFromFund),
        may_donate_for_others: person.may(Permission::DonateForOthers),
        public_path: format!("/public/{}/fund", person.community.code),
        done,
        member_no: form.member_no.clone(),
        amount: form.amount.clone(),
        reason: form.reason.clone(),
        problem,
    })
}

fn done_word(query: &DoneQuery) -> &'static str {
    match query.done.as_deref() {
        Some("proposed") => words::FUND_DONE_PROPOSED,
        Some("approved") => words::FUND_DONE_APPROVED,
        Some("rejected") => words::FUND_DONE_REJECTED,
        Some("donated") => words::FUND_DONE_DONATED,
        _ => "",
    }
}

pub async fn show_fund(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReadFund)?;
    let page = fund_page(
        &state,
        &person,
        &ProposeForm::default(),
        FieldProblem::default(),
        done_word(&query),
    )
    .await?;
    render_with(StatusCode::OK, &page)
}

/// A refusal a form shows beside its field; a server failure stays an error page.
fn refusal(e: ApiError) -> Result<(FieldProblem, StatusCode), ConsoleError> {
    if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND {
        let status = e.status;
        Ok((words::fund_problem(&e), status))
    } else {
        Err(e.into())
    }
}

/// The member a passbook number names, or the problem beside the field.
async fn member_by_no(
    state: &AppState,
    person: &Person,
    member_no: &str,
) -> Result<Result<MemberId, FieldProblem>, ConsoleError> {
    let member_no = member_no.trim().to_string();
    if member_no.is_empty() {
        return Ok(Err(FieldProblem::on(
            "member_no",
            words::FUND_MEMBER_NO_MISSING,
        )));
    }
    let query = MemberListQuery {
        member_no: Some(member_no),
        q: None,
        limit: Some(1),
        cursor: None,
    };
    let found = member_page(state, &person.user, query, Freshness::Current).await?;
    Ok(found
        .items
        .first()
        .map(|m| MemberId(m.id))
        .ok_or_else(|| FieldProblem::on("member_no", words::FUND_MEMBER_NOT_FOUND)))
}

pub async fn propose(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<ProposeForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::GrantFromFund)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let (problem, status) = match member_by_no(&state, &person, &form.member_no).await? {
        Err(problem) => (problem, StatusCode::UNPROCESSABLE_ENTITY),
        Ok(member) => {
            match concept::propose_grant(&state, &person.user, member, &form.amount, &form.reason)
                .await
            {
                Ok(_) => return Ok(see_other("/fund?done=proposed")),
                Err(e) => refusal(e)?,
            }
        }
    };
    let page = fund_page(&state, &person, &form, problem, "").await?;
    render_with(status, &page)
}

#[derive(Debug, Default, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    reason: String,
}

async fn decided(
    state: &AppState,
    person: &Person,
    result: Result<GrantView, ApiError>,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    match result {
        Ok(_) => Ok(see_other(&format!("/fund?done={done}"))),
        Err(e) => {
            let (mut problem, status) = refusal(e)?;
            // A decision's refusal belongs to the list of grants, not to the propose form.
            problem.field = "decision".to_string();
            let page = fund_page(state, person, &ProposeForm::default(), problem, "").await?;
            render_with(status, &page)
        }
    }
}

pub async fn approve(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<DecideForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::GrantFromFund)?;
    person.check_form_token(&form.form_token)?;
    let result = concept::approve(&state, &person.user, GrantId(path.into_inner())).await;
    decided(&state, &person, result, "approved").await
}

pub async fn reject(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<DecideForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::GrantFromFund)?;
    person.check_form_token(&form.form_token)?;
    let id = GrantId(path.into_inner());
    let result = concept::reject(&state, &person.user, id, &form.reason).await;
    decided(&state, &person, result, "rejected").await
}

#[derive(Debug, Default, Deserialize)]
pub struct DonateForm {
    #[serde(default)]
    form_token: String,
    /// The page's idempotency key: a double click donates once.
    #[serde(default)]
    key: String,
    #[serde(default)]
    member_no: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    memo: String,
}

#[derive(Template)]
#[template(path = "console/fund-donate.html")]
struct DonatePage {
    chrome: Option<Chrome>,
    /// A clerk records for a resident (the passbook number field is shown).
    at_counter: bool,
    key: String,
    member_no: String,
    amount: String,
    memo: String,
    problem: FieldProblem,
    done: String,
}

fn at_counter(person: &Person) -> bool {
    person.may(Permission::DonateForOthers)
}

fn donate_page(
    person: &Person,
    state: &AppState,
    form: &DonateForm,
    problem: FieldProblem,
    done: String,
) -> DonatePage {
    DonatePage {
        chrome: Some(Chrome::new(person, "/fund/donate", state.clock.now())),
        at_counter: at_counter(person),
        key: uuid::Uuid::now_v7().to_string(),
        member_no: form.member_no.clone(),
        amount: form.amount.clone(),
        memo: form.memo.clone(),
        problem,
        done,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DonatedQuery {
    amount: Option<String>,
    balance: Option<String>,
}

pub async fn show_donate(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<DonatedQuery>,
) -> Result<HttpResponse, ConsoleError> {
    if !at_counter(&person) && person.user.member_id.is_none() {
        return Err(ConsoleError::NotFound);
    }
    let done = match (&query.amount, &query.balance) {
        (Some(amount), Some(balance)) => words::fund_donated(amount, balance),
        _ => String::new(),
    };
    let page = donate_page(
        &person,
        &state,
        &DonateForm::default(),
        FieldProblem::default(),
        done,
    );
    render_with(StatusCode::OK, &page)
}

pub async fn donate(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<DonateForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let key = crate::http::idempotency::checked_key(&form.key).map_err(ConsoleError::Problem)?;
    let member = if at_counter(&person) {
        match member_by_no(&state, &person, &form.member_no).await? {
            Ok(member) => Ok(Some(member)),
            Err(problem) => Err(problem),
        }
    } else {
        Ok(None)
    };
    let (problem, status) = match member {
        Err(problem) => (problem, StatusCode::UNPROCESSABLE_ENTITY),
        Ok(member) => {
            let body = serde_json::json!({
                "amount": form.amount, "memo": form.memo, "member_id": member.map(|m| m.0),
            });
            let hash = crate::http::idempotency::request_hash("POST /fund/donate", &body)
                .map_err(ConsoleError::Problem)?;
            match concept::donate(
                &state,
                &person.user,
                member,
                &form.amount,
                &form.memo,
                (&key, &hash),
            )
            .await
            {
                Ok(receipt) => {
                    return Ok(see_other(&format!(
                        "/fund/donate?amount={}&balance={}",
                        receipt.amount, receipt.balance
                    )))
                }
                Err(e) => refusal(e)?,
            }
        }
    };
    let page = donate_page(&person, &state, &form, problem, String::new());
    render_with(status, &page)
}
