//! The public notice board (公示栏): deeds waiting out their notice, names masked.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::deeds::store;
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::{rfc3339, with_conn};
use crate::kernel::Permission;
use crate::kernel::Points;

/// Deeds on one page of the notice board.
pub const NOTICE_BOARD_ITEMS_MAX: i64 = 200;

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
#[utoipa::path(tag = "deeds", operation_id = "list_notices",
    security(("bearer" = [])),
    responses((status = 200, body = NoticeBoard),
        problems::Unauthorized))]
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
    let mask = !user.may(Permission::ReadBoardNames);
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
