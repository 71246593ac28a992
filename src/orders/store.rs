//! Queries of reserved orders.

use diesel::prelude::*;

use chrono::NaiveDateTime;

use super::model::{OrderStatus, HOLD_HOURS_DEFAULT};
use crate::db::schema::{order_lines, order_settings, orders};
use crate::db::{DbConn, DbUuid};
use crate::kernel::{CommunityId, MemberId};

crate::text_column!(OrderStatus);

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub member_id: DbUuid,
    pub account_id: DbUuid,
    pub pickup_code: String,
    pub status: OrderStatus,
    pub total: i64,
    pub local_month: String,
    pub hold_journal_id: DbUuid,
    pub end_journal_id: Option<DbUuid>,
    pub created_by: DbUuid,
    pub ended_by: Option<DbUuid>,
    pub end_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_lines)]
pub struct OrderLineRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub community_id: DbUuid,
    pub goods_id: DbUuid,
    pub line_no: i32,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_total: i64,
}

/// An order with its lines in order.
pub type OrderWithLines = (OrderRow, Vec<OrderLineRow>);

fn with_lines(conn: &mut DbConn, rows: Vec<OrderRow>) -> QueryResult<Vec<OrderWithLines>> {
    let ids: Vec<DbUuid> = rows.iter().map(|o| o.id).collect();
    let mut lines: Vec<OrderLineRow> = if ids.is_empty() {
        Vec::new()
    } else {
        order_lines::table
            .filter(order_lines::order_id.eq_any(&ids))
            .order((order_lines::order_id.asc(), order_lines::line_no.asc()))
            .select(OrderLineRow::as_select())
            .load(conn)?
    };
    Ok(rows
        .into_iter()
        .map(|o| {
            let (mine, rest): (Vec<_>, Vec<_>) = lines.drain(..).partition(|l| l.order_id == o.id);
            lines = rest;
            (o, mine)
        })
        .collect())
}

/// These orders with their lines (any community: the writer checks the community).
pub fn orders_by_id(conn: &mut DbConn, ids: &[DbUuid]) -> QueryResult<Vec<OrderWithLines>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<OrderRow> = orders::table
        .filter(orders::id.eq_any(ids))
        .select(OrderRow::as_select())
        .load(conn)?;
    with_lines(conn, rows)
}

pub fn order(
    conn: &mut DbConn,
    community: CommunityId,
    id: DbUuid,
) -> QueryResult<Option<OrderWithLines>> {
    Ok(orders_by_id(conn, &[id])?
        .into_iter()
        .find(|(o, _)| o.community_id == DbUuid::from(community)))
}

/// The open order of the community with this pickup code, if there is one.
pub fn held_with_code(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
) -> QueryResult<Option<OrderWithLines>> {
    let rows: Vec<OrderRow> = orders::table
        .filter(orders::community_id.eq(DbUuid::from(community)))
        .filter(orders::pickup_code.eq(code))
        .filter(orders::status.eq(OrderStatus::Held))
        .select(OrderRow::as_select())
        .load(conn)?;
    Ok(with_lines(conn, rows)?.into_iter().next())
}

/// Whether an open order of the community has this code.
pub fn code_in_use(conn: &mut DbConn, community: CommunityId, code: &str) -> QueryResult<bool> {
    Ok(held_with_code(conn, community, code)?.is_some())
}

/// Orders of the community, newest first: one member's, or one status's, or all.
pub fn list(
    conn: &mut DbConn,
    community: CommunityId,
    member: Option<MemberId>,
    status: Option<OrderStatus>,
    limit: i64,
) -> QueryResult<Vec<OrderWithLines>> {
    let mut query = orders::table
        .filter(orders::community_id.eq(DbUuid::from(community)))
        .into_boxed();
    if let Some(member) = member {
        query = query.filter(orders::member_id.eq(DbUuid::from(member)));
    }
    if let Some(status) = status {
        query = query.filter(orders::status.eq(status));
    }
    let rows: Vec<OrderRow> = query
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(limit)
        .select(OrderRow::as_select())
        .load(conn)?;
    with_lines(conn, rows)
}

/// Open orders whose time ran out, oldest first: (community, order).
pub fn due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(DbUuid, DbUuid)>> {
    orders::table
        .filter(orders::status.eq(OrderStatus::Held))
        .filter(orders::expires_at.le(now))
        .order(orders::expires_at.asc())
        .limit(limit)
        .select((orders::community_id, orders::id))
        .load(conn)
}

/// Quantities of this goods in the member's open orders placed in the local month (counted
/// against the goods' monthly limit, as redemptions are).
pub fn held_quantities(
    conn: &mut DbConn,
    member: MemberId,
    goods: DbUuid,
    month: &str,
) -> QueryResult<i64> {
    let quantities: Vec<i64> = order_lines::table
        .inner_join(
            orders::table.on(orders::id
                .eq(order_lines::order_id)
                .and(orders::community_id.eq(order_lines::community_id))),
        )
        .filter(orders::member_id.eq(DbUuid::from(member)))
        .filter(orders::status.eq(OrderStatus::Held))
        .filter(orders::local_month.eq(month))
        .filter(order_lines::goods_id.eq(goods))
        .select(order_lines::quantity)
        .load(conn)?;
    Ok(quantities.iter().sum())
}

/// How long orders of the community wait, in hours.
pub fn hold_hours(conn: &mut DbConn, community: CommunityId) -> QueryResult<i32> {
    Ok(order_settings::table
        .filter(order_settings::community_id.eq(DbUuid::from(community)))
        .select(order_settings::hold_hours)
        .first(conn)
        .optional()?
        .unwrap_or(HOLD_HOURS_DEFAULT))
}

pub fn set_hold_hours(
    conn: &mut DbConn,
    community: CommunityId,
    hours: i32,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let id = DbUuid::from(community);
    let updated = diesel::update(order_settings::table.filter(order_settings::community_id.eq(id)))
        .set((
            order_settings::hold_hours.eq(hours),
            order_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(order_settings::table)
            .values((
                order_settings::community_id.eq(id),
                order_settings::hold_hours.eq(hours),
                order_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
