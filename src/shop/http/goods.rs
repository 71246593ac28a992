//! Goods of the points shop: what they cost, how many are on the shelf, and every change of stock.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::commands::{Command, Outcome};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{
    page_limit, parse_cursor, required_text, rfc3339, with_conn, with_reads, with_replica,
    Freshness, PageQuery,
};
use crate::kernel::Permission;
use crate::kernel::{GoodsId, Points};
use crate::ledger::command::MEMO_CHARS_MAX;
use crate::shop::plan::{Restock, ShopOutcome, STOCK_MAX};
use crate::shop::store::{CreateGoodsError, GoodsChanges, GoodsFilter, NewGoods};
use crate::shop::store::{GoodsRow, StockMovementRow};

pub const SKU_CHARS_MAX: usize = 32;
pub const GOODS_NAME_CHARS_MAX: usize = 64;
/// Items one restock may add at most.
pub const RESTOCK_QUANTITY_MAX: i64 = 1_000_000;
/// The highest per-member monthly limit that can be set.
pub const MONTHLY_LIMIT_MAX: i64 = 10_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct GoodsView {
    pub id: uuid::Uuid,
    #[schema(example = "RICE-5KG")]
    pub sku: String,
    #[schema(example = "大米 5kg")]
    pub name: String,
    /// Price in points.
    #[schema(example = "30.00")]
    pub price: String,
    pub stock: i64,
    /// `active` (on sale) or `inactive`.
    pub status: String,
    /// Items one member may redeem per local month, when limited.
    pub monthly_limit: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn goods_view(row: &GoodsRow) -> GoodsView {
    GoodsView {
        id: row.id.0,
        sku: row.sku.clone(),
        name: row.name.clone(),
        price: Points::from_hundredths(row.price).to_string(),
        stock: row.stock,
        status: row.status.as_str().to_string(),
        monthly_limit: row.monthly_limit,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

fn parse_sku(text: &str) -> Result<String, ApiError> {
    let sku = text.trim();
    if sku.is_empty()
        || sku.chars().count() > SKU_CHARS_MAX
        || !sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::validation(format!(
            "sku must be 1-{SKU_CHARS_MAX} letters, digits, '-' or '_'"
        ))
        .with("field", "sku"));
    }
    Ok(sku.to_ascii_uppercase())
}

fn parse_price(text: &str) -> Result<i64, ApiError> {
    Points::parse_positive(text)
        .map(Points::hundredths)
        .map_err(|e| ApiError::validation(format!("price: {e}")).with("field", "price"))
}

fn check_monthly_limit(limit: Option<i64>) -> Result<(), ApiError> {
    match limit {
        Some(n) if !(1..=MONTHLY_LIMIT_MAX).contains(&n) => Err(ApiError::validation(format!(
            "monthly_limit must be between 1 and {MONTHLY_LIMIT_MAX}, or null for none"
        ))
        .with("field", "monthly_limit")),
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGoodsRequest {
    pub sku: String,
    pub name: String,
    /// Price in points, positive, at most two decimals.
    #[schema(example = "30.00")]
    pub price: String,
    /// Items on the shelf now.
    pub stock: i64,
    pub monthly_limit: Option<i64>,
}

/// Puts new goods in the shop (admin).
#[utoipa::path(tag = "goods", operation_id = "create_goods",
    security(("bearer" = [])),
    request_body = CreateGoodsRequest,
    responses((status = 201, body = GoodsView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        (status = 409, description = "sku_taken", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/goods")]
pub async fn create_goods(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateGoodsRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = create(&state, &user, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Puts new goods in the shop: the JSON endpoint and the console's form.
pub async fn create(
    state: &AppState,
    user: &AuthUser,
    request: CreateGoodsRequest,
) -> Result<GoodsView, ApiError> {
    user.require(Permission::ManageGoods)?;
    let sku = parse_sku(&request.sku)?;
    let name = required_text("name", &request.name, GOODS_NAME_CHARS_MAX)?;
    let price = parse_price(&request.price)?;
    if !(0..=STOCK_MAX).contains(&request.stock) {
        return Err(
            ApiError::validation(format!("stock must be between 0 and {STOCK_MAX}"))
                .with("field", "stock"),
        );
    }
    check_monthly_limit(request.monthly_limit)?;
    let (community, actor) = (user.community_id, user.user_id);
    let row = with_conn(state, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            crate::shop::store::create_goods(
                conn,
                &NewGoods {
                    community,
                    sku: &sku,
                    name: &name,
                    price,
                    stock: request.stock,
                    monthly_limit: request.monthly_limit,
                    actor,
                },
            )
        })
        .map_err(|e| match e {
            CreateGoodsError::SkuTaken => {
                ApiError::conflict("sku_taken", "other goods already have this sku")
            }
            CreateGoodsError::Database(e) => e.into(),
        })
    })
    .await?;
    Ok(goods_view(&row))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GoodsListQuery {
    /// `active` or `inactive`.
    pub status: Option<String>,
    /// Items per page (1–200, default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GoodsPage {
    pub items: Vec<GoodsView>,
    pub next_cursor: Option<String>,
}

/// The shop's goods, oldest first. Every user of the community may look.
#[utoipa::path(tag = "goods", operation_id = "list_goods",
    security(("bearer" = [])),
    params(GoodsListQuery),
    responses((status = 200, body = GoodsPage),
        problems::BadRequest,
        problems::Unauthorized))]
#[get("/goods")]
pub async fn list_goods(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<GoodsListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(goods_page(&state, &user, query.into_inner()).await?))
}

/// A page of the shop's goods: the JSON list and the console's goods page.
pub async fn goods_page(
    state: &AppState,
    user: &AuthUser,
    query: GoodsListQuery,
) -> Result<GoodsPage, ApiError> {
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?.map(GoodsId);
    if let Some(status) = &query.status {
        if status != "active" && status != "inactive" {
            return Err(ApiError::bad_request(
                "invalid_query",
                "status must be active or inactive",
            ));
        }
    }
    let community = user.community_id;
    let rows = with_replica(state, move |conn| {
        Ok(crate::shop::store::list_goods(
            conn,
            community,
            &GoodsFilter {
                status: query.status.as_deref(),
                after,
                limit,
            },
        )?)
    })
    .await?;
    let next_cursor = crate::http::next_cursor(&rows, limit, |g| g.id.0);
    Ok(GoodsPage {
        items: rows.iter().map(goods_view).collect(),
        next_cursor,
    })
}

/// One goods with its price and stock.
#[utoipa::path(tag = "goods", operation_id = "get_goods",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "goods id")),
    responses((status = 200, body = GoodsView),
        problems::Unauthorized,
        problems::NotFound))]
#[get("/goods/{id}")]
pub async fn get_goods(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(goods_one(&state, &user, GoodsId(path.into_inner())).await?))
}

/// One goods of the user's community.
pub async fn goods_one(
    state: &AppState,
    user: &AuthUser,
    id: GoodsId,
) -> Result<GoodsView, ApiError> {
    let community = user.community_id;
    let row = with_conn(state, move |conn| {
        Ok(crate::shop::store::goods_by_id(conn, community, id)?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("goods"))?;
    Ok(goods_view(&row))
}

/// `null` and absent differ: absent keeps the limit, `null` removes it.
fn double_option<'de, D>(deserializer: D) -> Result<Option<Option<i64>>, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<i64>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGoodsRequest {
    pub name: Option<String>,
    /// A new price applies to future redemptions only.
    #[schema(example = "32.00")]
    pub price: Option<String>,
    /// `active` or `inactive`.
    pub status: Option<String>,
    /// A number sets the limit; `null` removes it; absent keeps it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub monthly_limit: Option<Option<i64>>,
}

/// Changes name, price, sale status or monthly limit (admin). Past redemptions keep their price.
#[utoipa::path(tag = "goods", operation_id = "update_goods",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "goods id")),
    request_body = UpdateGoodsRequest,
    responses((status = 200, body = GoodsView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound,
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[patch("/goods/{id}")]
pub async fn update_goods(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<UpdateGoodsRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = update(&state, &user, GoodsId(path.into_inner()), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes name, price, sale status or monthly limit: the JSON endpoint and the console.
pub async fn update(
    state: &AppState,
    user: &AuthUser,
    id: GoodsId,
    request: UpdateGoodsRequest,
) -> Result<GoodsView, ApiError> {
    user.require(Permission::ManageGoods)?;
    let changes = GoodsChanges {
        name: request
            .name
            .as_deref()
            .map(|n| required_text("name", n, GOODS_NAME_CHARS_MAX))
            .transpose()?,
        price: request.price.as_deref().map(parse_price).transpose()?,
        status: crate::http::parse_active(request.status.as_deref())?,
        monthly_limit: request.monthly_limit,
    };
    if let Some(limit) = changes.monthly_limit {
        check_monthly_limit(limit)?;
    }
    if changes.name.is_none()
        && changes.price.is_none()
        && changes.status.is_none()
        && changes.monthly_limit.is_none()
    {
        return Err(ApiError::validation("nothing to change"));
    }
    let community = user.community_id;
    let row = with_conn(state, move |conn| {
        Ok(crate::db::write_transaction(conn, |conn| {
            crate::shop::store::update_goods(conn, community, id, &changes)
        })?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("goods"))?;
    Ok(goods_view(&row))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestockRequest {
    /// Items added, 1–1000000.
    pub quantity: i64,
    #[schema(example = "乡镇配送")]
    pub reason: String,
}

/// Adds stock (admin). Logged as a stock movement.
#[utoipa::path(tag = "goods", operation_id = "create_restock",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "goods id")),
    request_body = RestockRequest,
    responses((status = 200, body = GoodsView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound,
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable,
        problems::Unavailable))]
#[post("/goods/{id}/restock")]
pub async fn restock_goods(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<RestockRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = restock(&state, &user, GoodsId(path.into_inner()), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Adds stock with a reason, logged as a stock movement: the JSON endpoint and the console.
pub async fn restock(
    state: &AppState,
    user: &AuthUser,
    id: GoodsId,
    request: RestockRequest,
) -> Result<GoodsView, ApiError> {
    user.require(Permission::ManageGoods)?;
    if !(1..=RESTOCK_QUANTITY_MAX).contains(&request.quantity) {
        return Err(ApiError::validation(format!(
            "quantity must be between 1 and {RESTOCK_QUANTITY_MAX}"
        ))
        .with("field", "quantity"));
    }
    let reason = required_text("reason", &request.reason, MEMO_CHARS_MAX)?;
    let outcome = state
        .engine
        .execute(Command::Restock(Restock {
            community_id: user.community_id,
            goods_id: id,
            quantity: request.quantity,
            reason,
            actor: user.actor(),
        }))
        .await?;
    if !matches!(outcome, Outcome::Shop(ShopOutcome::Restocked { .. })) {
        return Err(ApiError::internal(
            "the engine answered a restock with something else",
        ));
    }
    let community = user.community_id;
    let row = with_conn(state, move |conn| {
        Ok(crate::shop::store::goods_by_id(conn, community, id)?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("goods"))?;
    Ok(goods_view(&row))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockMovementView {
    pub id: uuid::Uuid,
    /// `initial`, `restock`, `redemption` or `void`.
    pub kind: String,
    /// Signed: negative when items left the shelf.
    pub quantity: i64,
    pub stock_after: i64,
    /// The redemption, for `redemption` and `void`.
    pub reference_id: Option<uuid::Uuid>,
    pub reason: String,
    pub actor_id: Option<uuid::Uuid>,
    pub created_at: String,
}

fn movement_view(row: &StockMovementRow) -> StockMovementView {
    StockMovementView {
        id: row.id.0,
        kind: row.kind.as_str().to_string(),
        quantity: row.quantity,
        stock_after: row.stock_after,
        reference_id: row.reference_id.map(|r| r.0),
        reason: row.reason.clone(),
        actor_id: row.actor_id.map(|a| a.0),
        created_at: rfc3339(row.created_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockMovementPage {
    pub items: Vec<StockMovementView>,
    pub next_cursor: Option<String>,
}

/// Every change of one goods' stock, oldest first (admin, clerk, auditor).
#[utoipa::path(tag = "goods", operation_id = "list_stock_movements",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "goods id"), PageQuery),
    responses((status = 200, body = StockMovementPage),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound))]
#[get("/goods/{id}/movements")]
pub async fn list_stock_movements(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = movement_page(
        &state,
        &user,
        GoodsId(path.into_inner()),
        query.into_inner(),
        Freshness::MayLag,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A page of one goods' stock movements, oldest first, from where `freshness` allows.
pub async fn movement_page(
    state: &AppState,
    user: &AuthUser,
    id: GoodsId,
    query: PageQuery,
    freshness: Freshness,
) -> Result<StockMovementPage, ApiError> {
    user.require(Permission::ReadStockMovements)?;
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?;
    let community = user.community_id;
    let rows = with_reads(state, freshness, move |conn| {
        if crate::shop::store::goods_by_id(conn, community, id)?.is_none() {
            return Err(ApiError::not_found("goods"));
        }
        Ok(crate::shop::store::list_movements(conn, id, after, limit)?)
    })
    .await?;
    let next_cursor = crate::http::next_cursor(&rows, limit, |m| m.id.0);
    Ok(StockMovementPage {
        items: rows.iter().map(movement_view).collect(),
        next_cursor,
    })
}
