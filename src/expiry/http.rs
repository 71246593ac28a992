//! The community's expiry settings as JSON: read by any signed-in user, set by an admin.

use actix_web::{get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::ExpirySettings;
use super::store::{self, Expiring, StoredSettings};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::{rfc3339, with_conn};
use crate::kernel::Permission;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpirySettingsRequest {
    /// `none` (coins never expire), `year_end` (at the start of each local year every coin
    /// earned before 1 January expires) or `months` (on the first of each month, the coins
    /// earned before the first of the month `months` earlier expire).
    #[schema(example = "year_end")]
    pub mode: String,
    /// 1-120, with `months` only.
    pub months: Option<i32>,
    /// 0-90 (default 30): how many days before an expiry residents are told.
    pub notice_days: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpirySettingsView {
    #[schema(example = "year_end")]
    pub mode: String,
    pub months: Option<i32>,
    #[schema(example = 30)]
    pub notice_days: i32,
    /// When the rule (mode or months) was last set; an expiry due on or before that local day
    /// is not run. Null when never set.
    pub since: Option<String>,
}

/// Coins announced to expire.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpiringView {
    #[schema(example = "35.50")]
    pub amount: String,
    /// The community-local day they expire, `2027-01-01`.
    #[schema(example = "2027-01-01")]
    pub on: String,
}

impl From<Expiring> for ExpiringView {
    fn from(e: Expiring) -> Self {
        ExpiringView {
            amount: e.amount.to_string(),
            on: e.on.format("%Y-%m-%d").to_string(),
        }
    }
}

fn settings_view(s: &StoredSettings) -> ExpirySettingsView {
    ExpirySettingsView {
        mode: s.settings.mode().to_string(),
        months: s.settings.months(),
        notice_days: s.settings.notice_days as i32,
        since: s.since.map(rfc3339),
    }
}

/// The community's expiry rule.
#[utoipa::path(tag = "expiry", operation_id = "get_expiry_settings",
    security(("bearer" = [])),
    responses((status = 200, body = ExpirySettingsView),
        problems::Unauthorized))]
#[get("/settings/expiry")]
pub async fn get_expiry_settings(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let community = user.community_id;
    let stored = with_conn(&state, move |conn| Ok(store::settings(conn, community)?)).await?;
    Ok(HttpResponse::Ok().json(settings_view(&stored)))
}

/// Sets when coins expire (admin). Bad input changes nothing.
#[utoipa::path(tag = "expiry", operation_id = "update_expiry_settings",
    security(("bearer" = [])),
    request_body = ExpirySettingsRequest,
    responses((status = 200, body = ExpirySettingsView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[put("/settings/expiry")]
pub async fn update_expiry_settings(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<ExpirySettingsRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageRules)?;
    let body = body.into_inner();
    let settings = ExpirySettings::parse(
        &body.mode,
        body.months,
        body.notice_days
            .unwrap_or(super::model::EXPIRY_NOTICE_DAYS_DEFAULT),
    )
    .map_err(|e| ApiError::validation(e.to_string()).with("field", e.field()))?;
    let community = user.community_id;
    let now = state.clock.now();
    let saved = with_conn(&state, move |conn| {
        Ok(crate::db::write_transaction(conn, |conn| {
            store::save_settings(conn, community, settings, now)
        })?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(settings_view(&saved)))
}
