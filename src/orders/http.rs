//! The JSON face of reserved orders: place one (a resident for themself, a clerk for a
//! resident), read them, collect one at the counter with its pickup code, cancel one, and the
//! community's waiting time. The console's pages call the same functions.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{new_pickup_code, parse_pickup_code, OrderStatus, HOLD_HOURS_MAX};
use super::plan::{Collect, Ending, Hold, OrderOutcome, Release};
use super::store::{self, OrderLineRow, OrderRow};
use crate::commands::{Command, Outcome};
use crate::db::{DbConn, DbUuid};
use crate::http::extract::AuthUser;
use crate::http::idempotency::{done_or_earlier, idempotency_key, request_hash};
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{rfc3339, with_conn};
use crate::kernel::{CommunityId, MemberId, Permission, Points};
use crate::ledger::command::MEMO_CHARS_MAX;
use crate::shop::http::redemptions::{basket, redemption_view, BasketLineRequest, RedemptionView};

/// Orders one list answers at most.
pub const ORDERS_LISTED_MAX: i64 = 200;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineView {
    pub goods_id: uuid::Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    #[schema(example = "30.00")]
    pub unit_price: String,
    #[schema(example = "60.00")]
    pub line_total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: uuid::Uuid,
    pub member_id: uuid::Uuid,
    pub account_id: uuid::Uuid,
    /// Six digits, said at the counter to collect the order.
    #[schema(example = "042917")]
    pub pickup_code: String,
    /// `held` (coins and goods set aside), `collected`, `cancelled` or `expired`.
    pub status: String,
    #[schema(example = "60.00")]
    pub total: String,
    pub lines: Vec<OrderLineView>,
    pub created_at: String,
    /// When an order still held is released by the sweeper.
    pub expires_at: String,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
    pub hold_journal_id: uuid::Uuid,
    /// The collection (a redemption, same id as the order) or the release.
    pub end_journal_id: Option<uuid::Uuid>,
}

pub fn order_view(order: &OrderRow, lines: &[OrderLineRow]) -> OrderView {
    OrderView {
        id: order.id.0,
        member_id: order.member_id.0,
        account_id: order.account_id.0,
        pickup_code: order.pickup_code.clone(),
        status: order.status.as_str().to_string(),
        total: Points::from_hundredths(order.total).to_string(),
        lines: lines
            .iter()
            .map(|l| OrderLineView {
                goods_id: l.goods_id.0,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: Points::from_hundredths(l.unit_price).to_string(),
                line_total: Points::from_hundredths(l.line_total).to_string(),
            })
            .collect(),
        created_at: rfc3339(order.created_at),
        expires_at: rfc3339(order.expires_at),
        ended_at: order.ended_at.map(rfc3339),
        end_reason: order.end_reason.clone(),
        hold_journal_id: order.hold_journal_id.0,
        end_journal_id: order.end_journal_id.map(|j| j.0),
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// The member the order is for: a clerk names them; a resident leaves it out (or names
    /// themself).
    pub member_id: Option<uuid::Uuid>,
    /// 1–20 lines, each goods at most once.
    pub lines: Vec<BasketLineRequest>,
    /// The total the page showed; if the server's differs the answer is 409 `price_changed`.
    #[schema(example = "60.00")]
    pub expected_total: Option<String>,
}

/// The first answer to this key, rebuilt from the stored order.
fn earlier_order(
    conn: &mut DbConn,
    community: CommunityId,
    journal_id: crate::kernel::JournalId,
) -> Result<OrderView, ApiError> {
    let (entry, _) = crate::ledger::read::journal_entry(conn, journal_id)?
        .ok_or_else(|| ApiError::internal("idempotency record points at no journal entry"))?;
    let id = entry
        .reference_id
        .ok_or_else(|| ApiError::internal("order entry without a reference"))?;
    let (order, lines) = store::order(conn, community, id)?
        .ok_or_else(|| ApiError::internal("order entry without an order"))?;
    Ok(order_view(&order, &lines))
}

/// Places an order through the writer, once per key. Residents reserve for themselves; clerks and
/// admins for a resident (never for themselves).
pub async fn place_order(
    state: &AppState,
    user: &AuthUser,
    key: String,
    request: OrderRequest,
) -> Result<OrderView, ApiError> {
    let asked = request.member_id.map(MemberId);
    let (member_id, own) = match (asked, user.member_id) {
        (None, Some(mine)) | (Some(_), Some(mine))
            if asked.is_none_or(|a| a == mine) && user.may(Permission::ReserveOwn) =>
        {
            (mine, true)
        }
        (Some(member), _) => {
            user.require(Permission::Redeem)?;
            (member, false)
        }
        (None, _) => {
            return Err(if user.may(Permission::Redeem) {
                ApiError::validation("member_id: name the resident the order is for")
                    .with("field", "member_id")
            } else {
                ApiError::forbidden("only residents and the counter reserve goods")
            })
        }
    };
    let hash = request_hash("POST /api/v1/orders", &request)?;
    let lines = basket(&request.lines)?;
    let expected_total = request
        .expected_total
        .as_deref()
        .map(Points::parse_positive)
        .transpose()
        .map_err(|e| {
            ApiError::validation(format!("expected_total: {e}")).with("field", "expected_total")
        })?;
    let community = user.community_id;
    let now = state.clock.now();
    let (code, hours) = with_conn(state, move |conn| {
        let hours = store::hold_hours(conn, community)?;
        // A code no open order of the community has; the database's unique index is the last word.
        for _ in 0..20 {
            let code = new_pickup_code();
            if !store::code_in_use(conn, community, &code)? {
                return Ok((code, hours));
            }
        }
        Err(ApiError::internal("no free pickup code after 20 tries"))
    })
    .await?;
    let outcome = state
        .engine
        .execute(Command::Hold(Box::new(Hold {
            community_id: community,
            order_id: uuid::Uuid::now_v7(),
            member_id,
            actor: user.actor(),
            actor_username: user.username.clone(),
            own,
            lines,
            expected_total,
            pickup_code: code,
            expires_at: now + chrono::Duration::hours(hours as i64),
            idempotency: crate::ledger::IdempotencyClaim {
                user_id: user.user_id,
                key: key.clone(),
                request_hash: hash.clone(),
            },
        })))
        .await;
    done_or_earlier(
        state,
        user,
        (&key, &hash),
        outcome,
        |done| match done {
            Outcome::Order(o) => match *o {
                OrderOutcome::Held { order, lines, .. } => Ok(order_view(&order, &lines)),
                other => Err(ApiError::internal(format!(
                    "the engine answered an order with {other:?}"
                ))),
            },
            other => Err(ApiError::internal(format!(
                "the engine answered an order with {other:?}"
            ))),
        },
        earlier_order,
    )
    .await
}

/// Reserves goods: the coins leave the passbook for the community's holds account and the goods
/// leave the shelf, until collected with the pickup code, cancelled, or released when the
/// community's waiting time runs out.
#[utoipa::path(tag = "orders", operation_id = "create_order",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "unique per order; a retry with the same key and body returns the first answer")),
    request_body = OrderRequest,
    responses((status = 201, body = OrderView),
        (status = 400, description = "idempotency_key_missing, malformed JSON", body = Problem, content_type = "application/problem+json"),
        problems::Unauthorized,
        (status = 403, description = "forbidden: not the resident, a clerk or an admin; a clerk ordering for themself", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "out_of_stock, goods_inactive, member_inactive, price_changed, idempotency_key_in_use", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed, insufficient_balance, monthly_limit, goods_not_found, idempotency_key_reused", body = Problem, content_type = "application/problem+json"),
        problems::Unavailable))]
#[post("/orders")]
pub async fn create_order(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<OrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let view = place_order(&state, &user, key, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    pub member_id: Option<uuid::Uuid>,
    /// `held`, `collected`, `cancelled` or `expired`.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    /// Newest first, at most 200.
    pub items: Vec<OrderView>,
}

/// Orders of the community, newest first (staff); a resident sees their own.
#[utoipa::path(tag = "orders", operation_id = "list_orders",
    security(("bearer" = [])),
    params(OrderListQuery),
    responses((status = 200, body = OrderPage),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 422, description = "validation_failed: an unknown status", body = Problem, content_type = "application/problem+json")))]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<OrderListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(OrderStatus::parse(text).ok_or_else(|| {
            ApiError::validation("status: one of held, collected, cancelled, expired")
                .with("field", "status")
        })?),
    };
    let member = if user.may(Permission::ReadRegister) {
        query.member_id.map(MemberId)
    } else {
        match (user.member_id, query.member_id.map(MemberId)) {
            (Some(own), None) => Some(own),
            (Some(own), Some(asked)) if asked == own => Some(own),
            _ => return Ok(HttpResponse::Ok().json(OrderPage { items: vec![] })),
        }
    };
    let community = user.community_id;
    let rows = with_conn(&state, move |conn| {
        Ok(store::list(
            conn,
            community,
            member,
            status,
            ORDERS_LISTED_MAX,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(OrderPage {
        items: rows.iter().map(|(o, l)| order_view(o, l)).collect(),
    }))
}

/// The order if `user` may see it: staff any of the community's, a resident their own.
async fn visible_order(
    state: &AppState,
    user: &AuthUser,
    id: uuid::Uuid,
) -> Result<store::OrderWithLines, ApiError> {
    let community = user.community_id;
    let found = with_conn(state, move |conn| {
        Ok(store::order(conn, community, DbUuid(id))?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("order"))?;
    let staff = user.may(Permission::ReadRegister);
    if !staff && user.member_id != Some(found.0.member_id.into()) {
        return Err(ApiError::not_found("order"));
    }
    Ok(found)
}

/// One order. A resident may read only their own.
#[utoipa::path(tag = "orders", operation_id = "get_order",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "order id")),
    responses((status = 200, body = OrderView),
        problems::Unauthorized,
        problems::NotFound))]
#[get("/orders/{id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (order, lines) = visible_order(&state, &user, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(order_view(&order, &lines)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectRequest {
    /// The six digits the resident says at the counter.
    #[schema(example = "042917")]
    pub pickup_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectedView {
    pub order: OrderView,
    /// The receipt: a redemption with the order's id.
    pub redemption: RedemptionView,
}

/// Collects the open order with this code: the held coins go to the shop, and a redemption with
/// its receipt is recorded (the goods left the shelf when the order was placed).
pub async fn collect_by_code(
    state: &AppState,
    user: &AuthUser,
    code: &str,
) -> Result<CollectedView, ApiError> {
    user.require(Permission::Redeem)?;
    let code = parse_pickup_code(code).ok_or_else(|| {
        ApiError::validation("pickup_code: six digits").with("field", "pickup_code")
    })?;
    let community = user.community_id;
    let found = with_conn(state, move |conn| {
        Ok(store::held_with_code(conn, community, &code)?)
    })
    .await?
    .ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "order_not_found",
            "no order is waiting with this pickup code",
        )
    })?;
    let outcome = state
        .engine
        .execute(Command::Collect(Collect {
            community_id: community,
            order_id: found.0.id.0,
            clerk: user.actor(),
            clerk_username: user.username.clone(),
        }))
        .await?;
    match outcome {
        Outcome::Order(o) => match *o {
            OrderOutcome::Collected {
                order,
                lines,
                redemption,
                receipt,
                ..
            } => Ok(CollectedView {
                order: order_view(&order, &lines),
                redemption: redemption_view(&redemption, &receipt, false),
            }),
            other => Err(ApiError::internal(format!(
                "the engine answered a collection with {other:?}"
            ))),
        },
        other => Err(ApiError::internal(format!(
            "the engine answered a collection with {other:?}"
        ))),
    }
}

/// Collects an order at the counter with its pickup code (clerk or admin; not one's own order).
#[utoipa::path(tag = "orders", operation_id = "collect_order",
    security(("bearer" = [])),
    request_body = CollectRequest,
    responses((status = 200, body = CollectedView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden: not a clerk or admin, or one's own order", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no order waiting with this code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "order_ended: collected, cancelled or expired meanwhile", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed: not six digits", body = Problem, content_type = "application/problem+json"),
        problems::Unavailable))]
#[post("/orders/collect")]
pub async fn collect_order(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CollectRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = collect_by_code(&state, &user, &body.pickup_code).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why, up to 500 characters; optional.
    pub reason: Option<String>,
}

/// Cancels a held order: the coins come back to the passbook and the goods to the shelf.
pub async fn cancel(
    state: &AppState,
    user: &AuthUser,
    id: uuid::Uuid,
    reason: Option<String>,
) -> Result<OrderView, ApiError> {
    let reason = reason.map(|r| r.trim().to_string()).unwrap_or_default();
    if reason.chars().count() > MEMO_CHARS_MAX {
        return Err(
            ApiError::validation(format!("reason: at most {MEMO_CHARS_MAX} characters"))
                .with("field", "reason"),
        );
    }
    let (order, _) = visible_order(state, user, id).await?;
    let owner = user.member_id == Some(order.member_id.into());
    if !owner && !user.may(Permission::Redeem) {
        return Err(ApiError::forbidden(
            "only the resident or the counter cancels an order",
        ));
    }
    let outcome = state
        .engine
        .execute(Command::Release(Release {
            community_id: user.community_id,
            order_id: id,
            actor: Some(user.actor()),
            ending: Ending::Cancelled,
            reason,
        }))
        .await?;
    match outcome {
        Outcome::Order(o) => match *o {
            OrderOutcome::Released { order, lines, .. } => Ok(order_view(&order, &lines)),
            other => Err(ApiError::internal(format!(
                "the engine answered a cancellation with {other:?}"
            ))),
        },
        other => Err(ApiError::internal(format!(
            "the engine answered a cancellation with {other:?}"
        ))),
    }
}

/// Cancels a held order (the resident's own, or any at the counter).
#[utoipa::path(tag = "orders", operation_id = "cancel_order",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "order id")),
    request_body = CancelRequest,
    responses((status = 200, body = OrderView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        (status = 409, description = "order_ended: collected, cancelled or expired already", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        problems::Unavailable))]
#[post("/orders/{id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<CancelRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let view = cancel(&state, &user, path.into_inner(), body.reason).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderSettings {
    /// Hours a held order waits before the sweeper releases it (1–720).
    #[schema(example = 72)]
    pub hold_hours: i32,
}

/// How long reserved orders wait.
#[utoipa::path(tag = "orders", operation_id = "get_order_settings",
    security(("bearer" = [])),
    responses((status = 200, body = OrderSettings), problems::Unauthorized))]
#[get("/order-settings")]
pub async fn get_order_settings(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let community = user.community_id;
    let hold_hours = with_conn(&state, move |conn| Ok(store::hold_hours(conn, community)?)).await?;
    Ok(HttpResponse::Ok().json(OrderSettings { hold_hours }))
}

/// Sets how long reserved orders wait (admin). Orders already placed keep their time.
#[utoipa::path(tag = "orders", operation_id = "update_order_settings",
    security(("bearer" = [])),
    request_body = OrderSettings,
    responses((status = 200, body = OrderSettings),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
#[put("/order-settings")]
pub async fn update_order_settings(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<OrderSettings>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageGoods)?;
    let hours = body.hold_hours;
    if !(1..=HOLD_HOURS_MAX).contains(&hours) {
        return Err(
            ApiError::validation(format!("hold_hours: between 1 and {HOLD_HOURS_MAX}"))
                .with("field", "hold_hours"),
        );
    }
    let community = user.community_id;
    let now = state.clock.now();
    with_conn(&state, move |conn| {
        Ok(store::set_hold_hours(conn, community, hours, now)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(OrderSettings { hold_hours: hours }))
}
