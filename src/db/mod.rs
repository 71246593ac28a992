//! Storage: one connection type over PostgreSQL and SQLite, a pool, migrations and transactions.
//! Functions here take `&mut DbConn`; the caller owns the transaction.

pub mod models;
pub mod prepared;
pub mod schema;
pub mod types;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::InstrumentationEvent;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use types::DbUuid;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite connection waits for another writer before giving up.
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;
/// Page cache of each pooled SQLite connection, in KiB.
pub const SQLITE_READER_CACHE_KIB: u32 = 512;
/// Connections a pool opens at most; reads are short, so a few suffice on two cores.
pub const POOL_CONNECTIONS_MAX: u32 = 16;
/// How long a request waits for a pooled connection before answering 503.
pub const POOL_CHECKOUT_TIMEOUT_SECONDS: u64 = 5;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs the same diesel code against the concrete connection, for what MultiConnection cannot
/// express (multi-row inserts, `ON CONFLICT`, `RETURNING` with `as_returning`).
#[macro_export]
macro_rules! with_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// A database URL whose backend was chosen from its scheme. Nothing falls back silently.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    kind: BackendKind,
    /// For SQLite the file path; for PostgreSQL the URL as given.
    target: String,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<DatabaseUrl, String> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains(":memory:") {
                return Err(
                    "a sqlite:// URL needs a file path, e.g. sqlite://./moralbank.db".into(),
                );
            }
            return Ok(DatabaseUrl {
                kind: BackendKind::Sqlite,
                target: path.to_string(),
            });
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(DatabaseUrl {
                kind: BackendKind::Postgres,
                target: text.to_string(),
            });
        }
        Err("must start with sqlite:// or postgres://".into())
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The URL with any password replaced, for logs and messages.
    pub fn redacted(&self) -> String {
        match self.kind {
            BackendKind::Sqlite => format!("sqlite://{}", self.target),
            BackendKind::Postgres => redact_password(&self.target),
        }
    }

    pub fn sqlite_path(&self) -> Option<&str> {
        (self.kind == BackendKind::Sqlite).then_some(self.target.as_str())
    }

    /// Opens one connection and prepares it (pragmas on SQLite). The error is the backend's own.
    pub fn connect(&self) -> Result<DbConn, ConnectError> {
        match self.kind {
            BackendKind::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)
                    .map_err(|e| ConnectError(e.to_string()))?;
                // Pragmas are per connection, so every connection gets them when it is opened.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                     PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(|e| ConnectError(e.to_string()))?;
                Ok(DbConn::Sqlite(conn))
            }
            BackendKind::Postgres => PgConnection::establish(&self.target)
                .map(DbConn::Pg)
                .map_err(|e| ConnectError(e.to_string())),
        }
    }
}

fn redact_password(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.find('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    url.to_string()
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub String);

/// An r2d2 manager written by hand: the derived `establish` would try each backend in turn and
/// hide the real error.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    /// Every transaction of the connection is read-only (the read replica's pool): a write that
    /// strayed there fails loudly instead of waiting for the standby to refuse it.
    read_only: bool,
}

/// A pooled connection with what the pool needs to know to skip its liveness check.
pub struct PoolConn {
    conn: DbConn,
    /// Set by the connection's own instrumentation when a statement failed because the
    /// connection is gone (the server restarted, the network dropped).
    lost: Arc<AtomicBool>,
    /// When the pool last took this connection back in working order.
    returned_at: Option<Instant>,
}

impl std::ops::Deref for PoolConn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// A connection that came back in working order this recently is handed out again without a
/// `SELECT 1` round trip; an older one is checked first. One that lost its server is never
/// handed out again: its instrumentation saw the failure.
pub const POOL_TRUST_RECENT_MS: u64 = 1_000;

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = PoolConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<PoolConn, ConnectError> {
        let mut conn = self.url.connect()?;
        if let DbConn::Sqlite(c) = &mut conn {
            // Readers' page caches: pages of a random passbook are rarely read twice by the same
            // connection, and nine default caches (2 MiB each) were a fifth of the peak memory.
            // The writer keeps the default for the hot pages it rewrites in every batch.
            c.batch_execute(&format!("PRAGMA cache_size = -{SQLITE_READER_CACHE_KIB}"))
                .map_err(|e| ConnectError(e.to_string()))?;
        }
        if self.read_only {
            conn.batch_execute("SET default_transaction_read_only = on")
                .map_err(|e| ConnectError(e.to_string()))?;
        }
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::FinishQuery { error: Some(e), .. } = event {
                if is_connection_error(e) {
                    flag.store(true, Ordering::Relaxed);
                }
            }
        });
        Ok(PoolConn {
            conn,
            lost,
            returned_at: None,
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), ConnectError> {
        let recent = conn
            .returned_at
            .is_some_and(|at| at.elapsed() < Duration::from_millis(POOL_TRUST_RECENT_MS));
        if recent && !conn.lost.load(Ordering::Relaxed) {
            return Ok(());
        }
        conn.conn
            .batch_execute("SELECT 1")
            .map_err(|e| ConnectError(e.to_string()))
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        if conn.lost.load(Ordering::Relaxed)
            || <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(
                &mut conn.conn,
            )
        {
            return true;
        }
        conn.returned_at = Some(Instant::now());
        false
    }
}

pub type DbPool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// The service's pool: it keeps one idle connection ready, opened in the background.
pub fn build_pool(url: &DatabaseUrl) -> Result<DbPool, String> {
    pool_keeping(url, 1)
}

/// A pool for a command that runs once and exits (`user add`, `demo`): it opens connections only
/// when asked and never in the background. A background thread still inside libpq's TLS
/// handshake while the process exits crashes it in OpenSSL's exit handlers (SIGSEGV after the
/// work is done), so nothing may be connecting when the command returns.
pub fn build_command_pool(url: &DatabaseUrl) -> Result<DbPool, String> {
    pool_keeping(url, 0)
}

/// How long a read waits for a connection to the read replica before it goes to the primary
/// instead: short, because the primary can answer at once.
pub const REPLICA_CHECKOUT_TIMEOUT_MS: u64 = 1_000;

/// The read replica's pool: read-only connections to a streaming standby. Built without waiting
/// for a first connection, so a standby that is down delays neither the start nor any request
/// for long (reads then go to the primary; see `http::with_replica`).
pub fn build_read_pool(url: &DatabaseUrl) -> Result<DbPool, String> {
    if url.kind() != BackendKind::Postgres {
        return Err(format!(
            "a read replica must be PostgreSQL, not {}",
            url.redacted()
        ));
    }
    Ok(r2d2::Pool::builder()
        .max_size(POOL_CONNECTIONS_MAX)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_millis(REPLICA_CHECKOUT_TIMEOUT_MS))
        .test_on_check_out(true)
        // r2d2 logs every failed connection attempt of the background filler; the fallback
        // logs the replica's state once per change instead.
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build_unchecked(ConnectionManager {
            url: url.clone(),
            read_only: true,
        }))
}

fn pool_keeping(url: &DatabaseUrl, idle: u32) -> Result<DbPool, String> {
    let size = match url.kind() {
        BackendKind::Sqlite => 8,
        BackendKind::Postgres => POOL_CONNECTIONS_MAX,
    };
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(idle))
        .connection_timeout(Duration::from_secs(POOL_CHECKOUT_TIMEOUT_SECONDS))
        // A PostgreSQL connection dies with its server; checking it on checkout lets the pool
        // replace it, so the service recovers from an outage without a restart (the check is
        // skipped for a connection that was fine a moment ago; see `PoolConn`). A SQLite
        // connection is a file handle and does not die that way.
        .test_on_check_out(url.kind() == BackendKind::Postgres)
        .build(ConnectionManager {
            url: url.clone(),
            read_only: false,
        })
        .map_err(|e| format!("cannot open database {}: {e}", url.redacted()))
}

/// Runs the embedded migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConn) -> Result<(), String> {
    let result = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| format!("migration failed: {e}"))
}

/// Begins a writing transaction: `BEGIN IMMEDIATE` on SQLite, so the write lock is taken up front
/// and a read-then-write transaction can never fail to upgrade its lock.
pub fn begin_write(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
    }
}

pub fn commit(conn: &mut DbConn) -> QueryResult<()> {
    <DbConn as Connection>::TransactionManager::commit_transaction(conn)
}

pub fn rollback(conn: &mut DbConn) -> QueryResult<()> {
    <DbConn as Connection>::TransactionManager::rollback_transaction(conn)
}

/// SQLite lets one connection write at a time, and a connection that finds the file locked polls
/// with growing sleeps. A busy ledger writer takes the lock again microseconds after each commit,
/// so such a poller lost nearly every time: a handler's write stalled for seconds behind a stream
/// of batches, then failed. Within one process every writer of a file therefore queues on this
/// gate before `BEGIN IMMEDIATE`, and the ledger writer hands it over fairly after each batch.
/// (Another process on the same file still meets the busy timeout.)
pub fn sqlite_write_gate(path: &str) -> Arc<parking_lot::Mutex<()>> {
    static GATES: std::sync::OnceLock<
        parking_lot::Mutex<
            std::collections::HashMap<std::path::PathBuf, Arc<parking_lot::Mutex<()>>>,
        >,
    > = std::sync::OnceLock::new();
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| std::path::PathBuf::from(path));
    GATES
        .get_or_init(Default::default)
        .lock()
        .entry(key)
        .or_default()
        .clone()
}

#[derive(QueryableByName)]
struct MainFile {
    #[diesel(sql_type = diesel::sql_types::Text)]
    file: String,
}

/// The gate of the file this SQLite connection writes to; none on PostgreSQL.
fn gate_of(conn: &mut DbConn) -> QueryResult<Option<Arc<parking_lot::Mutex<()>>>> {
    match conn {
        DbConn::Pg(_) => Ok(None),
        DbConn::Sqlite(c) => {
            let main: MainFile =
                diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
                    .get_result(c)?;
            Ok(Some(sqlite_write_gate(&main.file)))
        }
    }
}

/// A whole writing transaction: commit on `Ok`, roll back on `Err`.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DieselError>,
{
    let gate = gate_of(conn)?;
    let _turn = gate.as_ref().map(|g| g.lock());
    begin_write(conn)?;
    match f(conn) {
        Ok(value) => {
            commit(conn)?;
            Ok(value)
        }
        Err(e) => {
            // A failed rollback leaves the connection broken; the pool then discards it.
            let _ = rollback(conn);
            Err(e)
        }
    }
}

/// The current time in UTC, truncated to microseconds: what both backends store exactly, so a
/// value read back hashes the same as the value written.
pub fn now_utc() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    micros_to_time(now.and_utc().timestamp_micros())
}

pub fn micros_to_time(micros: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .naive_utc()
}

pub fn time_to_micros(time: chrono::NaiveDateTime) -> i64 {
    time.and_utc().timestamp_micros()
}

/// The name of the constraint a database error names, when it names one.
pub fn violated_constraint(error: &DieselError) -> Option<(DatabaseErrorKind, String)> {
    match error {
        DieselError::DatabaseError(kind, info) => {
            let name = info
                .constraint_name()
                .map(str::to_string)
                .unwrap_or_else(|| info.message().to_string());
            Some((*kind, name))
        }
        _ => None,
    }
}

/// True when storage cannot take writes for reasons outside the request: the connection is gone,
/// the disk is full, the file is read-only or unreadable. Such errors answer 503, not 500.
pub fn is_storage_unavailable(error: &DieselError) -> bool {
    if is_connection_error(error) {
        return true;
    }
    match error {
        DieselError::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            message.contains("disk is full")
                || message.contains("database is locked")
                || message.contains("readonly")
                || message.contains("read-only")
                || message.contains("unable to open")
                || message.contains("i/o error")
                || message.contains("no space left")
        }
        _ => false,
    }
}

/// True when the error means the connection itself is gone rather than the statement being bad.
pub fn is_connection_error(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message().to_ascii_lowercase();
            message.contains("connection")
                || message.contains("server closed")
                || message.contains("terminating")
                || message.contains("disk i/o")
        }
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_by_scheme_only() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./x.db").unwrap().kind(),
            BackendKind::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap().kind(),
            BackendKind::Postgres
        );
        assert!(DatabaseUrl::parse("").is_err());
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("./x.db").is_err());
        assert!(DatabaseUrl::parse("sqlite://:memory:").is_err());
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        let url = DatabaseUrl::parse("postgres://bob:s3cret@db:5432/mb").unwrap();
        assert_eq!(url.redacted(), "postgres://bob:***@db:5432/mb");
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
