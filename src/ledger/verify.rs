//! Verification for the auditor who trusts nothing: recompute the hash chain, the zero sum of
//! every transaction, every running balance and every cached balance, from the stored rows alone.

use std::collections::HashMap;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

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

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong: `hash_mismatch`, `chain_broken`, `sequence_gap`, `unbalanced`,
    /// `account_sequence_gap`, `running_balance_mismatch`, `negative_balance`,
    /// `balance_mismatch`, `chain_head_mismatch`.
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
    let mut checker = Checker {
        report: VerifyReport {
            ok: true,
            checked_transactions: 0,
            checked_postings: 0,
            problems: Vec::new(),
            problems_omitted: 0,
        },
    };
    let mut query = communities::table
        .select(communities::id)
        .order(communities::id)
        .into_boxed();
    if let Some(only) = only {
        query = query.filter(communities::id.eq(DbUuid::from(only)));
    }
    let community_ids: Vec<DbUuid> = query.load(conn)?;
    for community in community_ids {
        conn.transaction(|conn| {
            // One snapshot per community: PostgreSQL's default isolation would let each query
            // see a different moment while the service keeps writing.
            if let DbConn::Pg(pg) = conn {
                pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
            }
            verify_community(conn, community.into(), &mut checker)
        })?;
    }
    Ok(checker.report)
}

fn verify_community(
    conn: &mut DbConn,
    community: CommunityId,
    checker: &mut Checker,
) -> QueryResult<()> {
    let community_key = DbUuid::from(community);
    let rows: Vec<(DbUuid, AccountKind, i64, i64, i64)> = accounts::table
        .filter(accounts::community_id.eq(community_key))
        .select((
            accounts::id,
            accounts::kind,
            accounts::balance,
            accounts::last_seq,
            accounts::credits_total,
        ))
        .load(conn)?;
    let mut tracks: HashMap<AccountId, AccountTrack> = rows
        .into_iter()
        .map(|(id, kind, balance, last_seq, credits)| {
            (
                AccountId::from(id),
                AccountTrack {
                    kind,
                    cached_balance: balance,
                    cached_last_seq: last_seq,
                    cached_credits: credits,
                    running: 0,
                    credits: 0,
                    last_seq: 0,
                },
            )
        })
        .collect();
    let (head_seq, head_hash): (i64, String) = communities::table
        .filter(communities::id.eq(community_key))
        .select((communities::chain_seq, communities::chain_hash))
        .get_result(conn)?;

    let mut prev_hash = GENESIS_HASH.to_string();
    let mut newest_format = HashFormat::V1;
    let mut expected_seq = 1_i64;
    let mut last_seq_seen = 0_i64;
    loop {
        let page: Vec<JournalRow> = journal::table
            .filter(journal::community_id.eq(community_key))
            .filter(journal::seq.gt(last_seq_seen))
            .order(journal::seq.asc())
            .limit(VERIFY_PAGE_TRANSACTIONS)
            .select(JournalRow::as_select())
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        let ids: Vec<DbUuid> = page.iter().map(|j| j.id).collect();
        let page_postings: Vec<PostingRow> = postings::table
            .filter(postings::journal_id.eq_any(&ids))
            .select(PostingRow::as_select())
            .load(conn)?;
        let mut by_journal: HashMap<DbUuid, Vec<PostingRow>> = HashMap::new();
        for posting in page_postings {
            by_journal
                .entry(posting.journal_id)
                .or_default()
                .push(posting);
        }
        for entry in &page {
            let here = Some((entry.seq, JournalId::from(entry.id)));
            checker.report.checked_transactions += 1;
            if entry.seq != expected_seq {
                checker.problem(
                    "sequence_gap",
                    community,
                    here,
                    None,
                    format!(
                        "expected transaction seq {expected_seq}, found {}",
                        entry.seq
                    ),
                );
            }
            expected_seq = entry.seq + 1;
            last_seq_seen = entry.seq;
            if entry.prev_hash != prev_hash {
                checker.problem(
                    "chain_broken",
                    community,
                    here,
                    None,
                    format!(
                        "transaction seq {} points at a previous hash that is not its predecessor's",
                        entry.seq
                    ),
                );
            }
            let mut lines = by_journal.remove(&entry.id).unwrap_or_default();
            lines.sort_by_key(|p| (p.account_id, p.account_seq));
            checker.report.checked_postings += lines.len() as u64;
            let Some(format) = HashFormat::from_number(entry.hash_version) else {
                checker.problem(
                    "hash_mismatch",
                    community,
                    here,
                    None,
                    format!(
                        "transaction seq {} names hash format {}, which this service never wrote",
                        entry.seq, entry.hash_version
                    ),
                );
                prev_hash = entry.hash.clone();
                continue;
            };
            // Formats only move forward along a chain: an older format after a newer one means a
            // row was relabelled to escape what the newer format covers.
            if format < newest_format {
                checker.problem(
                    "hash_mismatch",
                    community,
                    here,
                    None,
                    format!(
                        "transaction seq {} claims hash format {} after format {} was in use",
                        entry.seq,
                        format.number(),
                        newest_format.number()
                    ),
                );
            }
            newest_format = newest_format.max(format);
            let recomputed = ChainLink {
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
            .hash();
            if recomputed != entry.hash {
                checker.problem(
                    "hash_mismatch",
                    community,
                    here,
                    None,
                    format!(
                        "transaction seq {} ({}) does not match its recorded hash: it was altered after it was written",
                        entry.seq, entry.id.0
                    ),
                );
            }
            prev_hash = entry.hash.clone();
            if lines.len() < 2 {
                checker.problem(
                    "unbalanced",
                    community,
                    here,
                    None,
                    format!(
                        "transaction seq {} has {} posting(s)",
                        entry.seq,
                        lines.len()
                    ),
                );
            }
            let sum: i128 = lines.iter().map(|p| p.amount as i128).sum();
            if sum != 0 {
                checker.problem(
                    "unbalanced",
                    community,
                    here,
                    None,
                    format!(
                        "transaction seq {} postings sum to {} hundredths, not zero",
                        entry.seq, sum
                    ),
                );
            }
            for posting in &lines {
                let account = AccountId::from(posting.account_id);
                let Some(track) = tracks.get_mut(&account) else {
                    checker.problem(
                        "balance_mismatch",
                        community,
                        here,
                        Some(account),
                        "posting to an account outside this community".into(),
                    );
                    continue;
                };
                let expected_account_seq = track.last_seq + 1;
                track.last_seq = posting.account_seq;
                track.running += posting.amount;
                track.credits += posting.amount.max(0);
                let running = track.running;
                let credits = track.credits;
                let is_member = track.kind == AccountKind::Member;
                if posting.account_seq != expected_account_seq {
                    checker.problem(
                        "account_sequence_gap",
                        community,
                        here,
                        Some(account),
                        format!(
                            "expected passbook line {expected_account_seq}, found {}",
                            posting.account_seq
                        ),
                    );
                }
                if posting.balance_after != running {
                    checker.problem(
                        "running_balance_mismatch",
                        community,
                        here,
                        Some(account),
                        format!(
                            "line {} records balance {} but the postings sum to {}",
                            posting.account_seq, posting.balance_after, running
                        ),
                    );
                }
                if posting.credits_after != credits {
                    checker.problem(
                        "running_balance_mismatch",
                        community,
                        here,
                        Some(account),
                        format!(
                            "line {} records credits {} but the postings sum to {}",
                            posting.account_seq, posting.credits_after, credits
                        ),
                    );
                }
                if is_member && running < 0 {
                    checker.problem(
                        "negative_balance",
                        community,
                        here,
                        Some(account),
                        format!(
                            "member balance is {running} hundredths after line {}",
                            posting.account_seq
                        ),
                    );
                }
            }
        }
    }
    if head_seq != expected_seq - 1 || (head_seq > 0 && head_hash != prev_hash) {
        checker.problem(
            "chain_head_mismatch",
            community,
            None,
            None,
            format!(
                "the community's chain head is seq {head_seq} but the journal ends at seq {}",
                expected_seq - 1
            ),
        );
    }
    let mut accounts_sorted: Vec<_> = tracks.into_iter().collect();
    accounts_sorted.sort_by_key(|(id, _)| *id);
    for (account, track) in accounts_sorted {
        if track.cached_balance != track.running
            || track.cached_last_seq != track.last_seq
            || track.cached_credits != track.credits
        {
            checker.problem(
                "balance_mismatch",
                community,
                None,
                Some(account),
                format!(
                    "cached balance {} at line {} but postings sum to {} at line {}",
                    track.cached_balance, track.cached_last_seq, track.running, track.last_seq
                ),
            );
        }
        if track.kind == AccountKind::Member && track.cached_balance < 0 {
            checker.problem(
                "negative_balance",
                community,
                None,
                Some(account),
                format!("member balance is {} hundredths", track.cached_balance),
            );
        }
    }
    Ok(())
}
