//! Signed ledger heads over HTTP: signing one now (admins, auditors), the export an auditor or the
//! township keeps, and the public list anyone may read without logging in.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{HeadsFile, ProofBundle, SignedHead, HEADS_FILE_FORMAT};
use super::store::{self, BundleRefusal, HEADS_PAGE_MAX};
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

/// Everything needed to check, with no database (`moralbank proof check FILE`), that transaction
/// `seq` of the user's community is in the ledger as the newest signed head covering it committed
/// to it. For admins and auditors, and for a resident whose passbook the transaction moved.
#[utoipa::path(tag = "ledger", operation_id = "get_transaction_proof",
    security(("bearer" = [])),
    params(("seq" = i64, Path, description = "the transaction's journal seq")),
    responses((status = 200, body = ProofBundle),
        problems::Unauthorized,
        problems::NotFound,
        (status = 409, description = "no signed head covers the transaction yet", body = crate::http::problem::Problem, content_type = "application/problem+json")))]
#[get("/ledger/transactions/{seq}/proof")]
pub async fn get_transaction_proof(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    use crate::db::schema::accounts;
    use crate::db::DbUuid;
    use diesel::prelude::*;
    let seq = path.into_inner();
    let community = user.community_id;
    let bundle = with_conn(&state, move |conn| {
        let row = crate::communities::store::community_by_id(conn, community)?
            .ok_or_else(|| ApiError::internal("the user's community is missing"))?;
        let bundle = match store::proof_bundle(conn, community, &row.code, seq) {
            Ok(b) => b,
            Err(BundleRefusal::NoSuchTransaction) => return Err(ApiError::not_found("transaction")),
            Err(BundleRefusal::NotYetSigned) => {
                return Err(ApiError::conflict(
                    "not_yet_signed",
                    "no signed head covers this transaction yet: an admin or auditor signs one, or the service does within minutes",
                ))
            }
            Err(BundleRefusal::Database(e)) => return Err(e.into()),
        };
        // A resident sees the proof of a line of their own passbook, nothing else: another's
        // transaction answers as one that does not exist.
        if !user.may(Permission::VerifyLedger) {
            let own: Vec<DbUuid> = match user.member_id {
                Some(member) => accounts::table
                    .filter(accounts::member_id.eq(DbUuid::from(member)))
                    .select(accounts::id)
                    .load(conn)?,
                None => Vec::new(),
            };
            let theirs = bundle
                .transaction
                .postings
                .iter()
                .any(|p| own.iter().any(|a| a.0 == p.account_id));
            if !theirs {
                return Err(ApiError::not_found("transaction"));
            }
        }
        Ok(bundle)
    })
    .await?;
    Ok(HttpResponse::Ok().json(bundle))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The smaller tree size (a head you hold).
    pub from: u64,
    /// The larger tree size (a newer head); at most the journal's size.
    pub to: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub community: String,
    pub from: u64,
    pub to: u64,
    /// RFC 9162 consistency proof, hex, deepest first.
    pub proof: Vec<String>,
}

/// The proof that the community's ledger of `to` transactions extends the one of `from`: what a
/// holder of an old head checks a new one against. No login.
#[utoipa::path(tag = "ledger", operation_id = "get_public_consistency",
    params(("code" = String, Path, description = "the community's code"), ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof),
        problems::BadRequest,
        problems::NotFound))]
#[get("/public/{code}/consistency")]
pub async fn get_public_consistency(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let (from, to) = (query.from, query.to);
    if from > to {
        return Err(ApiError::bad_request(
            "invalid_query",
            "from must not be larger than to",
        ));
    }
    let answer = with_conn(&state, move |conn| {
        let row = crate::communities::store::community_by_code(conn, &code)?
            .ok_or_else(|| ApiError::not_found("community"))?;
        if to > row.chain_seq.max(0) as u64 {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!(
                    "to is larger than the journal ({} transactions)",
                    row.chain_seq
                ),
            ));
        }
        let proof = store::consistency_proof(conn, row.id.into(), from, to)?
            .ok_or_else(|| ApiError::internal("the ledger tree lacks a node"))?;
        Ok(ConsistencyProof {
            community: row.code,
            from,
            to,
            proof: proof.iter().map(hex::encode).collect(),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
