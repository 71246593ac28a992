//! PostgreSQL: most of a batch in one statement. Each statement is a round trip to the server,
//! and on a busy two-core machine a round trip costs far more than the work it carries; a batch
//! of redemptions written table by table took a dozen of them. Here the goods, every new
//! journal row, posting, redemption, line, stock movement and idempotency key, and the touched
//! accounts go in as arrays, one data-modifying CTE per table, in one prepared statement whose
//! text never changes. The counts it returns are checked like the per-table row counts were.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};

use super::plan::BatchWrites;
use super::write::{expect_rows, WriteError};
use crate::db::types::PortableUuid;
use crate::db::DbUuid;

type Uuids = Array<PortableUuid>;
type OptUuids = Array<Nullable<PortableUuid>>;
type Ints = Array<BigInt>;
type Texts = Array<Text>;
type OptTexts = Array<Nullable<Text>>;
type Times = Array<Timestamp>;
type OptTimes = Array<Nullable<Timestamp>>;

/// One column's values for the statement, with its SQL array type.
enum Column {
    Uuids(Vec<DbUuid>),
    OptUuids(Vec<Option<DbUuid>>),
    Ints(Vec<i64>),
    Int4s(Vec<i32>),
    Texts(Vec<String>),
    OptTexts(Vec<Option<String>>),
    Times(Vec<NaiveDateTime>),
    OptTimes(Vec<Option<NaiveDateTime>>),
}

/// The statement: fixed SQL text, columns bound in order.
struct BatchStatement {
    columns: Vec<Column>,
}

const SQL_PARTS: &[&str] = &[
    "WITH g AS (UPDATE goods AS t SET stock = v.stock, version = v.seen + 1 \
     FROM unnest(",
    // goods: id, seen, stock
    ") AS v(id, seen, stock) WHERE t.id = v.id AND t.version = v.seen RETURNING 1), \
     j AS (INSERT INTO journal (id, community_id, seq, kind, reference_id, memo, actor_id, \
     created_at, prev_hash, hash, hash_version) SELECT * FROM unnest(",
    ") RETURNING 1), \
     p AS (INSERT INTO postings (id, journal_id, community_id, account_id, account_seq, amount, \
     balance_after, posted_at, credits_after) SELECT * FROM unnest(",
    ") RETURNING 1), \
     r AS (INSERT INTO redemptions (id, community_id, member_id, account_id, member_no, \
     member_name, clerk_id, clerk_username, total, balance_after, status, local_day, \
     local_month, journal_id, created_at, void_journal_id, voided_at, voided_by, void_reason) \
     SELECT * FROM unnest(",
    ") RETURNING 1), \
     l AS (INSERT INTO redemption_lines (id, redemption_id, goods_id, line_no, sku, name, \
     quantity, unit_price, line_total) SELECT * FROM unnest(",
    ") RETURNING 1), \
     m AS (INSERT INTO stock_movements (id, community_id, goods_id, kind, quantity, stock_after, \
     reference_id, reason, actor_id, created_at) SELECT * FROM unnest(",
    ") RETURNING 1), \
     k AS (INSERT INTO idempotency_keys (id, community_id, user_id, idem_key, request_hash, \
     journal_id, created_at, refusal) SELECT * FROM unnest(",
    ") RETURNING 1), \
     a AS (UPDATE accounts AS t SET balance = v.balance, credits_total = v.credits, \
     last_seq = v.last_seq, version = v.seen + 1 FROM unnest(",
    ") AS v(id, seen, balance, credits, last_seq) \
     WHERE t.id = v.id AND t.version = v.seen RETURNING 1) \
     SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM j), (SELECT count(*) FROM p), \
     (SELECT count(*) FROM r), (SELECT count(*) FROM l), (SELECT count(*) FROM m), \
     (SELECT count(*) FROM k), (SELECT count(*) FROM a)",
];

/// Columns per `unnest(…)`, in the order of `SQL_PARTS`.
const GROUP_WIDTHS: [usize; 8] = [3, 11, 9, 19, 9, 10, 8, 5];

impl QueryId for BatchStatement {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for BatchStatement {
    type SqlType = (
        BigInt,
        BigInt,
        BigInt,
        BigInt,
        BigInt,
        BigInt,
        BigInt,
        BigInt,
    );
}

impl QueryFragment<Pg> for BatchStatement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut columns = self.columns.iter();
        for (group, width) in GROUP_WIDTHS.iter().enumerate() {
            out.push_sql(SQL_PARTS[group]);
            for i in 0..*width {
                if i > 0 {
                    out.push_sql(", ");
                }
                match columns.next() {
                    Some(Column::Uuids(v)) => out.push_bind_param::<Uuids, _>(v)?,
                    Some(Column::OptUuids(v)) => out.push_bind_param::<OptUuids, _>(v)?,
                    Some(Column::Ints(v)) => out.push_bind_param::<Ints, _>(v)?,
                    Some(Column::Int4s(v)) => out.push_bind_param::<Array<Integer>, _>(v)?,
                    Some(Column::Texts(v)) => out.push_bind_param::<Texts, _>(v)?,
                    Some(Column::OptTexts(v)) => out.push_bind_param::<OptTexts, _>(v)?,
                    Some(Column::Times(v)) => out.push_bind_param::<Times, _>(v)?,
                    Some(Column::OptTimes(v)) => out.push_bind_param::<OptTimes, _>(v)?,
                    None => {
                        return Err(diesel::result::Error::QueryBuilderError(
                            "the batch statement has fewer columns than its text".into(),
                        ))
                    }
                }
            }
        }
        out.push_sql(SQL_PARTS[GROUP_WIDTHS.len()]);
        Ok(())
    }

    /// The text is the same for every batch; only the arrays differ.
    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl RunQueryDsl<PgConnection> for BatchStatement {}

fn col<T, U>(rows: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

/// Writes the goods, all new rows and the accounts of `writes` in one statement. Chain heads,
/// voids and deeds are the caller's.
pub(super) fn write_rows(pg: &mut PgConnection, writes: &BatchWrites) -> Result<(), WriteError> {
    use Column::*;
    let mut goods: Vec<_> = writes.goods.iter().collect();
    goods.sort_by_key(|(id, _)| **id);
    // A fixed order, so two writers never lock the same rows in opposite orders.
    let mut accounts: Vec<_> = writes.accounts.iter().collect();
    accounts.sort_by_key(|(id, _)| **id);
    let (j, p, r, l, m, k) = (
        &writes.journal,
        &writes.postings,
        &writes.new_redemptions,
        &writes.new_lines,
        &writes.movements,
        &writes.idempotency,
    );
    let columns = vec![
        Uuids(col(&goods, |(id, _)| DbUuid::from(**id))),
        Ints(col(&goods, |(_, (seen, _))| *seen)),
        Ints(col(&goods, |(_, (_, s))| s.stock)),
        Uuids(col(j, |r| r.id)),
        Uuids(col(j, |r| r.community_id)),
        Ints(col(j, |r| r.seq)),
        Texts(col(j, |r| r.kind.clone())),
        OptUuids(col(j, |r| r.reference_id)),
        Texts(col(j, |r| r.memo.clone())),
        OptUuids(col(j, |r| r.actor_id)),
        Times(col(j, |r| r.created_at)),
        Texts(col(j, |r| r.prev_hash.clone())),
        Texts(col(j, |r| r.hash.clone())),
        Int4s(col(j, |r| r.hash_version)),
        Uuids(col(p, |r| r.id)),
        Uuids(col(p, |r| r.journal_id)),
        Uuids(col(p, |r| r.community_id)),
        Uuids(col(p, |r| r.account_id)),
        Ints(col(p, |r| r.account_seq)),
        Ints(col(p, |r| r.amount)),
        Ints(col(p, |r| r.balance_after)),
        Times(col(p, |r| r.posted_at)),
        Ints(col(p, |r| r.credits_after)),
        Uuids(col(r, |r| r.id)),
        Uuids(col(r, |r| r.community_id)),
        Uuids(col(r, |r| r.member_id)),
        Uuids(col(r, |r| r.account_id)),
        Texts(col(r, |r| r.member_no.clone())),
        Texts(col(r, |r| r.member_name.clone())),
        Uuids(col(r, |r| r.clerk_id)),
        Texts(col(r, |r| r.clerk_username.clone())),
        Ints(col(r, |r| r.total)),
        Ints(col(r, |r| r.balance_after)),
        Texts(col(r, |r| r.status.clone())),
        Texts(col(r, |r| r.local_day.clone())),
        Texts(col(r, |r| r.local_month.clone())),
        Uuids(col(r, |r| r.journal_id)),
        Times(col(r, |r| r.created_at)),
        OptUuids(col(r, |r| r.void_journal_id)),
        OptTimes(col(r, |r| r.voided_at)),
        OptUuids(col(r, |r| r.voided_by)),
        OptTexts(col(r, |r| r.void_reason.clone())),
        Uuids(col(l, |r| r.id)),
        Uuids(col(l, |r| r.redemption_id)),
        Uuids(col(l, |r| r.goods_id)),
        Int4s(col(l, |r| r.line_no)),
        Texts(col(l, |r| r.sku.clone())),
        Texts(col(l, |r| r.name.clone())),
        Ints(col(l, |r| r.quantity)),
        Ints(col(l, |r| r.unit_price)),
        Ints(col(l, |r| r.line_total)),
        Uuids(col(m, |r| r.id)),
        Uuids(col(m, |r| r.community_id)),
        Uuids(col(m, |r| r.goods_id)),
        Texts(col(m, |r| r.kind.clone())),
        Ints(col(m, |r| r.quantity)),
        Ints(col(m, |r| r.stock_after)),
        OptUuids(col(m, |r| r.reference_id)),
        Texts(col(m, |r| r.reason.clone())),
        OptUuids(col(m, |r| r.actor_id)),
        Times(col(m, |r| r.created_at)),
        Uuids(col(k, |r| r.id)),
        Uuids(col(k, |r| r.community_id)),
        Uuids(col(k, |r| r.user_id)),
        Texts(col(k, |r| r.idem_key.clone())),
        Texts(col(k, |r| r.request_hash.clone())),
        OptUuids(col(k, |r| r.journal_id)),
        Times(col(k, |r| r.created_at)),
        OptTexts(col(k, |r| r.refusal.clone())),
        Uuids(col(&accounts, |(id, _)| DbUuid::from(**id))),
        Ints(col(&accounts, |(_, (seen, _))| *seen)),
        Ints(col(&accounts, |(_, (_, s))| s.balance)),
        Ints(col(&accounts, |(_, (_, s))| s.credits)),
        Ints(col(&accounts, |(_, (_, s))| s.last_seq)),
    ];
    debug_assert_eq!(columns.len(), GROUP_WIDTHS.iter().sum::<usize>());
    let counts: (i64, i64, i64, i64, i64, i64, i64, i64) =
        BatchStatement { columns }.get_result(pg)?;
    let expected = [
        goods.len(),
        j.len(),
        p.len(),
        r.len(),
        l.len(),
        m.len(),
        k.len(),
        accounts.len(),
    ];
    let got = [
        counts.0, counts.1, counts.2, counts.3, counts.4, counts.5, counts.6, counts.7,
    ];
    for (got, expected) in got.iter().zip(expected) {
        expect_rows(*got as usize, expected)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_has_one_placeholder_group_per_table() {
        assert_eq!(SQL_PARTS.len(), GROUP_WIDTHS.len() + 1);
    }
}
