//! Deeds (好人好事 / 志愿服务) and their approval workflow, the notice board, objections.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::hundredths_to_quantity;
use crate::db::DbConn;
use crate::deeds::store::submit::{submit, Declaration, SubmitError};
use crate::deeds::store::{self as store, DeedFilter};
use crate::deeds::store::{DeedEventRow, DeedRow, ObjectionRow};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{page_limit, parse_cursor, required_text, rfc3339, with_conn, with_replica};
use crate::kernel::Permission;
use crate::kernel::{CommunityId, DeedId, MemberId, Points, RuleId};
use crate::ledger::command::MEMO_CHARS_MAX;

/// Evidence links per deed at most, and their length.
pub const EVIDENCE_LINKS_MAX: usize = 5;
pub const EVIDENCE_LINK_CHARS_MAX: usize = 500;

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
    /// Every objection raised during its notice and the ruling on it, oldest first (only on
    /// `GET /deeds/{id}` and an answer to a ruling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objections: Option<Vec<ObjectionView>>,
}

/// An objection to a deed on public notice (公示异议) and the admin's ruling on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionView {
    pub id: uuid::Uuid,
    pub deed_id: uuid::Uuid,
    pub raised_by: uuid::Uuid,
    pub reason: String,
    pub raised_at: String,
    /// `open` (the deed is not credited while one is), `upheld` (the deed went back to
    /// review) or `dismissed` (the notice ran on).
    pub status: String,
    pub ruled_by: Option<uuid::Uuid>,
    /// Why it was dismissed (or upheld, when the admin said).
    pub ruling_reason: Option<String>,
    pub ruled_at: Option<String>,
}

pub fn objection_view(o: &ObjectionRow) -> ObjectionView {
    ObjectionView {
        id: o.id.0,
        deed_id: o.deed_id.0,
        raised_by: o.raised_by.0,
        reason: o.reason.clone(),
        raised_at: rfc3339(o.raised_at),
        status: o.status.as_str().to_string(),
        ruled_by: o.ruled_by.map(|u| u.0),
        ruling_reason: o.ruling_reason.clone(),
        ruled_at: o.ruled_at.map(rfc3339),
    }
}

pub fn deed_view(deed: &DeedRow, member_no: &str, member_name: &str) -> DeedView {
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
        objections: None,
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
pub fn visible_deed(
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
        SubmitError::IdTaken => crate::http::idempotency::key_reused(),
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
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        (status = 404, description = "no such member or rule", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "rule_inactive", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/deeds")]
pub async fn create_deed(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<SubmitDeedRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = declare_deed(&state, &user, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Declares a deed for the user (a resident for themself, a reviewer or admin for anyone): the
/// one path of `POST /deeds` and the console's 登记善行.
pub async fn declare_deed(
    state: &AppState,
    user: &AuthUser,
    r: SubmitDeedRequest,
) -> Result<DeedView, ApiError> {
    declare_deed_as(state, user, r, None).await
}

/// [`declare_deed`], the deed to have the id `id` when one is given: the console's 申报好事
/// makes one per drawing of its form, so a double submit records one deed and answers it again.
pub async fn declare_deed_as(
    state: &AppState,
    user: &AuthUser,
    r: SubmitDeedRequest,
    id: Option<DeedId>,
) -> Result<DeedView, ApiError> {
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
        id,
    };
    let now = state.clock.now();
    let (deed, member) = with_conn(state, move |conn| {
        let calendar = community_calendar(conn, declaration.community)?;
        submit(conn, &declaration, calendar, now).map_err(submit_problem)
    })
    .await?;
    Ok(deed_view(&deed, &member.member_no, &member.name))
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
        problems::BadRequest,
        problems::Unauthorized))]
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
    let rows = with_replica(&state, move |conn| {
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
        problems::Unauthorized,
        problems::NotFound))]
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
        let objections = store::objections_of(conn, id)?;
        view.objections = Some(objections.iter().map(objection_view).collect());
        Ok(view)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
