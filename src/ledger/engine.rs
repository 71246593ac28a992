//! The single writer. Handlers send commands through a bounded queue; one thread takes whatever
//! is queued (up to a batch limit), checks every command against its in-memory view of the rows it
//! touches, writes the whole batch in one transaction with a handful of statements, commits once
//! and then replies to each command. Refusals never reach SQL.
//!
//! The database stays the last guard: every balance and chain-head write is conditional on the
//! version the view saw. If any statement fails or touches an unexpected number of rows, the
//! writer rolls the batch back, forgets its view and replays the batch one command at a time, each
//! in a savepoint, so only the truly bad command fails. It never commits after a failed statement.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tokio::sync::oneshot;

use super::command::{Command, LedgerError, Outcome};
use super::plan::{plan, BatchWrites};
use super::view::{community_of, load_missing, rows_behind, Fresh, RowKey, View};
use super::write::{write_batch, WriteError};
use crate::db::schema::communities;
use crate::db::DbUuid;
use crate::db::{self, DatabaseUrl, DbConn};
use crate::domain::Points;

/// Commands executed in one database transaction at most.
pub const BATCH_COMMANDS_MAX: usize = 256;
/// Commands waiting for the writer at most; beyond this the API answers 503 with Retry-After.
pub const QUEUE_COMMANDS_MAX: usize = 4096;
/// How long a request waits for the writer's answer before answering 503.
pub const REPLY_TIMEOUT_SECONDS: u64 = 30;
/// Monthly redemption counts the writer keeps at most before it drops them all.
const VIEW_MONTHLY_ENTRIES_MAX: usize = 100_000;
/// Recent redemptions the writer keeps at most before it drops them all.
const VIEW_REDEMPTIONS_MAX: usize = 10_000;
/// Times one command is retried in replay when another writer moved a row it read.
const REPLAY_ATTEMPTS_MAX: usize = 8;
/// The writer's connection is replaced after this many batches, so plans cached while the tables
/// were tiny do not live for ever.
const WRITER_CONNECTION_BATCHES_MAX: u64 = 50_000;

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// 1 forces one command per transaction (to measure what group commit buys).
    pub batch_commands_max: usize,
    pub queue_commands_max: usize,
    /// The time stamped on transactions; tests move it to land lines on a day's edge.
    pub clock: crate::clock::Clock,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            batch_commands_max: BATCH_COMMANDS_MAX,
            queue_commands_max: QUEUE_COMMANDS_MAX,
            clock: crate::clock::Clock::default(),
        }
    }
}

/// One request's commands (usually one; a bulk approval sends many) and where to answer.
struct Job {
    commands: Vec<Command>,
    reply: oneshot::Sender<Vec<Result<Outcome, LedgerError>>>,
}

/// The handle handlers use. Cloning is cheap; the writer stops when every handle is gone.
#[derive(Clone)]
pub struct Engine {
    queue: SyncSender<Job>,
    stats: Arc<EngineStats>,
}

#[derive(Debug, Default)]
pub struct EngineStats {
    pub batches: AtomicU64,
    pub commands: AtomicU64,
    pub replays: AtomicU64,
}

impl Engine {
    /// Starts the writer thread with its own connection to `url`.
    pub fn start(
        url: DatabaseUrl,
        settings: EngineSettings,
    ) -> std::io::Result<(Engine, std::thread::JoinHandle<()>)> {
        let (queue, jobs) = mpsc::sync_channel(settings.queue_commands_max.max(1));
        let stats = Arc::new(EngineStats::default());
        let stopped = Arc::new(AtomicBool::new(false));
        let sqlite = url.kind() == db::BackendKind::Sqlite;
        if sqlite {
            super::checkpoint::spawn(url.clone(), stopped.clone())?;
        }
        let gate = url.sqlite_path().map(db::sqlite_write_gate);
        let writer = Writer {
            gate,
            url,
            checkpoints_elsewhere: sqlite,
            stopped,
            conn: None,
            view: View::default(),
            batch_commands_max: settings.batch_commands_max.clamp(1, BATCH_COMMANDS_MAX),
            batches_on_connection: 0,
            stats: stats.clone(),
            clock: settings.clock.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer.run(jobs))?;
        Ok((Engine { queue, stats }, handle))
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Queues a command and waits for the writer's answer, which comes after commit.
    pub async fn execute(&self, command: Command) -> Result<Outcome, LedgerError> {
        self.execute_many(vec![command])
            .await
            .and_then(|mut results| {
                results.pop().unwrap_or_else(|| {
                    Err(LedgerError::Unavailable("the writer gave no answer".into()))
                })
            })
    }

    /// Queues commands that must share one batch (one database transaction) and answers each.
    pub async fn execute_many(
        &self,
        commands: Vec<Command>,
    ) -> Result<Vec<Result<Outcome, LedgerError>>, LedgerError> {
        let expected = commands.len();
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send(Job { commands, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(LedgerError::QueueFull),
            Err(TrySendError::Disconnected(_)) => {
                return Err(LedgerError::Unavailable(
                    "the ledger writer has stopped".into(),
                ))
            }
        }
        match tokio::time::timeout(Duration::from_secs(REPLY_TIMEOUT_SECONDS), answer).await {
            Ok(Ok(results)) if results.len() == expected => Ok(results),
            Ok(Ok(_)) => Err(LedgerError::Unavailable(
                "the ledger writer answered the wrong number of commands".into(),
            )),
            Ok(Err(_)) => Err(LedgerError::Unavailable(
                "the ledger writer dropped the command".into(),
            )),
            Err(_) => Err(LedgerError::Unavailable(
                "the ledger writer did not answer in time".into(),
            )),
        }
    }
}

enum StepError {
    Database(DieselError),
    /// A conditional write found another version: someone else wrote the row.
    Stale,
}

impl From<DieselError> for StepError {
    fn from(e: DieselError) -> Self {
        StepError::Database(e)
    }
}

impl From<WriteError> for StepError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Database(e) => StepError::Database(e),
            WriteError::Stale => StepError::Stale,
        }
    }
}

struct Writer {
    /// SQLite: every writer of the file in this process queues here first (see
    /// `db::sqlite_write_gate`); the writer hands the gate over fairly after each batch.
    gate: Option<Arc<parking_lot::Mutex<()>>>,
    url: DatabaseUrl,
    /// SQLite: the checkpointer thread checkpoints, not this connection's commits.
    checkpoints_elsewhere: bool,
    /// Set when the writer stops, so the checkpointer stops too.
    stopped: Arc<AtomicBool>,
    conn: Option<DbConn>,
    view: View,
    batch_commands_max: usize,
    batches_on_connection: u64,
    stats: Arc<EngineStats>,
    clock: crate::clock::Clock,
}

impl Writer {
    fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut queued = first.commands.len();
            let mut batch = vec![first];
            // A job is never split: a bulk approval is one transaction even past the batch limit.
            while queued < self.batch_commands_max {
                match jobs.try_recv() {
                    Ok(job) => {
                        queued += job.commands.len();
                        batch.push(job);
                    }
                    Err(_) => break,
                }
            }
            let commands: Vec<&Command> = batch.iter().flat_map(|j| j.commands.iter()).collect();
            let mut results = self.execute_batch(&commands).into_iter();
            assert_eq!(results.len(), queued, "one result per command");
            for job in batch {
                let answers: Vec<_> = results.by_ref().take(job.commands.len()).collect();
                // The requester may have gone away (timeout, client disconnect); the effect stands.
                let _ = job.reply.send(answers);
            }
        }
        self.stopped.store(true, Ordering::Relaxed);
        tracing::info!("ledger writer stopped: every handle is gone");
    }

    fn connection(&mut self) -> Result<&mut DbConn, LedgerError> {
        if self.batches_on_connection >= WRITER_CONNECTION_BATCHES_MAX {
            self.conn = None;
            self.batches_on_connection = 0;
        }
        if self.conn.is_none() {
            let mut conn = self.url.connect().map_err(|e| {
                tracing::error!(error = %e, "ledger writer cannot connect to the database");
                LedgerError::Unavailable("the database is unreachable".into())
            })?;
            if self.checkpoints_elsewhere {
                super::checkpoint::hand_over_checkpoints(&mut conn).map_err(|e| {
                    tracing::error!(error = %e, "ledger writer cannot set up its connection");
                    LedgerError::Unavailable("the database is unavailable".into())
                })?;
            }
            self.conn = Some(conn);
            // A new connection may see rows another writer changed meanwhile.
            self.view = View::default();
        }
        self.batches_on_connection += 1;
        self.conn
            .as_mut()
            .ok_or_else(|| LedgerError::Unavailable("no database connection".into()))
    }

    fn forget_connection(&mut self) {
        self.conn = None;
        self.view = View::default();
    }

    fn execute_batch(&mut self, commands: &[&Command]) -> Vec<Result<Outcome, LedgerError>> {
        let started = Instant::now();
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .commands
            .fetch_add(commands.len() as u64, Ordering::Relaxed);
        let results = match self.try_group(commands) {
            Ok(results) => results,
            Err(error) => {
                if let StepError::Database(e) = &error {
                    tracing::warn!(error = %e, "batch failed; replaying one command at a time");
                } else {
                    tracing::info!("batch met a row another writer changed; replaying");
                }
                self.stats.replays.fetch_add(1, Ordering::Relaxed);
                self.view = View::default();
                self.replay(commands)
            }
        };
        tracing::debug!(
            commands = commands.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "batch done"
        );
        results
    }

    /// The fast path: plan every command in memory, write the batch in one transaction.
    fn try_group(
        &mut self,
        commands: &[&Command],
    ) -> Result<Vec<Result<Outcome, LedgerError>>, StepError> {
        let gate = self.gate.clone();
        let _turn = gate.as_ref().map(|g| FairTurn(Some(g.lock())));
        let conn = match self.connection() {
            Ok(conn) => conn,
            Err(e) => return Ok(commands.iter().map(|_| Err(e.clone())).collect()),
        };
        if let Err(e) = db::begin_write(conn) {
            let unavailable = storage_error(&e);
            self.forget_connection();
            return Ok(commands.iter().map(|_| Err(unavailable.clone())).collect());
        }
        let planned = self.plan_and_write(commands);
        let conn = match self.conn.as_mut() {
            Some(conn) => conn,
            None => {
                let e = LedgerError::Unavailable("lost the database connection".into());
                return Ok(commands.iter().map(|_| Err(e.clone())).collect());
            }
        };
        match planned {
            Ok((results, writes)) => match db::commit(conn) {
                Ok(()) => {
                    writes.adopt_into(&mut self.view);
                    Ok(results)
                }
                Err(e) => {
                    // The outcome of a failed COMMIT is not known to us; the callers hear 503 and
                    // retry with their idempotency keys, which makes the retry safe.
                    tracing::error!(error = %e, "commit failed");
                    let unavailable = storage_error(&e);
                    let _ = db::rollback(conn);
                    self.forget_connection();
                    Ok(results
                        .into_iter()
                        .map(|r| r.and(Err(unavailable.clone())))
                        .collect())
                }
            },
            Err(error) => {
                if db::rollback(conn).is_err() {
                    self.forget_connection();
                }
                if let StepError::Database(e) = &error {
                    if db::is_storage_unavailable(e) {
                        let unavailable = storage_error(e);
                        self.forget_connection();
                        return Ok(commands.iter().map(|_| Err(unavailable.clone())).collect());
                    }
                }
                Err(error)
            }
        }
    }

    /// Plans each command against the view (loading what it lacks), then writes the batch.
    /// Returns per-command results and the new states to adopt after commit.
    fn plan_and_write(
        &mut self,
        commands: &[&Command],
    ) -> Result<(Vec<Result<Outcome, LedgerError>>, BatchWrites), StepError> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(StepError::Database(DieselError::BrokenTransactionManager));
        };
        // Deeds and monthly sums move through review outside the writer: read them afresh.
        self.view.deeds.clear();
        self.view.cap_sums.clear();
        if self.view.monthly.len() > VIEW_MONTHLY_ENTRIES_MAX {
            // Counts are reloaded on demand; dropping them bounds memory across months.
            self.view.monthly.clear();
        }
        if self.view.redemptions.len() > VIEW_REDEMPTIONS_MAX {
            // Kept so a void right after a redemption needs no read; older ones are read on
            // demand. Without this bound every redemption of a long run stayed in memory.
            self.view.redemptions.clear();
        }
        let now = self.clock.now();
        self.view.fresh = Fresh::default();
        load_missing(conn, &mut self.view, commands, now)?;
        // The view may speed up an acceptance (a version guard catches a stale one at write
        // time) but never decides a refusal alone: a refusal resting on a row this transaction
        // did not read is planned again on that row read afresh.
        let mut reread: HashSet<RowKey> = HashSet::new();
        let (results, writes) = loop {
            let mut writes = BatchWrites::default();
            let results: Vec<_> = commands
                .iter()
                .map(|command| plan(command, &self.view, &mut writes, now))
                .collect();
            let mut unconfirmed: Vec<RowKey> = Vec::new();
            for (command, result) in commands.iter().zip(&results) {
                if !matches!(result, Err(e) if e.is_final()) {
                    continue;
                }
                for key in rows_behind(command, &self.view, now) {
                    if !self.view.is_fresh(&key) && reread.insert(key.clone()) {
                        unconfirmed.push(key);
                    }
                }
            }
            if unconfirmed.is_empty() {
                break (results, writes);
            }
            self.view.evict(&unconfirmed);
            load_missing(conn, &mut self.view, commands, now)?;
        };
        if writes.is_empty() {
            // Nothing to write (pings, refusals): still prove the connection answers.
            conn.batch_execute("SELECT 1")?;
        } else {
            write_batch(conn, &writes)?;
        }
        Ok((results, writes))
    }

    /// The slow path: one command at a time, each in a savepoint, each reading fresh rows.
    fn replay(&mut self, commands: &[&Command]) -> Vec<Result<Outcome, LedgerError>> {
        let clock = self.clock.clone();
        let gate = self.gate.clone();
        let _turn = gate.as_ref().map(|g| FairTurn(Some(g.lock())));
        let conn = match self.connection() {
            Ok(conn) => conn,
            Err(e) => return commands.iter().map(|_| Err(e.clone())).collect(),
        };
        if let Err(e) = db::begin_write(conn) {
            let unavailable = storage_error(&e);
            self.forget_connection();
            return commands.iter().map(|_| Err(unavailable.clone())).collect();
        }
        let mut results = Vec::with_capacity(commands.len());
        let mut connection_lost: Option<LedgerError> = None;
        for command in commands {
            if let Some(e) = &connection_lost {
                results.push(Err(e.clone()));
                continue;
            }
            let mut attempt = 0;
            let result = loop {
                attempt += 1;
                let outcome = conn.transaction::<_, StepError, _>(|conn| {
                    let now = clock.now();
                    // On PostgreSQL another instance may write between our read and our write;
                    // taking the chain head's row lock first makes the fresh read current, so a
                    // replayed command cannot be starved by a busy neighbour. FOR NO KEY UPDATE,
                    // not FOR UPDATE: the key-share lock that every foreign-key check on the
                    // community takes must not wait for it, or a deed event inserted by another
                    // transaction that holds a row we need closes a lock cycle.
                    if let (DbConn::Pg(pg), Some(community)) = (&mut *conn, community_of(command)) {
                        communities::table
                            .filter(communities::id.eq(DbUuid::from(community)))
                            .select(communities::chain_version)
                            .for_no_key_update()
                            .first::<i64>(pg)?;
                    }
                    let mut view = View::default();
                    load_missing(conn, &mut view, &[command], now)?;
                    let mut writes = BatchWrites::default();
                    // A refusal here rests on rows just read; a final one keeps its key.
                    let result = plan(command, &view, &mut writes, now);
                    if !writes.is_empty() {
                        write_batch(conn, &writes)?;
                    }
                    Ok(result)
                });
                match outcome {
                    Ok(result) => break result,
                    Err(StepError::Stale) if attempt < REPLAY_ATTEMPTS_MAX => continue,
                    Err(StepError::Stale) => {
                        break Err(LedgerError::Unavailable(
                            "the ledger is too busy; retry".into(),
                        ))
                    }
                    Err(StepError::Database(e))
                        if another_writer_won(&e) && attempt < REPLAY_ATTEMPTS_MAX =>
                    {
                        continue
                    }
                    Err(StepError::Database(e)) => {
                        if db::is_storage_unavailable(&e) {
                            let unavailable = storage_error(&e);
                            connection_lost = Some(unavailable.clone());
                            break Err(unavailable);
                        }
                        break Err(refusal_for_database_error(&e));
                    }
                }
            };
            results.push(result);
        }
        if connection_lost.is_some() {
            let _ = db::rollback(conn);
            self.forget_connection();
            return results
                .into_iter()
                .map(|r| {
                    r.and(Err(LedgerError::Unavailable(
                        "lost the database connection".into(),
                    )))
                })
                .collect();
        }
        if let Err(e) = db::commit(conn) {
            tracing::error!(error = %e, "commit after replay failed");
            let unavailable = storage_error(&e);
            let _ = db::rollback(conn);
            self.forget_connection();
            return results
                .into_iter()
                .map(|r| r.and(Err(unavailable.clone())))
                .collect();
        }
        // The replay read fresh rows without keeping them; the next batch loads what it needs.
        self.view = View::default();
        results
    }
}

/// The writer's turn at the SQLite gate: handed to a waiting writer when the batch is done, so a
/// handler's write never starves behind a stream of batches.
struct FairTurn<'a>(Option<parking_lot::MutexGuard<'a, ()>>);

impl Drop for FairTurn<'_> {
    fn drop(&mut self) {
        if let Some(guard) = self.0.take() {
            parking_lot::MutexGuard::unlock_fair(guard);
        }
    }
}

fn storage_error(e: &DieselError) -> LedgerError {
    tracing::error!(error = %e, "ledger storage error");
    LedgerError::Unavailable("the database is unavailable".into())
}

/// True when a statement lost a race with another writer (a second instance on PostgreSQL): the
/// command is retried on fresh rows.
fn another_writer_won(e: &DieselError) -> bool {
    match db::violated_constraint(e) {
        Some((DatabaseErrorKind::UniqueViolation, name)) => {
            name.contains("journal_seq_key")
                || name.contains("postings_account_seq_key")
                || name.contains("journal_reference_key")
        }
        Some((DatabaseErrorKind::SerializationFailure, _)) => true,
        Some((_, message)) => message.contains("deadlock"),
        None => false,
    }
}

/// A statement that failed in replay names the guard that refused it.
fn refusal_for_database_error(e: &DieselError) -> LedgerError {
    match db::violated_constraint(e) {
        Some((DatabaseErrorKind::UniqueViolation, name)) if name.contains("idempotency") => {
            LedgerError::IdempotencyKeyTaken
        }
        Some((_, name)) if name.contains("accounts_member_balance_non_negative") => {
            LedgerError::InsufficientBalance {
                member_id: None,
                balance: Points::ZERO,
                required: Points::ZERO,
            }
        }
        _ => {
            tracing::error!(error = %e, "ledger command failed in replay");
            LedgerError::Unavailable("the ledger could not record this command".into())
        }
    }
}
