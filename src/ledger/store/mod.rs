//! What a batch writes, described once per table, and the two backends' writers that read the
//! descriptions. A table the writer touches has one [`TableWrite`]: its name, whether rows are
//! inserted or updated under a guard, and its columns in order with their types. A row type says
//! how it fills those columns ([`Written`]). SQLite turns the buffers into multi-row `INSERT`s and
//! one `UPDATE` per row; PostgreSQL turns them into arrays for one statement of data-modifying
//! CTEs. Neither writer names a column of its own, so a column added to a table is added in one
//! place, and a round-trip test writes every column of every table on both backends.

mod postgres;
mod sqlite;

use chrono::NaiveDateTime;
use diesel::result::Error as DieselError;

use crate::db::{DbConn, DbUuid};

/// How a column's values are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Uuid,
    OptUuid,
    BigInt,
    OptBigInt,
    Int,
    Text,
    OptText,
    Time,
    OptTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
}

/// Shorthand for the column lists of descriptors.
pub const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column { name, ty }
}

/// What an `UPDATE` requires of the stored row before it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// `version` must still be the one the writer saw (the row's second value); the update sets
    /// it to that plus one.
    Version(&'static str),
    /// The column must hold this text (e.g. a redemption is voided only while `completed`).
    Equals(&'static str, &'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Insert,
    /// Rows name the key (first value), for a version guard the version seen (second value), then
    /// the columns to set, in the descriptor's order after those.
    Update {
        key: &'static str,
        guard: Guard,
    },
}

/// One table as the batch writers see it.
#[derive(Debug)]
pub struct TableWrite {
    pub table: &'static str,
    pub kind: WriteKind,
    /// Every bound column in order: for an update, the key, then (version guard) the version
    /// seen, then the columns set.
    pub columns: &'static [Column],
}

impl TableWrite {
    /// The columns an update sets (after the key and the version seen).
    pub fn set_columns(&self) -> &'static [Column] {
        match self.kind {
            WriteKind::Insert => self.columns,
            WriteKind::Update {
                guard: Guard::Version(_),
                ..
            } => &self.columns[2..],
            WriteKind::Update {
                guard: Guard::Equals(..),
                ..
            } => &self.columns[1..],
        }
    }
}

/// A row type that the batch writes into one table.
pub trait Written {
    const WRITE: &'static TableWrite;
    /// Pushes this row's values, one per column of `WRITE`, in order.
    fn push_values(&self, row: &mut RowSink<'_>);
}

/// One column's buffered values.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Uuid(Vec<DbUuid>),
    OptUuid(Vec<Option<DbUuid>>),
    BigInt(Vec<i64>),
    OptBigInt(Vec<Option<i64>>),
    Int(Vec<i32>),
    Text(Vec<String>),
    OptText(Vec<Option<String>>),
    Time(Vec<NaiveDateTime>),
    OptTime(Vec<Option<NaiveDateTime>>),
}

impl ColumnData {
    fn empty(ty: ColumnType) -> ColumnData {
        match ty {
            ColumnType::Uuid => ColumnData::Uuid(Vec::new()),
            ColumnType::OptUuid => ColumnData::OptUuid(Vec::new()),
            ColumnType::BigInt => ColumnData::BigInt(Vec::new()),
            ColumnType::OptBigInt => ColumnData::OptBigInt(Vec::new()),
            ColumnType::Int => ColumnData::Int(Vec::new()),
            ColumnType::Text => ColumnData::Text(Vec::new()),
            ColumnType::OptText => ColumnData::OptText(Vec::new()),
            ColumnType::Time => ColumnData::Time(Vec::new()),
            ColumnType::OptTime => ColumnData::OptTime(Vec::new()),
        }
    }

    fn len(&self) -> usize {
        match self {
            ColumnData::Uuid(v) => v.len(),
            ColumnData::OptUuid(v) => v.len(),
            ColumnData::BigInt(v) => v.len(),
            ColumnData::OptBigInt(v) => v.len(),
            ColumnData::Int(v) => v.len(),
            ColumnData::Text(v) => v.len(),
            ColumnData::OptText(v) => v.len(),
            ColumnData::Time(v) => v.len(),
            ColumnData::OptTime(v) => v.len(),
        }
    }
}

/// The buffered rows of one table, column by column.
#[derive(Debug, Clone)]
pub struct TableRows {
    pub write: &'static TableWrite,
    pub columns: Vec<ColumnData>,
    rows: usize,
}

impl TableRows {
    pub fn new(write: &'static TableWrite) -> TableRows {
        TableRows {
            write,
            columns: write
                .columns
                .iter()
                .map(|c| ColumnData::empty(c.ty))
                .collect(),
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn push<R: Written>(&mut self, row: &R) {
        assert!(
            std::ptr::eq(R::WRITE, self.write),
            "a {} row pushed into the buffer of {}",
            R::WRITE.table,
            self.write.table
        );
        let mut sink = RowSink {
            rows: self,
            next: 0,
        };
        row.push_values(&mut sink);
        let filled = sink.next;
        assert_eq!(
            filled,
            self.write.columns.len(),
            "a {} row fills every column",
            self.write.table
        );
        self.rows += 1;
        debug_assert!(self.columns.iter().all(|c| c.len() == self.rows));
    }
}

/// Where one row's values go: each call fills the next column, whose type must match.
pub struct RowSink<'a> {
    rows: &'a mut TableRows,
    next: usize,
}

macro_rules! sink_method {
    ($name:ident, $variant:ident, $ty:ty) => {
        pub fn $name(&mut self, value: $ty) -> &mut Self {
            let table = self.rows.write.table;
            match self.rows.columns.get_mut(self.next) {
                Some(ColumnData::$variant(values)) => values.push(value),
                _ => panic!(
                    "{table}: column {} is not {}",
                    self.next,
                    stringify!($variant)
                ),
            }
            self.next += 1;
            self
        }
    };
}

impl RowSink<'_> {
    sink_method!(uuid, Uuid, DbUuid);
    sink_method!(opt_uuid, OptUuid, Option<DbUuid>);
    sink_method!(big_int, BigInt, i64);
    sink_method!(opt_big_int, OptBigInt, Option<i64>);
    sink_method!(int, Int, i32);
    sink_method!(text, Text, String);
    sink_method!(opt_text, OptText, Option<String>);
    sink_method!(time, Time, NaiveDateTime);
    sink_method!(opt_time, OptTime, Option<NaiveDateTime>);
}

/// Everything one batch writes, table by table in the order the machine lists its tables (that
/// order is also the order of foreign keys: a referenced row comes first).
#[derive(Debug, Clone)]
pub struct Rows {
    tables: Vec<TableRows>,
}

impl Rows {
    pub fn new(tables: &[&'static TableWrite]) -> Rows {
        Rows {
            tables: tables.iter().map(|t| TableRows::new(t)).collect(),
        }
    }

    pub fn push<R: Written>(&mut self, row: &R) {
        let table = self
            .tables
            .iter_mut()
            .find(|t| std::ptr::eq(t.write, R::WRITE))
            .unwrap_or_else(|| panic!("the machine does not list table {}", R::WRITE.table));
        table.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(TableRows::is_empty)
    }

    pub fn tables(&self) -> &[TableRows] {
        &self.tables
    }
}

#[derive(Debug)]
pub enum WriteError {
    Database(DieselError),
    /// A guarded write found the row changed: someone else wrote it.
    Stale,
}

impl From<DieselError> for WriteError {
    fn from(e: DieselError) -> Self {
        WriteError::Database(e)
    }
}

pub(crate) fn expect_rows(affected: usize, expected: usize) -> Result<(), WriteError> {
    if affected == expected {
        Ok(())
    } else {
        Err(WriteError::Stale)
    }
}

/// Writes `first` (the chain heads, which serialise the writers of a community, so no writer
/// holds other rows while it waits for another) and then `rest`, checking every row count. Only
/// the ledger writer calls it inside its transaction, and the round-trip test of the tables.
pub fn write(conn: &mut DbConn, first: &Rows, rest: &Rows) -> Result<(), WriteError> {
    match conn {
        DbConn::Sqlite(c) => {
            sqlite::write(c, first)?;
            sqlite::write(c, rest)
        }
        DbConn::Pg(c) => {
            postgres::write(c, first)?;
            postgres::write(c, rest)
        }
    }
}
