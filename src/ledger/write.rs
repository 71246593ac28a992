//! Writing a planned batch: conditional updates of the chain heads, goods and accounts the view
//! saw, and multi-row inserts of everything new. Any unexpected row count means someone else wrote.

use diesel::prelude::*;
use diesel::result::Error as DieselError;

use super::plan::BatchWrites;
use crate::db::prepared::Cached;
use crate::db::schema::{
    accounts, communities, deed_events, deeds, goods, idempotency_keys, journal, postings,
    redemption_lines, redemptions, stock_movements,
};
use crate::db::{DbConn, DbUuid};
use crate::with_backend;

/// Rows per multi-row INSERT statement (keeps well under both backends' bind-parameter limits).
const INSERT_ROWS_MAX: usize = 500;

pub(super) enum WriteError {
    Database(DieselError),
    /// A conditional write found another version: someone else wrote the row.
    Stale,
}

impl From<DieselError> for WriteError {
    fn from(e: DieselError) -> Self {
        WriteError::Database(e)
    }
}

pub(super) fn expect_rows(affected: usize, expected: usize) -> Result<(), WriteError> {
    if affected == expected {
        Ok(())
    } else {
        Err(WriteError::Stale)
    }
}

macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(INSERT_ROWS_MAX) {
            let inserted = with_backend!(&mut *$conn, |c| diesel::insert_into($table)
                .values(chunk)
                .execute(c))?;
            expect_rows(inserted, chunk.len())?;
        }
    };
}

pub(super) fn write_batch(conn: &mut DbConn, writes: &BatchWrites) -> Result<(), WriteError> {
    // The chain head first: it serialises writers of one community, so no writer holds other
    // rows while it waits for another, and a stale view is found before anything else is written.
    let mut heads: Vec<_> = writes.communities.iter().collect();
    heads.sort_by_key(|(id, _)| **id);
    for (id, (seen_version, state)) in heads {
        let updated = Cached(
            diesel::update(
                communities::table
                    .filter(communities::id.eq(DbUuid::from(*id)))
                    .filter(communities::chain_version.eq(*seen_version)),
            )
            .set((
                communities::chain_seq.eq(state.chain_seq),
                communities::chain_hash.eq(&state.chain_hash),
                communities::chain_version.eq(seen_version + 1),
            )),
        )
        .execute(conn)?;
        expect_rows(updated, 1)?;
    }
    if let DbConn::Pg(pg) = conn {
        // Goods, new rows and accounts in one statement; voids and deeds follow.
        super::write_pg::write_rows(pg, writes)?;
        write_voids_and_deeds(conn, writes)?;
        return Ok(());
    }
    let mut touched_goods: Vec<_> = writes.goods.iter().collect();
    touched_goods.sort_by_key(|(id, _)| **id);
    for (id, (seen_version, state)) in touched_goods {
        let updated = Cached(
            diesel::update(
                goods::table
                    .filter(goods::id.eq(DbUuid::from(*id)))
                    .filter(goods::version.eq(*seen_version)),
            )
            .set((
                goods::stock.eq(state.stock),
                goods::version.eq(seen_version + 1),
            )),
        )
        .execute(conn)?;
        expect_rows(updated, 1)?;
    }
    insert_all!(conn, journal::table, writes.journal);
    insert_all!(conn, postings::table, writes.postings);
    insert_all!(conn, redemptions::table, writes.new_redemptions);
    insert_all!(conn, redemption_lines::table, writes.new_lines);
    write_voids_and_deeds(conn, writes)?;
    insert_all!(conn, stock_movements::table, writes.movements);
    insert_all!(conn, idempotency_keys::table, writes.idempotency);
    // A fixed order, so two writers on one PostgreSQL never wait on each other in a cycle.
    let mut touched: Vec<_> = writes.accounts.iter().collect();
    touched.sort_by_key(|(id, _)| **id);
    for (id, (seen_version, state)) in touched {
        let updated = Cached(
            diesel::update(
                accounts::table
                    .filter(accounts::id.eq(DbUuid::from(*id)))
                    .filter(accounts::version.eq(*seen_version)),
            )
            .set((
                accounts::balance.eq(state.balance),
                accounts::credits_total.eq(state.credits),
                accounts::last_seq.eq(state.last_seq),
                accounts::version.eq(seen_version + 1),
            )),
        )
        .execute(conn)?;
        expect_rows(updated, 1)?;
    }
    Ok(())
}

/// Voided redemptions, deeds moved through review and their events: rare next to redemptions,
/// written statement by statement on both backends.
fn write_voids_and_deeds(conn: &mut DbConn, writes: &BatchWrites) -> Result<(), WriteError> {
    for void in &writes.voids {
        let updated = Cached(
            diesel::update(
                redemptions::table
                    .filter(redemptions::id.eq(void.id))
                    .filter(redemptions::status.eq("completed")),
            )
            .set((
                redemptions::status.eq(&void.status),
                redemptions::void_journal_id.eq(void.void_journal_id),
                redemptions::voided_at.eq(void.voided_at),
                redemptions::voided_by.eq(void.voided_by),
                redemptions::void_reason.eq(&void.void_reason),
            )),
        )
        .execute(conn)?;
        expect_rows(updated, 1)?;
    }
    let mut touched_deeds: Vec<_> = writes.deeds.iter().collect();
    touched_deeds.sort_by_key(|(id, _)| **id);
    for (_, (seen_version, deed)) in touched_deeds {
        let updated = Cached(
            diesel::update(
                deeds::table
                    .filter(deeds::id.eq(deed.id))
                    .filter(deeds::version.eq(*seen_version)),
            )
            .set((
                deeds::status.eq(&deed.status),
                deeds::cap_month.eq(&deed.cap_month),
                deeds::notice_ends_at.eq(deed.notice_ends_at),
                deeds::applied_points.eq(deed.applied_points),
                deeds::credit_journal_id.eq(deed.credit_journal_id),
                deeds::reversal_journal_id.eq(deed.reversal_journal_id),
                deeds::version.eq(seen_version + 1),
                deeds::updated_at.eq(deed.updated_at),
                deeds::first_checked_by.eq(deed.first_checked_by),
            )),
        )
        .execute(conn)?;
        expect_rows(updated, 1)?;
    }
    insert_all!(conn, deed_events::table, writes.deed_events);
    Ok(())
}
