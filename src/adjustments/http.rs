//! Adjustments: balances carried over from paper passbooks, and corrections. Admin only, with an
//! `Idempotency-Key` so a retried request never posts twice.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adjustments::plan::{Adjust, AdjustmentKind};
use crate::commands::{Command, Outcome};
use crate::http::extract::AuthUser;
use crate::http::idempotency::{created_or_earlier, idempotency_key, request_hash};
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{rfc3339, with_conn};
use crate::kernel::Permission;
use crate::kernel::{AccountId, JournalId, MemberId, Points};
use crate::ledger::command::MEMO_CHARS_MAX;
use crate::ledger::IdempotencyClaim;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    pub member_id: uuid::Uuid,
    /// Signed decimal string with at most two places: positive credits, negative debits.
    #[schema(example = "35.50")]
    pub amount: String,
    /// `opening_balance` (carried over from paper; must be positive) or `correction`.
    #[schema(example = "opening_balance")]
    pub kind: String,
    /// Why, in words an auditor will read later.
    #[schema(example = "纸质存折结转")]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentReceipt {
    pub journal_id: uuid::Uuid,
    /// The transaction's place in the community's journal.
    pub seq: i64,
    pub member_id: uuid::Uuid,
    pub account_id: uuid::Uuid,
    pub kind: String,
    #[schema(example = "35.50")]
    pub amount: String,
    pub reason: String,
    /// The member's balance right after this adjustment.
    #[schema(example = "35.50")]
    pub balance: String,
    pub created_at: String,
}

/// Rebuilds the receipt of a committed adjustment from the journal, byte for byte as first sent.
fn receipt_from_journal(
    conn: &mut crate::db::DbConn,
    community: crate::kernel::CommunityId,
    journal_id: JournalId,
) -> Result<AdjustmentReceipt, ApiError> {
    let (entry, lines) = crate::ledger::read::journal_entry(conn, journal_id)?
        .ok_or_else(|| ApiError::internal("idempotency record points at no journal entry"))?;
    for line in &lines {
        if let Some((account, Some(member))) =
            crate::members::store::account_with_member(conn, community, line.account_id.into())?
        {
            return Ok(AdjustmentReceipt {
                journal_id: entry.id.0,
                seq: entry.seq,
                member_id: member.id.0,
                account_id: account.id.0,
                kind: entry.kind.as_str().to_string(),
                amount: Points::from_hundredths(line.amount).to_string(),
                reason: entry.memo.clone(),
                balance: Points::from_hundredths(line.balance_after).to_string(),
                created_at: rfc3339(entry.created_at),
            });
        }
    }
    Err(ApiError::internal("adjustment without a member posting"))
}

/// Credits or debits a member: an opening balance from a paper passbook, or a correction.
#[utoipa::path(tag = "adjustments", operation_id = "create_adjustment",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "unique per intended adjustment; a retry with the same key and body returns the first answer")),
    request_body = AdjustmentRequest,
    responses((status = 201, body = AdjustmentReceipt),
        (status = 400, description = "idempotency_key_missing, malformed JSON", body = Problem, content_type = "application/problem+json"),
        problems::Unauthorized,
        (status = 403, description = "not an admin, or an adjustment of one's own account", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "account_frozen, idempotency_key_in_use", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed, insufficient_balance, idempotency_key_reused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the ledger is busy or unavailable; retry with the same key", body = Problem, content_type = "application/problem+json")))]
#[post("/adjustments")]
pub async fn create_adjustment(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<AdjustmentRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::Adjust)?;
    let key = idempotency_key(&req)?;
    let request = body.into_inner();
    let hash = request_hash("POST /api/v1/adjustments", &request)?;
    // A retry is recognised by the writer, which checks the stored keys before anything else.

    let kind = AdjustmentKind::parse(&request.kind).ok_or_else(|| {
        ApiError::validation("kind must be opening_balance or correction").with("field", "kind")
    })?;
    let amount = Points::parse_nonzero(&request.amount)
        .map_err(|e| ApiError::validation(e.to_string()).with("field", "amount"))?;
    if kind == AdjustmentKind::OpeningBalance && amount.is_negative() {
        return Err(
            ApiError::validation("an opening balance must be positive").with("field", "amount")
        );
    }
    let reason = crate::http::required_text("reason", &request.reason, MEMO_CHARS_MAX)?;
    let member_id = MemberId(request.member_id);
    let community = user.community_id;
    let (member, account) = with_conn(&state, move |conn| {
        Ok(crate::members::store::member_with_account(
            conn, community, member_id,
        )?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("member"))?;
    let account_id: AccountId = account.id.into();

    let outcome = state
        .engine
        .execute(Command::Adjust(Adjust {
            community_id: community,
            member_account_id: account_id,
            kind,
            amount,
            reason: reason.clone(),
            actor: user.actor(),
            idempotency: IdempotencyClaim {
                user_id: user.user_id,
                key: key.clone(),
                request_hash: hash.clone(),
            },
        }))
        .await;
    let view = |done| match done {
        Outcome::Posted(posted) => {
            let line = posted
                .line_for(account_id)
                .ok_or_else(|| ApiError::internal("posted adjustment lacks the member line"))?;
            Ok(AdjustmentReceipt {
                journal_id: posted.journal_id.0,
                seq: posted.seq,
                member_id: member.id.0,
                account_id: account_id.0,
                kind: kind.as_str().to_string(),
                amount: line.amount.to_string(),
                reason,
                balance: line.balance_after.to_string(),
                created_at: rfc3339(posted.created_at),
            })
        }
        other => Err(ApiError::internal(format!(
            "the engine answered an adjustment with {other:?}"
        ))),
    };
    created_or_earlier(
        &state,
        &user,
        (&key, &hash),
        outcome,
        view,
        receipt_from_journal,
    )
    .await
}
