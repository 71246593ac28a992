//! Members (residents) and their passbook numbers. Creating a member opens their account.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::models::AccountRow;
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{page_limit, parse_cursor, rfc3339, with_conn, SEARCH_CHARS_MAX};
use crate::kernel::Permission;
use crate::kernel::{MemberId, Points};
use crate::members::model::{MemberName, MemberNo};
use crate::members::store::MemberRow;
use crate::members::store::{CreateMemberError, MemberFilter};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub id: uuid::Uuid,
    /// Passbook number (存折号).
    #[schema(example = "M000001")]
    pub member_no: String,
    #[schema(example = "张三")]
    pub name: String,
    /// `active` or `inactive`.
    pub status: String,
    pub account_id: uuid::Uuid,
    /// Points as a decimal string with two places.
    #[schema(example = "12.50")]
    pub balance: String,
    pub created_at: String,
}

pub fn member_view(member: &MemberRow, account: &AccountRow) -> MemberView {
    MemberView {
        id: member.id.0,
        member_no: member.member_no.clone(),
        name: member.name.clone(),
        status: member.status.as_str().to_string(),
        account_id: account.id.0,
        balance: Points::from_hundredths(account.balance).to_string(),
        created_at: rfc3339(member.created_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMemberRequest {
    #[schema(example = "张三")]
    pub name: String,
    /// The number on the paper passbook; generated (M000001, …) when absent.
    pub member_no: Option<String>,
}

/// Registers a resident and opens their passbook account (balance 0).
#[utoipa::path(tag = "members", operation_id = "create_member",
    security(("bearer" = [])),
    request_body = CreateMemberRequest,
    responses((status = 201, body = MemberView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        (status = 409, description = "member_no_taken (a member_no given that another member has), or member_no_required (hand-typed numbers fill the next 10000 generated ones)", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/members")]
pub async fn create_member(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::RegisterMembers)?;
    let name = MemberName::parse(&body.name).map_err(ApiError::validation)?;
    let member_no = body
        .member_no
        .as_deref()
        .map(MemberNo::parse)
        .transpose()
        .map_err(ApiError::validation)?;
    let community = user.community_id;
    let (member, account) = with_conn(&state, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            crate::members::store::create_member(conn, community, &name, member_no.as_ref())
        })
        .map_err(|e| match e {
            CreateMemberError::MemberNoTaken => ApiError::conflict(
                "member_no_taken",
                "another member already has this passbook number",
            ),
            CreateMemberError::NoFreeGeneratedNumber => ApiError::conflict(
                "member_no_required",
                "passbook numbers typed in by hand fill the next generated ones; give member_no",
            ),
            CreateMemberError::Database(e) => e.into(),
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(member_view(&member, &account)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberListQuery {
    /// Exact passbook number, for the counter.
    pub member_no: Option<String>,
    /// Part of a name or passbook number. The Latin letters A–Z match in either case; every other
    /// character matches only as written (on both backends).
    pub q: Option<String>,
    /// Items per page (1–200, default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<MemberView>,
    pub next_cursor: Option<String>,
}

/// Lists members with their balance, oldest first. A resident sees only themself.
#[utoipa::path(tag = "members", operation_id = "list_members",
    security(("bearer" = [])),
    params(MemberListQuery),
    responses((status = 200, body = MemberPage),
        problems::BadRequest,
        problems::Unauthorized))]
#[get("/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<MemberListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?.map(MemberId);
    for (field, value) in [("member_no", &query.member_no), ("q", &query.q)] {
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > SEARCH_CHARS_MAX)
        {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("{field} is longer than {SEARCH_CHARS_MAX} characters"),
            ));
        }
    }
    let only = if user.may(Permission::ReadMembers) {
        None
    } else {
        // A resident without a member record sees nobody.
        Some(user.member_id.unwrap_or(MemberId(uuid::Uuid::nil())))
    };
    let community = user.community_id;
    let rows = with_conn(&state, move |conn| {
        Ok(crate::members::store::list_members(
            conn,
            community,
            &MemberFilter {
                member_no: query.member_no.as_deref(),
                query: query.q.as_deref().filter(|q| !q.trim().is_empty()),
                only,
                after,
                limit,
            },
        )?)
    })
    .await?;
    let next_cursor = crate::http::next_cursor(&rows, limit, |(m, _)| m.id.0);
    Ok(HttpResponse::Ok().json(MemberPage {
        items: rows.iter().map(|(m, a)| member_view(m, a)).collect(),
        next_cursor,
    }))
}

/// One member with their account and balance. A resident may read only their own.
#[utoipa::path(tag = "members", operation_id = "get_member",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "member id")),
    responses((status = 200, body = MemberView),
        problems::Unauthorized,
        problems::NotFound))]
#[get("/members/{id}")]
pub async fn get_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let member_id = MemberId(path.into_inner());
    // Another resident's id answers exactly like an id that does not exist.
    if !user.may(Permission::ReadMembers) && user.member_id != Some(member_id) {
        return Err(ApiError::not_found("member"));
    }
    let community = user.community_id;
    let found = with_conn(&state, move |conn| {
        Ok(crate::members::store::member_with_account(
            conn, community, member_id,
        )?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("member"))?;
    Ok(HttpResponse::Ok().json(member_view(&found.0, &found.1)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    pub name: Option<String>,
    /// `active` or `inactive`; an inactive member cannot redeem.
    pub status: Option<String>,
}

/// Renames a member or (de)activates them (admin).
#[utoipa::path(tag = "members", operation_id = "update_member",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "member id")),
    request_body = UpdateMemberRequest,
    responses((status = 200, body = MemberView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound,
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[patch("/members/{id}")]
pub async fn update_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<UpdateMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::EditMembers)?;
    let member_id = MemberId(path.into_inner());
    let request = body.into_inner();
    let name = request
        .name
        .as_deref()
        .map(MemberName::parse)
        .transpose()
        .map_err(ApiError::validation)?;
    let status = crate::http::parse_active(request.status.as_deref())?;
    if name.is_none() && status.is_none() {
        return Err(ApiError::validation("nothing to change"));
    }
    let community = user.community_id;
    let found = with_conn(&state, move |conn| {
        Ok(crate::db::write_transaction(conn, |conn| {
            let changed = crate::members::store::update_member(
                conn,
                community,
                member_id,
                name.as_ref().map(MemberName::as_str),
                status,
            )?;
            if changed == 0 {
                return Ok(None);
            }
            crate::members::store::member_with_account(conn, community, member_id)
        })?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("member"))?;
    Ok(HttpResponse::Ok().json(member_view(&found.0, &found.1)))
}
