//! The fund's table as the batch writers see it: a grant's decision, written in the same batch as
//! the transaction that pays it, and only while the grant is still proposed.

use super::model::GrantStatus;
use super::store::GrantRow;
use crate::ledger::store::{col, ColumnType as T, Guard, RowSink, TableWrite, WriteKind, Written};

/// An approved grant; the update finds no row (and the batch is replayed) when someone decided
/// the grant since the writer read it.
pub struct GrantDecision<'a> {
    pub grant: &'a GrantRow,
}

pub static FUND_GRANT_DECISIONS: TableWrite = TableWrite {
    table: "fund_grants",
    kind: WriteKind::Update {
        key: "id",
        guard: Guard::Equals("status", GrantStatus::Proposed.as_str()),
    },
    columns: &[
        col("id", T::Uuid),
        col("status", T::Text),
        col("decided_by", T::OptUuid),
        col("decided_at", T::OptTime),
        col("decision_reason", T::OptText),
        col("journal_id", T::OptUuid),
    ],
};

impl Written for GrantDecision<'_> {
    const WRITE: &'static TableWrite = &FUND_GRANT_DECISIONS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        let g = self.grant;
        row.uuid(g.id)
            .text(g.status.as_str().to_string())
            .opt_uuid(g.decided_by)
            .opt_time(g.decided_at)
            .opt_text(g.decision_reason.clone())
            .opt_uuid(g.journal_id);
    }
}
