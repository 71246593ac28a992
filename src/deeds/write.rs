//! The deeds' tables as the batch writers see them.

use super::model::ObjectionStatus;
use super::store::receivables::{ReceivableRow, RepaymentRow};
use super::store::{DeedEventRow, DeedRow, ObjectionRow};
use crate::ledger::store::{col, ColumnType as T, Guard, RowSink, TableWrite, WriteKind, Written};

pub static DEED_EVENTS: TableWrite = TableWrite {
    table: "deed_events",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("deed_id", T::Uuid),
        col("community_id", T::Uuid),
        col("action", T::Text),
        col("from_status", T::OptText),
        col("to_status", T::Text),
        col("actor_id", T::OptUuid),
        col("reason", T::OptText),
        col("created_at", T::Time),
    ],
};

impl Written for DeedEventRow {
    const WRITE: &'static TableWrite = &DEED_EVENTS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.deed_id)
            .uuid(self.community_id)
            .text(self.action.as_str().to_string())
            .opt_text(self.from_status.map(|s| s.as_str().to_string()))
            .text(self.to_status.as_str().to_string())
            .opt_uuid(self.actor_id)
            .opt_text(self.reason.clone())
            .time(self.created_at);
    }
}

/// A deed moved through the workflow, guarded by the version the writer saw.
pub struct DeedUpdate<'a> {
    pub seen: i64,
    pub deed: &'a DeedRow,
}

pub static DEEDS: TableWrite = TableWrite {
    table: "deeds",
    kind: WriteKind::Update {
        key: "id",
        guard: Guard::Version("version"),
    },
    columns: &[
        col("id", T::Uuid),
        col("version", T::BigInt),
        col("status", T::Text),
        col("cap_month", T::OptText),
        col("notice_ends_at", T::OptTime),
        col("applied_points", T::OptBigInt),
        col("credit_journal_id", T::OptUuid),
        col("reversal_journal_id", T::OptUuid),
        col("updated_at", T::Time),
        col("first_checked_by", T::OptUuid),
    ],
};

impl Written for DeedUpdate<'_> {
    const WRITE: &'static TableWrite = &DEEDS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        let d = self.deed;
        row.uuid(d.id)
            .big_int(self.seen)
            .text(d.status.as_str().to_string())
            .opt_text(d.cap_month.clone())
            .opt_time(d.notice_ends_at)
            .opt_big_int(d.applied_points)
            .opt_uuid(d.credit_journal_id)
            .opt_uuid(d.reversal_journal_id)
            .time(d.updated_at)
            .opt_uuid(d.first_checked_by);
    }
}

pub static DEED_OBJECTIONS: TableWrite = TableWrite {
    table: "deed_objections",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("deed_id", T::Uuid),
        col("community_id", T::Uuid),
        col("raised_by", T::Uuid),
        col("reason", T::Text),
        col("raised_at", T::Time),
        col("status", T::Text),
        col("ruled_by", T::OptUuid),
        col("ruling_reason", T::OptText),
        col("ruled_at", T::OptTime),
    ],
};

impl Written for ObjectionRow {
    const WRITE: &'static TableWrite = &DEED_OBJECTIONS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.deed_id)
            .uuid(self.community_id)
            .uuid(self.raised_by)
            .text(self.reason.clone())
            .time(self.raised_at)
            .text(self.status.as_str().to_string())
            .opt_uuid(self.ruled_by)
            .opt_text(self.ruling_reason.clone())
            .opt_time(self.ruled_at);
    }
}

/// An objection ruled on; only an objection still open is ruled on.
pub struct ObjectionRuling<'a> {
    pub objection: &'a ObjectionRow,
}

pub static OBJECTION_RULINGS: TableWrite = TableWrite {
    table: "deed_objections",
    kind: WriteKind::Update {
        key: "id",
        guard: Guard::Equals("status", ObjectionStatus::Open.as_str()),
    },
    columns: &[
        col("id", T::Uuid),
        col("status", T::Text),
        col("ruled_by", T::OptUuid),
        col("ruling_reason", T::OptText),
        col("ruled_at", T::OptTime),
    ],
};

impl Written for ObjectionRuling<'_> {
    const WRITE: &'static TableWrite = &OBJECTION_RULINGS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        let o = self.objection;
        row.uuid(o.id)
            .text(o.status.as_str().to_string())
            .opt_uuid(o.ruled_by)
            .opt_text(o.ruling_reason.clone())
            .opt_time(o.ruled_at);
    }
}

pub static RECEIVABLES: TableWrite = TableWrite {
    table: "receivables",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("community_id", T::Uuid),
        col("member_id", T::Uuid),
        col("account_id", T::Uuid),
        col("deed_id", T::Uuid),
        col("reversal_journal_id", T::OptUuid),
        col("what", T::Text),
        col("owed", T::BigInt),
        col("outstanding", T::BigInt),
        col("version", T::BigInt),
        col("created_at", T::Time),
        col("settled_at", T::OptTime),
    ],
};

impl Written for ReceivableRow {
    const WRITE: &'static TableWrite = &RECEIVABLES;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.community_id)
            .uuid(self.member_id)
            .uuid(self.account_id)
            .uuid(self.deed_id)
            .opt_uuid(self.reversal_journal_id)
            .text(self.what.clone())
            .big_int(self.owed)
            .big_int(self.outstanding)
            .big_int(self.version)
            .time(self.created_at)
            .opt_time(self.settled_at);
    }
}

/// A receivable repaid in part or whole, guarded by the version the writer saw.
pub struct ReceivableUpdate<'a> {
    pub seen: i64,
    pub receivable: &'a ReceivableRow,
}

pub static RECEIVABLE_UPDATES: TableWrite = TableWrite {
    table: "receivables",
    kind: WriteKind::Update {
        key: "id",
        guard: Guard::Version("version"),
    },
    columns: &[
        col("id", T::Uuid),
        col("version", T::BigInt),
        col("outstanding", T::BigInt),
        col("settled_at", T::OptTime),
    ],
};

impl Written for ReceivableUpdate<'_> {
    const WRITE: &'static TableWrite = &RECEIVABLE_UPDATES;
    fn push_values(&self, row: &mut RowSink<'_>) {
        let r = self.receivable;
        row.uuid(r.id)
            .big_int(self.seen)
            .big_int(r.outstanding)
            .opt_time(r.settled_at);
    }
}

pub static RECEIVABLE_REPAYMENTS: TableWrite = TableWrite {
    table: "receivable_repayments",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("community_id", T::Uuid),
        col("receivable_id", T::Uuid),
        col("journal_id", T::Uuid),
        col("paid_by_deed_id", T::Uuid),
        col("amount", T::BigInt),
        col("outstanding_after", T::BigInt),
        col("created_at", T::Time),
    ],
};

impl Written for RepaymentRow {
    const WRITE: &'static TableWrite = &RECEIVABLE_REPAYMENTS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.community_id)
            .uuid(self.receivable_id)
            .uuid(self.journal_id)
            .uuid(self.paid_by_deed_id)
            .big_int(self.amount)
            .big_int(self.outstanding_after)
            .time(self.created_at);
    }
}
