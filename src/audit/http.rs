//! Ledger verification for auditors and admins.

use actix_web::{get, web, HttpResponse};

use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::Permission;
use crate::ledger::verify::{self, VerifyReport};

/// Recomputes the hash chain, every transaction's zero sum and every balance; names what is
/// broken.
#[utoipa::path(tag = "ledger", operation_id = "verify_ledger",
    security(("bearer" = [])),
    responses((status = 200, body = VerifyReport),
        problems::Unauthorized,
        problems::Forbidden))]
#[get("/ledger/verify")]
pub async fn verify_ledger(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let report = verify(&state, &user).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Verifies the user's own community's ledger (it only reads: the JSON API's answer and the
/// console's 账本核验 page).
pub async fn verify(state: &AppState, user: &AuthUser) -> Result<VerifyReport, ApiError> {
    user.require(Permission::VerifyLedger)?;
    let community = user.community_id;
    with_conn(state, move |conn| {
        Ok(verify::verify_ledger(conn, Some(community))?)
    })
    .await
}
