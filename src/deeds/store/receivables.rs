//! What members still owe after a reversal found their coins already spent: the receivables and
//! the repayments taken from later credits.

use diesel::prelude::*;

use chrono::NaiveDateTime;

use crate::db::schema::{receivable_repayments, receivables};
use crate::db::{DbConn, DbUuid};
use crate::kernel::{AccountId, CommunityId, MemberId};

/// A reversal's remainder: `owed` when it was recorded, `outstanding` now (only ever falls).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = receivables)]
pub struct ReceivableRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub member_id: DbUuid,
    pub account_id: DbUuid,
    /// The reversed deed.
    pub deed_id: DbUuid,
    /// The reversal's own transaction, when the balance held anything to take then.
    pub reversal_journal_id: Option<DbUuid>,
    /// What the repayment lines name: the reversal they serve.
    pub what: String,
    pub owed: i64,
    pub outstanding: i64,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub settled_at: Option<NaiveDateTime>,
}

/// One part of a receivable taken from a later deed credit.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = receivable_repayments)]
pub struct RepaymentRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub receivable_id: DbUuid,
    pub journal_id: DbUuid,
    pub paid_by_deed_id: DbUuid,
    pub amount: i64,
    pub outstanding_after: i64,
    pub created_at: NaiveDateTime,
}

/// The open receivables of these accounts, oldest first: what their next credits repay.
pub fn open_for_accounts(
    conn: &mut DbConn,
    accounts: &[DbUuid],
) -> QueryResult<Vec<ReceivableRow>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    receivables::table
        .filter(receivables::account_id.eq_any(accounts))
        .filter(receivables::outstanding.gt(0))
        .order((receivables::created_at.asc(), receivables::id.asc()))
        .select(ReceivableRow::as_select())
        .load(conn)
}

/// What a member still owes, in hundredths (0 when nothing).
pub fn owed_by_member(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
) -> QueryResult<i64> {
    let open: Vec<i64> = receivables::table
        .filter(receivables::community_id.eq(DbUuid::from(community)))
        .filter(receivables::member_id.eq(DbUuid::from(member)))
        .filter(receivables::outstanding.gt(0))
        .select(receivables::outstanding)
        .load(conn)?;
    Ok(open.iter().sum())
}

/// What each of these accounts still owes, in hundredths; accounts owing nothing are absent.
pub fn owed_by_accounts(
    conn: &mut DbConn,
    accounts: &[AccountId],
) -> QueryResult<std::collections::HashMap<AccountId, i64>> {
    let ids: Vec<DbUuid> = accounts.iter().map(|a| DbUuid::from(*a)).collect();
    let mut owed = std::collections::HashMap::new();
    for row in open_for_accounts(conn, &ids)? {
        *owed.entry(AccountId::from(row.account_id)).or_insert(0) += row.outstanding;
    }
    Ok(owed)
}

/// Every receivable of a member, newest first, with its repayments oldest first.
pub fn for_member(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
) -> QueryResult<Vec<(ReceivableRow, Vec<RepaymentRow>)>> {
    let rows: Vec<ReceivableRow> = receivables::table
        .filter(receivables::community_id.eq(DbUuid::from(community)))
        .filter(receivables::member_id.eq(DbUuid::from(member)))
        .order((receivables::created_at.desc(), receivables::id.desc()))
        .select(ReceivableRow::as_select())
        .load(conn)?;
    let ids: Vec<DbUuid> = rows.iter().map(|r| r.id).collect();
    let mut repayments: Vec<RepaymentRow> = if ids.is_empty() {
        Vec::new()
    } else {
        receivable_repayments::table
            .filter(receivable_repayments::receivable_id.eq_any(&ids))
            .order(receivable_repayments::id.asc())
            .select(RepaymentRow::as_select())
            .load(conn)?
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let mine = repayments
                .iter()
                .filter(|p| p.receivable_id == r.id)
                .cloned()
                .collect();
            repayments.retain(|p| p.receivable_id != r.id);
            (r, mine)
        })
        .collect())
}
