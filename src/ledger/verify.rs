//! Verification for the auditor who trusts nothing: recompute the hash chain, the zero sum of
//! every transaction, every running balance and every cached balance, from the stored rows alone.

use std::collections::HashMap;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::merkle::{Frontier, Hash, NodeId};
use super::tree;
use crate::db::models::{JournalRow, PostingRow};
use crate::db::schema::{accounts, communities, journal, postings};
use crate::db::{self, DbConn, DbUuid};
use crate::kernel::transaction::GENESIS_HASH;
use crate::kernel::{
    AccountId, AccountKind, ChainLink, ChainPosting, CommunityId, HashFormat, JournalId, UserId,
};

/// Journal transactions read per query; memory stays flat however long the ledger is.
const VERIFY_PAGE_TRANSACTIONS: i64 = 2_000;
/// Problems reported at most; past this the ledger is plainly broken and the count says so.
const VERIFY_PROBLEMS_MAX: usize = 1_000;

/// A reference between rows that PostgreSQL no longer enforces with a foreign key (migration
/// 000035): the ledger writer creates these append-only rows in its batch and guarantees the
/// reference from its own view (see the migration and the README's "How the ledger works"), and
/// `verify` checks it here. `target` rows are looked up by `(id, community_id)`, so a reference
/// into another community is as dangling as one into nothing.
pub struct WriterReference {
    pub table: &'static str,
    pub column: &'static str,
    pub target: &'static str,
}

const fn reference(
    table: &'static str,
    column: &'static str,
    target: &'static str,
) -> WriterReference {
    WriterReference {
        table,
        column,
        target,
    }
}

/// Every reference of the writer's rows that the database does not enforce.
pub const WRITER_REFERENCES: [WriterReference; 20] = [
    reference("journal", "actor_id", "users"),
    reference("postings", "journal_id", "journal"),
    reference("postings", "account_id", "accounts"),
    reference("idempotency_keys", "journal_id", "journal"),
    reference("idempotency_keys", "user_id", "users"),
    reference("redemptions", "member_id", "members"),
    reference("redemptions", "account_id", "accounts"),
    reference("redemptions", "clerk_id", "users"),
    reference("redemptions", "journal_id", "journal"),
    reference("redemptions", "void_journal_id", "journal"),
    reference("redemptions", "voided_by", "users"),
    reference("redemption_lines", "redemption_id", "redemptions"),
    reference("redemption_lines", "goods_id", "goods"),
    reference("stock_movements", "goods_id", "goods"),
    reference("stock_movements", "actor_id", "users"),
    reference("receivable_repayments", "receivable_id", "receivables"),
    reference("receivable_repayments", "journal_id", "journal"),
    reference("receivable_repayments", "paid_by_deed_id", "deeds"),
    // The community itself: a row of a community that does not exist is not reached by the
    // per-community checks above, so it is looked for across the whole database.
    reference("journal", "community_id", "communities"),
    reference("postings", "community_id", "communities"),
];

/// The tables whose community is not enforced by a foreign key, besides the two listed above.
const WRITER_COMMUNITY_TABLES: [&str; 5] = [
    "idempotency_keys",
    "redemptions",
    "redemption_lines",
    "stock_movements",
    "receivable_repayments",
];

#[derive(QueryableByName)]
struct Stray {
    #[diesel(sql_type = crate::db::types::PortableUuid)]
    community_id: DbUuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    rows: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong: `hash_mismatch`, `chain_broken`, `sequence_gap`, `unbalanced`,
    /// `account_sequence_gap`, `running_balance_mismatch`, `negative_balance`,
    /// `balance_mismatch`, `chain_head_mismatch`, `tree_node_missing`, `tree_node_mismatch`,
    /// `tree_behind`, `tree_ahead`, `dangling_reference`.
    pub kind: String,
    pub community_id: uuid::Uuid,
    pub journal_seq: Option<i64>,
    pub journal_id: Option<uuid::Uuid>,
    pub account_id: Option<uuid::Uuid>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    pub checked_transactions: u64,
    pub checked_postings: u64,
    pub problems: Vec<Problem>,
    /// Problems found beyond those listed.
    pub problems_omitted: u64,
}

struct Checker {
    report: VerifyReport,
}

impl Checker {
    /// A checker that has found nothing yet.
    fn new() -> Checker {
        Checker {
            report: VerifyReport {
                ok: true,
                checked_transactions: 0,
                checked_postings: 0,
                problems: Vec::new(),
                problems_omitted: 0,
            },
        }
    }

    fn problem(
        &mut self,
        kind: &str,
        community: CommunityId,
        journal: Option<(i64, JournalId)>,
        account: Option<AccountId>,
        detail: String,
    ) {
        self.report.ok = false;
        if self.report.problems.len() >= VERIFY_PROBLEMS_MAX {
            self.report.problems_omitted += 1;
            return;
        }
        self.report.problems.push(Problem {
            kind: kind.to_string(),
            community_id: community.0,
            journal_seq: journal.map(|j| j.0),
            journal_id: journal.map(|j| (j.1).0),
            account_id: account.map(|a| a.0),
            detail,
        });
    }
}

struct AccountTrack {
    kind: AccountKind,
    cached_balance: i64,
    cached_last_seq: i64,
    cached_credits: i64,
    running: i64,
    credits: i64,
    last_seq: i64,
}

/// Verifies every community's ledger. Reads only; safe to run while the service writes (each
/// community is checked inside one read transaction, so it sees one consistent snapshot).
/// `only` limits the check to one community (an admin sees their own ledger, nobody else's).
pub fn verify_ledger(conn: &mut DbConn, only: Option<CommunityId>) -> QueryResult<VerifyReport> {
    let mut checker = Checker::new();
    let mut query = communities::table
        .select(communities::id)
        .order(communities::id)
        .into_boxed();
    if let Some(only) = only {
        query = query.filter(communities::id.eq(DbUuid::from(only)));
    }
    let community_ids: Vec<DbUuid> = query.load(conn)?;
    let references = match only {
        Some(_) => References::OfThisCommunity,
        None => References::Elsewhere,
    };
    for community in community_ids {
        verify_in_snapshot(conn, community.into(), &mut checker, references)?;
    }
    if only.is_none() {
        whole_database_references(conn, &mut checker)?;
    }
    Ok(checker.report)
}

/// Where a community's unenforced references are checked: with the community (one community
/// asked for), or once for the whole database, grouped by community (every community asked for:
/// one anti-join per reference instead of one scan per community and reference, which on a
/// county of a thousand communities would read the large tables a thousand times).
#[derive(Clone, Copy, PartialEq, Eq)]
enum References {
    OfThisCommunity,
    Elsewhere,
}

/// The unenforced references and the rows of communities that do not exist, across the whole
/// database, each problem named with its community.
fn whole_database_references(conn: &mut DbConn, checker: &mut Checker) -> QueryResult<()> {
    conn.transaction(|conn| {
        dangling_references(conn, None, checker)?;
        stray_communities(conn, checker)
    })
}

/// Verifies every community's ledger like [`verify_ledger`], `threads` communities at a time,
/// each thread on its own connection from `connect`; `progress` hears of every community done
/// (how many of how many). The communities are independent chains, so the report is the same
/// as the one-at-a-time check's, in another order.
pub fn verify_ledger_parallel<C>(
    connect: C,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> QueryResult<VerifyReport>
where
    C: Fn() -> QueryResult<DbConn> + Sync,
{
    let community_ids: Vec<DbUuid> = communities::table
        .select(communities::id)
        .order(communities::id)
        .load(&mut connect()?)?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = community_ids.len();
    let reports: Vec<QueryResult<VerifyReport>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, total.max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut conn = connect()?;
                    let mut checker = Checker::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(community) = community_ids.get(i) else {
                            return Ok(checker.report);
                        };
                        verify_in_snapshot(
                            &mut conn,
                            (*community).into(),
                            &mut checker,
                            References::Elsewhere,
                        )?;
                        let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress(finished, total);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(diesel::result::Error::BrokenTransactionManager))
            })
            .collect()
    });
    let mut whole = Checker::new();
    whole_database_references(&mut connect()?, &mut whole)?;
    let mut merged = Checker::new().report;
    for report in reports.into_iter().chain([Ok(whole.report)]) {
        let report = report?;
        merged.ok &= report.ok;
        merged.checked_transactions += report.checked_transactions;
        merged.checked_postings += report.checked_postings;
        merged.problems_omitted += report.problems_omitted;
        for problem in report.problems {
            if merged.problems.len() >= VERIFY_PROBLEMS_MAX {
                merged.problems_omitted += 1;
            } else {
                merged.problems.push(problem);
            }
        }
    }
    Ok(merged)
}

/// [`verify_ledger_parallel`] on the database at `url`, each thread with a connection of its own.
pub fn verify_database(
    url: &db::DatabaseUrl,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> QueryResult<VerifyReport> {
    verify_ledger_parallel(
        || {
            url.connect()
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.0.into()))
        },
        threads,
        progress,
    )
}

/// One community's check inside one read transaction.
fn verify_in_snapshot(
    conn: &mut DbConn,
    community: CommunityId,
    checker: &mut Checker,
    references: References,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        // One snapshot per community: PostgreSQL's default isolation would let each query
        // see a different moment while the service keeps writing.
        if let DbConn::Pg(pg) = conn {
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        verify_community(conn, community, checker, references)
    })
}

/// What one community's check carries from transaction to transaction.
struct CommunityCheck<'c> {
    community: CommunityId,
    checker: &'c mut Checker,
    tracks: HashMap<AccountId, AccountTrack>,
    prev_hash: String,
    newest_format: HashFormat,
    expected_seq: i64,
    /// The Merkle tree rebuilt from the journal's hashes, held against the stored one.
    tree: Frontier,
    /// Transactions the stored tree holds (its highest leaf + 1).
    tree_stored: u64,
}

fn verify_community(
    conn: &mut DbConn,
    community: CommunityId,
    checker: &mut Checker,
    references: References,
) -> QueryResult<()> {
    let community_key = DbUuid::from(community);
    let mut check = CommunityCheck {
        community,
        checker,
        tracks: account_tracks(conn, community_key)?,
        prev_hash: GENESIS_HASH.to_string(),
        newest_format: HashFormat::V1,
        expected_seq: 1,
        tree: Frontier::new(),
        tree_stored: tree::stored_size(conn, community)?,
    };
    let mut last_seq_seen = 0_i64;
    loop {
        let page: Vec<JournalRow> = journal::table
            .filter(journal::community_id.eq(community_key))
            .filter(journal::seq.gt(last_seq_seen))
            .order(journal::seq.asc())
            .limit(VERIFY_PAGE_TRANSACTIONS)
            .select(JournalRow::as_select())
            .load(conn)?;
        let Some(last) = page.last() else {
            break;
        };
        last_seq_seen = last.seq;
        let mut by_journal = postings_of(conn, &page)?;
        let mut rebuilt = Vec::with_capacity(page.len() * 2);
        for entry in &page {
            let mut lines = by_journal.remove(&entry.id).unwrap_or_default();
            lines.sort_by_key(|p| (p.account_id, p.account_seq));
            check.transaction(entry, &lines);
            rebuilt.extend(check.tree.append(tree::chain_leaf(&entry.hash)));
        }
        check.tree_nodes(conn, &rebuilt)?;
    }
    check.tree_end();
    let (head_seq, head_hash): (i64, String) = communities::table
        .filter(communities::id.eq(community_key))
        .select((communities::chain_seq, communities::chain_hash))
        .get_result(conn)?;
    check.head(head_seq, &head_hash);
    check.cached_balances();
    if references == References::OfThisCommunity {
        check.references(conn)?;
    }
    Ok(())
}

/// The references the database does not enforce that name no row of their own community: of
/// one community's rows, or (`None`) of every community's, one anti-join per reference grouped
/// by community.
fn dangling_references(
    conn: &mut DbConn,
    only: Option<CommunityId>,
    checker: &mut Checker,
) -> QueryResult<()> {
    for r in WRITER_REFERENCES
        .iter()
        .filter(|r| r.column != "community_id")
    {
        let (table, column, target) = (r.table, r.column, r.target);
        let of_one = if only.is_some() {
            "r.community_id = $1 AND "
        } else {
            ""
        };
        let sql = format!(
            "SELECT r.community_id AS community_id, COUNT(*) AS rows FROM {table} AS r \
             WHERE {of_one}r.{column} IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM {target} AS t \
              WHERE t.id = r.{column} AND t.community_id = r.community_id) \
             GROUP BY r.community_id ORDER BY r.community_id"
        );
        let found: Vec<Stray> = match only {
            Some(community) => diesel::sql_query(sql)
                .bind::<crate::db::types::PortableUuid, _>(DbUuid::from(community))
                .load(conn)?,
            None => diesel::sql_query(sql).load(conn)?,
        };
        for broken in found {
            let detail = format!(
                "{} row(s) of {table} name by {column} no {target} row of this community",
                broken.rows
            );
            checker.problem(
                "dangling_reference",
                broken.community_id.into(),
                None,
                None,
                detail,
            );
        }
    }
    Ok(())
}

/// Rows of communities that do not exist, in the tables whose community is not enforced. Read
/// across all communities, so only a verification of the whole database runs it.
fn stray_communities(conn: &mut DbConn, checker: &mut Checker) -> QueryResult<()> {
    let tables = WRITER_REFERENCES
        .iter()
        .filter(|r| r.column == "community_id")
        .map(|r| r.table)
        .chain(WRITER_COMMUNITY_TABLES);
    for table in tables {
        let sql = format!(
            "SELECT r.community_id AS community_id, COUNT(*) AS rows FROM {table} AS r \
             WHERE NOT EXISTS (SELECT 1 FROM communities AS c WHERE c.id = r.community_id) \
             GROUP BY r.community_id ORDER BY r.community_id"
        );
        let strays: Vec<Stray> = diesel::sql_query(sql).load(conn)?;
        for stray in strays {
            let detail = format!(
                "{} row(s) of {table} belong to a community that does not exist",
                stray.rows
            );
            checker.problem(
                "dangling_reference",
                stray.community_id.into(),
                None,
                None,
                detail,
            );
        }
    }
    Ok(())
}

/// Every account of the community with what its row caches.
fn account_tracks(
    conn: &mut DbConn,
    community: DbUuid,
) -> QueryResult<HashMap<AccountId, AccountTrack>> {
    let rows: Vec<(DbUuid, AccountKind, i64, i64, i64)> = accounts::table
        .filter(accounts::community_id.eq(community))
        .select((
            accounts::id,
            accounts::kind,
            accounts::balance,
            accounts::last_seq,
            accounts::credits_total,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, balance, last_seq, credits)| {
            let track = AccountTrack {
                kind,
                cached_balance: balance,
                cached_last_seq: last_seq,
                cached_credits: credits,
                running: 0,
                credits: 0,
                last_seq: 0,
            };
            (AccountId::from(id), track)
        })
        .collect())
}

/// The postings of a page of transactions, by transaction.
fn postings_of(
    conn: &mut DbConn,
    page: &[JournalRow],
) -> QueryResult<HashMap<DbUuid, Vec<PostingRow>>> {
    let ids: Vec<DbUuid> = page.iter().map(|j| j.id).collect();
    let rows: Vec<PostingRow> = postings::table
        .filter(postings::journal_id.eq_any(&ids))
        .select(PostingRow::as_select())
        .load(conn)?;
    let mut by_journal: HashMap<DbUuid, Vec<PostingRow>> = HashMap::new();
    for posting in rows {
        by_journal
            .entry(posting.journal_id)
            .or_default()
            .push(posting);
    }
    Ok(by_journal)
}

/// The chain link a stored transaction should have, in the format it claims.
fn recompute(
    community: CommunityId,
    format: HashFormat,
    entry: &JournalRow,
    lines: &[PostingRow],
) -> String {
    ChainLink {
        format,
        prev_hash: &entry.prev_hash,
        community_id: community,
        seq: entry.seq,
        journal_id: entry.id.into(),
        kind: entry.kind.as_str(),
        reference_id: entry.reference_id.map(|r| r.0),
        memo: &entry.memo,
        actor_id: entry.actor_id.map(UserId::from),
        created_at_micros: db::time_to_micros(entry.created_at),
        postings: lines
            .iter()
            .map(|p| ChainPosting {
                posting_id: p.id.0,
                account_id: p.account_id.into(),
                account_seq: p.account_seq,
                amount: p.amount,
                balance_after: p.balance_after,
                credits_after: p.credits_after,
                posted_at_micros: db::time_to_micros(p.posted_at),
            })
            .collect(),
    }
    .hash()
}

type Here = Option<(i64, JournalId)>;

impl CommunityCheck<'_> {
    fn problem(&mut self, kind: &str, here: Here, account: Option<AccountId>, detail: String) {
        self.checker
            .problem(kind, self.community, here, account, detail);
    }

    fn transaction(&mut self, entry: &JournalRow, lines: &[PostingRow]) {
        let here = Some((entry.seq, JournalId::from(entry.id)));
        self.checker.report.checked_transactions += 1;
        self.checker.report.checked_postings += lines.len() as u64;
        if entry.seq != self.expected_seq {
            let detail = format!(
                "expected transaction seq {}, found {}",
                self.expected_seq, entry.seq
            );
            self.problem("sequence_gap", here, None, detail);
        }
        self.expected_seq = entry.seq + 1;
        if entry.prev_hash != self.prev_hash {
            let detail = format!(
                "transaction seq {} points at a previous hash that is not its predecessor's",
                entry.seq
            );
            self.problem("chain_broken", here, None, detail);
        }
        self.hash(entry, lines, here);
        self.prev_hash = entry.hash.clone();
        self.sums(entry, lines, here);
        for posting in lines {
            self.posting(posting, here);
        }
    }

    fn hash(&mut self, entry: &JournalRow, lines: &[PostingRow], here: Here) {
        let Some(format) = HashFormat::from_number(entry.hash_version) else {
            let detail = format!(
                "transaction seq {} names hash format {}, which this service never wrote",
                entry.seq, entry.hash_version
            );
            self.problem("hash_mismatch", here, None, detail);
            return;
        };
        // Formats only move forward along a chain: an older format after a newer one means a row
        // was relabelled to escape what the newer format covers.
        if format < self.newest_format {
            let detail = format!(
                "transaction seq {} claims hash format {} after format {} was in use",
                entry.seq,
                format.number(),
                self.newest_format.number()
            );
            self.problem("hash_mismatch", here, None, detail);
        }
        self.newest_format = self.newest_format.max(format);
        if recompute(self.community, format, entry, lines) != entry.hash {
            let detail = format!(
                "transaction seq {} ({}) does not match its recorded hash: it was altered after it was written",
                entry.seq, entry.id.0
            );
            self.problem("hash_mismatch", here, None, detail);
        }
    }

    fn sums(&mut self, entry: &JournalRow, lines: &[PostingRow], here: Here) {
        if lines.len() < 2 {
            let detail = format!(
                "transaction seq {} has {} posting(s)",
                entry.seq,
                lines.len()
            );
            self.problem("unbalanced", here, None, detail);
        }
        let sum: i128 = lines.iter().map(|p| p.amount as i128).sum();
        if sum != 0 {
            let detail = format!(
                "transaction seq {} postings sum to {} hundredths, not zero",
                entry.seq, sum
            );
            self.problem("unbalanced", here, None, detail);
        }
    }

    /// The references of this community's rows that the database does not enforce.
    fn references(&mut self, conn: &mut DbConn) -> QueryResult<()> {
        dangling_references(conn, Some(self.community), &mut *self.checker)
    }

    /// One passbook line against the account's line numbers, running balance and credit total.
    fn posting(&mut self, posting: &PostingRow, here: Here) {
        if posting.community_id != DbUuid::from(self.community) {
            let detail = "posting of another community under this community's transaction".into();
            let account = Some(AccountId::from(posting.account_id));
            self.problem("dangling_reference", here, account, detail);
        }
        let account = AccountId::from(posting.account_id);
        let Some(track) = self.tracks.get_mut(&account) else {
            let detail = "posting to an account outside this community".to_string();
            self.problem("balance_mismatch", here, Some(account), detail);
            return;
        };
        let expected_seq = track.last_seq + 1;
        track.last_seq = posting.account_seq;
        track.running += posting.amount;
        track.credits += posting.amount.max(0);
        let (running, credits) = (track.running, track.credits);
        let kind = track.kind;
        let line = posting.account_seq;
        if line != expected_seq {
            let detail = format!("expected passbook line {expected_seq}, found {line}");
            self.problem("account_sequence_gap", here, Some(account), detail);
        }
        if posting.balance_after != running {
            let detail = format!(
                "line {line} records balance {} but the postings sum to {running}",
                posting.balance_after
            );
            self.problem("running_balance_mismatch", here, Some(account), detail);
        }
        if posting.credits_after != credits {
            let detail = format!(
                "line {line} records credits {} but the postings sum to {credits}",
                posting.credits_after
            );
            self.problem("running_balance_mismatch", here, Some(account), detail);
        }
        if kind.never_negative() && running < 0 {
            let detail = format!("{kind} balance is {running} hundredths after line {line}");
            self.problem("negative_balance", here, Some(account), detail);
        }
    }

    /// The stored tree against the nodes rebuilt from a page of the journal: every perfect
    /// subtree the page completed must be stored, with the same hash.
    fn tree_nodes(&mut self, conn: &mut DbConn, rebuilt: &[(NodeId, Hash)]) -> QueryResult<()> {
        // Nodes past the stored tree's last leaf are reported once, as the tree being behind.
        let rebuilt: Vec<&(NodeId, Hash)> = rebuilt
            .iter()
            .filter(|(id, _)| id.end() <= self.tree_stored)
            .collect();
        let ids: Vec<NodeId> = rebuilt.iter().map(|(id, _)| *id).collect();
        let stored = tree::nodes(conn, self.community, &ids)?;
        for (id, hash) in rebuilt {
            let (first, last) = (id.start() + 1, id.end());
            match stored.get(id) {
                None => {
                    let detail = format!(
                        "the ledger tree lacks the node of height {} over transactions {first}–{last}",
                        id.height
                    );
                    self.problem("tree_node_missing", None, None, detail);
                }
                Some(found) if found != hash => {
                    let detail = format!(
                        "the ledger tree's node of height {} over transactions {first}–{last} is not the hash of the journal",
                        id.height
                    );
                    self.problem("tree_node_mismatch", None, None, detail);
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The stored tree must hold the journal's transactions, and no others.
    fn tree_end(&mut self) {
        let stored = self.tree_stored;
        if stored < self.tree.size() {
            let detail = format!(
                "the ledger tree holds {stored} transactions but the journal {}: it is completed at the next start of the service or by `moralbank migrate`",
                self.tree.size()
            );
            self.problem("tree_behind", None, None, detail);
        }
        if stored > self.tree.size() {
            let detail = format!(
                "the ledger tree holds {stored} transactions but the journal {}: transactions were removed",
                self.tree.size()
            );
            self.problem("tree_ahead", None, None, detail);
        }
    }

    fn head(&mut self, head_seq: i64, head_hash: &str) {
        let last = self.expected_seq - 1;
        if head_seq != last || (head_seq > 0 && head_hash != self.prev_hash) {
            let detail = format!(
                "the community's chain head is seq {head_seq} but the journal ends at seq {last}"
            );
            self.problem("chain_head_mismatch", None, None, detail);
        }
    }

    fn cached_balances(&mut self) {
        let mut accounts: Vec<_> = std::mem::take(&mut self.tracks).into_iter().collect();
        accounts.sort_by_key(|(id, _)| *id);
        for (account, track) in accounts {
            if track.cached_balance != track.running
                || track.cached_last_seq != track.last_seq
                || track.cached_credits != track.credits
            {
                let detail = format!(
                    "cached balance {} at line {} but postings sum to {} at line {}",
                    track.cached_balance, track.cached_last_seq, track.running, track.last_seq
                );
                self.problem("balance_mismatch", None, Some(account), detail);
            }
            if track.kind.never_negative() && track.cached_balance < 0 {
                let detail = format!(
                    "{} balance is {} hundredths",
                    track.kind, track.cached_balance
                );
                self.problem("negative_balance", None, Some(account), detail);
            }
        }
    }
}
