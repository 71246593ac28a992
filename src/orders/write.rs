//! The orders' tables as the batch writers see them.

use super::model::OrderStatus;
use super::store::{OrderLineRow, OrderRow};
use crate::ledger::store::{col, ColumnType as T, Guard, RowSink, TableWrite, WriteKind, Written};

pub static ORDERS: TableWrite = TableWrite {
    table: "orders",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("community_id", T::Uuid),
        col("member_id", T::Uuid),
        col("account_id", T::Uuid),
        col("pickup_code", T::Text),
        col("status", T::Text),
        col("total", T::BigInt),
        col("local_month", T::Text),
        col("hold_journal_id", T::Uuid),
        col("end_journal_id", T::OptUuid),
        col("created_by", T::Uuid),
        col("ended_by", T::OptUuid),
        col("end_reason", T::OptText),
        col("created_at", T::Time),
        col("expires_at", T::Time),
        col("ended_at", T::OptTime),
    ],
};

impl Written for OrderRow {
    const WRITE: &'static TableWrite = &ORDERS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.community_id)
            .uuid(self.member_id)
            .uuid(self.account_id)
            .text(self.pickup_code.clone())
            .text(self.status.as_str().to_string())
            .big_int(self.total)
            .text(self.local_month.clone())
            .uuid(self.hold_journal_id)
            .opt_uuid(self.end_journal_id)
            .uuid(self.created_by)
            .opt_uuid(self.ended_by)
            .opt_text(self.end_reason.clone())
            .time(self.created_at)
            .time(self.expires_at)
            .opt_time(self.ended_at);
    }
}

pub static ORDER_LINES: TableWrite = TableWrite {
    table: "order_lines",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("order_id", T::Uuid),
        col("community_id", T::Uuid),
        col("goods_id", T::Uuid),
        col("line_no", T::Int),
        col("sku", T::Text),
        col("name", T::Text),
        col("quantity", T::BigInt),
        col("unit_price", T::BigInt),
        col("line_total", T::BigInt),
    ],
};

impl Written for OrderLineRow {
    const WRITE: &'static TableWrite = &ORDER_LINES;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.order_id)
            .uuid(self.community_id)
            .uuid(self.goods_id)
            .int(self.line_no)
            .text(self.sku.clone())
            .text(self.name.clone())
            .big_int(self.quantity)
            .big_int(self.unit_price)
            .big_int(self.line_total);
    }
}

/// An order's end (collected, cancelled, expired): written only while the stored order is still
/// held, so two ends of one order cannot both be written, whichever instance plans them.
pub struct OrderEnd<'a> {
    pub order: &'a OrderRow,
}

pub static ORDER_ENDS: TableWrite = TableWrite {
    table: "orders",
    kind: WriteKind::Update {
        key: "id",
        guard: Guard::Equals("status", OrderStatus::Held.as_str()),
    },
    columns: &[
        col("id", T::Uuid),
        col("status", T::Text),
        col("end_journal_id", T::OptUuid),
        col("ended_by", T::OptUuid),
        col("end_reason", T::OptText),
        col("ended_at", T::OptTime),
    ],
};

impl Written for OrderEnd<'_> {
    const WRITE: &'static TableWrite = &ORDER_ENDS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        let o = self.order;
        row.uuid(o.id)
            .text(o.status.as_str().to_string())
            .opt_uuid(o.end_journal_id)
            .opt_uuid(o.ended_by)
            .opt_text(o.end_reason.clone())
            .opt_time(o.ended_at);
    }
}
