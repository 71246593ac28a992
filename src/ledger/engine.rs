//! The single writer's handle. Handlers send commands through a bounded queue; one thread takes
//! whatever is queued (up to a batch limit), checks every command against its in-memory view of
//! the rows it touches, writes the whole batch in one transaction with a handful of statements,
//! commits once and then replies to each command (see `writer`).
//!
//! The engine knows no business concept. What a command is, what it reads and how it is planned is
//! the [`Machine`]'s: the composition of the concepts' commands (`crate::commands`).

use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::QueryResult;
use tokio::sync::oneshot;

use super::batch::{Batch, IdSource};
use super::command::{IdempotencyClaim, LedgerError};
use super::store::TableWrite;
use super::view::View;
use super::writer::Writer;
use crate::db::{self, DatabaseUrl, DbConn};
use crate::kernel::{Clock, CommunityId};

/// Commands executed in one database transaction at most.
pub const BATCH_COMMANDS_MAX: usize = 256;
/// Commands waiting for the writer at most; beyond this the API answers 503 with Retry-After.
pub const QUEUE_COMMANDS_MAX: usize = 4096;
/// How long a request waits for the writer's answer before answering 503.
pub const REPLY_TIMEOUT_SECONDS: u64 = 30;

/// What the writer runs: the commands of every concept, their part of the view, their planning.
///
/// A batch goes: `start_batch`, `load` (what the commands need and the view lacks), `plan` of
/// every command in order against the view and the batch so far, `unconfirmed` for each refusal
/// (rows it rests on that were not read in this transaction; they are `reread` and the batch
/// planned again), `finish` (the concepts' changed rows into the batch), write, commit, `adopt`.
pub trait Machine: Send + 'static {
    type Command: Send + Sync + fmt::Debug + 'static;
    type Outcome: Send + fmt::Debug + 'static;
    /// The concepts' changes to their own rows, built while a batch is planned.
    type Pending: Default;
    /// A row of the view a refusal may rest on.
    type Key: Clone + Eq + Hash + fmt::Debug;

    /// Every table a batch may write, in the order they are written (referenced rows first).
    fn tables() -> &'static [&'static TableWrite];
    fn community(command: &Self::Command) -> Option<CommunityId>;
    /// The idempotency key a command claims, if any: a final refusal is kept as its answer.
    fn idempotency(command: &Self::Command) -> Option<&IdempotencyClaim>;

    fn view(&self) -> &View;
    fn start_batch(&mut self);
    fn load(
        &mut self,
        conn: &mut DbConn,
        commands: &[&Self::Command],
        now: NaiveDateTime,
    ) -> QueryResult<()>;
    fn plan(
        &self,
        command: &Self::Command,
        batch: &mut Batch,
        pending: &mut Self::Pending,
        now: NaiveDateTime,
    ) -> Result<Self::Outcome, LedgerError>;
    /// The rows a refusal of `command` rests on that were not read in this transaction.
    fn unconfirmed(&self, command: &Self::Command, now: NaiveDateTime) -> Vec<Self::Key>;
    /// Forgets these rows so the next `load` reads them again.
    fn reread(&mut self, keys: &[Self::Key]);
    /// Adds the concepts' changed rows to the batch before it is written.
    fn finish(&self, pending: &Self::Pending, batch: &mut Batch);
    /// Takes the batch's committed states into the view.
    fn adopt(&mut self, batch: Batch, pending: Self::Pending);
    /// Forgets the whole view (after a failure, or when another writer may have written).
    fn forget(&mut self);
}

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// 1 forces one command per transaction (to measure what group commit buys).
    pub batch_commands_max: usize,
    pub queue_commands_max: usize,
    /// The time stamped on transactions; tests move it to land lines on a day's edge.
    pub clock: Clock,
    pub ids: IdSource,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            batch_commands_max: BATCH_COMMANDS_MAX,
            queue_commands_max: QUEUE_COMMANDS_MAX,
            clock: Clock::default(),
            ids: IdSource::default(),
        }
    }
}

/// The answers to one job's commands, in order.
pub(super) type Answers<M> = Vec<Result<<M as Machine>::Outcome, LedgerError>>;

/// One request's commands (usually one; a bulk approval sends many) and where to answer.
pub(super) struct Job<M: Machine> {
    pub commands: Vec<M::Command>,
    pub reply: oneshot::Sender<Answers<M>>,
}

/// The handle handlers use. Cloning is cheap; the writer stops when every handle is gone.
pub struct Engine<M: Machine> {
    queue: SyncSender<Job<M>>,
    stats: Arc<EngineStats>,
}

impl<M: Machine> Clone for Engine<M> {
    fn clone(&self) -> Self {
        Engine {
            queue: self.queue.clone(),
            stats: self.stats.clone(),
        }
    }
}

#[derive(Debug, Default)]
pub struct EngineStats {
    pub batches: AtomicU64,
    pub commands: AtomicU64,
    pub replays: AtomicU64,
}

impl<M: Machine> Engine<M> {
    /// Starts the writer thread with its own connection to `url`.
    pub fn start(
        url: DatabaseUrl,
        machine: M,
        settings: EngineSettings,
    ) -> std::io::Result<(Engine<M>, std::thread::JoinHandle<()>)> {
        let (queue, jobs) = mpsc::sync_channel(settings.queue_commands_max.max(1));
        let stats = Arc::new(EngineStats::default());
        let stopped = Arc::new(AtomicBool::new(false));
        if url.kind() == db::BackendKind::Sqlite {
            super::checkpoint::spawn(url.clone(), stopped.clone())?;
        }
        let writer = Writer::new(url, machine, settings, stats.clone(), stopped);
        let handle = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer.run(jobs))?;
        Ok((Engine { queue, stats }, handle))
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Queues a command and waits for the writer's answer, which comes after commit.
    pub async fn execute(&self, command: M::Command) -> Result<M::Outcome, LedgerError> {
        self.execute_many(vec![command])
            .await
            .and_then(|mut results| {
                results.pop().unwrap_or_else(|| {
                    Err(LedgerError::Unavailable("the writer gave no answer".into()))
                })
            })
    }

    /// Queues commands that must share one batch (one database transaction) and answers each.
    pub async fn execute_many(&self, commands: Vec<M::Command>) -> Result<Answers<M>, LedgerError> {
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
