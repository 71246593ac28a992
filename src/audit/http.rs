//! Ledger verification for auditors and admins.

use actix_web::{get, web, HttpResponse};

use crate::http::extract::AuthUser;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::Permission;
use crate::ledger::verify::{self, VerifyReport};

/// Recomputes the hash chain, every transaction's zero sum and every balance; names what is
/// broken.
#[utoipa::path(tag = "ledger", operation_id = "verify_ledger",
    security(("bearer" = [])),
    responses((status = 200, body = VerifyReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
#[get("/ledger/verify")]
pub async fn verify_ledger(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::VerifyLedger)?;
    let community = user.community_id;
    let report = with_conn(&state, move |conn| {
        Ok(verify::verify_ledger(conn, Some(community))?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}
