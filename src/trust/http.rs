//! Signed ledger heads over HTTP: signing one now (admins, auditors), the export an auditor or the
//! township keeps, and the public list anyone may read without logging in.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{HeadsFile, SignedHead, HEADS_FILE_FORMAT};
use super::store::{self, HEADS_PAGE_MAX};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::{query_moment, with_conn};
use crate::kernel::Permission;

/// Signs the community's current ledger head now and keeps it: the size of its journal and the
/// Merkle root over it, signed with the community's key.
#[utoipa::path(tag = "ledger", operation_id = "create_ledger_head",
    security(("bearer" = [])),
    responses((status = 201, body = SignedHead),
        problems::Unauthorized,
        problems::Forbidden))]
#[post("/ledger/heads")]
pub async fn create_ledger_head(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::VerifyLedger)?;
    let community = user.community_id;
    let now = state.clock.now();
    let head = with_conn(&state, move |conn| {
        let row = crate::communities::store::community_by_id(conn, community)?
            .ok_or_else(|| ApiError::internal("the user's community is missing"))?;
        Ok(store::sign_head(conn, community, &row.code, now)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(head))
}

/// Every head the community's ledger was signed at, oldest first, with the public key: the file
/// `moralbank verify --heads` checks the ledger against.
#[utoipa::path(tag = "ledger", operation_id = "export_ledger_heads",
    security(("bearer" = [])),
    responses((status = 200, body = HeadsFile),
        problems::Unauthorized,
        problems::Forbidden))]
#[get("/ledger/heads/export")]
pub async fn export_ledger_heads(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::VerifyLedger)?;
    let community = user.community_id;
    let file = with_conn(&state, move |conn| {
        let row = crate::communities::store::community_by_id(conn, community)?
            .ok_or_else(|| ApiError::internal("the user's community is missing"))?;
        let key = store::key_of(conn, community)?
            .ok_or_else(|| ApiError::internal("the community has no key"))?;
        Ok(HeadsFile {
            format: HEADS_FILE_FORMAT.to_string(),
            heads: store::all_heads(conn, community, &row.code)?,
            community: row.code,
            community_name: row.name,
            key_id: key.key_id,
            public_key: key.public_key,
        })
    })
    .await?;
    let name = format!("heads-{}.json", file.community);
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .json(file))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicHeadsQuery {
    /// Heads per page (1–200, default 50), newest first.
    pub limit: Option<i64>,
    /// Only heads signed before this RFC 3339 moment (the `signed_at` of the page's last head).
    pub before: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicHeads {
    pub community: String,
    pub community_name: String,
    pub key_id: String,
    /// The Ed25519 public key that checks every head, 64 hex digits.
    pub public_key: String,
    /// The newest head, if one was signed yet.
    pub latest: Option<SignedHead>,
    /// Newest first.
    pub heads: Vec<SignedHead>,
}

/// A community's signed ledger heads and its public key, for anyone: no login.
#[utoipa::path(tag = "ledger", operation_id = "list_public_heads",
    params(("code" = String, Path, description = "the community's code"), PublicHeadsQuery),
    responses((status = 200, body = PublicHeads),
        problems::BadRequest,
        problems::NotFound))]
#[get("/public/{code}/heads")]
pub async fn list_public_heads(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PublicHeadsQuery>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let limit = match query.limit {
        None => 50,
        Some(n) if (1..=HEADS_PAGE_MAX).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_limit",
                format!("limit must be between 1 and {HEADS_PAGE_MAX}"),
            ))
        }
    };
    let before = query_moment("before", query.before.as_deref())?;
    let answer = with_conn(&state, move |conn| {
        let row = crate::communities::store::community_by_code(conn, &code)?
            .ok_or_else(|| ApiError::not_found("community"))?;
        let community = row.id.into();
        let key = store::key_of(conn, community)?
            .ok_or_else(|| ApiError::internal("the community has no key"))?;
        Ok(PublicHeads {
            latest: store::latest_head(conn, community, &row.code)?,
            heads: store::heads_page(conn, community, &row.code, before, limit)?,
            community: row.code,
            community_name: row.name,
            key_id: key.key_id,
            public_key: key.public_key,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
