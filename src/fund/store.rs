//! The fund's queries: its account, grants (proposed directly, rejected by a guarded update, paid
//! by the writer), and the lines of its public statement.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::GrantStatus;
use crate::db::models::AccountRow;
use crate::db::schema::{accounts, fund_grants, journal, members, postings};
use crate::db::{DbConn, DbUuid};
use crate::kernel::{AccountKind, CommunityId, GrantId, JournalKind, UserId};

crate::text_column!(GrantStatus);

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = fund_grants)]
pub struct GrantRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub member_id: DbUuid,
    pub account_id: DbUuid,
    pub amount: i64,
    pub reason: String,
    pub status: GrantStatus,
    pub proposed_by: DbUuid,
    pub proposed_at: NaiveDateTime,
    pub decided_by: Option<DbUuid>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_reason: Option<String>,
    pub journal_id: Option<DbUuid>,
}

impl GrantRow {
    pub fn facts(&self) -> super::model::GrantFacts {
        super::model::GrantFacts {
            id: self.id.into(),
            status: self.status,
            proposed_by: self.proposed_by.into(),
            member_id: self.member_id.into(),
        }
    }
}

/// A grant with its resident's passbook number and name.
pub type GrantListed = (GrantRow, String, String);

/// The community's fund account.
pub fn fund_account(conn: &mut DbConn, community: CommunityId) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .filter(accounts::kind.eq(AccountKind::Fund))
        .select(AccountRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn insert_grant(conn: &mut DbConn, row: &GrantRow) -> QueryResult<()> {
    diesel::insert_into(fund_grants::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn grant(
    conn: &mut DbConn,
    community: CommunityId,
    id: GrantId,
) -> QueryResult<Option<GrantListed>> {
    fund_grants::table
        .inner_join(
            members::table.on(members::id
                .eq(fund_grants::member_id)
                .and(members::community_id.eq(fund_grants::community_id))),
        )
        .filter(fund_grants::id.eq(DbUuid::from(id)))
        .filter(fund_grants::community_id.eq(DbUuid::from(community)))
        .select((GrantRow::as_select(), members::member_no, members::name))
        .get_result(conn)
        .optional()
}

/// Grants of the community, newest first, optionally of one status.
pub fn grants(
    conn: &mut DbConn,
    community: CommunityId,
    status: Option<GrantStatus>,
    limit: i64,
) -> QueryResult<Vec<GrantListed>> {
    let mut query = fund_grants::table
        .inner_join(
            members::table.on(members::id
                .eq(fund_grants::member_id)
                .and(members::community_id.eq(fund_grants::community_id))),
        )
        .filter(fund_grants::community_id.eq(DbUuid::from(community)))
        .select((GrantRow::as_select(), members::member_no, members::name))
        .order(fund_grants::proposed_at.desc())
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(fund_grants::status.eq(status));
    }
    query.load(conn)
}

/// Rejects a grant that is still proposed, by someone other than its proposer. Answers whether a
/// row changed: none means the grant was decided already (or never existed).
pub fn reject_grant(
    conn: &mut DbConn,
    community: CommunityId,
    id: GrantId,
    by: UserId,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        fund_grants::table
            .filter(fund_grants::id.eq(DbUuid::from(id)))
            .filter(fund_grants::community_id.eq(DbUuid::from(community)))
            .filter(fund_grants::status.eq(GrantStatus::Proposed))
            .filter(fund_grants::proposed_by.ne(DbUuid::from(by))),
    )
    .set((
        fund_grants::status.eq(GrantStatus::Rejected),
        fund_grants::decided_by.eq(Some(DbUuid::from(by))),
        fund_grants::decided_at.eq(Some(now)),
        fund_grants::decision_reason.eq(Some(reason.to_string())),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// One line of the fund's statement: a donation in or a grant out.
#[derive(Debug, Clone)]
pub struct StatementLine {
    pub kind: JournalKind,
    pub posted_at: NaiveDateTime,
    /// Signed, from the fund's view: a donation is positive, a grant negative.
    pub amount: i64,
    pub balance_after: i64,
    /// The resident who gave or received.
    pub member_name: String,
    /// A grant's reason (a donation's memo is the donor's and not shown).
    pub reason: Option<String>,
    pub journal_seq: i64,
}

/// The fund's newest lines, newest first.
pub fn statement(
    conn: &mut DbConn,
    fund: &AccountRow,
    limit: i64,
) -> QueryResult<Vec<StatementLine>> {
    let rows: Vec<(i64, NaiveDateTime, i64, DbUuid, JournalKind, i64)> = postings::table
        .inner_join(
            journal::table.on(journal::id
                .eq(postings::journal_id)
                .and(journal::community_id.eq(postings::community_id))),
        )
        .filter(postings::account_id.eq(fund.id))
        .order(postings::account_seq.desc())
        .limit(limit)
        .select((
            postings::amount,
            postings::posted_at,
            postings::balance_after,
            postings::journal_id,
            journal::kind,
            journal::seq,
        ))
        .load(conn)?;
    let ids: Vec<DbUuid> = rows.iter().map(|r| r.3).collect();
    let others: Vec<(DbUuid, String)> = postings::table
        .inner_join(
            accounts::table.on(accounts::id
                .eq(postings::account_id)
                .and(accounts::community_id.eq(postings::community_id))),
        )
        .inner_join(
            members::table.on(accounts::member_id
                .eq(members::id.nullable())
                .and(members::community_id.eq(accounts::community_id))),
        )
        .filter(postings::journal_id.eq_any(&ids))
        .filter(postings::account_id.ne(fund.id))
        .select((postings::journal_id, members::name))
        .load(conn)?;
    let reasons: Vec<(Option<DbUuid>, String)> = fund_grants::table
        .filter(fund_grants::journal_id.eq_any(ids.iter().map(|i| Some(*i))))
        .select((fund_grants::journal_id, fund_grants::reason))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(amount, posted_at, balance_after, journal_id, kind, seq)| StatementLine {
                kind,
                posted_at,
                amount,
                balance_after,
                member_name: others
                    .iter()
                    .find(|(j, _)| *j == journal_id)
                    .map(|(_, name)| name.clone())
                    .unwrap_or_default(),
                reason: reasons
                    .iter()
                    .find(|(j, _)| *j == Some(journal_id))
                    .map(|(_, reason)| reason.clone()),
                journal_seq: seq,
            },
        )
        .collect())
}
