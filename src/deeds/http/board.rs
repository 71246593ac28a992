//! The public notice board (公示栏): deeds waiting out their notice, names masked.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::deeds::model::Direction;
use crate::deeds::store;
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::{rfc3339, with_replica};
use crate::kernel::Permission;
use crate::kernel::{CommunityId, DeedId, Points};

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

/// A deed on the notice board as every face shows it: the name already masked when it must be.
#[derive(Debug, Clone)]
pub struct Notice {
    pub deed_id: DeedId,
    pub member_name: String,
    pub rule_name: String,
    pub direction: Direction,
    pub points: Points,
    pub occurred_on: String,
    pub description: String,
    pub notice_ends_at: Option<NaiveDateTime>,
}

impl From<&Notice> for NoticeView {
    fn from(n: &Notice) -> NoticeView {
        NoticeView {
            deed_id: n.deed_id.0,
            member_name: n.member_name.clone(),
            rule_name: n.rule_name.clone(),
            points: n.points.to_string(),
            occurred_on: n.occurred_on.clone(),
            description: n.description.clone(),
            notice_ends_at: n.notice_ends_at.map(rfc3339).unwrap_or_default(),
        }
    }
}

/// The deeds on notice in `community` now, soonest end first; names masked unless `masked` is
/// false (a role that holds [`Permission::ReadBoardNames`]). The JSON board, the console's board
/// and the public page without a login all read it here, so they mask alike.
pub async fn notices_of(
    state: &AppState,
    community: CommunityId,
    masked: bool,
) -> Result<Vec<Notice>, ApiError> {
    let now = state.clock.now();
    let rows = with_replica(state, move |conn| {
        Ok(store::notices(
            conn,
            community,
            now,
            NOTICE_BOARD_ITEMS_MAX,
        )?)
    })
    .await?;
    Ok(rows
        .iter()
        .map(|(deed, _, name)| Notice {
            deed_id: DeedId(deed.id.0),
            member_name: if masked {
                mask_name(name)
            } else {
                name.clone()
            },
            rule_name: deed.rule_name.clone(),
            direction: deed.direction,
            points: Points::from_hundredths(deed.points),
            occurred_on: deed.occurred_on.clone(),
            description: deed.description.clone(),
            notice_ends_at: deed.notice_ends_at,
        })
        .collect())
}

/// The notice board as `user` may see it: names masked unless their roles may read them.
pub async fn notice_board(state: &AppState, user: &AuthUser) -> Result<Vec<Notice>, ApiError> {
    notices_of(
        state,
        user.community_id,
        !user.may(Permission::ReadBoardNames),
    )
    .await
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
    let notices = notice_board(&state, &user).await?;
    Ok(HttpResponse::Ok().json(NoticeBoard {
        items: notices.iter().map(NoticeView::from).collect(),
    }))
}
