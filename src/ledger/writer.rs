//! The writer thread: group commit over a machine's commands.
//!
//! The database stays the last guard: every balance, stock and chain-head write is conditional on
//! the version the view saw. If any statement fails or touches an unexpected number of rows, the
//! writer rolls the batch back, forgets its view and replays the batch one command at a time,
//! each in a savepoint, so only the truly bad command fails. It never commits after a failed
//! statement.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::batch::{Batch, IdSource};
use super::command::LedgerError;
use super::engine::{Answers, EngineSettings, EngineStats, Job, Machine};
use super::store::{self, WriteError};
use crate::db::schema::communities;
use crate::db::{self, DatabaseUrl, DbConn, DbUuid};
use crate::kernel::{Clock, Points};

/// Times one command is retried in replay when another writer moved a row it read.
const REPLAY_ATTEMPTS_MAX: usize = 8;
/// The writer's connection is replaced after this many batches, so plans cached while the tables
/// were tiny do not live for ever.
const WRITER_CONNECTION_BATCHES_MAX: u64 = 50_000;

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

/// A batch planned and written, waiting for its commit.
struct Planned<M: Machine> {
    results: Answers<M>,
    batch: Batch,
    pending: M::Pending,
}

pub(super) struct Writer<M: Machine> {
    /// SQLite: every writer of the file in this process queues here first (see
    /// `db::sqlite_write_gate`); the writer hands the gate over fairly after each batch.
    gate: Option<Arc<parking_lot::Mutex<()>>>,
    url: DatabaseUrl,
    /// SQLite: the checkpointer thread checkpoints, not this connection's commits.
    checkpoints_elsewhere: bool,
    /// Set when the writer stops, so the checkpointer stops too.
    stopped: Arc<AtomicBool>,
    conn: Option<DbConn>,
    machine: M,
    batch_commands_max: usize,
    batches_on_connection: u64,
    stats: Arc<EngineStats>,
    clock: Clock,
    ids: IdSource,
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

fn take_turn(gate: &Option<Arc<parking_lot::Mutex<()>>>) -> FairTurn<'_> {
    FairTurn(gate.as_ref().map(|g| g.lock()))
}

impl<M: Machine> Writer<M> {
    pub(super) fn new(
        url: DatabaseUrl,
        machine: M,
        settings: EngineSettings,
        stats: Arc<EngineStats>,
        stopped: Arc<AtomicBool>,
    ) -> Writer<M> {
        let sqlite = url.kind() == db::BackendKind::Sqlite;
        Writer {
            gate: url.sqlite_path().map(db::sqlite_write_gate),
            url,
            checkpoints_elsewhere: sqlite,
            stopped,
            conn: None,
            machine,
            batch_commands_max: settings
                .batch_commands_max
                .clamp(1, super::engine::BATCH_COMMANDS_MAX),
            batches_on_connection: 0,
            stats,
            clock: settings.clock,
            ids: settings.ids,
        }
    }

    pub(super) fn run(mut self, jobs: Receiver<Job<M>>) {
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
            let commands: Vec<&M::Command> = batch.iter().flat_map(|j| j.commands.iter()).collect();
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
            self.machine.forget();
        }
        self.batches_on_connection += 1;
        self.conn
            .as_mut()
            .ok_or_else(|| LedgerError::Unavailable("no database connection".into()))
    }

    fn forget_connection(&mut self) {
        self.conn = None;
        self.machine.forget();
    }

    fn execute_batch(&mut self, commands: &[&M::Command]) -> Answers<M> {
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
                self.machine.forget();
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
    fn try_group(&mut self, commands: &[&M::Command]) -> Result<Answers<M>, StepError> {
        let gate = self.gate.clone();
        let _turn = take_turn(&gate);
        if let Err(e) = self
            .connection()
            .and_then(|conn| db::begin_write(conn).map_err(|e| storage_error(&e)))
        {
            self.forget_connection();
            return Ok(commands.iter().map(|_| Err(e.clone())).collect());
        }
        let planned = self.plan_and_write(commands);
        let Some(conn) = self.conn.as_mut() else {
            let e = LedgerError::Unavailable("lost the database connection".into());
            return Ok(commands.iter().map(|_| Err(e.clone())).collect());
        };
        match planned {
            Ok(planned) => match db::commit(conn) {
                Ok(()) => {
                    self.machine.adopt(planned.batch, planned.pending);
                    Ok(planned.results)
                }
                Err(e) => {
                    // The outcome of a failed COMMIT is not known to us; the callers hear 503 and
                    // retry with their idempotency keys, which makes the retry safe.
                    tracing::error!(error = %e, "commit failed");
                    let unavailable = storage_error(&e);
                    let _ = db::rollback(conn);
                    self.forget_connection();
                    Ok(planned
                        .results
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
    fn plan_and_write(&mut self, commands: &[&M::Command]) -> Result<Planned<M>, StepError> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(StepError::Database(DieselError::BrokenTransactionManager));
        };
        let now = self.clock.now();
        self.machine.start_batch();
        self.machine.load(conn, commands, now)?;
        // The view may speed up an acceptance (a version guard catches a stale one at write
        // time) but never decides a refusal alone: a refusal resting on a row this transaction
        // did not read is planned again on that row read afresh.
        let mut reread: HashSet<M::Key> = HashSet::new();
        let mut planned = loop {
            let planned = plan_all(&self.machine, commands, now, self.ids.clone());
            let mut unconfirmed = Vec::new();
            for (command, result) in commands.iter().zip(&planned.results) {
                if matches!(result, Err(e) if e.is_final()) {
                    for key in self.machine.unconfirmed(command, now) {
                        if reread.insert(key.clone()) {
                            unconfirmed.push(key);
                        }
                    }
                }
            }
            if unconfirmed.is_empty() {
                break planned;
            }
            self.machine.reread(&unconfirmed);
            self.machine.load(conn, commands, now)?;
        };
        self.ids = planned.batch.ids.clone();
        prepare(&self.machine, &mut planned);
        if planned.batch.is_empty() {
            // Nothing to write (pings, refusals): still prove the connection answers.
            conn.batch_execute("SELECT 1")?;
        } else {
            write(conn, &planned.batch)?;
        }
        Ok(planned)
    }

    /// The slow path: one command at a time, each in a savepoint, each reading fresh rows.
    fn replay(&mut self, commands: &[&M::Command]) -> Answers<M> {
        let gate = self.gate.clone();
        let _turn = take_turn(&gate);
        if let Err(e) = self
            .connection()
            .and_then(|conn| db::begin_write(conn).map_err(|e| storage_error(&e)))
        {
            self.forget_connection();
            return commands.iter().map(|_| Err(e.clone())).collect();
        }
        let mut results = Vec::with_capacity(commands.len());
        let mut connection_lost: Option<LedgerError> = None;
        for command in commands {
            if let Some(e) = &connection_lost {
                results.push(Err(e.clone()));
                continue;
            }
            let result = self.replay_one(command);
            if let Err(LedgerError::Unavailable(_)) = &result {
                if self.conn.is_none() {
                    connection_lost = Some(LedgerError::Unavailable(
                        "lost the database connection".into(),
                    ));
                }
            }
            results.push(result);
        }
        self.finish_replay(results, connection_lost.is_some())
    }

    /// Commits (or, after a lost connection, abandons) a replayed batch.
    fn finish_replay(&mut self, results: Answers<M>, lost: bool) -> Answers<M> {
        let Some(conn) = self.conn.as_mut() else {
            return fail_all(results, "lost the database connection");
        };
        if lost {
            let _ = db::rollback(conn);
            self.forget_connection();
            return fail_all(results, "lost the database connection");
        }
        if let Err(e) = db::commit(conn) {
            tracing::error!(error = %e, "commit after replay failed");
            let _ = db::rollback(conn);
            self.forget_connection();
            return fail_all(results, "the database is unavailable");
        }
        // The replay read fresh rows without keeping them; the next batch loads what it needs.
        self.machine.forget();
        results
    }

    /// One command in its own savepoint, retried while another writer wins the race.
    fn replay_one(&mut self, command: &M::Command) -> Result<M::Outcome, LedgerError> {
        let now = self.clock.now();
        for attempt in 1..=REPLAY_ATTEMPTS_MAX {
            let Some(conn) = self.conn.as_mut() else {
                return Err(LedgerError::Unavailable("no database connection".into()));
            };
            let machine = &mut self.machine;
            let ids = &mut self.ids;
            let outcome = conn.transaction::<_, StepError, _>(|conn| {
                lock_head(conn, M::community(command))?;
                machine.forget();
                machine.start_batch();
                machine.load(conn, &[command], now)?;
                let mut planned = plan_all(machine, &[command], now, ids.clone());
                *ids = planned.batch.ids.clone();
                // A refusal here rests on rows just read; a final one keeps its key.
                prepare(machine, &mut planned);
                if !planned.batch.is_empty() {
                    write(conn, &planned.batch)?;
                }
                Ok(planned.results.pop())
            });
            let last = attempt == REPLAY_ATTEMPTS_MAX;
            match outcome {
                Ok(Some(result)) => return result,
                Ok(None) => return Err(LedgerError::Unavailable("no answer".into())),
                Err(StepError::Stale) if !last => continue,
                Err(StepError::Stale) => {
                    return Err(LedgerError::Unavailable(
                        "the ledger is too busy; retry".into(),
                    ))
                }
                Err(StepError::Database(e)) if another_writer_won(&e) && !last => continue,
                Err(StepError::Database(e)) => {
                    if db::is_storage_unavailable(&e) {
                        let unavailable = storage_error(&e);
                        self.forget_connection();
                        return Err(unavailable);
                    }
                    return Err(refusal_for_database_error(&e));
                }
            }
        }
        Err(LedgerError::Unavailable(
            "the ledger is too busy; retry".into(),
        ))
    }
}

/// Plans every command in order into a new batch; a final refusal of a keyed command keeps its key.
fn plan_all<M: Machine>(
    machine: &M,
    commands: &[&M::Command],
    now: NaiveDateTime,
    ids: IdSource,
) -> Planned<M> {
    let mut batch = Batch::new(M::tables(), ids);
    let mut pending = M::Pending::default();
    let results = commands
        .iter()
        .map(|command| {
            let result = idempotent_plan(machine, command, &mut batch, &mut pending, now);
            if let (Err(refusal), Some(claim), Some(community)) =
                (&result, M::idempotency(command), M::community(command))
            {
                if refusal.is_final() {
                    batch.record_refusal(community, claim, refusal, now);
                }
            }
            result
        })
        .collect();
    Planned {
        results,
        batch,
        pending,
    }
}

/// A key already used answers its first answer, whatever the ledger looks like now; otherwise the
/// machine plans the command.
fn idempotent_plan<M: Machine>(
    machine: &M,
    command: &M::Command,
    batch: &mut Batch,
    pending: &mut M::Pending,
    now: NaiveDateTime,
) -> Result<M::Outcome, LedgerError> {
    if let Some(claim) = M::idempotency(command) {
        // Stored by an earlier batch (or another instance), or claimed earlier in this one.
        let key = (claim.user_id, claim.key.clone());
        if machine.view().stored_keys.contains(&key) || batch.claimed_keys.contains(&key) {
            return Err(LedgerError::IdempotencyKeyTaken);
        }
    }
    machine.plan(command, batch, pending, now)
}

/// Turns the planned changes into rows: the concepts' own, then the accounts'.
fn prepare<M: Machine>(machine: &M, planned: &mut Planned<M>) {
    machine.finish(&planned.pending, &mut planned.batch);
    planned.batch.push_account_updates();
}

/// Writes a prepared batch: the chain heads first, then every row in one go.
fn write(conn: &mut DbConn, batch: &Batch) -> Result<(), StepError> {
    store::write(conn, &batch.head_rows(), &batch.rows)?;
    Ok(())
}

/// On PostgreSQL another instance may write between our read and our write; taking the chain
/// head's row lock first makes the fresh read current, so a replayed command cannot be starved by
/// a busy neighbour. FOR NO KEY UPDATE, not FOR UPDATE: the key-share lock that every foreign-key
/// check on the community takes must not wait for it, or a deed event inserted by another
/// transaction that holds a row we need closes a lock cycle.
fn lock_head(
    conn: &mut DbConn,
    community: Option<crate::kernel::CommunityId>,
) -> Result<(), StepError> {
    if let (DbConn::Pg(pg), Some(community)) = (conn, community) {
        communities::table
            .filter(communities::id.eq(DbUuid::from(community)))
            .select(communities::chain_version)
            .for_no_key_update()
            .first::<i64>(pg)?;
    }
    Ok(())
}

fn fail_all<T>(results: Vec<Result<T, LedgerError>>, why: &str) -> Vec<Result<T, LedgerError>> {
    results
        .into_iter()
        .map(|r| r.and(Err(LedgerError::Unavailable(why.into()))))
        .collect()
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
        Some((_, name))
            if name.contains("accounts_member_balance_non_negative")
                || name.contains("accounts_held_balance_non_negative") =>
        {
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
