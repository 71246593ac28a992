//! The plumbing below every face: the application state, problem+json answers, the bearer-token
//! extractor, idempotency keys, paging, text checks and the bridge to blocking database work.
//! Handlers parse into kernel types, call their concept's functions, read through the pool and
//! send every money movement to the ledger writer.

pub mod credentials;
pub mod extract;
pub mod idempotency;
pub mod problem;
pub mod request_head;
pub mod state;

use actix_web::web;
use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::db::DbConn;
use crate::kernel::dates::{self, DateError};
use problem::ApiError;
use state::AppState;

/// Items per page by default and at most.
pub const PAGE_ITEMS_DEFAULT: i64 = 50;
pub const PAGE_ITEMS_MAX: i64 = 200;
/// Longest free-text search accepted.
pub const SEARCH_CHARS_MAX: usize = 64;

/// Runs blocking database work on actix's blocking pool with a pooled connection. No more work
/// is handed to the blocking pool than there are connections: the rest waits as a cheap task,
/// not as a thread parked on the pool (threads cost memory and context switches).
pub async fn with_conn<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
{
    let _permit = state
        .db_permits
        .acquire()
        .await
        .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
    let pool = state.pool.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}

/// Whether a read may be served a moment behind the primary (see [`with_replica`]). Shared
/// reads whose callers differ take one: the JSON list may lag, the console's page shown right
/// after its own form was sent may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// May come from the read replica.
    MayLag,
    /// Must see every write acknowledged so far: the primary.
    Current,
}

/// [`with_replica`] or [`with_conn`], as `freshness` says.
pub async fn with_reads<T, F>(state: &AppState, freshness: Freshness, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Clone + Send + 'static,
{
    match freshness {
        Freshness::MayLag => with_replica(state, f).await,
        Freshness::Current => with_conn(state, f).await,
    }
}

/// Runs a read that may lag on the read replica (a streaming standby), with the replica's
/// permits: statements, reports, lists, the notice board. Without a replica it is [`with_conn`].
///
/// Never use it for a read that must see the caller's own write a moment ago (a receipt, the
/// counter card, a thing just created), for anything that decides a command, or for writes: the
/// replica's connections are read-only and may be seconds behind.
///
/// When the replica cannot be reached, or fails the read, the read goes to the primary (that is
/// why `f` is `Clone`: a fresh copy runs there), and later reads go to the primary until the
/// replica answers again; see [`state::ReadReplica`].
pub async fn with_replica<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Clone + Send + 'static,
{
    let Some(replica) = state.replica.as_ref().filter(|r| r.should_try()) else {
        return with_conn(state, f).await;
    };
    let outcome = {
        let _permit = replica
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
        let pool = replica.pool.clone();
        let on_replica = f.clone();
        web::block(move || match pool.get() {
            Ok(mut conn) => Ok(on_replica(&mut conn)),
            Err(e) => Err(e.to_string()),
        })
        .await?
    };
    match outcome {
        Ok(Err(e)) if e.status.is_server_error() => {
            // A refusal (4xx) is the answer; a failure of the standby (gone, or a query cancelled
            // by a conflict with recovery) is not, so the primary answers instead.
            if e.status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE {
                replica.mark_down(&e.detail);
            }
            with_conn(state, f).await
        }
        Ok(result) => {
            replica.mark_up();
            result
        }
        Err(why) => {
            replica.mark_down(&why);
            with_conn(state, f).await
        }
    }
}

/// Runs one point read (a few index look-ups) at once on SQLite: it takes microseconds, less
/// than the hop to the blocking pool and back. Only when a pooled connection is free right now;
/// otherwise, and always on PostgreSQL (a network round trip must not hold an HTTP worker), it
/// goes through [`with_conn`]. Never use it for scans or writes.
pub async fn with_conn_quick<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
{
    if state.backend == crate::db::BackendKind::Sqlite {
        if let Ok(_permit) = state.db_permits.try_acquire() {
            if let Some(mut conn) = state.pool.try_get() {
                return f(&mut conn);
            }
        }
    }
    with_conn(state, f).await
}

/// RFC 3339 in UTC with microseconds: the one time format of the API.
pub fn rfc3339(time: NaiveDateTime) -> String {
    time.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (1–200, default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(PAGE_ITEMS_DEFAULT),
        Some(n) if (1..=PAGE_ITEMS_MAX).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {PAGE_ITEMS_MAX}"),
        )),
    }
}

/// The cursor of the next page: the last item's id when the page came back full, else none.
pub fn next_cursor<T>(rows: &[T], limit: i64, id: impl Fn(&T) -> uuid::Uuid) -> Option<String> {
    if rows.len() as i64 != limit {
        return None;
    }
    rows.last().map(|row| id(row).to_string())
}

/// An optional status word that must be one of `allowed` (e.g. `active` or `inactive`).
pub fn parse_status(value: Option<&str>, allowed: [&str; 2]) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(s) if allowed.contains(&s) => Ok(Some(s.to_string())),
        Some(_) => Err(ApiError::validation(format!(
            "status must be {} or {}",
            allowed[0], allowed[1]
        ))
        .with("field", "status")),
    }
}

/// An optional `active` or `inactive`.
pub fn parse_active(value: Option<&str>) -> Result<Option<crate::kernel::ActiveStatus>, ApiError> {
    value
        .map(|word| {
            crate::kernel::ActiveStatus::parse(word).ok_or_else(|| {
                ApiError::validation("status must be active or inactive").with("field", "status")
            })
        })
        .transpose()
}

pub fn parse_cursor(cursor: Option<&str>) -> Result<Option<uuid::Uuid>, ApiError> {
    cursor
        .map(|c| {
            uuid::Uuid::parse_str(c).map_err(|_| {
                ApiError::bad_request("invalid_cursor", "the cursor is not one we issued")
            })
        })
        .transpose()
}

/// Checks a required free-text field: trimmed, non-empty, at most `max` characters, no control
/// characters except newlines.
pub fn required_text(field: &str, text: &str, max: usize) -> Result<String, ApiError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ApiError::validation(format!("{field} must not be empty")).with("field", field));
    }
    if trimmed.chars().count() > max {
        return Err(
            ApiError::validation(format!("{field} is longer than {max} characters"))
                .with("field", field),
        );
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err(
            ApiError::validation(format!("{field} must not contain control characters"))
                .with("field", field),
        );
    }
    Ok(trimmed.to_string())
}

/// A query parameter that is not a date, month or moment we accept: 400, naming the parameter.
fn invalid_date_query(field: &'static str, error: DateError) -> ApiError {
    ApiError::bad_request("invalid_query", format!("{field} {error}")).with("field", field)
}

/// An optional local date in a query (`from`, `to`, `day`): YYYY-MM-DD within
/// 2000-01-01 … 9999-12-31. Every date of every query goes through here.
pub fn query_date(field: &'static str, text: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    text.map(|t| dates::parse_date(t).map_err(|e| invalid_date_query(field, e)))
        .transpose()
}

/// A local month in a query (`month`): YYYY-MM within the range, as its first day.
pub fn query_month(field: &'static str, text: &str) -> Result<NaiveDate, ApiError> {
    dates::parse_month(text).map_err(|e| invalid_date_query(field, e))
}

/// An optional moment in a query (`at`): RFC 3339 whose UTC time lies within the range.
pub fn query_moment(
    field: &'static str,
    text: Option<&str>,
) -> Result<Option<NaiveDateTime>, ApiError> {
    text.map(|t| dates::parse_moment(t).map_err(|e| invalid_date_query(field, e)))
        .transpose()
}

/// A period of local dates (`from`, `to`, both inclusive and optional) that does not end before
/// it begins.
pub fn query_period(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), ApiError> {
    let from = query_date("from", from)?;
    let to = query_date("to", to)?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(
                ApiError::bad_request("invalid_query", "from is after to").with("field", "from")
            );
        }
    }
    Ok((from, to))
}

pub fn parse_uuid(field: &str, text: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(text).map_err(|_| ApiError::validation(format!("{field} must be a UUID")))
}
