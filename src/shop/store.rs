//! Queries of the points shop: goods, their stock movements, redemptions and the register.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use chrono::NaiveDateTime;

use super::model::{RedemptionStatus, StockMovementKind};
use crate::db::schema::{goods, redemption_lines, redemptions, stock_movements};
use crate::db::{now_utc, DbConn, DbUuid};
use crate::kernel::ActiveStatus;

crate::text_column!(RedemptionStatus, StockMovementKind);
use crate::kernel::{CommunityId, GoodsId, MemberId, RedemptionId, UserId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = goods)]
pub struct GoodsRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub sku: String,
    pub name: String,
    pub price: i64,
    pub stock: i64,
    pub status: ActiveStatus,
    pub monthly_limit: Option<i64>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = stock_movements)]
pub struct StockMovementRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub goods_id: DbUuid,
    pub kind: StockMovementKind,
    pub quantity: i64,
    pub stock_after: i64,
    pub reference_id: Option<DbUuid>,
    pub reason: String,
    pub actor_id: Option<DbUuid>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = redemptions)]
pub struct RedemptionRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub member_id: DbUuid,
    pub account_id: DbUuid,
    pub member_no: String,
    pub member_name: String,
    pub clerk_id: DbUuid,
    pub clerk_username: String,
    pub total: i64,
    pub balance_after: i64,
    pub status: RedemptionStatus,
    pub local_day: String,
    pub local_month: String,
    pub journal_id: DbUuid,
    pub created_at: NaiveDateTime,
    pub void_journal_id: Option<DbUuid>,
    pub voided_at: Option<NaiveDateTime>,
    pub voided_by: Option<DbUuid>,
    pub void_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = redemption_lines)]
pub struct RedemptionLineRow {
    pub id: DbUuid,
    pub redemption_id: DbUuid,
    pub goods_id: DbUuid,
    pub line_no: i32,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_total: i64,
    pub community_id: DbUuid,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateGoodsError {
    #[error("sku is taken")]
    SkuTaken,
    #[error(transparent)]
    Database(#[from] DieselError),
}

pub struct NewGoods<'a> {
    pub community: CommunityId,
    pub sku: &'a str,
    pub name: &'a str,
    pub price: i64,
    pub stock: i64,
    pub monthly_limit: Option<i64>,
    pub actor: UserId,
}

/// Creates goods and logs the initial stock as the first movement. Run in a writing transaction.
pub fn create_goods(conn: &mut DbConn, new: &NewGoods<'_>) -> Result<GoodsRow, CreateGoodsError> {
    let now = now_utc();
    let row = GoodsRow {
        id: GoodsId::new().into(),
        community_id: new.community.into(),
        sku: new.sku.to_string(),
        name: new.name.to_string(),
        price: new.price,
        stock: new.stock,
        status: ActiveStatus::Active,
        monthly_limit: new.monthly_limit,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    match diesel::insert_into(goods::table).values(&row).execute(conn) {
        Ok(_) => {}
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            return Err(CreateGoodsError::SkuTaken)
        }
        Err(e) => return Err(e.into()),
    }
    diesel::insert_into(stock_movements::table)
        .values(&StockMovementRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            community_id: row.community_id,
            goods_id: row.id,
            kind: StockMovementKind::Initial,
            quantity: new.stock,
            stock_after: new.stock,
            reference_id: None,
            reason: "上架".into(),
            actor_id: Some(new.actor.into()),
            created_at: now,
        })
        .execute(conn)?;
    Ok(row)
}

pub fn goods_by_id(
    conn: &mut DbConn,
    community: CommunityId,
    id: GoodsId,
) -> QueryResult<Option<GoodsRow>> {
    goods::table
        .filter(goods::id.eq(DbUuid::from(id)))
        .filter(goods::community_id.eq(DbUuid::from(community)))
        .select(GoodsRow::as_select())
        .get_result(conn)
        .optional()
}

pub struct GoodsFilter<'a> {
    pub status: Option<&'a str>,
    pub after: Option<GoodsId>,
    pub limit: i64,
}

pub fn list_goods(
    conn: &mut DbConn,
    community: CommunityId,
    filter: &GoodsFilter<'_>,
) -> QueryResult<Vec<GoodsRow>> {
    let mut query = goods::table
        .filter(goods::community_id.eq(DbUuid::from(community)))
        .select(GoodsRow::as_select())
        .order(goods::id.asc())
        .limit(filter.limit)
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(goods::status.eq(status));
    }
    if let Some(after) = filter.after {
        query = query.filter(goods::id.gt(DbUuid::from(after)));
    }
    query.load(conn)
}

#[derive(Default)]
pub struct GoodsChanges {
    pub name: Option<String>,
    pub price: Option<i64>,
    pub status: Option<ActiveStatus>,
    pub monthly_limit: Option<Option<i64>>,
}

/// Applies the changes and bumps the version, so the ledger writer reloads the row. Past
/// redemptions keep the price they were charged: their lines carry it.
pub fn update_goods(
    conn: &mut DbConn,
    community: CommunityId,
    id: GoodsId,
    changes: &GoodsChanges,
) -> QueryResult<Option<GoodsRow>> {
    let Some(current) = goods_by_id(conn, community, id)? else {
        return Ok(None);
    };
    diesel::update(goods::table.filter(goods::id.eq(current.id)))
        .set((
            goods::name.eq(changes.name.clone().unwrap_or(current.name)),
            goods::price.eq(changes.price.unwrap_or(current.price)),
            goods::status.eq(changes.status.unwrap_or(current.status)),
            goods::monthly_limit.eq(changes.monthly_limit.unwrap_or(current.monthly_limit)),
            goods::version.eq(goods::version + 1),
            goods::updated_at.eq(now_utc()),
        ))
        .execute(conn)?;
    goods_by_id(conn, community, id)
}

pub fn list_movements(
    conn: &mut DbConn,
    goods_id: GoodsId,
    after: Option<uuid::Uuid>,
    limit: i64,
) -> QueryResult<Vec<StockMovementRow>> {
    let mut query = stock_movements::table
        .filter(stock_movements::goods_id.eq(DbUuid::from(goods_id)))
        .select(StockMovementRow::as_select())
        .order(stock_movements::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(stock_movements::id.gt(DbUuid(after)));
    }
    query.load(conn)
}

// ---------------------------------------------------------------- redemptions

pub fn lines_of(conn: &mut DbConn, ids: &[DbUuid]) -> QueryResult<Vec<RedemptionLineRow>> {
    let mut lines: Vec<RedemptionLineRow> = redemption_lines::table
        .filter(redemption_lines::redemption_id.eq_any(ids))
        .select(RedemptionLineRow::as_select())
        .load(conn)?;
    lines.sort_by_key(|l| (l.redemption_id, l.line_no));
    Ok(lines)
}

pub fn redemption_with_lines(
    conn: &mut DbConn,
    community: CommunityId,
    id: RedemptionId,
) -> QueryResult<Option<(RedemptionRow, Vec<RedemptionLineRow>)>> {
    let Some(row) = redemptions::table
        .filter(redemptions::id.eq(DbUuid::from(id)))
        .filter(redemptions::community_id.eq(DbUuid::from(community)))
        .select(RedemptionRow::as_select())
        .get_result(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let lines = lines_of(conn, &[row.id])?;
    Ok(Some((row, lines)))
}

pub struct RedemptionFilter<'a> {
    pub member: Option<MemberId>,
    pub day: Option<&'a str>,
    pub after: Option<RedemptionId>,
    pub limit: i64,
}

/// The shop's register (兑换登记本), oldest first.
pub fn list_redemptions(
    conn: &mut DbConn,
    community: CommunityId,
    filter: &RedemptionFilter<'_>,
) -> QueryResult<Vec<(RedemptionRow, Vec<RedemptionLineRow>)>> {
    let mut query = redemptions::table
        .filter(redemptions::community_id.eq(DbUuid::from(community)))
        .select(RedemptionRow::as_select())
        .order(redemptions::id.asc())
        .limit(filter.limit)
        .into_boxed();
    if let Some(member) = filter.member {
        query = query.filter(redemptions::member_id.eq(DbUuid::from(member)));
    }
    if let Some(day) = filter.day {
        query = query.filter(redemptions::local_day.eq(day));
    }
    if let Some(after) = filter.after {
        query = query.filter(redemptions::id.gt(DbUuid::from(after)));
    }
    let rows = query.load(conn)?;
    let ids: Vec<DbUuid> = rows.iter().map(|r| r.id).collect();
    let lines = lines_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let own = lines
                .iter()
                .filter(|l| l.redemption_id == row.id)
                .cloned()
                .collect();
            (row, own)
        })
        .collect())
}

/// Every redemption of one local day with its lines, for the day's totals.
pub fn redemptions_of_day(
    conn: &mut DbConn,
    community: CommunityId,
    day: &str,
) -> QueryResult<Vec<(RedemptionRow, Vec<RedemptionLineRow>)>> {
    let rows: Vec<RedemptionRow> = redemptions::table
        .filter(redemptions::community_id.eq(DbUuid::from(community)))
        .filter(redemptions::local_day.eq(day))
        .select(RedemptionRow::as_select())
        .order(redemptions::id.asc())
        .load(conn)?;
    let ids: Vec<DbUuid> = rows.iter().map(|r| r.id).collect();
    let mut lines = Vec::new();
    for chunk in ids.chunks(500) {
        lines.extend(lines_of(conn, chunk)?);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let own = lines
                .iter()
                .filter(|l| l.redemption_id == row.id)
                .cloned()
                .collect();
            (row, own)
        })
        .collect())
}

/// How many of each goods a member took this local month (`2026-11`) in redemptions that stand:
/// what the monthly limits are counted against.
pub fn monthly_quantities(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
    month: &str,
) -> QueryResult<std::collections::HashMap<GoodsId, i64>> {
    let rows: Vec<(DbUuid, i64)> = redemption_lines::table
        .inner_join(
            redemptions::table.on(redemptions::id
                .eq(redemption_lines::redemption_id)
                .and(redemptions::community_id.eq(redemption_lines::community_id))),
        )
        .filter(redemptions::community_id.eq(DbUuid::from(community)))
        .filter(redemptions::member_id.eq(DbUuid::from(member)))
        .filter(redemptions::local_month.eq(month))
        .filter(redemptions::status.eq(RedemptionStatus::Completed))
        .select((redemption_lines::goods_id, redemption_lines::quantity))
        .load(conn)?;
    let mut taken = std::collections::HashMap::new();
    for (goods, quantity) in rows {
        *taken.entry(GoodsId::from(goods)).or_insert(0) += quantity;
    }
    Ok(taken)
}

/// A member's newest redemptions first, at most `limit`: the receipts on the counter's card.
pub fn latest_redemptions(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
    limit: i64,
) -> QueryResult<Vec<RedemptionRow>> {
    redemptions::table
        .filter(redemptions::community_id.eq(DbUuid::from(community)))
        .filter(redemptions::member_id.eq(DbUuid::from(member)))
        .select(RedemptionRow::as_select())
        .order(redemptions::id.desc())
        .limit(limit)
        .load(conn)
}
