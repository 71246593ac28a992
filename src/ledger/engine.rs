//! The single writer. Handlers send commands through a bounded queue; one thread takes whatever
//! is queued (up to a batch limit), checks every command against its in-memory view of the rows it
//! touches, writes the whole batch in one transaction with a handful of statements, commits once
//! and then replies to each command. Refusals never reach SQL.
//!
//! The database stays the last guard: every balance and chain-head write is conditional on the
//! version the view saw. If any statement fails or touches an unexpected number of rows, the
//! writer rolls the batch back, forgets its view and replays the batch one command at a time, each
//! in a savepoint, so only the truly bad command fails. It never commits after a failed statement.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tokio::sync::oneshot;

use super::command::{Command, IdempotencyClaim, LedgerError, Outcome, Posted, PostedLine};
use super::{ACCOUNT_KIND_ISSUANCE, ACCOUNT_KIND_MEMBER};
use crate::db::models::{IdempotencyRow, JournalRow, PostingRow};
use crate::db::schema::{accounts, communities, idempotency_keys, journal, postings};
use crate::db::{self, DatabaseUrl, DbConn, DbUuid};
use crate::domain::transaction::ChainLink;
use crate::domain::{
    AccountId, BalancedTransaction, CommunityId, JournalId, MemberId, Points, PostingDraft, UserId,
};
use crate::with_backend;

/// Commands executed in one database transaction at most.
pub const BATCH_COMMANDS_MAX: usize = 256;
/// Commands waiting for the writer at most; beyond this the API answers 503 with Retry-After.
pub const QUEUE_COMMANDS_MAX: usize = 4096;
/// How long a request waits for the writer's answer before answering 503.
pub const REPLY_TIMEOUT_SECONDS: u64 = 30;
/// Rows per multi-row INSERT statement (keeps well under both backends' bind-parameter limits).
const INSERT_ROWS_MAX: usize = 500;
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
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            batch_commands_max: BATCH_COMMANDS_MAX,
            queue_commands_max: QUEUE_COMMANDS_MAX,
        }
    }
}

struct Job {
    command: Command,
    reply: oneshot::Sender<Result<Outcome, LedgerError>>,
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
        let writer = Writer {
            url,
            conn: None,
            view: View::default(),
            batch_commands_max: settings.batch_commands_max.clamp(1, BATCH_COMMANDS_MAX),
            batches_on_connection: 0,
            stats: stats.clone(),
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
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send(Job { command, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(LedgerError::QueueFull),
            Err(TrySendError::Disconnected(_)) => {
                return Err(LedgerError::Unavailable(
                    "the ledger writer has stopped".into(),
                ))
            }
        }
        match tokio::time::timeout(Duration::from_secs(REPLY_TIMEOUT_SECONDS), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(LedgerError::Unavailable(
                "the ledger writer dropped the command".into(),
            )),
            Err(_) => Err(LedgerError::Unavailable(
                "the ledger writer did not answer in time".into(),
            )),
        }
    }
}

/// What the writer believes about the rows it has touched. Valid only while no one else writes
/// them; a version mismatch at write time proves otherwise and the view is dropped.
#[derive(Debug, Default, Clone)]
struct View {
    accounts: HashMap<AccountId, AccountState>,
    communities: HashMap<CommunityId, CommunityState>,
}

#[derive(Debug, Clone)]
struct AccountState {
    community_id: CommunityId,
    kind: String,
    member_id: Option<MemberId>,
    frozen: bool,
    balance: i64,
    last_seq: i64,
    version: i64,
}

#[derive(Debug, Clone)]
struct CommunityState {
    chain_seq: i64,
    chain_hash: String,
    chain_version: i64,
    issuance_account: Option<AccountId>,
}

/// The rows one batch will write, and the versions its conditional updates expect.
#[derive(Default)]
struct BatchWrites {
    journal: Vec<JournalRow>,
    postings: Vec<PostingRow>,
    idempotency: Vec<IdempotencyRow>,
    /// Account → (version the view saw, new state).
    accounts: HashMap<AccountId, (i64, AccountState)>,
    /// Community → (chain version the view saw, new state).
    communities: HashMap<CommunityId, (i64, CommunityState)>,
    claimed_keys: HashSet<(UserId, String)>,
}

impl BatchWrites {
    fn account(&self, view: &View, id: AccountId) -> Option<AccountState> {
        self.accounts
            .get(&id)
            .map(|(_, s)| s.clone())
            .or_else(|| view.accounts.get(&id).cloned())
    }

    fn community(&self, view: &View, id: CommunityId) -> Option<CommunityState> {
        self.communities
            .get(&id)
            .map(|(_, s)| s.clone())
            .or_else(|| view.communities.get(&id).cloned())
    }

    fn is_empty(&self) -> bool {
        self.journal.is_empty()
    }
}

/// One journal transaction a command wants written.
struct Draft {
    community_id: CommunityId,
    kind: &'static str,
    reference_id: Option<uuid::Uuid>,
    memo: String,
    actor_id: Option<UserId>,
    transaction: BalancedTransaction,
    idempotency: Option<IdempotencyClaim>,
}

enum StepError {
    Refused(LedgerError),
    Database(DieselError),
    /// A conditional write found another version: someone else wrote the row.
    Stale,
}

impl From<DieselError> for StepError {
    fn from(e: DieselError) -> Self {
        StepError::Database(e)
    }
}

struct Writer {
    url: DatabaseUrl,
    conn: Option<DbConn>,
    view: View,
    batch_commands_max: usize,
    batches_on_connection: u64,
    stats: Arc<EngineStats>,
}

impl Writer {
    fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = vec![first];
            while batch.len() < self.batch_commands_max {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let results = self.execute_batch(&batch);
            debug_assert_eq!(results.len(), batch.len());
            for (job, result) in batch.into_iter().zip(results) {
                // The requester may have gone away (timeout, client disconnect); the effect stands.
                let _ = job.reply.send(result);
            }
        }
        tracing::info!("ledger writer stopped: every handle is gone");
    }

    fn connection(&mut self) -> Result<&mut DbConn, LedgerError> {
        if self.batches_on_connection >= WRITER_CONNECTION_BATCHES_MAX {
            self.conn = None;
            self.batches_on_connection = 0;
        }
        if self.conn.is_none() {
            let conn = self.url.connect().map_err(|e| {
                tracing::error!(error = %e, "ledger writer cannot connect to the database");
                LedgerError::Unavailable("the database is unreachable".into())
            })?;
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

    fn execute_batch(&mut self, batch: &[Job]) -> Vec<Result<Outcome, LedgerError>> {
        let started = Instant::now();
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .commands
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let commands: Vec<&Command> = batch.iter().map(|j| &j.command).collect();
        let results = match self.try_group(&commands) {
            Ok(results) => results,
            Err(error) => {
                if let StepError::Database(e) = &error {
                    tracing::warn!(error = %e, "batch failed; replaying one command at a time");
                } else {
                    tracing::info!("batch met a row another writer changed; replaying");
                }
                self.stats.replays.fetch_add(1, Ordering::Relaxed);
                self.view = View::default();
                self.replay(&commands)
            }
        };
        tracing::debug!(
            commands = batch.len(),
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
                    for (id, (seen_version, mut state)) in writes.accounts {
                        state.version = seen_version + 1;
                        self.view.accounts.insert(id, state);
                    }
                    for (id, (seen_version, mut state)) in writes.communities {
                        state.chain_version = seen_version + 1;
                        self.view.communities.insert(id, state);
                    }
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
                    if db::is_connection_error(e) {
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
        load_missing(conn, &mut self.view, commands)?;
        let now = db::now_utc();
        let mut writes = BatchWrites::default();
        let mut results = Vec::with_capacity(commands.len());
        let mut has_ping = false;
        for command in commands {
            let result = match command {
                Command::Ping => {
                    has_ping = true;
                    Ok(Outcome::Pong)
                }
                _ => draft_for(command, &self.view, &writes)
                    .and_then(|draft| apply_draft(draft, &self.view, &mut writes, now))
                    .map(Outcome::Posted),
            };
            results.push(result);
        }
        if writes.is_empty() {
            if has_ping {
                conn.batch_execute("SELECT 1")?;
            }
        } else {
            write_rows(conn, &writes)?;
        }
        Ok((results, writes))
    }

    /// The slow path: one command at a time, each in a savepoint, each reading fresh rows.
    fn replay(&mut self, commands: &[&Command]) -> Vec<Result<Outcome, LedgerError>> {
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
                    let mut view = View::default();
                    load_missing(conn, &mut view, &[command])?;
                    let mut writes = BatchWrites::default();
                    let outcome = match command {
                        Command::Ping => Outcome::Pong,
                        _ => {
                            let draft =
                                draft_for(command, &view, &writes).map_err(StepError::Refused)?;
                            let posted = apply_draft(draft, &view, &mut writes, db::now_utc())
                                .map_err(StepError::Refused)?;
                            write_rows(conn, &writes)?;
                            Outcome::Posted(posted)
                        }
                    };
                    Ok(outcome)
                });
                match outcome {
                    Ok(outcome) => break Ok(outcome),
                    Err(StepError::Refused(e)) => break Err(e),
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
                        if db::is_connection_error(&e) {
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

fn storage_error(e: &DieselError) -> LedgerError {
    tracing::error!(error = %e, "ledger storage error");
    LedgerError::Unavailable("the database is unavailable".into())
}

/// True when a statement lost a race with another writer (a second instance on PostgreSQL): the
/// command is retried on fresh rows.
fn another_writer_won(e: &DieselError) -> bool {
    match db::violated_constraint(e) {
        Some((DatabaseErrorKind::UniqueViolation, name)) => {
            name.contains("journal_seq_key") || name.contains("postings_account_seq_key")
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

fn accounts_of(command: &Command) -> Vec<AccountId> {
    match command {
        Command::Adjust {
            member_account_id, ..
        } => vec![*member_account_id],
        Command::Ping => vec![],
    }
}

fn communities_of(command: &Command) -> Vec<CommunityId> {
    match command {
        Command::Adjust { community_id, .. } => vec![*community_id],
        Command::Ping => vec![],
    }
}

/// Loads into the view the accounts and community chain heads the commands need and it lacks:
/// one query for accounts, one for communities and their system accounts.
fn load_missing(conn: &mut DbConn, view: &mut View, commands: &[&Command]) -> QueryResult<()> {
    let mut community_ids: Vec<DbUuid> = Vec::new();
    for command in commands {
        for id in communities_of(command) {
            if !view.communities.contains_key(&id) && !community_ids.contains(&id.into()) {
                community_ids.push(id.into());
            }
        }
    }
    if !community_ids.is_empty() {
        let heads: Vec<(DbUuid, i64, String, i64)> = communities::table
            .filter(communities::id.eq_any(&community_ids))
            .select((
                communities::id,
                communities::chain_seq,
                communities::chain_hash,
                communities::chain_version,
            ))
            .load(conn)?;
        let system: Vec<(DbUuid, DbUuid, String)> = accounts::table
            .filter(accounts::community_id.eq_any(&community_ids))
            .filter(accounts::kind.eq(ACCOUNT_KIND_ISSUANCE))
            .select((accounts::id, accounts::community_id, accounts::kind))
            .load(conn)?;
        for (id, chain_seq, chain_hash, chain_version) in heads {
            let issuance_account = system
                .iter()
                .find(|(_, community, _)| *community == id)
                .map(|(account, _, _)| AccountId::from(*account));
            view.communities.insert(
                id.into(),
                CommunityState {
                    chain_seq,
                    chain_hash,
                    chain_version,
                    issuance_account,
                },
            );
        }
    }
    let mut account_ids: Vec<DbUuid> = Vec::new();
    for command in commands {
        let mut wanted = accounts_of(command);
        for community in communities_of(command) {
            if let Some(issuance) = view
                .communities
                .get(&community)
                .and_then(|c| c.issuance_account)
            {
                wanted.push(issuance);
            }
        }
        for id in wanted {
            if !view.accounts.contains_key(&id) && !account_ids.contains(&id.into()) {
                account_ids.push(id.into());
            }
        }
    }
    if !account_ids.is_empty() {
        let rows: Vec<crate::db::models::AccountRow> = accounts::table
            .filter(accounts::id.eq_any(&account_ids))
            .select(crate::db::models::AccountRow::as_select())
            .load(conn)?;
        for row in rows {
            view.accounts.insert(
                row.id.into(),
                AccountState {
                    community_id: row.community_id.into(),
                    kind: row.kind,
                    member_id: row.member_id.map(Into::into),
                    frozen: row.status != "active",
                    balance: row.balance,
                    last_seq: row.last_seq,
                    version: row.version,
                },
            );
        }
    }
    Ok(())
}

/// Turns a command into the journal transaction it wants, checked against the current state.
fn draft_for(command: &Command, view: &View, writes: &BatchWrites) -> Result<Draft, LedgerError> {
    match command {
        Command::Adjust {
            community_id,
            member_account_id,
            kind,
            amount,
            reason,
            actor_id,
            idempotency,
        } => {
            let member = writes
                .account(view, *member_account_id)
                .filter(|a| a.community_id == *community_id)
                .ok_or(LedgerError::AccountNotFound(*member_account_id))?;
            if member.kind != ACCOUNT_KIND_MEMBER {
                return Err(LedgerError::NotAMemberAccount(*member_account_id));
            }
            let issuance = writes
                .community(view, *community_id)
                .and_then(|c| c.issuance_account)
                .ok_or_else(|| {
                    LedgerError::Unavailable("the community has no issuance account".into())
                })?;
            let transaction = BalancedTransaction::new(vec![
                PostingDraft {
                    account_id: *member_account_id,
                    amount: *amount,
                },
                PostingDraft {
                    account_id: issuance,
                    amount: -*amount,
                },
            ])
            .map_err(|e| {
                // Commands are validated before they reach the writer; this is a programmer error.
                tracing::error!(error = %e, "adjustment did not balance");
                LedgerError::Unavailable("the adjustment could not be balanced".into())
            })?;
            Ok(Draft {
                community_id: *community_id,
                kind: kind.as_str(),
                reference_id: None,
                memo: reason.clone(),
                actor_id: Some(*actor_id),
                transaction,
                idempotency: Some(idempotency.clone()),
            })
        }
        Command::Ping => Err(LedgerError::Unavailable("a ping has no draft".into())),
    }
}

/// Checks a draft against the batch's state (balances, freezes, claimed keys) and, when it
/// passes, appends its rows to the batch. Either every effect is applied or none.
fn apply_draft(
    draft: Draft,
    view: &View,
    writes: &mut BatchWrites,
    now: chrono::NaiveDateTime,
) -> Result<Posted, LedgerError> {
    if let Some(claim) = &draft.idempotency {
        if writes
            .claimed_keys
            .contains(&(claim.user_id, claim.key.clone()))
        {
            return Err(LedgerError::IdempotencyKeyTaken);
        }
    }
    let community = writes
        .community(view, draft.community_id)
        .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
    // First every check, with nothing changed.
    let mut next_states = Vec::with_capacity(draft.transaction.postings().len());
    for posting in draft.transaction.postings() {
        let state = writes
            .account(view, posting.account_id)
            .filter(|a| a.community_id == draft.community_id)
            .ok_or(LedgerError::AccountNotFound(posting.account_id))?;
        if state.frozen {
            return Err(LedgerError::AccountFrozen(posting.account_id));
        }
        let balance_after = state
            .balance
            .checked_add(posting.amount.hundredths())
            .ok_or_else(|| LedgerError::Unavailable("balance overflow".into()))?;
        if state.kind == ACCOUNT_KIND_MEMBER && balance_after < 0 {
            return Err(LedgerError::InsufficientBalance {
                member_id: state.member_id,
                balance: Points::from_hundredths(state.balance),
                required: -posting.amount,
            });
        }
        next_states.push((posting.account_id, state, balance_after));
    }
    // Then every effect.
    let journal_id = JournalId::new();
    let seq = community.chain_seq + 1;
    let mut lines = Vec::with_capacity(next_states.len());
    let mut chain_postings = Vec::with_capacity(next_states.len());
    for ((account_id, state, balance_after), posting) in
        next_states.into_iter().zip(draft.transaction.postings())
    {
        let original_version = writes
            .accounts
            .get(&account_id)
            .map(|(v, _)| *v)
            .unwrap_or(state.version);
        let mut next = state.clone();
        next.balance = balance_after;
        next.last_seq = state.last_seq + 1;
        assert_eq!(
            next.balance,
            state.balance + posting.amount.hundredths(),
            "new balance equals old plus amount"
        );
        assert!(
            next.kind != ACCOUNT_KIND_MEMBER || next.balance >= 0,
            "a member balance never goes negative"
        );
        writes.postings.push(PostingRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            journal_id: journal_id.into(),
            community_id: draft.community_id.into(),
            account_id: account_id.into(),
            account_seq: next.last_seq,
            amount: posting.amount.hundredths(),
            balance_after,
            posted_at: now,
        });
        chain_postings.push((
            account_id,
            next.last_seq,
            posting.amount.hundredths(),
            balance_after,
        ));
        lines.push(PostedLine {
            account_id,
            amount: posting.amount,
            balance_after: Points::from_hundredths(balance_after),
        });
        writes.accounts.insert(account_id, (original_version, next));
    }
    let hash = ChainLink {
        prev_hash: &community.chain_hash,
        community_id: draft.community_id,
        seq,
        journal_id,
        kind: draft.kind,
        reference_id: draft.reference_id,
        memo: &draft.memo,
        actor_id: draft.actor_id,
        created_at_micros: db::time_to_micros(now),
        postings: chain_postings,
    }
    .hash();
    writes.journal.push(JournalRow {
        id: journal_id.into(),
        community_id: draft.community_id.into(),
        seq,
        kind: draft.kind.to_string(),
        reference_id: draft.reference_id.map(DbUuid),
        memo: draft.memo,
        actor_id: draft.actor_id.map(Into::into),
        created_at: now,
        prev_hash: community.chain_hash.clone(),
        hash: hash.clone(),
    });
    if let Some(claim) = draft.idempotency {
        writes
            .claimed_keys
            .insert((claim.user_id, claim.key.clone()));
        writes.idempotency.push(IdempotencyRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            community_id: draft.community_id.into(),
            user_id: claim.user_id.into(),
            idem_key: claim.key,
            request_hash: claim.request_hash,
            journal_id: journal_id.into(),
            created_at: now,
        });
    }
    let original_chain_version = writes
        .communities
        .get(&draft.community_id)
        .map(|(v, _)| *v)
        .unwrap_or(community.chain_version);
    let mut next_community = community;
    next_community.chain_seq = seq;
    next_community.chain_hash = hash;
    writes
        .communities
        .insert(draft.community_id, (original_chain_version, next_community));
    Ok(Posted {
        journal_id,
        seq,
        lines,
        created_at: now,
    })
}

/// Writes a batch: one conditional update per community chain head and per touched account, then
/// multi-row inserts. Any unexpected row count means someone else wrote: `Stale`.
fn write_rows(conn: &mut DbConn, writes: &BatchWrites) -> Result<(), StepError> {
    // The chain head first: it serialises writers of one community, so no writer holds account
    // rows while it waits for another, and a stale view is found before anything else is written.
    let mut heads: Vec<_> = writes.communities.iter().collect();
    heads.sort_by_key(|(id, _)| **id);
    for (id, (seen_version, state)) in heads {
        let updated = diesel::update(
            communities::table
                .filter(communities::id.eq(DbUuid::from(*id)))
                .filter(communities::chain_version.eq(*seen_version)),
        )
        .set((
            communities::chain_seq.eq(state.chain_seq),
            communities::chain_hash.eq(&state.chain_hash),
            communities::chain_version.eq(seen_version + 1),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(StepError::Stale);
        }
    }
    for chunk in writes.journal.chunks(INSERT_ROWS_MAX) {
        let inserted = with_backend!(&mut *conn, |c| diesel::insert_into(journal::table)
            .values(chunk)
            .execute(c))?;
        if inserted != chunk.len() {
            return Err(StepError::Stale);
        }
    }
    for chunk in writes.postings.chunks(INSERT_ROWS_MAX) {
        let inserted = with_backend!(&mut *conn, |c| diesel::insert_into(postings::table)
            .values(chunk)
            .execute(c))?;
        if inserted != chunk.len() {
            return Err(StepError::Stale);
        }
    }
    for chunk in writes.idempotency.chunks(INSERT_ROWS_MAX) {
        let inserted = with_backend!(&mut *conn, |c| diesel::insert_into(idempotency_keys::table)
            .values(chunk)
            .execute(c))?;
        if inserted != chunk.len() {
            return Err(StepError::Stale);
        }
    }
    // A fixed order, so two writers on one PostgreSQL never wait on each other in a cycle.
    let mut touched: Vec<_> = writes.accounts.iter().collect();
    touched.sort_by_key(|(id, _)| **id);
    for (id, (seen_version, state)) in touched {
        let updated = diesel::update(
            accounts::table
                .filter(accounts::id.eq(DbUuid::from(*id)))
                .filter(accounts::version.eq(*seen_version)),
        )
        .set((
            accounts::balance.eq(state.balance),
            accounts::last_seq.eq(state.last_seq),
            accounts::version.eq(seen_version + 1),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(StepError::Stale);
        }
    }
    Ok(())
}
