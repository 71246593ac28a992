//! Accounts: a member's passbook account or one of the community's system accounts.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::with_conn_quick;
use crate::kernel::Permission;
use crate::kernel::{AccountId, Points};

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: uuid::Uuid,
    /// `member`, `issuance`, `shop` or `deductions`.
    pub kind: String,
    pub member_id: Option<uuid::Uuid>,
    /// Passbook number of the member, for member accounts.
    pub member_no: Option<String>,
    pub member_name: Option<String>,
    #[schema(example = "12.50")]
    pub balance: String,
    /// `active` or `frozen`.
    pub status: String,
}

/// One account with its balance. A resident may read only their own; system accounts are for
/// admins and auditors.
#[utoipa::path(tag = "accounts", operation_id = "get_account",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "account id")),
    responses((status = 200, body = AccountView),
        problems::Unauthorized,
        problems::NotFound))]
#[get("/accounts/{id}")]
pub async fn get_account(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let account_id = AccountId(path.into_inner());
    let community = user.community_id;
    let (account, member) = with_conn_quick(&state, move |conn| {
        Ok(crate::members::store::account_with_member(
            conn, community, account_id,
        )?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("account"))?;
    let own = member
        .as_ref()
        .is_some_and(|m| Some(m.id.into()) == user.member_id);
    let allowed = match &member {
        Some(_) => own || user.may(Permission::ReadMembers),
        None => user.may(Permission::ReadSystemAccounts),
    };
    if !allowed {
        // Indistinguishable from an account that does not exist: no id guessing.
        return Err(ApiError::not_found("account"));
    }
    Ok(HttpResponse::Ok().json(AccountView {
        id: account.id.0,
        kind: account.kind.as_str().to_string(),
        member_id: member.as_ref().map(|m| m.id.0),
        member_no: member.as_ref().map(|m| m.member_no.clone()),
        member_name: member.as_ref().map(|m| m.name.clone()),
        balance: Points::from_hundredths(account.balance).to_string(),
        status: account.status,
    }))
}
