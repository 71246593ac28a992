//! Deeds (好人好事 / 志愿服务) and their approval workflow, the notice board, objections.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::hundredths_to_quantity;
use crate::commands::{Command, Outcome};
use crate::db::DbConn;
use crate::deeds::model::{DeedAction, ReviewStages};
use crate::deeds::plan::{DeedCommand, Step};
use crate::deeds::store::submit::{submit, Declaration, SubmitError};
use crate::deeds::store::{self as store, DeedFilter};
use crate::deeds::store::{DeedEventRow, DeedRow};
use crate::http::extract::AuthUser;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{page_limit, parse_cursor, required_text, rfc3339, with_conn};
use crate::kernel::Permission;
use crate::kernel::{CommunityId, DeedId, MemberId, Points, RuleId};
use crate::ledger::command::MEMO_CHARS_MAX;
use crate::ledger::LedgerError;

/// Evidence links per deed at most, and their length.
pub const EVIDENCE_LINKS_MAX: usize = 5;
pub const EVIDENCE_LINK_CHARS_MAX: usize = 500;
/// Deeds one bulk approval may name.
pub const BULK_APPROVAL_IDS_MAX: usize = 200;
/// Deeds on one page of the notice board.
pub const NOTICE_BOARD_ITEMS_MAX: i64 = 200;

#[derive(Debug, Serialize, ToSchema)]
pub struct DeedEventView {
    /// `submit`, `review_pass`, `review_return`, `approve`, `reject`, `withdraw`, `object`,
    /// `credit`, `reverse`.
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    /// Who did it; null for the notice sweeper.
    pub actor_id: Option<uuid::Uuid>,
    pub reason: Option<String>,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeedView {
    pub id: uuid::Uuid,
    pub member_id: uuid::Uuid,
    pub member_no: String,
    pub member_name: String,
    pub account_id: uuid::Uuid,
    pub rule_id: uuid::Uuid,
    pub rule_name: String,
    /// `earn` or `deduct`.
    pub direction: String,
    /// Units as submitted (hours or events).
    pub quantity: f64,
    /// Units counted after the rule's per-deed cap.
    pub counted_quantity: f64,
    /// Points the deed is worth, computed by the server from the rule version.
    #[schema(example = "20.00")]
    pub points: String,
    /// For a credited deduction: what was actually taken (never more than the balance held).
    pub applied_points: Option<String>,
    #[schema(example = "2026-11-20")]
    pub occurred_on: String,
    pub description: String,
    pub evidence: Vec<String>,
    /// `submitted`, `reviewed`, `returned`, `approved` (on notice), `rejected`, `withdrawn`,
    /// `credited`, `reversed`.
    pub status: String,
    pub submitted_by: uuid::Uuid,
    pub notice_ends_at: Option<String>,
    pub credit_journal_id: Option<uuid::Uuid>,
    pub reversal_journal_id: Option<uuid::Uuid>,
    pub created_at: String,
    pub updated_at: String,
    /// Every transition, oldest first (only on `GET /deeds/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<DeedEventView>>,
}

fn deed_view(deed: &DeedRow, member_no: &str, member_name: &str) -> DeedView {
    DeedView {
        id: deed.id.0,
        member_id: deed.member_id.0,
        member_no: member_no.to_string(),
        member_name: member_name.to_string(),
        account_id: deed.account_id.0,
        rule_id: deed.rule_id.0,
        rule_name: deed.rule_name.clone(),
        direction: deed.direction.as_str().to_string(),
        quantity: hundredths_to_quantity(deed.quantity),
        counted_quantity: hundredths_to_quantity(deed.counted_quantity),
        points: Points::from_hundredths(deed.points).to_string(),
        applied_points: deed
            .applied_points
            .map(|p| Points::from_hundredths(p).to_string()),
        occurred_on: deed.occurred_on.clone(),
        description: deed.description.clone(),
        evidence: serde_json::from_str(&deed.evidence).unwrap_or_default(),
        status: deed.status.as_str().to_string(),
        submitted_by: deed.submitted_by.0,
        notice_ends_at: deed.notice_ends_at.map(rfc3339),
        credit_journal_id: deed.credit_journal_id.map(|j| j.0),
        reversal_journal_id: deed.reversal_journal_id.map(|j| j.0),
        created_at: rfc3339(deed.created_at),
        updated_at: rfc3339(deed.updated_at),
        history: None,
    }
}

fn event_view(e: &DeedEventRow) -> DeedEventView {
    DeedEventView {
        action: e.action.as_str().to_string(),
        from_status: e.from_status.map(|s| s.as_str().to_string()),
        to_status: e.to_status.as_str().to_string(),
        actor_id: e.actor_id.map(|a| a.0),
        reason: e.reason.clone(),
        at: rfc3339(e.created_at),
    }
}

/// The deed with its member's number and name, if the user may see it. Another resident's deed
/// answers exactly like a deed that does not exist.
fn visible_deed(
    conn: &mut DbConn,
    user: &AuthUser,
    id: DeedId,
) -> Result<(DeedRow, String, String), ApiError> {
    let deed = store::deed_by_id(conn, user.community_id, id)?
        .ok_or_else(|| ApiError::not_found("deed"))?;
    let sees_all = user.may(Permission::ReadDeeds);
    if !sees_all && user.member_id != Some(deed.member_id.into()) {
        return Err(ApiError::not_found("deed"));
    }
    let (member, _) =
        crate::members::store::member_with_account(conn, user.community_id, deed.member_id.into())?
            .ok_or_else(|| ApiError::internal("a deed's member is missing"))?;
    Ok((deed, member.member_no, member.name))
}

/// A refused declaration, as the declarer hears it.
fn submit_problem(e: SubmitError) -> ApiError {
    match e {
        SubmitError::Input(e) => ApiError::validation(e.to_string()).with("field", e.field()),
        SubmitError::MemberNotFound => ApiError::not_found("member"),
        SubmitError::RuleNotFound => ApiError::not_found("rule"),
        SubmitError::RuleInactive => {
            ApiError::conflict("rule_inactive", "this rule is no longer in force")
        }
        SubmitError::DeductionNotAllowed => {
            ApiError::forbidden("deductions are recorded by reviewers and admins")
        }
        SubmitError::Database(e) => e.into(),
    }
}

/// The calendar of the user's community: its days and months.
pub fn community_calendar(
    conn: &mut DbConn,
    community: CommunityId,
) -> Result<crate::kernel::LocalCalendar, ApiError> {
    let row = crate::communities::store::community_by_id(conn, community)?
        .ok_or_else(|| ApiError::internal("the user's community is missing"))?;
    Ok(crate::kernel::LocalCalendar::new(row.utc_offset_minutes))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitDeedRequest {
    pub member_id: uuid::Uuid,
    pub rule_id: uuid::Uuid,
    /// Hours (in halves) or events (whole), per the rule's unit.
    pub quantity: f64,
    /// Local date, not in the future, not older than the community allows.
    #[schema(example = "2026-11-20")]
    pub occurred_on: String,
    #[schema(example = "帮助独居老人打扫卫生")]
    pub description: String,
    /// Up to 5 http(s) links to photos or documents.
    pub evidence: Option<Vec<String>>,
}

/// Declares a deed. A resident declares their own; a reviewer or admin declares for any member
/// (deductions only by reviewers and admins). Points come from the rule, never from the client.
#[utoipa::path(tag = "deeds", operation_id = "create_deed",
    security(("bearer" = [])),
    request_body = SubmitDeedRequest,
    responses((status = 201, body = DeedView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such member or rule", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "rule_inactive", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/deeds")]
pub async fn create_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<SubmitDeedRequest>,
) -> Result<HttpResponse, ApiError> {
    let r = body.into_inner();
    let member_id = MemberId(r.member_id);
    let on_behalf = user.may(Permission::DeclareForOthers);
    if !on_behalf {
        user.require(Permission::DeclareOwnDeeds)?;
        if user.member_id != Some(member_id) {
            return Err(ApiError::forbidden(
                "a resident declares deeds for themself only",
            ));
        }
    }
    let description = required_text("description", &r.description, MEMO_CHARS_MAX)?;
    let evidence = r.evidence.unwrap_or_default();
    if evidence.len() > EVIDENCE_LINKS_MAX {
        return Err(
            ApiError::validation(format!("at most {EVIDENCE_LINKS_MAX} evidence links"))
                .with("field", "evidence"),
        );
    }
    for link in &evidence {
        if link.chars().count() > EVIDENCE_LINK_CHARS_MAX
            || !(link.starts_with("https://") || link.starts_with("http://"))
            || link.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ApiError::validation(
                "evidence links must be http(s) URLs of at most 500 characters",
            )
            .with("field", "evidence"));
        }
    }
    let occurred = crate::kernel::dates::parse_date(&r.occurred_on).map_err(|e| {
        ApiError::validation(format!("occurred_on {e}")).with("field", "occurred_on")
    })?;
    let declaration = Declaration {
        community: user.community_id,
        member: member_id,
        rule: RuleId(r.rule_id),
        quantity: r.quantity,
        occurred_on: occurred,
        description,
        evidence,
        declared_by: user.user_id,
        on_behalf,
    };
    let now = state.clock.now();
    let (deed, member) = with_conn(&state, move |conn| {
        let calendar = community_calendar(conn, declaration.community)?;
        submit(conn, &declaration, calendar, now).map_err(submit_problem)
    })
    .await?;
    let (member_no, member_name) = (member.member_no, member.name);
    Ok(HttpResponse::Created().json(deed_view(&deed, &member_no, &member_name)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeedListQuery {
    /// A status; `submitted` is the reviewer's queue, `reviewed` the admin's (two stages).
    pub status: Option<String>,
    pub member_id: Option<uuid::Uuid>,
    pub rule_id: Option<uuid::Uuid>,
    /// Deeds that occurred on or after this local date, YYYY-MM-DD (2000-01-01 … 9999-12-31).
    pub from: Option<String>,
    /// Deeds that occurred on or before this local date, YYYY-MM-DD (2000-01-01 … 9999-12-31).
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeedPage {
    pub items: Vec<DeedView>,
    pub next_cursor: Option<String>,
}

const DEED_STATUSES: [&str; 8] = [
    "submitted",
    "reviewed",
    "returned",
    "approved",
    "rejected",
    "withdrawn",
    "credited",
    "reversed",
];

/// Deeds, oldest first, by status, member, rule and date. A resident sees their own.
#[utoipa::path(tag = "deeds", operation_id = "list_deeds",
    security(("bearer" = [])),
    params(DeedListQuery),
    responses((status = 200, body = DeedPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
#[get("/deeds")]
pub async fn list_deeds(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<DeedListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    let after = parse_cursor(q.cursor.as_deref())?.map(DeedId);
    if let Some(status) = &q.status {
        if !DEED_STATUSES.contains(&status.as_str()) {
            return Err(ApiError::bad_request("invalid_query", "unknown status"));
        }
    }
    // Stored as YYYY-MM-DD text; the one date parser makes sure a bound is written the same way.
    let (from, to) = crate::http::query_period(q.from.as_deref(), q.to.as_deref())?;
    let (from, to) = (from.map(|d| d.to_string()), to.map(|d| d.to_string()));
    let sees_all = user.may(Permission::ReadDeeds);
    let member = if sees_all {
        q.member_id.map(MemberId)
    } else {
        match (user.member_id, q.member_id.map(MemberId)) {
            (Some(own), None) => Some(own),
            (Some(own), Some(asked)) if asked == own => Some(own),
            _ => {
                return Ok(HttpResponse::Ok().json(DeedPage {
                    items: vec![],
                    next_cursor: None,
                }))
            }
        }
    };
    let community = user.community_id;
    let rows = with_conn(&state, move |conn| {
        Ok(store::list_deeds(
            conn,
            community,
            &DeedFilter {
                status: q.status.as_deref(),
                member,
                rule: q.rule_id.map(RuleId),
                from: from.as_deref(),
                to: to.as_deref(),
                after,
                limit,
            },
        )?)
    })
    .await?;
    let next_cursor = crate::http::next_cursor(&rows, limit, |(d, _, _)| d.id.0);
    Ok(HttpResponse::Ok().json(DeedPage {
        items: rows
            .iter()
            .map(|(d, no, name)| deed_view(d, no, name))
            .collect(),
        next_cursor,
    }))
}

/// One deed with its full history.
#[utoipa::path(tag = "deeds", operation_id = "get_deed",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    responses((status = 200, body = DeedView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
#[get("/deeds/{id}")]
pub async fn get_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = DeedId(path.into_inner());
    let view = with_conn(&state, move |conn| {
        let (deed, no, name) = visible_deed(conn, &user, id)?;
        let events = store::events_of(conn, id)?;
        let mut view = deed_view(&deed, &no, &name);
        view.history = Some(events.iter().map(event_view).collect());
        Ok(view)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Runs a step of the workflow that moves no coins. The ledger writer checks and records it, as
/// it does the steps that move coins: the workflow's rules live in one place, and every step of
/// a deed takes the same locks in the same order. `must_see` first answers "not found" for a deed
/// the user may not see, exactly as for one that does not exist.
async fn move_deed(
    state: &AppState,
    user: AuthUser,
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
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden, forbidden_self_approval", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
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
    let deed = move_deed(&state, user, DeedId(path.into_inner()), step, reason, true).await?;
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
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden, forbidden_self_approval", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
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
    let deed = move_deed(&state, user, id, DeedAction::Reject, Some(reason), true).await?;
    let (no, name) = member_labels(&state, community, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
}

/// Withdraws a deed (its submitter, before a decision).
#[utoipa::path(tag = "deeds", operation_id = "create_deed_withdrawal",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    request_body = OptionalReasonRequest,
    responses((status = 200, body = DeedView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
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
    let deed = move_deed(&state, user, id, DeedAction::Withdraw, reason, true).await?;
    let (no, name) = member_labels(&state, community, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
}

/// Files an objection during public notice (any user): the deed goes back to review.
#[utoipa::path(tag = "deeds", operation_id = "create_deed_objection",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    request_body = ReasonRequest,
    responses((status = 200, body = DeedView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition: not on notice", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/deeds/{id}/objections")]
pub async fn object_to_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<ReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = required_text("reason", &body.reason, MEMO_CHARS_MAX)?;
    let id = DeedId(path.into_inner());
    // Anyone in the community may object to what is on the public board, including residents
    // who cannot otherwise see the deed; the board itself is public.
    let sees_names = user.may(Permission::ReadDeeds);
    let own_member = user.member_id;
    let community = user.community_id;
    let deed = move_deed(&state, user, id, DeedAction::Object, Some(reason), false).await?;
    let (no, name) = member_labels(&state, community, &deed).await?;
    let mut view = deed_view(&deed, &no, &name);
    if !sees_names && own_member != Some(deed.member_id.into()) {
        view.member_name = mask_name(&view.member_name);
        view.member_no = String::new();
    }
    Ok(HttpResponse::Ok().json(view))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden, forbidden_self_approval", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "monthly_cap_exceeded (with remaining)", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")))]
#[post("/deeds/{id}/approve")]
pub async fn approve_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::DecideDeeds)?;
    let id = DeedId(path.into_inner());
    let community = user.community_id;
    let settings = with_conn(&state, move |conn| Ok(store::settings(conn, community)?)).await?;
    let deed = deed_answer(
        state
            .engine
            .execute(approve_command(
                &user,
                id,
                state.clock.now(),
                settings.review_stages,
                settings.notice_days,
            ))
            .await,
    )?;
    let (no, name) = member_labels(&state, community, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
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
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")))]
#[post("/deeds/approve")]
pub async fn approve_deeds(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<BulkApprovalRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::DecideDeeds)?;
    let ids = body.into_inner().ids;
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
    let settings = with_conn(&state, move |conn| Ok(store::settings(conn, community)?)).await?;
    let now = state.clock.now();
    let commands = ids
        .iter()
        .map(|id| {
            approve_command(
                &user,
                DeedId(*id),
                now,
                settings.review_stages,
                settings.notice_days,
            )
        })
        .collect();
    let outcomes = state.engine.execute_many(commands).await?;
    let results = ids
        .iter()
        .zip(outcomes)
        .map(|(id, outcome)| match deed_answer(outcome) {
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

/// Reverses a credited deed (admin, reason required) with a linked reversing transaction.
#[utoipa::path(tag = "deeds", operation_id = "create_deed_reversal",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "deed id")),
    request_body = ReasonRequest,
    responses((status = 200, body = DeedView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden, forbidden_self_approval", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "insufficient_balance: the coins were spent", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")))]
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

/// 张三 → 张*: the board shows residents who did the deed without naming them in full.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    pub deed_id: uuid::Uuid,
    /// Masked for residents (张*).
    pub member_name: String,
    pub rule_name: String,
    pub points: String,
    pub occurred_on: String,
    pub description: String,
    pub notice_ends_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeBoard {
    pub items: Vec<NoticeView>,
}

/// The public notice board (公示栏): approved deeds whose notice has not ended.
#[utoipa::path(tag = "deeds", operation_id = "list_notices",
    security(("bearer" = [])),
    responses((status = 200, body = NoticeBoard),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
#[get("/notices")]
pub async fn list_notices(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let community = user.community_id;
    let now = state.clock.now();
    let rows = with_conn(&state, move |conn| {
        Ok(store::notices(
            conn,
            community,
            now,
            NOTICE_BOARD_ITEMS_MAX,
        )?)
    })
    .await?;
    let mask = !user.may(Permission::ReadBoardNames);
    Ok(HttpResponse::Ok().json(NoticeBoard {
        items: rows
            .iter()
            .map(|(deed, _, name)| NoticeView {
                deed_id: deed.id.0,
                member_name: if mask { mask_name(name) } else { name.clone() },
                rule_name: deed.rule_name.clone(),
                points: Points::from_hundredths(deed.points).to_string(),
                occurred_on: deed.occurred_on.clone(),
                description: deed.description.clone(),
                notice_ends_at: deed.notice_ends_at.map(rfc3339).unwrap_or_default(),
            })
            .collect(),
    }))
}
