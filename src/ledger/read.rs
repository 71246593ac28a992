//! Reads of what the writer wrote: a transaction with its postings, an idempotency key's record.

use diesel::prelude::*;

use crate::db::models::*;
use crate::db::schema::*;
use crate::db::{DbConn, DbUuid};
use crate::kernel::UserId;

// ---------------------------------------------------------------- idempotency and receipts

pub fn idempotency_record(
    conn: &mut DbConn,
    user: UserId,
    key: &str,
) -> QueryResult<Option<IdempotencyRow>> {
    idempotency_keys::table
        .filter(idempotency_keys::user_id.eq(DbUuid::from(user)))
        .filter(idempotency_keys::idem_key.eq(key))
        .select(IdempotencyRow::as_select())
        .get_result(conn)
        .optional()
}

/// A journal transaction with its postings.
pub fn journal_entry(
    conn: &mut DbConn,
    id: crate::kernel::JournalId,
) -> QueryResult<Option<(JournalRow, Vec<PostingRow>)>> {
    let Some(entry) = journal::table
        .find(DbUuid::from(id))
        .select(JournalRow::as_select())
        .get_result(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let lines = postings::table
        .filter(postings::journal_id.eq(entry.id))
        .select(PostingRow::as_select())
        .load(conn)?;
    Ok(Some((entry, lines)))
}
