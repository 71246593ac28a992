//! Ledger verification for auditors and admins.

use actix_web::{get, web, HttpResponse};

use super::with_conn;
use crate::auth::AuthUser;
use crate::domain::Role;
use crate::error::{ApiError, Problem};
use crate::ledger::verify::{self, VerifyReport};
use crate::startup::AppState;

/// Recomputes the hash chain, every transaction's zero sum and every balance; names what is
/// broken.
#[utoipa::path(get, path = "/api/v1/ledger/verify", tag = "ledger", operation_id = "verify_ledger",
    security(("bearer" = [])),
    responses((status = 200, body = VerifyReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
#[get("/ledger/verify")]
pub async fn verify_ledger(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require_any(&[Role::Auditor, Role::Admin])?;
    let community = user.community_id;
    let report = with_conn(&state, move |conn| {
        Ok(verify::verify_ledger(conn, Some(community))?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}
