//! Keeping hot statements prepared. Two diesel defaults re-compile a statement on every run:
//!
//! - diesel never caches an `UPDATE` as a prepared statement, so the writer's version-guarded
//!   updates were parsed and planned again in every batch;
//! - `.first()` binds `LIMIT ?`, and SQLite (3.47 and later) marks a statement with a bound LIMIT
//!   for re-preparation whenever that parameter is bound — which is every run. A point query by
//!   primary key cost ~25 µs instead of ~3 µs.
//!
//! [`Cached`] marks a statement of fixed shape as safe to cache; [`one_row`] reads the first row
//! with a literal `LIMIT 1`, and unique-key lookups use `get_result`, which needs no LIMIT.

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A statement whose SQL text never changes between runs (only its bound values do), so its
/// prepared form may be cached. Use only for statements built from fixed columns.
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(pub Q);

impl<Q: QueryId> QueryId for Cached<Q> {
    type QueryId = Q::QueryId;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q, DB> QueryFragment<DB> for Cached<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    /// The inner statement says "no" out of caution (an UPDATE's SET list could vary); the
    /// caller vouches that this one's text is fixed.
    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for Cached<Q> {}

/// A query's first row, with `LIMIT 1` written into the SQL rather than bound.
#[derive(Debug, Clone, Copy)]
pub struct LimitOne<Q>(Q);

impl<Q: QueryId> QueryId for LimitOne<Q> {
    type QueryId = LimitOne<Q::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q: Query> Query for LimitOne<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, DB> QueryFragment<DB> for LimitOne<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass.reborrow())?;
        pass.push_sql(" LIMIT 1");
        Ok(())
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for LimitOne<Q> {}

/// `query` limited to its first row (order it first).
pub fn one_row<Q>(query: Q) -> LimitOne<Q> {
    LimitOne(query)
}
