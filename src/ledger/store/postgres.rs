//! PostgreSQL: a whole batch in one statement. Each statement is a round trip to the server, and
//! on a busy two-core machine a round trip costs far more than the work it carries; written table
//! by table, a batch of redemptions took a dozen of them. Here every table of the batch is one
//! data-modifying CTE over arrays (`unnest`), one array per column, in one prepared statement
//! whose text depends only on the list of tables. The row counts it returns are checked.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};

use super::{expect_rows, ColumnData, Guard, Rows, WriteError, WriteKind};
use crate::db::types::PortableUuid;

pub(super) fn write(conn: &mut PgConnection, rows: &Rows) -> Result<(), WriteError> {
    if rows.is_empty() {
        return Ok(());
    }
    let counts: Vec<i64> = Batch { rows }.get_result(conn)?;
    if counts.len() != rows.tables().len() {
        return Err(WriteError::Stale);
    }
    for (count, table) in counts.iter().zip(rows.tables()) {
        expect_rows(*count as usize, table.len())?;
    }
    Ok(())
}

struct Batch<'a> {
    rows: &'a Rows,
}

impl QueryId for Batch<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Batch<'_> {
    type SqlType = Array<BigInt>;
}

fn bind_array<'b>(out: &mut AstPass<'_, 'b, Pg>, column: &'b ColumnData) -> QueryResult<()> {
    match column {
        ColumnData::Uuid(v) => out.push_bind_param::<Array<PortableUuid>, _>(v),
        ColumnData::OptUuid(v) => out.push_bind_param::<Array<Nullable<PortableUuid>>, _>(v),
        ColumnData::BigInt(v) => out.push_bind_param::<Array<BigInt>, _>(v),
        ColumnData::OptBigInt(v) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(v),
        ColumnData::Int(v) => out.push_bind_param::<Array<Integer>, _>(v),
        ColumnData::Text(v) => out.push_bind_param::<Array<Text>, _>(v),
        ColumnData::OptText(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v),
        ColumnData::Time(v) => out.push_bind_param::<Array<Timestamp>, _>(v),
        ColumnData::OptTime(v) => out.push_bind_param::<Array<Nullable<Timestamp>>, _>(v),
    }
}

fn unnest<'b>(out: &mut AstPass<'_, 'b, Pg>, columns: &'b [ColumnData]) -> QueryResult<()> {
    out.push_sql("unnest(");
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            out.push_sql(", ");
        }
        bind_array(out, column)?;
    }
    out.push_sql(")");
    Ok(())
}

fn names(out: &mut AstPass<'_, '_, Pg>, prefix: &str, columns: &[super::Column]) {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            out.push_sql(", ");
        }
        out.push_sql(prefix);
        out.push_sql(column.name);
    }
}

impl QueryFragment<Pg> for Batch<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (n, table) in self.rows.tables().iter().enumerate() {
            let write = table.write;
            out.push_sql(if n == 0 { "WITH " } else { ", " });
            out.push_sql(&format!("t{n} AS ("));
            match write.kind {
                WriteKind::Insert => {
                    out.push_sql("INSERT INTO ");
                    out.push_sql(write.table);
                    out.push_sql(" (");
                    names(&mut out, "", write.columns);
                    out.push_sql(") SELECT * FROM ");
                    unnest(&mut out, &table.columns)?;
                }
                WriteKind::Update { key, guard } => {
                    out.push_sql("UPDATE ");
                    out.push_sql(write.table);
                    out.push_sql(" AS t SET ");
                    for (i, column) in write.set_columns().iter().enumerate() {
                        if i > 0 {
                            out.push_sql(", ");
                        }
                        out.push_sql(column.name);
                        out.push_sql(" = v.");
                        out.push_sql(column.name);
                    }
                    if let Guard::Version(version) = guard {
                        out.push_sql(&format!(", {version} = v.{version} + 1"));
                    }
                    out.push_sql(" FROM ");
                    unnest(&mut out, &table.columns)?;
                    out.push_sql(" AS v(");
                    names(&mut out, "", write.columns);
                    out.push_sql(&format!(") WHERE t.{key} = v.{key}"));
                    match guard {
                        Guard::Version(version) => {
                            out.push_sql(&format!(" AND t.{version} = v.{version}"));
                        }
                        Guard::Equals(column, value) => {
                            // A literal of the descriptor's own, never input.
                            debug_assert!(!value.contains('\''));
                            out.push_sql(&format!(" AND t.{column} = '{value}'"));
                        }
                    }
                }
            }
            out.push_sql(" RETURNING 1)");
        }
        out.push_sql(" SELECT ARRAY[");
        for n in 0..self.rows.tables().len() {
            if n > 0 {
                out.push_sql(", ");
            }
            out.push_sql(&format!("(SELECT count(*) FROM t{n})"));
        }
        out.push_sql("]::bigint[]");
        Ok(())
    }

    /// The text depends only on the list of tables; only the arrays differ.
    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl RunQueryDsl<PgConnection> for Batch<'_> {}
