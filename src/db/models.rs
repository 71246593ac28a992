//! The ledger kernel's rows as stored: communities' chain heads, accounts, journal, postings,
//! idempotency keys. Each concept keeps its own rows in its `store`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::*;
use super::types::DbUuid;
use crate::kernel::{AccountKind, JournalKind};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = communities)]
pub struct CommunityRow {
    pub id: DbUuid,
    pub code: String,
    pub name: String,
    pub utc_offset_minutes: i32,
    pub chain_seq: i64,
    pub chain_hash: String,
    pub chain_version: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub kind: AccountKind,
    pub member_id: Option<DbUuid>,
    pub balance: i64,
    pub last_seq: i64,
    pub version: i64,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub credits_total: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = journal)]
pub struct JournalRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub seq: i64,
    pub kind: JournalKind,
    pub reference_id: Option<DbUuid>,
    pub memo: String,
    pub actor_id: Option<DbUuid>,
    pub created_at: NaiveDateTime,
    pub prev_hash: String,
    pub hash: String,
    /// The canonical-bytes format the hash was computed in (`HashFormat`).
    pub hash_version: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = postings)]
pub struct PostingRow {
    pub id: DbUuid,
    pub journal_id: DbUuid,
    pub community_id: DbUuid,
    pub account_id: DbUuid,
    pub account_seq: i64,
    pub amount: i64,
    pub balance_after: i64,
    pub posted_at: NaiveDateTime,
    pub credits_after: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub user_id: DbUuid,
    pub idem_key: String,
    pub request_hash: String,
    /// The transaction the key posted, or none when the ledger refused it.
    pub journal_id: Option<DbUuid>,
    pub created_at: NaiveDateTime,
    /// The ledger's refusal, as stored by `LedgerError::to_stored`, when it refused.
    pub refusal: Option<String>,
}
