//! The shop's tables as the batch writers see them.

use super::model::RedemptionStatus;
use super::store::{RedemptionLineRow, RedemptionRow, StockMovementRow};
use crate::db::DbUuid;
use crate::ledger::store::{col, ColumnType as T, Guard, RowSink, TableWrite, WriteKind, Written};

pub static REDEMPTIONS: TableWrite = TableWrite {
    table: "redemptions",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("community_id", T::Uuid),
        col("member_id", T::Uuid),
        col("account_id", T::Uuid),
        col("member_no", T::Text),
        col("member_name", T::Text),
        col("clerk_id", T::Uuid),
        col("clerk_username", T::Text),
        col("total", T::BigInt),
        col("balance_after", T::BigInt),
        col("status", T::Text),
        col("local_day", T::Text),
        col("local_month", T::Text),
        col("journal_id", T::Uuid),
        col("created_at", T::Time),
        col("void_journal_id", T::OptUuid),
        col("voided_at", T::OptTime),
        col("voided_by", T::OptUuid),
        col("void_reason", T::OptText),
    ],
};

impl Written for RedemptionRow {
    const WRITE: &'static TableWrite = &REDEMPTIONS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.community_id)
            .uuid(self.member_id)
            .uuid(self.account_id)
            .text(self.member_no.clone())
            .text(self.member_name.clone())
            .uuid(self.clerk_id)
            .text(self.clerk_username.clone())
            .big_int(self.total)
            .big_int(self.balance_after)
            .text(self.status.as_str().to_string())
            .text(self.local_day.clone())
            .text(self.local_month.clone())
            .uuid(self.journal_id)
            .time(self.created_at)
            .opt_uuid(self.void_journal_id)
            .opt_time(self.voided_at)
            .opt_uuid(self.voided_by)
            .opt_text(self.void_reason.clone());
    }
}

pub static REDEMPTION_LINES: TableWrite = TableWrite {
    table: "redemption_lines",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("redemption_id", T::Uuid),
        col("goods_id", T::Uuid),
        col("line_no", T::Int),
        col("sku", T::Text),
        col("name", T::Text),
        col("quantity", T::BigInt),
        col("unit_price", T::BigInt),
        col("line_total", T::BigInt),
        col("community_id", T::Uuid),
    ],
};

impl Written for RedemptionLineRow {
    const WRITE: &'static TableWrite = &REDEMPTION_LINES;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.redemption_id)
            .uuid(self.goods_id)
            .int(self.line_no)
            .text(self.sku.clone())
            .text(self.name.clone())
            .big_int(self.quantity)
            .big_int(self.unit_price)
            .big_int(self.line_total)
            .uuid(self.community_id);
    }
}

pub static STOCK_MOVEMENTS: TableWrite = TableWrite {
    table: "stock_movements",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("community_id", T::Uuid),
        col("goods_id", T::Uuid),
        col("kind", T::Text),
        col("quantity", T::BigInt),
        col("stock_after", T::BigInt),
        col("reference_id", T::OptUuid),
        col("reason", T::Text),
        col("actor_id", T::OptUuid),
        col("created_at", T::Time),
    ],
};

impl Written for StockMovementRow {
    const WRITE: &'static TableWrite = &STOCK_MOVEMENTS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.community_id)
            .uuid(self.goods_id)
            .text(self.kind.as_str().to_string())
            .big_int(self.quantity)
            .big_int(self.stock_after)
            .opt_uuid(self.reference_id)
            .text(self.reason.clone())
            .opt_uuid(self.actor_id)
            .time(self.created_at);
    }
}

/// New stock of goods, guarded by the version the writer saw.
pub struct GoodsUpdate {
    pub id: DbUuid,
    pub seen: i64,
    pub stock: i64,
}

pub static GOODS: TableWrite = TableWrite {
    table: "goods",
    kind: WriteKind::Update {
        key: "id",
        guard: Guard::Version("version"),
    },
    columns: &[
        col("id", T::Uuid),
        col("version", T::BigInt),
        col("stock", T::BigInt),
    ],
};

impl Written for GoodsUpdate {
    const WRITE: &'static TableWrite = &GOODS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id).big_int(self.seen).big_int(self.stock);
    }
}

/// A redemption voided: written only while it is still `completed`, so it is voided once.
pub struct VoidUpdate<'a> {
    pub row: &'a RedemptionRow,
}

pub static VOIDS: TableWrite = TableWrite {
    table: "redemptions",
    kind: WriteKind::Update {
        key: "id",
        guard: Guard::Equals("status", RedemptionStatus::Completed.as_str()),
    },
    columns: &[
        col("id", T::Uuid),
        col("status", T::Text),
        col("void_journal_id", T::OptUuid),
        col("voided_at", T::OptTime),
        col("voided_by", T::OptUuid),
        col("void_reason", T::OptText),
    ],
};

impl Written for VoidUpdate<'_> {
    const WRITE: &'static TableWrite = &VOIDS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.row.id)
            .text(self.row.status.as_str().to_string())
            .opt_uuid(self.row.void_journal_id)
            .opt_time(self.row.voided_at)
            .opt_uuid(self.row.voided_by)
            .opt_text(self.row.void_reason.clone());
    }
}
