//! Queries of households, their members (with history) and the community's rules.

use diesel::prelude::*;

use chrono::NaiveDateTime;

use super::model::{CreditTo, HouseholdRules};
use crate::db::models::AccountRow;
use crate::db::schema::{accounts, household_members, household_settings, households, members};
use crate::db::{DbConn, DbUuid};
use crate::kernel::{AccountId, AccountKind, CommunityId, MemberId, UserId};

crate::text_column!(CreditTo);

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = households)]
pub struct HouseholdRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub name: String,
    pub head_member_id: Option<DbUuid>,
    pub account_id: DbUuid,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = household_members)]
pub struct MembershipRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub household_id: DbUuid,
    pub member_id: DbUuid,
    pub joined_at: NaiveDateTime,
    pub left_at: Option<NaiveDateTime>,
    pub moved_by: Option<DbUuid>,
}

/// A membership with the member's passbook number and name.
pub type MemberLine = (MembershipRow, String, String);

pub fn rules(conn: &mut DbConn, community: CommunityId) -> QueryResult<HouseholdRules> {
    let row: Option<(CreditTo, i32)> = household_settings::table
        .filter(household_settings::community_id.eq(DbUuid::from(community)))
        .select((
            household_settings::credit_to,
            household_settings::members_redeem,
        ))
        .first(conn)
        .optional()?;
    Ok(row
        .map(|(credit_to, redeem)| HouseholdRules {
            credit_to,
            members_redeem: redeem == 1,
        })
        .unwrap_or_default())
}

pub fn set_rules(
    conn: &mut DbConn,
    community: CommunityId,
    rules: HouseholdRules,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let id = DbUuid::from(community);
    let redeem = i32::from(rules.members_redeem);
    let updated =
        diesel::update(household_settings::table.filter(household_settings::community_id.eq(id)))
            .set((
                household_settings::credit_to.eq(rules.credit_to),
                household_settings::members_redeem.eq(redeem),
                household_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(household_settings::table)
            .values((
                household_settings::community_id.eq(id),
                household_settings::credit_to.eq(rules.credit_to),
                household_settings::members_redeem.eq(redeem),
                household_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The household the member belongs to now, with its passbook account.
pub fn current_household(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
) -> QueryResult<Option<(HouseholdRow, AccountRow)>> {
    household_members::table
        .inner_join(
            households::table.on(households::id
                .eq(household_members::household_id)
                .and(households::community_id.eq(household_members::community_id))),
        )
        .inner_join(
            accounts::table.on(accounts::id
                .eq(households::account_id)
                .and(accounts::community_id.eq(households::community_id))),
        )
        .filter(household_members::member_id.eq(DbUuid::from(member)))
        .filter(household_members::left_at.is_null())
        .filter(households::community_id.eq(DbUuid::from(community)))
        .select((HouseholdRow::as_select(), AccountRow::as_select()))
        .first(conn)
        .optional()
}

pub fn household(
    conn: &mut DbConn,
    community: CommunityId,
    id: DbUuid,
) -> QueryResult<Option<(HouseholdRow, AccountRow)>> {
    households::table
        .inner_join(
            accounts::table.on(accounts::id
                .eq(households::account_id)
                .and(accounts::community_id.eq(households::community_id))),
        )
        .filter(households::id.eq(id))
        .filter(households::community_id.eq(DbUuid::from(community)))
        .select((HouseholdRow::as_select(), AccountRow::as_select()))
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut DbConn,
    community: CommunityId,
) -> QueryResult<Vec<(HouseholdRow, AccountRow)>> {
    households::table
        .inner_join(
            accounts::table.on(accounts::id
                .eq(households::account_id)
                .and(accounts::community_id.eq(households::community_id))),
        )
        .filter(households::community_id.eq(DbUuid::from(community)))
        .order(households::name.asc())
        .limit(500)
        .select((HouseholdRow::as_select(), AccountRow::as_select()))
        .load(conn)
}

/// Every membership of the household, past ones too, oldest first.
pub fn memberships(conn: &mut DbConn, household: DbUuid) -> QueryResult<Vec<MemberLine>> {
    household_members::table
        .inner_join(
            members::table.on(members::id
                .eq(household_members::member_id)
                .and(members::community_id.eq(household_members::community_id))),
        )
        .filter(household_members::household_id.eq(household))
        .order((
            household_members::joined_at.asc(),
            household_members::id.asc(),
        ))
        .select((
            MembershipRow::as_select(),
            members::member_no,
            members::name,
        ))
        .load(conn)
}

#[derive(Debug)]
pub enum HouseholdError {
    NameTaken,
    MemberNotFound,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for HouseholdError {
    fn from(e: diesel::result::Error) -> Self {
        HouseholdError::Db(e)
    }
}

fn member_exists(conn: &mut DbConn, community: CommunityId, member: MemberId) -> QueryResult<bool> {
    let n: i64 = members::table
        .filter(members::id.eq(DbUuid::from(member)))
        .filter(members::community_id.eq(DbUuid::from(community)))
        .count()
        .get_result(conn)?;
    Ok(n == 1)
}

/// Moves the member into the household: their current membership (if any) ends now, a new one
/// begins. A head who leaves is no longer the old household's head. Call inside a transaction.
pub fn move_member(
    conn: &mut DbConn,
    community: CommunityId,
    household: DbUuid,
    member: MemberId,
    by: UserId,
    now: NaiveDateTime,
) -> Result<(), HouseholdError> {
    if !member_exists(conn, community, member)? {
        return Err(HouseholdError::MemberNotFound);
    }
    let current: Option<MembershipRow> = household_members::table
        .filter(household_members::member_id.eq(DbUuid::from(member)))
        .filter(household_members::left_at.is_null())
        .select(MembershipRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(current) = &current {
        if current.household_id == household {
            return Ok(());
        }
        diesel::update(household_members::table.filter(household_members::id.eq(current.id)))
            .set(household_members::left_at.eq(Some(now)))
            .execute(conn)?;
        diesel::update(
            households::table
                .filter(households::id.eq(current.household_id))
                .filter(households::head_member_id.eq(DbUuid::from(member))),
        )
        .set(households::head_member_id.eq(None::<DbUuid>))
        .execute(conn)?;
    }
    diesel::insert_into(household_members::table)
        .values(&MembershipRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            community_id: community.into(),
            household_id: household,
            member_id: member.into(),
            joined_at: now,
            left_at: None,
            moved_by: Some(by.into()),
        })
        .execute(conn)?;
    Ok(())
}

/// Creates a household with its passbook account and its head as first member. Call inside a
/// transaction.
pub fn create(
    conn: &mut DbConn,
    community: CommunityId,
    name: &str,
    head: MemberId,
    by: UserId,
    now: NaiveDateTime,
) -> Result<HouseholdRow, HouseholdError> {
    if !member_exists(conn, community, head)? {
        return Err(HouseholdError::MemberNotFound);
    }
    let taken: i64 = households::table
        .filter(households::community_id.eq(DbUuid::from(community)))
        .filter(households::name.eq(name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(HouseholdError::NameTaken);
    }
    let account = AccountRow {
        id: AccountId::new().into(),
        community_id: community.into(),
        kind: AccountKind::Household,
        member_id: None,
        balance: 0,
        last_seq: 0,
        version: 0,
        status: "active".into(),
        created_at: now,
        credits_total: 0,
    };
    diesel::insert_into(accounts::table)
        .values(&account)
        .execute(conn)?;
    let row = HouseholdRow {
        id: DbUuid(uuid::Uuid::now_v7()),
        community_id: community.into(),
        name: name.to_string(),
        head_member_id: Some(head.into()),
        account_id: account.id,
        created_at: now,
    };
    diesel::insert_into(households::table)
        .values(&row)
        .execute(conn)?;
    move_member(conn, community, row.id, head, by, now)?;
    // The head may have come from another household they headed: they head this one now.
    diesel::update(households::table.filter(households::id.eq(row.id)))
        .set(households::head_member_id.eq(Some(DbUuid::from(head))))
        .execute(conn)?;
    Ok(row)
}

/// Whether a member may pay at the counter from a household passbook, and from which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayFrom {
    Household(AccountId),
    /// The community does not let members redeem from a household's passbook.
    NotAllowed,
    /// The member belongs to no household now.
    NoHousehold,
}

/// The household passbook a member may pay from: the community must allow it and the member
/// must belong to a household now.
pub fn paying_account(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
) -> QueryResult<PayFrom> {
    if !rules(conn, community)?.members_redeem {
        return Ok(PayFrom::NotAllowed);
    }
    Ok(match current_household(conn, community, member)? {
        Some((_, account)) => PayFrom::Household(account.id.into()),
        None => PayFrom::NoHousehold,
    })
}
