//! What the writer believes about the accounts and chain heads it touches. Loaded on first use and
//! kept across batches; valid only while nobody else writes those rows, which the version guards
//! check at write time. What each concept's commands need beyond this (goods, deeds, …) is that
//! concept's own part of the view.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::command::IdempotencyClaim;
use super::merkle::Frontier;
use crate::db::models::AccountRow;
use crate::db::schema::{accounts, communities, idempotency_keys, members};
use crate::db::{DbConn, DbUuid};
use crate::kernel::{AccountId, AccountKind, CommunityId, MemberId, UserId};

#[derive(Debug, Default, Clone)]
pub struct View {
    pub accounts: HashMap<AccountId, AccountState>,
    pub communities: HashMap<CommunityId, CommunityState>,
    /// Each member's passbook account, for commands that name the member.
    pub member_accounts: HashMap<MemberId, AccountId>,
    /// Idempotency keys of this batch's commands that are already stored, read afresh per batch
    /// (another instance may have stored one): such a command answers what it answered first.
    pub stored_keys: HashSet<(UserId, String)>,
    /// Accounts read inside the current transaction. The others may be stale (changed by another
    /// instance or a handler since), which a version guard catches for an accepted command but
    /// nothing catches for a refused one, so a refusal resting on one of them is confirmed by
    /// reading the account again before it is answered.
    pub fresh_accounts: HashSet<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    pub community_id: CommunityId,
    pub kind: AccountKind,
    pub member_id: Option<MemberId>,
    pub member_active: bool,
    /// Passbook number and name of the member, for member accounts.
    pub member_no: String,
    pub member_name: String,
    pub frozen: bool,
    pub balance: i64,
    /// Sum of every credit ever posted; debits are `credits - balance`.
    pub credits: i64,
    pub last_seq: i64,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunityState {
    pub chain_seq: i64,
    pub chain_hash: String,
    pub chain_version: i64,
    /// The right edge of the journal's Merkle tree, `chain_seq` leaves.
    pub tree: Frontier,
    pub utc_offset_minutes: i32,
    pub issuance_account: Option<AccountId>,
    pub shop_account: Option<AccountId>,
    pub deductions_account: Option<AccountId>,
    pub holds_account: Option<AccountId>,
    /// Where expired coins go (`crate::expiry`).
    pub expired_account: Option<AccountId>,
    pub fund_account: Option<AccountId>,
}

impl CommunityState {
    pub fn calendar(&self) -> crate::kernel::LocalCalendar {
        crate::kernel::LocalCalendar::new(self.utc_offset_minutes)
    }
}

/// A member's status, passbook number and name, read with their account.
type MemberFacts = (String, String, String);

/// Appends `item` unless it is there already.
pub fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

impl View {
    /// Forgets what was read in earlier transactions' name: the next batch starts.
    pub fn start_batch(&mut self) {
        self.fresh_accounts.clear();
        self.stored_keys.clear();
    }

    fn adopt_account(&mut self, row: AccountRow, member: Option<MemberFacts>) {
        let member_id: Option<MemberId> = row.member_id.map(Into::into);
        if let Some(member_id) = member_id {
            self.member_accounts.insert(member_id, row.id.into());
        }
        self.fresh_accounts.insert(row.id.into());
        let (member_active, member_no, member_name) = match member {
            Some((status, no, name)) => (status != "inactive", no, name),
            None => (true, String::new(), String::new()),
        };
        self.accounts.insert(
            row.id.into(),
            AccountState {
                community_id: row.community_id.into(),
                kind: row.kind,
                member_id,
                member_active,
                member_no,
                member_name,
                frozen: row.status != "active",
                balance: row.balance,
                credits: row.credits_total,
                last_seq: row.last_seq,
                version: row.version,
            },
        );
    }

    /// Chain heads and system accounts of the communities the view does not hold yet.
    pub fn load_communities(
        &mut self,
        conn: &mut DbConn,
        wanted: &[CommunityId],
    ) -> QueryResult<()> {
        let ids: Vec<DbUuid> = wanted
            .iter()
            .filter(|c| !self.communities.contains_key(c))
            .map(|c| DbUuid::from(*c))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let heads: Vec<(DbUuid, i64, String, i64, i32)> = communities::table
            .filter(communities::id.eq_any(&ids))
            .select((
                communities::id,
                communities::chain_seq,
                communities::chain_hash,
                communities::chain_version,
                communities::utc_offset_minutes,
            ))
            .load(conn)?;
        let system: Vec<(DbUuid, DbUuid, AccountKind)> = accounts::table
            .filter(accounts::community_id.eq_any(&ids))
            .filter(accounts::kind.eq_any(AccountKind::SYSTEM))
            .select((accounts::id, accounts::community_id, accounts::kind))
            .load(conn)?;
        for (id, chain_seq, chain_hash, chain_version, utc_offset_minutes) in heads {
            // The tree is level with the journal from start-up on (`tree::catch_up`); one that is
            // not (a journal written past it) is not written to until it is mended.
            let tree = super::tree::frontier(conn, id.into(), chain_seq.max(0) as u64)?
                .ok_or(diesel::result::Error::NotFound)?;
            let find = |kind: AccountKind| {
                system
                    .iter()
                    .find(|(_, community, k)| *community == id && *k == kind)
                    .map(|(account, _, _)| AccountId::from(*account))
            };
            self.communities.insert(
                id.into(),
                CommunityState {
                    chain_seq,
                    chain_hash,
                    chain_version,
                    tree,
                    utc_offset_minutes,
                    issuance_account: find(AccountKind::Issuance),
                    shop_account: find(AccountKind::Shop),
                    deductions_account: find(AccountKind::Deductions),
                    holds_account: find(AccountKind::Holds),
                    expired_account: find(AccountKind::Expired),
                    fund_account: find(AccountKind::Fund),
                },
            );
        }
        Ok(())
    }

    /// The passbook accounts of members the view does not know yet.
    pub fn load_member_accounts(
        &mut self,
        conn: &mut DbConn,
        wanted: &[MemberId],
    ) -> QueryResult<()> {
        let ids: Vec<DbUuid> = wanted
            .iter()
            .filter(|m| !self.member_accounts.contains_key(m))
            .map(|m| DbUuid::from(*m))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let rows: Vec<(AccountRow, MemberFacts)> = accounts::table
            .inner_join(
                members::table.on(accounts::member_id
                    .eq(members::id.nullable())
                    .and(members::community_id.eq(accounts::community_id))),
            )
            .filter(members::id.eq_any(&ids))
            .select((
                AccountRow::as_select(),
                (members::status, members::member_no, members::name),
            ))
            .load(conn)?;
        for (row, member) in rows {
            self.adopt_account(row, Some(member));
        }
        Ok(())
    }

    /// Accounts the view does not hold, with their holders.
    pub fn load_accounts(&mut self, conn: &mut DbConn, wanted: &[AccountId]) -> QueryResult<()> {
        let ids: Vec<DbUuid> = wanted
            .iter()
            .filter(|a| !self.accounts.contains_key(a))
            .map(|a| DbUuid::from(*a))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let rows: Vec<(AccountRow, Option<MemberFacts>)> = accounts::table
            .left_join(
                members::table.on(accounts::member_id
                    .eq(members::id.nullable())
                    .and(members::community_id.eq(accounts::community_id))),
            )
            .filter(accounts::id.eq_any(&ids))
            .select((
                AccountRow::as_select(),
                (members::status, members::member_no, members::name).nullable(),
            ))
            .load(conn)?;
        for (row, member) in rows {
            self.adopt_account(row, member);
        }
        Ok(())
    }

    /// Which of these claims' keys are stored already; one query for the whole batch.
    pub fn load_stored_keys(
        &mut self,
        conn: &mut DbConn,
        claims: &[&IdempotencyClaim],
    ) -> QueryResult<()> {
        self.stored_keys.clear();
        if claims.is_empty() {
            return Ok(());
        }
        let mut by_user: HashMap<UserId, Vec<&str>> = HashMap::new();
        for claim in claims {
            by_user
                .entry(claim.user_id)
                .or_default()
                .push(claim.key.as_str());
        }
        let mut query = idempotency_keys::table
            .select((idempotency_keys::user_id, idempotency_keys::idem_key))
            .into_boxed();
        for (user, keys) in &by_user {
            query = query.or_filter(
                idempotency_keys::user_id
                    .eq(DbUuid::from(*user))
                    .and(idempotency_keys::idem_key.eq_any(keys.clone())),
            );
        }
        let stored: Vec<(DbUuid, String)> = query.load(conn)?;
        self.stored_keys
            .extend(stored.into_iter().map(|(user, key)| (user.into(), key)));
        Ok(())
    }

    /// The accounts every command of a community may post to: its system accounts.
    pub fn system_accounts(&self, community: CommunityId) -> Vec<AccountId> {
        self.communities
            .get(&community)
            .map(|c| {
                [
                    c.issuance_account,
                    c.shop_account,
                    c.deductions_account,
                    c.holds_account,
                    c.expired_account,
                    c.fund_account,
                ]
                .into_iter()
                .flatten()
                .collect()
            })
            .unwrap_or_default()
    }
}
