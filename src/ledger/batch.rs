//! One batch being planned: the accounts and chain heads it changes (over the view), the rows it
//! will write, and the idempotency keys it claims. Planned commands add to it; a refused command
//! adds nothing (but, for a final refusal of a keyed request, the key and its refusal).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;

use super::command::{IdempotencyClaim, LedgerError};
use super::store::{col, ColumnType as T, Guard, RowSink, Rows, TableWrite, WriteKind, Written};
use super::view::{AccountState, CommunityState, View};
use crate::db::models::{IdempotencyRow, JournalRow, PostingRow};
use crate::db::DbUuid;
use crate::kernel::{AccountId, CommunityId, UserId};

/// Where new ids come from: time-ordered UUIDs, or a counter in tests that must be repeatable.
#[derive(Debug, Clone, Default)]
pub enum IdSource {
    #[default]
    TimeOrdered,
    /// 1, 2, 3, … from the given start: planner tests compare whole rows.
    Counter(u128),
}

impl IdSource {
    pub fn next_id(&mut self) -> uuid::Uuid {
        match self {
            IdSource::TimeOrdered => uuid::Uuid::now_v7(),
            IdSource::Counter(n) => {
                *n += 1;
                uuid::Uuid::from_u128(*n)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Batch {
    /// Account → (version the view saw, new state).
    pub accounts: HashMap<AccountId, (i64, AccountState)>,
    /// Community → (chain version the view saw, new head).
    pub heads: HashMap<CommunityId, (i64, CommunityState)>,
    pub claimed_keys: HashSet<(UserId, String)>,
    /// Every row the batch inserts, and the guarded updates of concepts' rows.
    pub rows: Rows,
    pub ids: IdSource,
}

impl Batch {
    pub fn new(tables: &[&'static TableWrite], ids: IdSource) -> Batch {
        Batch {
            accounts: HashMap::new(),
            heads: HashMap::new(),
            claimed_keys: HashSet::new(),
            rows: Rows::new(tables),
            ids,
        }
    }

    /// The account as this batch leaves it so far.
    pub fn account(&self, view: &View, id: AccountId) -> Option<AccountState> {
        self.accounts
            .get(&id)
            .map(|(_, s)| s.clone())
            .or_else(|| view.accounts.get(&id).cloned())
    }

    /// The community's chain head as this batch leaves it so far.
    pub fn community(&self, view: &View, id: CommunityId) -> Option<CommunityState> {
        self.heads
            .get(&id)
            .map(|(_, s)| s.clone())
            .or_else(|| view.communities.get(&id).cloned())
    }

    pub fn set_account(&mut self, view: &View, id: AccountId, next: AccountState) {
        let seen = self
            .accounts
            .get(&id)
            .map(|(v, _)| *v)
            .or_else(|| view.accounts.get(&id).map(|a| a.version))
            .unwrap_or(next.version);
        self.accounts.insert(id, (seen, next));
    }

    pub fn set_head(&mut self, view: &View, id: CommunityId, next: CommunityState) {
        let seen = self
            .heads
            .get(&id)
            .map(|(v, _)| *v)
            .or_else(|| view.communities.get(&id).map(|c| c.chain_version))
            .unwrap_or(next.chain_version);
        self.heads.insert(id, (seen, next));
    }

    /// Touches the chain head without moving it: the next version, same seq and hash. A command
    /// that read something another instance could change at once (a month's cap sum) does this,
    /// so that an instance writing in between makes this batch replay on fresh rows.
    pub fn touch_head(&mut self, view: &View, id: CommunityId) -> Result<(), LedgerError> {
        let head = self
            .community(view, id)
            .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
        self.set_head(view, id, head);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty() && self.accounts.is_empty() && self.rows.is_empty()
    }

    /// Keeps a final refusal as the answer to its idempotency key, in this batch's transaction,
    /// so a retry of the key hears it again however the ledger has moved since.
    pub fn record_refusal(
        &mut self,
        community_id: CommunityId,
        claim: &IdempotencyClaim,
        refusal: &LedgerError,
        now: NaiveDateTime,
    ) {
        self.claimed_keys.insert((claim.user_id, claim.key.clone()));
        let id = DbUuid(self.ids.next_id());
        self.rows.push(&IdempotencyRow {
            id,
            community_id: community_id.into(),
            user_id: claim.user_id.into(),
            idem_key: claim.key.clone(),
            request_hash: claim.request_hash.clone(),
            journal_id: None,
            created_at: now,
            refusal: Some(refusal.to_stored()),
        });
    }

    /// The chain heads as rows, written first and on their own.
    pub fn head_rows(&self) -> Rows {
        let mut rows = Rows::new(&[&HEADS]);
        let mut heads: Vec<_> = self.heads.iter().collect();
        heads.sort_by_key(|(id, _)| **id);
        for (id, (seen, head)) in heads {
            rows.push(&HeadUpdate {
                id: (*id).into(),
                seen: *seen,
                head,
            });
        }
        rows
    }

    /// Moves the touched accounts into the rows, in a fixed order, so two writers on one
    /// PostgreSQL never wait on each other in a cycle.
    pub fn push_account_updates(&mut self) {
        let mut accounts: Vec<_> = self.accounts.iter().collect();
        accounts.sort_by_key(|(id, _)| **id);
        for (id, (seen, state)) in accounts {
            self.rows.push(&AccountUpdate {
                id: (*id).into(),
                seen: *seen,
                state,
            });
        }
    }

    /// Moves the batch's new states into the view after commit, with the versions now stored.
    pub fn adopt_into(self, view: &mut View) {
        for (id, (seen, mut state)) in self.accounts {
            state.version = seen + 1;
            view.accounts.insert(id, state);
        }
        for (id, (seen, mut state)) in self.heads {
            state.chain_version = seen + 1;
            view.communities.insert(id, state);
        }
    }
}

pub static JOURNAL: TableWrite = TableWrite {
    table: "journal",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("community_id", T::Uuid),
        col("seq", T::BigInt),
        col("kind", T::Text),
        col("reference_id", T::OptUuid),
        col("memo", T::Text),
        col("actor_id", T::OptUuid),
        col("created_at", T::Time),
        col("prev_hash", T::Text),
        col("hash", T::Text),
        col("hash_version", T::Int),
    ],
};

impl Written for JournalRow {
    const WRITE: &'static TableWrite = &JOURNAL;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.community_id)
            .big_int(self.seq)
            .text(self.kind.as_str().to_string())
            .opt_uuid(self.reference_id)
            .text(self.memo.clone())
            .opt_uuid(self.actor_id)
            .time(self.created_at)
            .text(self.prev_hash.clone())
            .text(self.hash.clone())
            .int(self.hash_version);
    }
}

/// A perfect subtree of a community's Merkle tree (`ledger_tree`), appended by the batch that
/// appends its last transaction.
pub struct TreeNodeRow {
    pub community_id: DbUuid,
    pub height: i32,
    pub idx: i64,
    pub hash: String,
}

pub static LEDGER_TREE: TableWrite = TableWrite {
    table: "ledger_tree",
    kind: WriteKind::Insert,
    columns: &[
        col("community_id", T::Uuid),
        col("height", T::Int),
        col("idx", T::BigInt),
        col("hash", T::Text),
    ],
};

impl Written for TreeNodeRow {
    const WRITE: &'static TableWrite = &LEDGER_TREE;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.community_id)
            .int(self.height)
            .big_int(self.idx)
            .text(self.hash.clone());
    }
}

pub static POSTINGS: TableWrite = TableWrite {
    table: "postings",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("journal_id", T::Uuid),
        col("community_id", T::Uuid),
        col("account_id", T::Uuid),
        col("account_seq", T::BigInt),
        col("amount", T::BigInt),
        col("balance_after", T::BigInt),
        col("posted_at", T::Time),
        col("credits_after", T::BigInt),
    ],
};

impl Written for PostingRow {
    const WRITE: &'static TableWrite = &POSTINGS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.journal_id)
            .uuid(self.community_id)
            .uuid(self.account_id)
            .big_int(self.account_seq)
            .big_int(self.amount)
            .big_int(self.balance_after)
            .time(self.posted_at)
            .big_int(self.credits_after);
    }
}

pub static IDEMPOTENCY_KEYS: TableWrite = TableWrite {
    table: "idempotency_keys",
    kind: WriteKind::Insert,
    columns: &[
        col("id", T::Uuid),
        col("community_id", T::Uuid),
        col("user_id", T::Uuid),
        col("idem_key", T::Text),
        col("request_hash", T::Text),
        col("journal_id", T::OptUuid),
        col("created_at", T::Time),
        col("refusal", T::OptText),
    ],
};

impl Written for IdempotencyRow {
    const WRITE: &'static TableWrite = &IDEMPOTENCY_KEYS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .uuid(self.community_id)
            .uuid(self.user_id)
            .text(self.idem_key.clone())
            .text(self.request_hash.clone())
            .opt_uuid(self.journal_id)
            .time(self.created_at)
            .opt_text(self.refusal.clone());
    }
}

/// An account's new balance, credit total and last line, guarded by the version the view saw.
pub struct AccountUpdate<'a> {
    pub id: DbUuid,
    pub seen: i64,
    pub state: &'a AccountState,
}

pub static ACCOUNTS: TableWrite = TableWrite {
    table: "accounts",
    kind: WriteKind::Update {
        key: "id",
        guard: Guard::Version("version"),
    },
    columns: &[
        col("id", T::Uuid),
        col("version", T::BigInt),
        col("balance", T::BigInt),
        col("credits_total", T::BigInt),
        col("last_seq", T::BigInt),
    ],
};

impl Written for AccountUpdate<'_> {
    const WRITE: &'static TableWrite = &ACCOUNTS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .big_int(self.seen)
            .big_int(self.state.balance)
            .big_int(self.state.credits)
            .big_int(self.state.last_seq);
    }
}

/// A community's new chain head, guarded by the chain version the view saw.
pub struct HeadUpdate<'a> {
    pub id: DbUuid,
    pub seen: i64,
    pub head: &'a CommunityState,
}

pub static HEADS: TableWrite = TableWrite {
    table: "communities",
    kind: WriteKind::Update {
        key: "id",
        guard: Guard::Version("chain_version"),
    },
    columns: &[
        col("id", T::Uuid),
        col("chain_version", T::BigInt),
        col("chain_seq", T::BigInt),
        col("chain_hash", T::Text),
    ],
};

impl Written for HeadUpdate<'_> {
    const WRITE: &'static TableWrite = &HEADS;
    fn push_values(&self, row: &mut RowSink<'_>) {
        row.uuid(self.id)
            .big_int(self.seen)
            .big_int(self.head.chain_seq)
            .text(self.head.chain_hash.clone());
    }
}
