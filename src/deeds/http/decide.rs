//! The deed workflow's decisions: first check (初审), approval (one or forty at a meeting),
//! rejection, withdrawal, objection during the notice, and reversal of a credited deed.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::commands::{Command, Outcome};
use crate::deeds::model::{DeedAction, ReviewStages};
use crate::deeds::plan::{DeedCommand, Step};
use crate::deeds::store;
use crate::deeds::store::{DeedRow, ObjectionRow};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{required_text, with_conn};
use crate::kernel::Permission;
use crate::kernel::{CommunityId, DeedId};
use crate::ledger::command::MEMO_CHARS_MAX;
use crate::ledger::LedgerError;

use super::deeds::{deed_view, objection_view, visible_deed, DeedView, ObjectionView};

/// Deeds one bulk approval may name.
pub const BULK_APPROVAL_IDS_MAX: usize = 200;

/// Runs a step of the workflow that moves no coins. The ledger writer checks and records it, as
/// it does the steps that move coins: the workflow's rules live in one place, and every step of
/// a deed takes the same locks in the same order. `must_see` first answers "not found" for a deed
/// the user may not see, exactly as for one that does not exist.
pub async fn move_deed(
    state: &AppState,
    user: &AuthUser,
    id: DeedId,
    action: DeedAction,
    reason: Option<String>,
    must_see: bool,
) -> Result<DeedRow, ApiError> {
    let community = user.community_id;
    let settings = {
        let user = user.clone();
        with_conn(state, move |conn| {
            if must_see {
                visible_deed(conn, &user, id)?;
            }
            Ok(store::settings(conn, community)?)
        })
        .await?
    };
    deed_answer(
        state
            .engine
            .execute(Command::Deed(DeedCommand {
                community_id: community,
                deed_id: id,
                step: Step::Move {
                    actor: user.actor(),
                    action,
                    reason,
                    stages: ReviewStages::from_count(settings.review_stages),
                },
                clock_now: state.clock.now(),
            }))
            .await,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `pass` or `return`.
    pub decision: String,
    /// Required to return a deed.
    pub reason: Option<String>,
}

/// First check (初审) by a reviewer or admin, when the community reviews in two stages.
#[utoipa::path(tag = "deeds", operation_id = "create_deed_review",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    request_body = ReviewRequest,
    responses((status = 200, body = DeedView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden, forbidden_self_approval", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/deeds/{id}/review")]
pub async fn review_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<ReviewRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::FirstCheck)?;
    let r = body.into_inner();
    let pass = match r.decision.as_str() {
        "pass" => true,
        "return" => false,
        _ => {
            return Err(
                ApiError::validation("decision must be pass or return").with("field", "decision")
            )
        }
    };
    let reason = r
        .reason
        .as_deref()
        .map(|t| required_text("reason", t, MEMO_CHARS_MAX))
        .transpose()?;
    if !pass && reason.is_none() {
        return Err(ApiError::validation("say why the deed is returned").with("field", "reason"));
    }
    let step = if pass {
        DeedAction::Pass
    } else {
        DeedAction::Return
    };
    let community = user.community_id;
    let deed = move_deed(&state, &user, DeedId(path.into_inner()), step, reason, true).await?;
    let (no, name) = member_labels(&state, community, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OptionalReasonRequest {
    pub reason: Option<String>,
}

/// Rejects a deed (admin, reason required).
#[utoipa::path(tag = "deeds", operation_id = "create_deed_rejection",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    request_body = ReasonRequest,
    responses((status = 200, body = DeedView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden, forbidden_self_approval", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/deeds/{id}/reject")]
pub async fn reject_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<ReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::DecideDeeds)?;
    let reason = required_text("reason", &body.reason, MEMO_CHARS_MAX)?;
    let community = user.community_id;
    let id = DeedId(path.into_inner());
    let deed = move_deed(&state, &user, id, DeedAction::Reject, Some(reason), true).await?;
    let (no, name) = member_labels(&state, community, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
}

/// Withdraws a deed (its submitter, before a decision).
#[utoipa::path(tag = "deeds", operation_id = "create_deed_withdrawal",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    request_body = OptionalReasonRequest,
    responses((status = 200, body = DeedView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound,
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/deeds/{id}/withdraw")]
pub async fn withdraw_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<OptionalReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = body
        .reason
        .as_deref()
        .map(|t| required_text("reason", t, MEMO_CHARS_MAX))
        .transpose()?;
    let community = user.community_id;
    let id = DeedId(path.into_inner());
    let deed = move_deed(&state, &user, id, DeedAction::Withdraw, reason, true).await?;
    let (no, name) = member_labels(&state, community, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
}

/// Files an objection during public notice (any user). It is recorded; the deed stays on notice
/// but is not credited until an admin rules on every undecided objection.
#[utoipa::path(tag = "deeds", operation_id = "create_deed_objection",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    request_body = ReasonRequest,
    responses((status = 201, body = ObjectionView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::NotFound,
        (status = 409, description = "invalid_transition: not on notice; already_objected: the user's own objection to it is undecided", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable,
        problems::Unavailable))]
#[post("/deeds/{id}/objections")]
pub async fn object_to_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<ReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = required_text("reason", &body.reason, MEMO_CHARS_MAX)?;
    let objection = raise_objection(&state, &user, DeedId(path.into_inner()), reason).await?;
    Ok(HttpResponse::Created().json(objection_view(&objection)))
}

/// Records an objection. Anyone in the community may object to what is on the public board,
/// including residents who cannot otherwise see the deed; the board itself is public. A person
/// has one undecided objection to a deed at a time.
pub async fn raise_objection(
    state: &AppState,
    user: &AuthUser,
    id: DeedId,
    reason: String,
) -> Result<ObjectionRow, ApiError> {
    let outcome = state
        .engine
        .execute(Command::Deed(DeedCommand {
            community_id: user.community_id,
            deed_id: id,
            step: Step::Object {
                actor: user.actor(),
                reason,
            },
            clock_now: state.clock.now(),
        }))
        .await;
    match outcome? {
        Outcome::Deed(outcome) => outcome
            .objection
            .map(|o| *o)
            .ok_or_else(|| ApiError::internal("an objection step answered no objection")),
        other => Err(ApiError::internal(format!(
            "the engine answered a deed command with {other:?}"
        ))),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRulingRequest {
    /// `uphold` (the deed goes back to review) or `dismiss` (the notice runs on).
    pub decision: String,
    /// Required to dismiss.
    pub reason: Option<String>,
}

/// An admin rules on an undecided objection: upheld, the deed goes back to review with its
/// objections attached; dismissed with a reason, the notice runs on and the deed credits when it
/// is over and no objection is undecided. Answers the deed with its objections.
#[utoipa::path(tag = "deeds", operation_id = "create_objection_ruling",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id"),
        ("objection_id" = uuid::Uuid, Path, description = "objection id")),
    request_body = ObjectionRulingRequest,
    responses((status = 200, body = DeedView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden, forbidden_self_approval", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such deed or objection", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "objection_ruled (already upheld or dismissed), invalid_transition", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable,
        problems::Unavailable))]
#[post("/deeds/{id}/objections/{objection_id}/ruling")]
pub async fn rule_objection(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
    body: web::Json<ObjectionRulingRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, objection) = path.into_inner();
    let r = body.into_inner();
    let uphold = match r.decision.as_str() {
        "uphold" => true,
        "dismiss" => false,
        _ => {
            return Err(ApiError::validation("decision must be uphold or dismiss")
                .with("field", "decision"))
        }
    };
    let view = rule_on_objection(&state, &user, DeedId(id), objection, uphold, r.reason).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The one path of a ruling on an objection, for the JSON API and the console.
pub async fn rule_on_objection(
    state: &AppState,
    user: &AuthUser,
    id: DeedId,
    objection: uuid::Uuid,
    uphold: bool,
    reason: Option<String>,
) -> Result<DeedView, ApiError> {
    user.require(Permission::DecideDeeds)?;
    let reason = reason
        .as_deref()
        .map(|t| required_text("reason", t, MEMO_CHARS_MAX))
        .transpose()?;
    if !uphold && reason.is_none() {
        return Err(
            ApiError::validation("say why the objection is dismissed").with("field", "reason")
        );
    }
    {
        let user = user.clone();
        with_conn(state, move |conn| visible_deed(conn, &user, id).map(|_| ())).await?;
    }
    let deed = deed_answer(
        state
            .engine
            .execute(Command::Deed(DeedCommand {
                community_id: user.community_id,
                deed_id: id,
                step: Step::RuleObjection {
                    actor: user.actor(),
                    objection_id: objection,
                    uphold,
                    reason,
                },
                clock_now: state.clock.now(),
            }))
            .await,
    )?;
    let community = user.community_id;
    with_conn(state, move |conn| {
        let (m, _) =
            crate::members::store::member_with_account(conn, community, deed.member_id.into())?
                .ok_or_else(|| ApiError::internal("a deed's member is missing"))?;
        let mut view = deed_view(&deed, &m.member_no, &m.name);
        let objections = store::objections_of(conn, deed.id.into())?;
        view.objections = Some(objections.iter().map(objection_view).collect());
        Ok(view)
    })
    .await
}

fn deed_answer(outcome: Result<Outcome, LedgerError>) -> Result<DeedRow, ApiError> {
    match outcome? {
        Outcome::Deed(outcome) => Ok(*outcome.deed),
        other => Err(ApiError::internal(format!(
            "the engine answered a deed command with {other:?}"
        ))),
    }
}

async fn member_labels(
    state: &AppState,
    community: CommunityId,
    deed: &DeedRow,
) -> Result<(String, String), ApiError> {
    let member = deed.member_id.into();
    let (m, _) = with_conn(state, move |conn| {
        Ok(crate::members::store::member_with_account(
            conn, community, member,
        )?)
    })
    .await?
    .ok_or_else(|| ApiError::internal("a deed's member is missing"))?;
    Ok((m.member_no, m.name))
}

fn approve_command(
    user: &AuthUser,
    id: DeedId,
    now: chrono::NaiveDateTime,
    stages: i32,
    notice: i32,
) -> Command {
    Command::Deed(DeedCommand {
        community_id: user.community_id,
        deed_id: id,
        step: Step::Approve {
            actor: user.actor(),
            stages: ReviewStages::from_count(stages),
            notice_days: notice,
        },
        clock_now: now,
    })
}

/// Approves a deed (admin): it goes on public notice, or without notice credits at once.
#[utoipa::path(tag = "deeds", operation_id = "create_deed_approval",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    responses((status = 200, body = DeedView),
        problems::Unauthorized,
        (status = 403, description = "forbidden, forbidden_self_approval", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "monthly_cap_exceeded (with remaining)", body = Problem, content_type = "application/problem+json"),
        problems::Unavailable))]
#[post("/deeds/{id}/approve")]
pub async fn approve_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let deed = approve_one(&state, &user, DeedId(path.into_inner())).await?;
    let (no, name) = member_labels(&state, user.community_id, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
}

/// Approves one deed (admin), for the JSON API and the console.
pub async fn approve_one(
    state: &AppState,
    user: &AuthUser,
    id: DeedId,
) -> Result<DeedRow, ApiError> {
    user.require(Permission::DecideDeeds)?;
    let community = user.community_id;
    let settings = with_conn(state, move |conn| Ok(store::settings(conn, community)?)).await?;
    deed_answer(
        state
            .engine
            .execute(approve_command(
                user,
                id,
                state.clock.now(),
                settings.review_stages,
                settings.notice_days,
            ))
            .await,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkApprovalRequest {
    /// Up to 200 deed ids, each once.
    pub ids: Vec<uuid::Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkError {
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkApprovalResult {
    pub id: uuid::Uuid,
    /// The deed's new status, when approved.
    pub status: Option<String>,
    pub error: Option<BulkError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkApprovalResponse {
    pub results: Vec<BulkApprovalResult>,
}

/// Approves many deeds in one ledger transaction (admin); answers per id.
#[utoipa::path(tag = "deeds", operation_id = "create_deed_approvals",
    security(("bearer" = [])),
    request_body = BulkApprovalRequest,
    responses((status = 200, body = BulkApprovalResponse),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable,
        problems::Unavailable))]
#[post("/deeds/approve")]
pub async fn approve_deeds(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<BulkApprovalRequest>,
) -> Result<HttpResponse, ApiError> {
    let ids = body.into_inner().ids;
    let results = approve_many(&state, &user, &ids)
        .await?
        .into_iter()
        .zip(&ids)
        .map(|(outcome, id)| match outcome {
            Ok(deed) => BulkApprovalResult {
                id: *id,
                status: Some(deed.status.as_str().to_string()),
                error: None,
            },
            Err(e) => BulkApprovalResult {
                id: *id,
                status: None,
                error: Some(BulkError {
                    code: e.code.to_string(),
                    detail: e.detail,
                }),
            },
        })
        .collect();
    Ok(HttpResponse::Ok().json(BulkApprovalResponse { results }))
}

/// Approves many deeds in one ledger batch (admin), answering per deed in the order given: the
/// one path of `POST /deeds/approve` and the console's bulk approval.
pub async fn approve_many(
    state: &AppState,
    user: &AuthUser,
    ids: &[uuid::Uuid],
) -> Result<Vec<Result<DeedRow, ApiError>>, ApiError> {
    user.require(Permission::DecideDeeds)?;
    if ids.is_empty() || ids.len() > BULK_APPROVAL_IDS_MAX {
        return Err(ApiError::validation(format!(
            "ids must hold 1-{BULK_APPROVAL_IDS_MAX} deed ids"
        ))
        .with("field", "ids"));
    }
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    if unique.len() != ids.len() {
        return Err(ApiError::validation("each id may appear once").with("field", "ids"));
    }
    let community = user.community_id;
    let settings = with_conn(state, move |conn| Ok(store::settings(conn, community)?)).await?;
    let now = state.clock.now();
    let commands = ids
        .iter()
        .map(|id| {
            approve_command(
                user,
                DeedId(*id),
                now,
                settings.review_stages,
                settings.notice_days,
            )
        })
        .collect();
    let outcomes = state.engine.execute_many(commands).await?;
    Ok(outcomes.into_iter().map(deed_answer).collect())
}

/// Reverses a credited deed (admin, reason required) with a linked reversing transaction. When the
/// coins were already spent, the reversal takes what the balance holds and the rest is owed by the
/// member (`owed` on the member), taken from their next credits as `clawback` passbook lines.
#[utoipa::path(tag = "deeds", operation_id = "create_deed_reversal",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    request_body = ReasonRequest,
    responses((status = 200, body = DeedView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden, forbidden_self_approval", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed: the reason is missing or too long", body = Problem, content_type = "application/problem+json"),
        problems::Unavailable))]
#[post("/deeds/{id}/reverse")]
pub async fn reverse_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<ReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReverseDeeds)?;
    let reason = required_text("reason", &body.reason, MEMO_CHARS_MAX)?;
    let id = DeedId(path.into_inner());
    let deed = deed_answer(
        state
            .engine
            .execute(Command::Deed(DeedCommand {
                community_id: user.community_id,
                deed_id: id,
                step: Step::Reverse {
                    actor: user.actor(),
                    reason,
                },
                clock_now: state.clock.now(),
            }))
            .await,
    )?;
    let (no, name) = member_labels(&state, user.community_id, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
}
