//! SQLite: WAL checkpoints off the writer's path.
//!
//! By default SQLite checkpoints inside the commit that pushes the write-ahead log past 1,000
//! pages, so every tenth batch or so the writer copied the log into the database file and synced
//! it while every waiting request waited too. This thread checkpoints on its own connection a few
//! times a second without blocking anyone (PASSIVE). The writer's own automatic checkpoint stays
//! as a backstop at a ten times longer log: by then this thread has copied nearly everything, so
//! the writer's checkpoint is short, and because it runs between two of the writer's own
//! transactions it completes, and the log starts over (the file stays bounded). Durability is
//! unchanged: a commit is durable once its log frames are synced, checkpointed or not.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Integer;

use crate::db::{DatabaseUrl, DbConn};

/// How often the checkpointer looks at the log.
pub const CHECKPOINT_INTERVAL_MS: u64 = 250;
/// Log pages past which the writer checkpoints itself (SQLite's default is 1,000).
pub const WRITER_AUTOCHECKPOINT_PAGES: u32 = 10_000;
/// The log file is cut back to this size when it starts over.
pub const WAL_FILE_BYTES_KEPT: u64 = 64 * 1024 * 1024;

#[derive(QueryableByName)]
struct CheckpointResult {
    #[diesel(sql_type = Integer)]
    busy: i32,
    #[diesel(sql_type = Integer)]
    log: i32,
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

fn checkpoint(conn: &mut DbConn, mode: &str) -> QueryResult<CheckpointResult> {
    let DbConn::Sqlite(c) = conn else {
        return Err(diesel::result::Error::QueryBuilderError(
            "checkpoints are for SQLite".into(),
        ));
    };
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(c)
}

/// The writer's connection leaves checkpoints to [`spawn`].
pub(super) fn hand_over_checkpoints(conn: &mut DbConn) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    if let DbConn::Sqlite(c) = conn {
        c.batch_execute(&format!(
            "PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}; \
             PRAGMA journal_size_limit = {WAL_FILE_BYTES_KEPT};"
        ))?;
    }
    Ok(())
}

/// Starts the checkpointer for a SQLite database; it stops when `stopped` is set.
pub(super) fn spawn(url: DatabaseUrl, stopped: Arc<AtomicBool>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("wal-checkpointer".into())
        .spawn(move || {
            let mut conn: Option<DbConn> = None;
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(CHECKPOINT_INTERVAL_MS));
                if conn.is_none() {
                    conn = url.connect().ok();
                }
                let Some(c) = conn.as_mut() else {
                    continue;
                };
                match checkpoint(c, "PASSIVE") {
                    Ok(r) => tracing::trace!(
                        busy = r.busy,
                        log = r.log,
                        checkpointed = r.checkpointed,
                        "checkpoint"
                    ),
                    Err(e) => {
                        // A full disk, say: try again with a fresh connection; the writer's
                        // commits do not depend on this.
                        tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
                        conn = None;
                    }
                }
            }
        })?;
    Ok(())
}
