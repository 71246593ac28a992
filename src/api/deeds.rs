//! Deeds (好人好事 / 志愿服务) and their approval workflow, the notice board, objections.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{hundredths_to_quantity, parse_quantity};
use super::{page_limit, parse_cursor, required_text, rfc3339, with_conn};
use crate::auth::AuthUser;
use crate::db::deeds::{self as store, DeedFilter};
use crate::db::models::{DeedEventRow, DeedRow};
use crate::db::{queries, DbConn, DbUuid};
use crate::domain::{CommunityId, DeedId, MemberId, Points, Role, RuleId, UserId};
use crate::error::{ApiError, Problem};
use crate::ledger::command::MEMO_CHARS_MAX;
use crate::ledger::command::{DeedMove, DeedStep};
use crate::ledger::{Command, LedgerError, Outcome};
use crate::startup::AppState;

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
        direction: deed.direction.clone(),
        quantity: hundredths_to_quantity(deed.quantity),
        counted_quantity: hundredths_to_quantity(deed.counted_quantity),
        points: Points::from_hundredths(deed.points).to_string(),
        applied_points: deed
            .applied_points
            .map(|p| Points::from_hundredths(p).to_string()),
        occurred_on: deed.occurred_on.clone(),
        description: deed.description.clone(),
        evidence: serde_json::from_str(&deed.evidence).unwrap_or_default(),
        status: deed.status.clone(),
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
        action: e.action.clone(),
        from_status: e.from_status.clone(),
        to_status: e.to_status.clone(),
        actor_id: e.actor_id.map(|a| a.0),
        reason: e.reason.clone(),
        at: rfc3339(e.created_at),
    }
}

fn new_event(
    deed: &DeedRow,
    action: &str,
    from: Option<&str>,
    actor: Option<UserId>,
    reason: Option<String>,
) -> DeedEventRow {
    DeedEventRow {
        id: DbUuid(uuid::Uuid::now_v7()),
        deed_id: deed.id,
        community_id: deed.community_id,
        action: action.to_string(),
        from_status: from.map(str::to_string),
        to_status: deed.status.clone(),
        actor_id: actor.map(Into::into),
        reason,
        created_at: crate::db::now_utc(),
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
    let sees_all = user
        .roles
        .contains_any(&[Role::Admin, Role::Reviewer, Role::Auditor]);
    if !sees_all && user.member_id != Some(deed.member_id.into()) {
        return Err(ApiError::not_found("deed"));
    }
    let (member, _) = queries::member_with_account(conn, user.community_id, deed.member_id.into())?
        .ok_or_else(|| ApiError::internal("a deed's member is missing"))?;
    Ok((deed, member.member_no, member.name))
}

fn local_today(
    conn: &mut DbConn,
    community: CommunityId,
    now: chrono::NaiveDateTime,
) -> Result<chrono::NaiveDate, ApiError> {
    let row = queries::community_by_id(conn, community)?
        .ok_or_else(|| ApiError::internal("the user's community is missing"))?;
    Ok((now + chrono::Duration::minutes(row.utc_offset_minutes as i64)).date())
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
#[utoipa::path(post, path = "/api/v1/deeds", tag = "deeds", operation_id = "create_deed",
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
    let on_behalf = user.roles.contains_any(&[Role::Admin, Role::Reviewer]);
    if !on_behalf {
        user.require_any(&[Role::Resident])?;
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
    let occurred = crate::domain::dates::parse_date(&r.occurred_on).map_err(|e| {
        ApiError::validation(format!("occurred_on {e}")).with("field", "occurred_on")
    })?;
    let now = state.clock.now();
    let community = user.community_id;
    let actor = user.user_id;
    let rule_id = RuleId(r.rule_id);
    let quantity_value = r.quantity;
    let (deed, member_no, member_name) = with_conn(&state, move |conn| {
        let settings = store::settings(conn, community)?;
        let today = local_today(conn, community, now)?;
        if occurred > today {
            return Err(
                ApiError::validation("occurred_on is in the future").with("field", "occurred_on")
            );
        }
        if (today - occurred).num_days() > settings.backdate_days as i64 {
            return Err(ApiError::validation(format!(
                "occurred_on is more than {} days ago",
                settings.backdate_days
            ))
            .with("field", "occurred_on"));
        }
        let (member, account) = queries::member_with_account(conn, community, member_id)?
            .ok_or_else(|| ApiError::not_found("member"))?;
        let (rule, version) = store::rule_with_current(conn, community, rule_id)?
            .ok_or_else(|| ApiError::not_found("rule"))?;
        if rule.status != "active" {
            return Err(ApiError::conflict(
                "rule_inactive",
                "this rule is no longer in force",
            ));
        }
        if version.direction == "deduct" && !on_behalf {
            return Err(ApiError::forbidden(
                "deductions are recorded by reviewers and admins",
            ));
        }
        let quantity = parse_quantity("quantity", quantity_value, &version.unit)?;
        let counted = version
            .per_deed_cap
            .map_or(quantity, |cap| quantity.min(cap));
        let product = (counted as i128) * (version.points as i128);
        if product % 100 != 0 {
            return Err(ApiError::validation(
                "the points would have more than two decimals; use whole units",
            )
            .with("field", "quantity"));
        }
        let points = i64::try_from(product / 100)
            .ok()
            .filter(|p| *p <= crate::domain::points::POINTS_ABS_MAX_HUNDREDTHS)
            .ok_or_else(|| ApiError::validation("the deed is worth too many points"))?;
        let created = crate::db::now_utc();
        let deed = DeedRow {
            id: DeedId::new().into(),
            community_id: community.into(),
            member_id: member.id,
            account_id: account.id,
            rule_id: rule.id,
            rule_version_id: version.id,
            rule_name: version.name.clone(),
            direction: version.direction.clone(),
            quantity,
            counted_quantity: counted,
            points,
            monthly_cap: version.monthly_cap,
            occurred_on: occurred.format("%Y-%m-%d").to_string(),
            description,
            evidence: serde_json::to_string(&evidence).map_err(ApiError::internal)?,
            status: "submitted".into(),
            submitted_by: actor.into(),
            cap_month: None,
            notice_ends_at: None,
            applied_points: None,
            credit_journal_id: None,
            reversal_journal_id: None,
            version: 0,
            created_at: created,
            updated_at: created,
            first_checked_by: None,
        };
        let event = new_event(&deed, "submit", None, Some(actor), None);
        crate::db::write_transaction(conn, |conn| store::insert_deed(conn, &deed, &event))?;
        Ok((deed, member.member_no, member.name))
    })
    .await?;
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
#[utoipa::path(get, path = "/api/v1/deeds", tag = "deeds", operation_id = "list_deeds",
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
    let (from, to) = super::query_period(q.from.as_deref(), q.to.as_deref())?;
    let (from, to) = (from.map(|d| d.to_string()), to.map(|d| d.to_string()));
    let sees_all = user
        .roles
        .contains_any(&[Role::Admin, Role::Reviewer, Role::Auditor]);
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
    let next_cursor = super::next_cursor(&rows, limit, |(d, _, _)| d.id.0);
    Ok(HttpResponse::Ok().json(DeedPage {
        items: rows
            .iter()
            .map(|(d, no, name)| deed_view(d, no, name))
            .collect(),
        next_cursor,
    }))
}

/// One deed with its full history.
#[utoipa::path(get, path = "/api/v1/deeds/{id}", tag = "deeds", operation_id = "get_deed",
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
    step: DeedStep,
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
            .execute(Command::MoveDeed(Box::new(DeedMove {
                community_id: community,
                deed_id: id,
                actor: user.actor(),
                step,
                reason,
                clock_now: state.clock.now(),
                review_stages: settings.review_stages,
            })))
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
#[utoipa::path(post, path = "/api/v1/deeds/{id}/review", tag = "deeds", operation_id = "create_deed_review",
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
    user.require_any(&[Role::Reviewer, Role::Admin])?;
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
        DeedStep::Pass
    } else {
        DeedStep::Return
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
#[utoipa::path(post, path = "/api/v1/deeds/{id}/reject", tag = "deeds", operation_id = "create_deed_rejection",
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
    user.require_any(&[Role::Admin])?;
    let reason = required_text("reason", &body.reason, MEMO_CHARS_MAX)?;
    let community = user.community_id;
    let id = DeedId(path.into_inner());
    let deed = move_deed(&state, user, id, DeedStep::Reject, Some(reason), true).await?;
    let (no, name) = member_labels(&state, community, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
}

/// Withdraws a deed (its submitter, before a decision).
#[utoipa::path(post, path = "/api/v1/deeds/{id}/withdraw", tag = "deeds", operation_id = "create_deed_withdrawal",
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
    let deed = move_deed(&state, user, id, DeedStep::Withdraw, reason, true).await?;
    let (no, name) = member_labels(&state, community, &deed).await?;
    Ok(HttpResponse::Ok().json(deed_view(&deed, &no, &name)))
}

/// Files an objection during public notice (any user): the deed goes back to review.
#[utoipa::path(post, path = "/api/v1/deeds/{id}/objections", tag = "deeds", operation_id = "create_deed_objection",
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
    let sees_names = user
        .roles
        .contains_any(&[Role::Admin, Role::Reviewer, Role::Auditor]);
    let own_member = user.member_id;
    let community = user.community_id;
    let deed = move_deed(&state, user, id, DeedStep::Object, Some(reason), false).await?;
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
        Outcome::Deed { deed, .. } => Ok(*deed),
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
        Ok(queries::member_with_account(conn, community, member)?)
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
    Command::ApproveDeed {
        community_id: user.community_id,
        deed_id: id,
        actor: user.actor(),
        clock_now: now,
        review_stages: stages,
        notice_days: notice,
    }
}

/// Approves a deed (admin): it goes on public notice, or without notice credits at once.
#[utoipa::path(post, path = "/api/v1/deeds/{id}/approve", tag = "deeds", operation_id = "create_deed_approval",
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
    user.require_any(&[Role::Admin])?;
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
#[utoipa::path(post, path = "/api/v1/deeds/approve", tag = "deeds", operation_id = "create_deed_approvals",
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
    user.require_any(&[Role::Admin])?;
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
                status: Some(deed.status),
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
#[utoipa::path(post, path = "/api/v1/deeds/{id}/reverse", tag = "deeds", operation_id = "create_deed_reversal",
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
    user.require_any(&[Role::Admin])?;
    let reason = required_text("reason", &body.reason, MEMO_CHARS_MAX)?;
    let id = DeedId(path.into_inner());
    let deed = deed_answer(
        state
            .engine
            .execute(Command::ReverseDeed {
                community_id: user.community_id,
                deed_id: id,
                actor: user.actor(),
                reason,
            })
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
#[utoipa::path(get, path = "/api/v1/notices", tag = "deeds", operation_id = "list_notices",
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
    let mask = !user
        .roles
        .contains_any(&[Role::Admin, Role::Reviewer, Role::Auditor, Role::Clerk]);
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

/// Credits every deed whose notice ended unopposed. Runs on a timer and once at start, so a
/// restart never leaves a due deed behind; crediting is exactly once in the engine.
pub async fn sweep_notices(state: &AppState) -> Result<usize, ApiError> {
    let now = state.clock.now();
    let due = with_conn(state, move |conn| {
        Ok(store::due_deeds(conn, now, BULK_APPROVAL_IDS_MAX as i64)?)
    })
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let commands = due
        .iter()
        .map(|(community, deed)| Command::CreditDueDeed {
            community_id: (*community).into(),
            deed_id: (*deed).into(),
            clock_now: now,
        })
        .collect();
    let outcomes = state.engine.execute_many(commands).await?;
    let credited = outcomes.iter().filter(|o| o.is_ok()).count();
    for ((_, deed), outcome) in due.iter().zip(&outcomes) {
        if let Err(e) = outcome {
            tracing::info!(deed = %deed.0, error = %e, "sweeper left a deed");
        }
    }
    tracing::info!(credited, "notice sweeper credited deeds");
    Ok(credited)
}
