//! The counter: redeem a basket of goods for coins, read receipts and the register, void a
//! mistaken redemption.

use std::collections::BTreeMap;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::commands::{Command, Outcome};
use crate::db::DbConn;
use crate::http::extract::AuthUser;
use crate::http::idempotency::{done_or_earlier, idempotency_key, request_hash};
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{page_limit, parse_cursor, required_text, rfc3339, with_conn, with_replica};
use crate::kernel::{CommunityId, GoodsId, MemberId, Points, PointsTotal, RedemptionId};
use crate::kernel::{LocalCalendar, Permission};
use crate::ledger::command::MEMO_CHARS_MAX;
use crate::shop::model::RedemptionStatus;
use crate::shop::plan::{BasketLine, Redeem, ShopOutcome, Void};
use crate::shop::store as shop;
use crate::shop::store::{RedemptionLineRow, RedemptionRow};

/// Lines in one basket at most.
pub const BASKET_LINES_MAX: usize = 20;
/// Items of one goods in one basket at most.
pub const LINE_QUANTITY_MAX: i64 = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionLineView {
    pub goods_id: uuid::Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    /// The price charged, whatever the goods cost today.
    #[schema(example = "30.00")]
    pub unit_price: String,
    #[schema(example = "60.00")]
    pub line_total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoidView {
    pub journal_id: uuid::Uuid,
    pub voided_at: String,
    pub voided_by: uuid::Uuid,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionView {
    pub id: uuid::Uuid,
    pub member_id: uuid::Uuid,
    pub member_no: String,
    pub member_name: String,
    pub account_id: uuid::Uuid,
    pub clerk_id: uuid::Uuid,
    pub clerk_username: String,
    pub lines: Vec<RedemptionLineView>,
    #[schema(example = "60.00")]
    pub total: String,
    /// The member's balance right after this redemption.
    #[schema(example = "15.50")]
    pub balance_after: String,
    /// `completed` or `voided`.
    pub status: String,
    /// The community's local date of the redemption.
    #[schema(example = "2026-11-27")]
    pub local_day: String,
    pub journal_id: uuid::Uuid,
    pub created_at: String,
    pub void: Option<VoidView>,
}

/// The receipt. `as_first_answered` shows the redemption as it was when made, which is what a
/// replay of the original request must return even after a later void.
pub fn redemption_view(
    row: &RedemptionRow,
    lines: &[RedemptionLineRow],
    as_first_answered: bool,
) -> RedemptionView {
    let void = match (row.void_journal_id, row.voided_at, row.voided_by) {
        (Some(journal), Some(at), Some(by)) if !as_first_answered => Some(VoidView {
            journal_id: journal.0,
            voided_at: rfc3339(at),
            voided_by: by.0,
            reason: row.void_reason.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    RedemptionView {
        id: row.id.0,
        member_id: row.member_id.0,
        member_no: row.member_no.clone(),
        member_name: row.member_name.clone(),
        account_id: row.account_id.0,
        clerk_id: row.clerk_id.0,
        clerk_username: row.clerk_username.clone(),
        lines: lines
            .iter()
            .map(|l| RedemptionLineView {
                goods_id: l.goods_id.0,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: Points::from_hundredths(l.unit_price).to_string(),
                line_total: Points::from_hundredths(l.line_total).to_string(),
            })
            .collect(),
        total: Points::from_hundredths(row.total).to_string(),
        balance_after: Points::from_hundredths(row.balance_after).to_string(),
        status: if as_first_answered {
            "completed".into()
        } else {
            row.status.as_str().to_string()
        },
        local_day: row.local_day.clone(),
        journal_id: row.journal_id.0,
        created_at: rfc3339(row.created_at),
        void,
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasketLineRequest {
    pub goods_id: uuid::Uuid,
    /// 1–100.
    pub quantity: i64,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    pub member_id: uuid::Uuid,
    /// 1–20 lines, each goods at most once.
    pub lines: Vec<BasketLineRequest>,
    /// The total the counter showed; if the server's differs the answer is 409 `price_changed`.
    #[schema(example = "60.00")]
    pub expected_total: Option<String>,
    /// `member` (the default): the member's own passbook pays; `household`: their household's,
    /// where the community lets members redeem from it.
    #[schema(example = "member")]
    pub pay_from: Option<String>,
}

/// The first answer to this key, rebuilt from the stored redemption.
fn earlier_redemption(
    conn: &mut DbConn,
    community: CommunityId,
    journal_id: crate::kernel::JournalId,
) -> Result<RedemptionView, ApiError> {
    let (entry, _) = crate::ledger::read::journal_entry(conn, journal_id)?
        .ok_or_else(|| ApiError::internal("idempotency record points at no journal entry"))?;
    let id = entry
        .reference_id
        .map(|r| RedemptionId(r.0))
        .ok_or_else(|| ApiError::internal("redemption entry without a reference"))?;
    let (row, lines) = shop::redemption_with_lines(conn, community, id)?
        .ok_or_else(|| ApiError::internal("redemption entry without a redemption"))?;
    Ok(redemption_view(&row, &lines, true))
}

/// Redeems a basket for a member at the counter (clerk or admin): the member pays, the shop
/// receives, stock goes down — together or not at all.
#[utoipa::path(tag = "redemptions", operation_id = "create_redemption",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "unique per basket; a retry with the same key and body returns the first answer")),
    request_body = RedeemRequest,
    responses((status = 201, body = RedemptionView),
        (status = 400, description = "idempotency_key_missing, malformed JSON", body = Problem, content_type = "application/problem+json"),
        problems::Unauthorized,
        (status = 403, description = "not a clerk or admin, or redeeming for oneself", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "out_of_stock, goods_inactive, member_inactive, price_changed, idempotency_key_in_use, household_redeem_off, no_household", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed, insufficient_balance, monthly_limit, goods_not_found, idempotency_key_reused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the ledger is busy or unavailable; retry with the same key", body = Problem, content_type = "application/problem+json")))]
#[post("/redemptions")]
pub async fn create_redemption(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<RedeemRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let view = redeem(&state, &user, key, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Redeems a basket through the writer, once per `key`: a retry with the same key and basket
/// answers the first receipt; the same key with another basket is refused. The JSON API and the
/// console's counter both come through here.
pub async fn redeem(
    state: &AppState,
    user: &AuthUser,
    key: String,
    request: RedeemRequest,
) -> Result<RedemptionView, ApiError> {
    user.require(Permission::Redeem)?;
    let hash = request_hash("POST /api/v1/redemptions", &request)?;
    // A retry is recognised by the writer, which reads the stored keys of its batch: the
    // common case (a new key) costs no read here.

    let lines = basket(&request.lines)?;
    let expected_total = request
        .expected_total
        .as_deref()
        .map(Points::parse_positive)
        .transpose()
        .map_err(|e| {
            ApiError::validation(format!("expected_total: {e}")).with("field", "expected_total")
        })?;
    let member_id = MemberId(request.member_id);
    let community = user.community_id;
    let pay_from = match request.pay_from.as_deref().map(str::trim) {
        None | Some("member") => None,
        Some("household") => Some(household_paying(state, community, member_id).await?),
        Some(_) => {
            return Err(
                ApiError::validation("pay_from: member or household").with("field", "pay_from")
            )
        }
    };
    let outcome = state
        .engine
        .execute(Command::Redeem(Box::new(Redeem {
            community_id: community,
            redemption_id: RedemptionId::new(),
            member_id,
            clerk: user.actor(),
            clerk_username: user.username.clone(),
            lines,
            expected_total,
            pay_from,
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
            Outcome::Shop(ShopOutcome::Redeemed {
                redemption, lines, ..
            }) => Ok(redemption_view(&redemption, &lines, true)),
            other => Err(ApiError::internal(format!(
                "the engine answered a redemption with {other:?}"
            ))),
        },
        earlier_redemption,
    )
    .await
}

/// The household passbook a member may pay from, as the households concept decides.
async fn household_paying(
    state: &AppState,
    community: CommunityId,
    member: MemberId,
) -> Result<crate::kernel::AccountId, ApiError> {
    use crate::households::store::{paying_account, PayFrom};
    match with_conn(state, move |conn| {
        Ok(paying_account(conn, community, member)?)
    })
    .await?
    {
        PayFrom::Household(account) => Ok(account),
        PayFrom::NotAllowed => Err(ApiError::conflict(
            "household_redeem_off",
            "this community does not let members redeem from a household's passbook",
        )),
        PayFrom::NoHousehold => Err(ApiError::conflict(
            "no_household",
            "the member belongs to no household",
        )),
    }
}

/// The basket as the writer takes it: 1 to BASKET_LINES_MAX lines, each goods once, each
/// quantity within bounds.
pub fn basket(requested: &[BasketLineRequest]) -> Result<Vec<BasketLine>, ApiError> {
    if requested.is_empty() || requested.len() > BASKET_LINES_MAX {
        return Err(
            ApiError::validation(format!("a basket has 1-{BASKET_LINES_MAX} lines"))
                .with("field", "lines"),
        );
    }
    let mut lines: Vec<BasketLine> = Vec::with_capacity(requested.len());
    for line in requested {
        if !(1..=LINE_QUANTITY_MAX).contains(&line.quantity) {
            return Err(ApiError::validation(format!(
                "quantity must be between 1 and {LINE_QUANTITY_MAX}"
            ))
            .with("field", "lines"));
        }
        let goods_id = GoodsId(line.goods_id);
        if lines.iter().any(|l| l.goods_id == goods_id) {
            return Err(ApiError::validation(
                "each goods may appear once in a basket; add up the quantity",
            )
            .with("field", "lines"));
        }
        lines.push(BasketLine {
            goods_id,
            quantity: line.quantity,
        });
    }
    Ok(lines)
}

/// Who sees every redemption; a resident sees their own.
fn sees_all_redemptions(user: &AuthUser) -> bool {
    user.may(Permission::ReadRegister)
}

/// One receipt. A resident may read only their own.
#[utoipa::path(tag = "redemptions", operation_id = "get_redemption",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "redemption id")),
    responses((status = 200, body = RedemptionView),
        problems::Unauthorized,
        problems::NotFound))]
#[get("/redemptions/{id}")]
pub async fn get_redemption(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = RedemptionId(path.into_inner());
    let community = user.community_id;
    let (row, lines) = with_conn(&state, move |conn| {
        Ok(shop::redemption_with_lines(conn, community, id)?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("redemption"))?;
    if !sees_all_redemptions(&user) && user.member_id != Some(row.member_id.into()) {
        return Err(ApiError::not_found("redemption"));
    }
    Ok(HttpResponse::Ok().json(redemption_view(&row, &lines, false)))
}

/// A `day` query as the register stores it (YYYY-MM-DD text).
fn parse_day(text: Option<&str>) -> Result<Option<String>, ApiError> {
    Ok(crate::http::query_date("day", text)?.map(|d| d.to_string()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RedemptionListQuery {
    pub member_id: Option<uuid::Uuid>,
    /// A local date, YYYY-MM-DD (2000-01-01 … 9999-12-31).
    pub day: Option<String>,
    /// Items per page (1–200, default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionPage {
    pub items: Vec<RedemptionView>,
    pub next_cursor: Option<String>,
}

/// The shop's register (兑换登记本), oldest first, by member and by day. A resident sees their own.
#[utoipa::path(tag = "redemptions", operation_id = "list_redemptions",
    security(("bearer" = [])),
    params(RedemptionListQuery),
    responses((status = 200, body = RedemptionPage),
        problems::BadRequest,
        problems::Unauthorized))]
#[get("/redemptions")]
pub async fn list_redemptions(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<RedemptionListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?.map(RedemptionId);
    let day = parse_day(query.day.as_deref())?;
    let member = if sees_all_redemptions(&user) {
        query.member_id.map(MemberId)
    } else {
        match (user.member_id, query.member_id.map(MemberId)) {
            (Some(own), None) => Some(own),
            (Some(own), Some(asked)) if asked == own => Some(own),
            // Another resident's register is empty to them, as if it did not exist.
            _ => {
                return Ok(HttpResponse::Ok().json(RedemptionPage {
                    items: vec![],
                    next_cursor: None,
                }))
            }
        }
    };
    let community = user.community_id;
    let rows = with_replica(&state, move |conn| {
        Ok(shop::list_redemptions(
            conn,
            community,
            &shop::RedemptionFilter {
                member,
                day: day.as_deref(),
                after,
                limit,
            },
        )?)
    })
    .await?;
    let next_cursor = crate::http::next_cursor(&rows, limit, |(r, _)| r.id.0);
    Ok(HttpResponse::Ok().json(RedemptionPage {
        items: rows
            .iter()
            .map(|(row, lines)| redemption_view(row, lines, false))
            .collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// A local date, YYYY-MM-DD (2000-01-01 … 9999-12-31); today in the community's time when
    /// absent.
    pub day: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GoodsOut {
    pub goods_id: uuid::Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayTotals {
    pub day: String,
    /// Redemptions that stand (not voided).
    pub redemptions: i64,
    pub voided: i64,
    /// Coins taken by standing redemptions.
    #[schema(example = "320.00")]
    pub coins_taken: String,
    /// Items out per goods, by standing redemptions.
    pub items: Vec<GoodsOut>,
}

/// The day's totals at the counter: coins taken and items out per goods (clerk, admin, auditor).
#[utoipa::path(tag = "redemptions", operation_id = "get_redemption_totals",
    security(("bearer" = [])),
    params(DayQuery),
    responses((status = 200, body = DayTotals),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden))]
#[get("/redemptions/totals")]
pub async fn get_redemption_totals(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<DayQuery>,
) -> Result<HttpResponse, ApiError> {
    let (totals, _) = day_register(&state, &user, query.day.as_deref()).await?;
    Ok(HttpResponse::Ok().json(totals))
}

/// The receipts of one local day (today in the community's time when `day` is none), oldest
/// first, with the day's totals: what the register page and `GET /redemptions/totals` show.
pub async fn day_register(
    state: &AppState,
    user: &AuthUser,
    day: Option<&str>,
) -> Result<(DayTotals, Vec<(RedemptionRow, Vec<RedemptionLineRow>)>), ApiError> {
    user.require(Permission::ReadRegister)?;
    let day = parse_day(day)?;
    let community = user.community_id;
    // "Today" is the community's local day by the service's one clock.
    let now = state.clock.now();
    let (day, rows) = with_replica(state, move |conn| {
        let day = match day {
            Some(day) => day,
            None => {
                let row = crate::communities::store::community_by_id(conn, community)?
                    .ok_or_else(|| ApiError::internal("the user's community is missing"))?;
                LocalCalendar::new(row.utc_offset_minutes).day_key(now)
            }
        };
        let rows = shop::redemptions_of_day(conn, community, &day)?;
        Ok((day, rows))
    })
    .await?;
    let mut standing = 0;
    let mut voided = 0;
    // Exact however many receipts the day holds (see PointsTotal).
    let mut coins = PointsTotal::ZERO;
    let mut items: BTreeMap<(String, uuid::Uuid), (String, i64)> = BTreeMap::new();
    for (row, lines) in &rows {
        if row.status != RedemptionStatus::Completed {
            voided += 1;
            continue;
        }
        standing += 1;
        coins.add(row.total);
        for line in lines {
            let entry = items
                .entry((line.sku.clone(), line.goods_id.0))
                .or_insert_with(|| (line.name.clone(), 0));
            entry.1 += line.quantity;
        }
    }
    let totals = DayTotals {
        day,
        redemptions: standing,
        voided,
        coins_taken: coins.to_string(),
        items: items
            .into_iter()
            .map(|((sku, goods_id), (name, quantity))| GoodsOut {
                goods_id,
                sku,
                name,
                quantity,
            })
            .collect(),
    };
    Ok((totals, rows))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    #[schema(example = "扫错商品")]
    pub reason: String,
}

/// Voids a mistaken redemption: coins and stock come back, once. A clerk may void on the day of
/// the redemption; an admin any time.
#[utoipa::path(tag = "redemptions", operation_id = "create_redemption_void",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "redemption id")),
    request_body = VoidRequest,
    responses((status = 200, body = RedemptionView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "not a clerk or admin, void_window_closed, forbidden_self_void", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        (status = 409, description = "already_voided, account_frozen", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable,
        problems::Unavailable))]
#[post("/redemptions/{id}/void")]
pub async fn void_redemption(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<VoidRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = RedemptionId(path.into_inner());
    let view = void(&state, &user, id, &body.reason).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Voids a redemption through the writer, by the rules that hold (a clerk the same local day,
/// an admin any day, nobody their own). The JSON API and the console both come through here.
pub async fn void(
    state: &AppState,
    user: &AuthUser,
    id: RedemptionId,
    reason: &str,
) -> Result<RedemptionView, ApiError> {
    user.require(Permission::VoidToday)?;
    let reason = required_text("reason", reason, MEMO_CHARS_MAX)?;
    let outcome = state
        .engine
        .execute(Command::Void(Void {
            community_id: user.community_id,
            redemption_id: id,
            actor: user.actor(),
            reason,
            same_day_only: !user.may(Permission::VoidAnyDay),
        }))
        .await?;
    match outcome {
        Outcome::Shop(ShopOutcome::Voided {
            redemption, lines, ..
        }) => Ok(redemption_view(&redemption, &lines, false)),
        other => Err(ApiError::internal(format!(
            "the engine answered a void with {other:?}"
        ))),
    }
}
