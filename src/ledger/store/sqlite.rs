//! SQLite: a multi-row `INSERT` per table (in chunks) and one `UPDATE` per guarded row. Every
//! statement's text depends only on the table and the number of rows, so its prepared form is
//! kept and reused.

use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;

use super::{expect_rows, ColumnData, Guard, Rows, TableRows, WriteError, WriteKind};
use crate::db::types::PortableUuid;

/// Bound values per statement at most (SQLite allows 32,766).
const BIND_VALUES_MAX: usize = 30_000;
/// Rows per `INSERT` at most.
const INSERT_ROWS_MAX: usize = 500;

pub(super) fn write(conn: &mut SqliteConnection, rows: &Rows) -> Result<(), WriteError> {
    for table in rows.tables() {
        if table.is_empty() {
            continue;
        }
        match table.write.kind {
            WriteKind::Insert => {
                let per_statement =
                    (BIND_VALUES_MAX / table.write.columns.len()).clamp(1, INSERT_ROWS_MAX);
                let mut start = 0;
                while start < table.len() {
                    let end = (start + per_statement).min(table.len());
                    let inserted = Insert {
                        rows: table,
                        start,
                        end,
                    }
                    .execute(conn)?;
                    expect_rows(inserted, end - start)?;
                    start = end;
                }
            }
            WriteKind::Update { .. } => {
                for index in 0..table.len() {
                    let updated = Update { rows: table, index }.execute(conn)?;
                    expect_rows(updated, 1)?;
                }
            }
        }
    }
    Ok(())
}

fn bind_value<'b>(
    out: &mut AstPass<'_, 'b, Sqlite>,
    column: &'b ColumnData,
    row: usize,
) -> QueryResult<()> {
    match column {
        ColumnData::Uuid(v) => out.push_bind_param::<PortableUuid, _>(&v[row]),
        ColumnData::OptUuid(v) => out.push_bind_param::<Nullable<PortableUuid>, _>(&v[row]),
        ColumnData::BigInt(v) => out.push_bind_param::<BigInt, _>(&v[row]),
        ColumnData::OptBigInt(v) => out.push_bind_param::<Nullable<BigInt>, _>(&v[row]),
        ColumnData::Int(v) => out.push_bind_param::<Integer, _>(&v[row]),
        ColumnData::Text(v) => out.push_bind_param::<Text, _>(&v[row]),
        ColumnData::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(&v[row]),
        ColumnData::Time(v) => out.push_bind_param::<Timestamp, _>(&v[row]),
        ColumnData::OptTime(v) => out.push_bind_param::<Nullable<Timestamp>, _>(&v[row]),
    }
}

struct Insert<'a> {
    rows: &'a TableRows,
    start: usize,
    end: usize,
}

impl QueryId for Insert<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Sqlite> for Insert<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let write = self.rows.write;
        out.push_sql("INSERT INTO ");
        out.push_sql(write.table);
        out.push_sql(" (");
        for (i, column) in write.columns.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_sql(column.name);
        }
        out.push_sql(") VALUES ");
        for row in self.start..self.end {
            if row > self.start {
                out.push_sql(", ");
            }
            out.push_sql("(");
            for (i, column) in self.rows.columns.iter().enumerate() {
                if i > 0 {
                    out.push_sql(", ");
                }
                bind_value(&mut out, column, row)?;
            }
            out.push_sql(")");
        }
        Ok(())
    }

    /// The text depends only on the table and the row count.
    fn is_safe_to_cache_prepared(&self, _backend: &Sqlite) -> QueryResult<bool> {
        Ok(true)
    }
}

impl RunQueryDsl<SqliteConnection> for Insert<'_> {}

struct Update<'a> {
    rows: &'a TableRows,
    index: usize,
}

impl QueryId for Update<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Sqlite> for Update<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let write = self.rows.write;
        let WriteKind::Update { key, guard } = write.kind else {
            return Err(diesel::result::Error::QueryBuilderError(
                "an insert descriptor used for an update".into(),
            ));
        };
        let set_from = write.columns.len() - write.set_columns().len();
        out.push_sql("UPDATE ");
        out.push_sql(write.table);
        out.push_sql(" SET ");
        for (i, column) in write.columns.iter().enumerate().skip(set_from) {
            if i > set_from {
                out.push_sql(", ");
            }
            out.push_sql(column.name);
            out.push_sql(" = ");
            bind_value(&mut out, &self.rows.columns[i], self.index)?;
        }
        if let Guard::Version(version) = guard {
            out.push_sql(", ");
            out.push_sql(version);
            out.push_sql(" = ");
            out.push_sql(version);
            out.push_sql(" + 1");
        }
        out.push_sql(" WHERE ");
        out.push_sql(key);
        out.push_sql(" = ");
        bind_value(&mut out, &self.rows.columns[0], self.index)?;
        match guard {
            Guard::Version(version) => {
                out.push_sql(" AND ");
                out.push_sql(version);
                out.push_sql(" = ");
                bind_value(&mut out, &self.rows.columns[1], self.index)?;
            }
            Guard::Equals(column, value) => {
                out.push_sql(" AND ");
                out.push_sql(column);
                out.push_sql(" = '");
                // A literal of the descriptor's own, never input: no quote can be in it.
                debug_assert!(!value.contains('\''));
                out.push_sql(value);
                out.push_sql("'");
            }
        }
        Ok(())
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Sqlite) -> QueryResult<bool> {
        Ok(true)
    }
}

impl RunQueryDsl<SqliteConnection> for Update<'_> {}
