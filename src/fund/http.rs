//! The community fund's JSON face: donations (a resident's own, or recorded at the counter),
//! grants proposed by one admin and decided by a second, the fund's balance and its grants. The
//! console's pages come through the same functions.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{may_decide, GrantStatus, FUND_TEXT_CHARS_MAX, GRANTS_PAGE_ROWS_MAX};
use super::plan::{ApproveGrant, Donate, FundOutcome};
use super::store::{self, GrantListed, GrantRow};
use crate::commands::{Command, Outcome};
use crate::db::{DbConn, DbUuid};
use crate::http::extract::AuthUser;
use crate::http::idempotency::{done_or_earlier, idempotency_key, request_hash};
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{required_text, rfc3339, with_conn};
use crate::kernel::policy::refuse_self_dealing;
use crate::kernel::{Act, CommunityId, GrantId, JournalId, MemberId, Permission, Points, Subject};
use crate::ledger::{IdempotencyClaim, LedgerError};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DonationRequest {
    /// Positive decimal string with at most two places.
    #[schema(example = "10.00")]
    pub amount: String,
    /// A word from the donor; kept in the journal, not shown on the public statement.
    pub memo: Option<String>,
    /// The resident donating, when a clerk records it at the counter; absent for one's own.
    pub member_id: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DonationReceipt {
    pub journal_id: uuid::Uuid,
    pub seq: i64,
    pub member_id: uuid::Uuid,
    #[schema(example = "10.00")]
    pub amount: String,
    pub memo: String,
    /// The donor's balance right after the donation.
    pub balance: String,
    /// The fund's balance right after the donation.
    pub fund_balance: String,
    pub created_at: String,
}

/// Rebuilds a committed donation's receipt from the journal, as first sent.
fn receipt_from_journal(
    conn: &mut DbConn,
    community: CommunityId,
    journal_id: JournalId,
) -> Result<DonationReceipt, ApiError> {
    let (entry, lines) = crate::ledger::read::journal_entry(conn, journal_id)?
        .ok_or_else(|| ApiError::internal("idempotency record points at no journal entry"))?;
    let fund = store::fund_account(conn, community)?
        .ok_or_else(|| ApiError::internal("the community has no fund account"))?;
    let fund_line = lines.iter().find(|l| l.account_id == fund.id);
    let member_line = lines.iter().find(|l| l.account_id != fund.id);
    let (Some(fund_line), Some(member_line)) = (fund_line, member_line) else {
        return Err(ApiError::internal("a donation without its two lines"));
    };
    let member =
        crate::members::store::account_with_member(conn, community, member_line.account_id.into())?
            .and_then(|(_, m)| m)
            .ok_or_else(|| ApiError::internal("a donation from no member"))?;
    Ok(DonationReceipt {
        journal_id: entry.id.0,
        seq: entry.seq,
        member_id: member.id.0,
        amount: Points::from_hundredths(fund_line.amount).to_string(),
        memo: entry.memo,
        balance: Points::from_hundredths(member_line.balance_after).to_string(),
        fund_balance: Points::from_hundredths(fund_line.balance_after).to_string(),
        created_at: rfc3339(entry.created_at),
    })
}

/// Donates coins from a passbook to the community fund.
#[utoipa::path(tag = "fund", operation_id = "create_donation",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "unique per intended donation; a retry with the same key and body returns the first answer")),
    request_body = DonationRequest,
    responses((status = 201, body = DonationReceipt),
        (status = 400, description = "idempotency_key_missing, malformed JSON", body = Problem, content_type = "application/problem+json"),
        problems::Unauthorized,
        (status = 403, description = "not a clerk or admin (for another), forbidden_self_donation", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "account_frozen, idempotency_key_in_use", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed, insufficient_balance, idempotency_key_reused", body = Problem, content_type = "application/problem+json"),
        problems::Unavailable))]
#[post("/fund/donations")]
pub async fn create_donation(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<DonationRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let request = body.into_inner();
    let hash = request_hash("POST /api/v1/fund/donations", &request)?;
    let receipt = donate(
        &state,
        &user,
        request.member_id.map(MemberId),
        &request.amount,
        request.memo.as_deref().unwrap_or(""),
        (&key, &hash),
    )
    .await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// A donation through the writer: from the user's own passbook, or (`member`) a resident's at
/// the counter, never staff's own that way.
pub async fn donate(
    state: &AppState,
    user: &AuthUser,
    member: Option<MemberId>,
    amount: &str,
    memo: &str,
    (key, hash): (&str, &str),
) -> Result<DonationReceipt, ApiError> {
    let (member_id, for_another) = match member {
        Some(member) => {
            user.require(Permission::DonateForOthers)?;
            (member, true)
        }
        None => (
            user.member_id.ok_or_else(|| {
                ApiError::validation("this user has no passbook; name the donating resident")
                    .with("field", "member_id")
            })?,
            false,
        ),
    };
    let amount = Points::parse_positive(amount)
        .map_err(|e| ApiError::validation(e.to_string()).with("field", "amount"))?;
    let memo = memo.trim().to_string();
    if memo.chars().count() > FUND_TEXT_CHARS_MAX {
        return Err(ApiError::validation(format!(
            "memo must be at most {FUND_TEXT_CHARS_MAX} characters"
        ))
        .with("field", "memo"));
    }
    let outcome = state
        .engine
        .execute(Command::Donate(Donate {
            community_id: user.community_id,
            member_id,
            amount,
            memo: memo.clone(),
            actor: user.actor(),
            for_another,
            idempotency: IdempotencyClaim {
                user_id: user.user_id,
                key: key.to_string(),
                request_hash: hash.to_string(),
            },
        }))
        .await;
    let view = |done| match done {
        Outcome::Fund(FundOutcome::Donated(posted)) => {
            let fund = posted
                .lines
                .iter()
                .find(|l| l.amount == amount)
                .ok_or_else(|| ApiError::internal("a donation without the fund's line"))?;
            let member = posted
                .lines
                .iter()
                .find(|l| l.amount == -amount)
                .ok_or_else(|| ApiError::internal("a donation without the donor's line"))?;
            Ok(DonationReceipt {
                journal_id: posted.journal_id.0,
                seq: posted.seq,
                member_id: member_id.0,
                amount: amount.to_string(),
                memo,
                balance: member.balance_after.to_string(),
                fund_balance: fund.balance_after.to_string(),
                created_at: rfc3339(posted.created_at),
            })
        }
        other => Err(ApiError::internal(format!(
            "the engine answered a donation with {other:?}"
        ))),
    };
    done_or_earlier(
        state,
        user,
        (key, hash),
        outcome,
        view,
        receipt_from_journal,
    )
    .await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FundView {
    pub account_id: uuid::Uuid,
    #[schema(example = "120.00")]
    pub balance: String,
    /// Everything ever donated, and everything ever granted.
    pub donated_total: String,
    pub granted_total: String,
    /// Grants waiting for a second admin.
    pub proposed_grants: i64,
}

/// The fund's balance and totals.
#[utoipa::path(tag = "fund", operation_id = "get_fund",
    security(("bearer" = [])),
    responses((status = 200, body = FundView),
        problems::Unauthorized,
        problems::Forbidden))]
#[get("/fund")]
pub async fn get_fund(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(fund_view(&state, &user).await?))
}

pub async fn fund_view(state: &AppState, user: &AuthUser) -> Result<FundView, ApiError> {
    user.require(Permission::ReadFund)?;
    let community = user.community_id;
    with_conn(state, move |conn| {
        let fund = store::fund_account(conn, community)?
            .ok_or_else(|| ApiError::internal("the community has no fund account"))?;
        let proposed = store::grants(
            conn,
            community,
            Some(GrantStatus::Proposed),
            GRANTS_PAGE_ROWS_MAX,
        )?
        .len() as i64;
        Ok(FundView {
            account_id: fund.id.0,
            balance: Points::from_hundredths(fund.balance).to_string(),
            donated_total: Points::from_hundredths(fund.credits_total).to_string(),
            granted_total: Points::from_hundredths(fund.credits_total - fund.balance).to_string(),
            proposed_grants: proposed,
        })
    })
    .await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrantView {
    pub id: uuid::Uuid,
    pub member_id: uuid::Uuid,
    pub member_no: String,
    pub member_name: String,
    #[schema(example = "50.00")]
    pub amount: String,
    pub reason: String,
    /// `proposed`, `approved` or `rejected`.
    pub status: String,
    pub proposed_by: uuid::Uuid,
    pub proposed_at: String,
    pub decided_by: Option<uuid::Uuid>,
    pub decided_at: Option<String>,
    pub decision_reason: Option<String>,
    /// The transaction that paid an approved grant.
    pub journal_id: Option<uuid::Uuid>,
}

pub fn grant_view((g, member_no, member_name): &GrantListed) -> GrantView {
    GrantView {
        id: g.id.0,
        member_id: g.member_id.0,
        member_no: member_no.clone(),
        member_name: member_name.clone(),
        amount: Points::from_hundredths(g.amount).to_string(),
        reason: g.reason.clone(),
        status: g.status.as_str().to_string(),
        proposed_by: g.proposed_by.0,
        proposed_at: rfc3339(g.proposed_at),
        decided_by: g.decided_by.map(|u| u.0),
        decided_at: g.decided_at.map(rfc3339),
        decision_reason: g.decision_reason.clone(),
        journal_id: g.journal_id.map(|j| j.0),
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub member_id: uuid::Uuid,
    #[schema(example = "50.00")]
    pub amount: String,
    /// Why the resident needs it; shown on the public statement.
    #[schema(example = "家中老人住院")]
    pub reason: String,
}

/// Proposes a grant from the fund; a second admin approves or rejects it.
#[utoipa::path(tag = "fund", operation_id = "create_grant",
    security(("bearer" = [])),
    request_body = GrantRequest,
    responses((status = 201, body = GrantView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "not an admin, forbidden_self_grant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/fund/grants")]
pub async fn create_grant(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<GrantRequest>,
) -> Result<HttpResponse, ApiError> {
    let r = body.into_inner();
    let grant = propose_grant(&state, &user, MemberId(r.member_id), &r.amount, &r.reason).await?;
    Ok(HttpResponse::Created().json(grant))
}

/// Records a proposal; no coins move until a second admin approves it.
pub async fn propose_grant(
    state: &AppState,
    user: &AuthUser,
    member_id: MemberId,
    amount: &str,
    reason: &str,
) -> Result<GrantView, ApiError> {
    user.require(Permission::GrantFromFund)?;
    let amount = Points::parse_positive(amount)
        .map_err(|e| ApiError::validation(e.to_string()).with("field", "amount"))?;
    let reason = required_text("reason", reason, FUND_TEXT_CHARS_MAX)?;
    refuse_self_dealing(
        user.actor(),
        Act::Grant,
        Subject {
            member_id: Some(member_id),
            ..Subject::default()
        },
    )
    .map_err(LedgerError::from)?;
    let community = user.community_id;
    let proposer = user.user_id;
    let now = state.clock.now();
    with_conn(state, move |conn| {
        let (member, account) =
            crate::members::store::member_with_account(conn, community, member_id)?
                .ok_or_else(|| ApiError::not_found("member"))?;
        let row = GrantRow {
            id: DbUuid::from(GrantId::new()),
            community_id: community.into(),
            member_id: member.id,
            account_id: account.id,
            amount: amount.hundredths(),
            reason,
            status: GrantStatus::Proposed,
            proposed_by: proposer.into(),
            proposed_at: now,
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            journal_id: None,
        };
        store::insert_grant(conn, &row)?;
        Ok(grant_view(&(row, member.member_no, member.name)))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantListQuery {
    /// `proposed`, `approved` or `rejected`; all when absent.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantList {
    pub items: Vec<GrantView>,
    pub next_cursor: Option<String>,
}

/// The fund's grants, newest first.
#[utoipa::path(tag = "fund", operation_id = "list_grants",
    security(("bearer" = [])),
    params(GrantListQuery),
    responses((status = 200, body = GrantList),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden))]
#[get("/fund/grants")]
pub async fn list_grants(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<GrantListQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(word) => Some(GrantStatus::parse(word).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_status",
                "status must be proposed, approved or rejected",
            )
        })?),
    };
    let items = grants(&state, &user, status).await?;
    Ok(HttpResponse::Ok().json(GrantList {
        items,
        next_cursor: None,
    }))
}

pub async fn grants(
    state: &AppState,
    user: &AuthUser,
    status: Option<GrantStatus>,
) -> Result<Vec<GrantView>, ApiError> {
    user.require(Permission::ReadFund)?;
    let community = user.community_id;
    with_conn(state, move |conn| {
        Ok(
            store::grants(conn, community, status, GRANTS_PAGE_ROWS_MAX)?
                .iter()
                .map(grant_view)
                .collect(),
        )
    })
    .await
}

async fn grant_listed(
    state: &AppState,
    user: &AuthUser,
    id: GrantId,
) -> Result<GrantListed, ApiError> {
    let community = user.community_id;
    with_conn(state, move |conn| {
        store::grant(conn, community, id)?.ok_or_else(|| ApiError::not_found("grant"))
    })
    .await
}

/// A second admin approves a grant: the fund pays it, in the batch that records the decision.
#[utoipa::path(tag = "fund", operation_id = "approve_grant",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "the grant")),
    responses((status = 200, body = GrantView),
        problems::Unauthorized,
        (status = 403, description = "not an admin, forbidden_own_proposal, forbidden_self_grant", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        (status = 409, description = "grant_decided", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "fund_insufficient", body = Problem, content_type = "application/problem+json"),
        problems::Unavailable))]
#[post("/fund/grants/{id}/approve")]
pub async fn approve_grant(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let view = approve(&state, &user, GrantId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn approve(
    state: &AppState,
    user: &AuthUser,
    id: GrantId,
) -> Result<GrantView, ApiError> {
    user.require(Permission::GrantFromFund)?;
    let (_, member_no, member_name) = grant_listed(state, user, id).await?;
    let outcome = state
        .engine
        .execute(Command::ApproveGrant(ApproveGrant {
            community_id: user.community_id,
            grant_id: id,
            actor: user.actor(),
        }))
        .await?;
    match outcome {
        Outcome::Fund(FundOutcome::Granted { grant, .. }) => {
            Ok(grant_view(&(grant, member_no, member_name)))
        }
        other => Err(ApiError::internal(format!(
            "the engine answered a grant's approval with {other:?}"
        ))),
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectGrantRequest {
    pub reason: String,
}

/// A second admin rejects a grant; nothing moves.
#[utoipa::path(tag = "fund", operation_id = "reject_grant",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "the grant")),
    request_body = RejectGrantRequest,
    responses((status = 200, body = GrantView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "not an admin, forbidden_own_proposal, forbidden_self_grant", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        (status = 409, description = "grant_decided", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/fund/grants/{id}/reject")]
pub async fn reject_grant(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<RejectGrantRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = reject(&state, &user, GrantId(path.into_inner()), &body.reason).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Why `user` may not decide this grant now, if they may not.
fn refuse_decision(user: &AuthUser, grant: &GrantRow) -> Result<(), LedgerError> {
    may_decide(grant.facts(), user.user_id)?;
    refuse_self_dealing(
        user.actor(),
        Act::Grant,
        Subject {
            member_id: Some(grant.member_id.into()),
            ..Subject::default()
        },
    )?;
    Ok(())
}

pub async fn reject(
    state: &AppState,
    user: &AuthUser,
    id: GrantId,
    reason: &str,
) -> Result<GrantView, ApiError> {
    user.require(Permission::GrantFromFund)?;
    let reason = required_text("reason", reason, FUND_TEXT_CHARS_MAX)?;
    let (grant, _, _) = grant_listed(state, user, id).await?;
    refuse_decision(user, &grant)?;
    let community = user.community_id;
    let decider = user.user_id;
    let now = state.clock.now();
    let changed = with_conn(state, move |conn| {
        Ok(store::reject_grant(
            conn, community, id, decider, &reason, now,
        )?)
    })
    .await?;
    let listed = grant_listed(state, user, id).await?;
    if !changed {
        // Decided by someone else between the read and the update: say how it stands now.
        refuse_decision(user, &listed.0)?;
        return Err(ApiError::internal("a proposed grant could not be rejected"));
    }
    Ok(grant_view(&listed))
}
