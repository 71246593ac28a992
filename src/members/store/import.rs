//! A roster import's rows: the numbers and phones already taken, the members and accounts of an
//! import inserted many at a time, and the import record that makes a retry recognisable.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{member_account, phone_taken_or, CreateMemberError, MemberRow};
use crate::db::models::AccountRow;
use crate::db::schema::*;
use crate::db::{DbConn, DbUuid};
use crate::kernel::{CommunityId, UserId};
use crate::members::model::sheet::ImportRow;
use crate::members::model::MemberNo;

/// Rows per multi-row INSERT: 500 members bind 8,000 values, under SQLite's and PostgreSQL's
/// limits, and few enough statements that 5,000 rows take ten per table.
const INSERT_ROWS_MAX: usize = 500;

/// The passbook numbers and phones the community's members have now.
pub fn taken_numbers_and_phones(
    conn: &mut DbConn,
    community: CommunityId,
) -> QueryResult<(HashSet<String>, HashSet<String>)> {
    let rows: Vec<(String, Option<String>)> = members::table
        .filter(members::community_id.eq(DbUuid::from(community)))
        .select((members::member_no, members::phone))
        .load(conn)?;
    let mut numbers = HashSet::with_capacity(rows.len());
    let mut phones = HashSet::new();
    for (no, phone) in rows {
        numbers.insert(no);
        if let Some(phone) = phone {
            phones.insert(phone);
        }
    }
    Ok((numbers, phones))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = roster_imports)]
pub struct RosterImportRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub user_id: DbUuid,
    pub idem_key: String,
    pub request_hash: String,
    pub rows_created: i32,
    /// The answer as first sent, JSON.
    pub summary: String,
    pub created_at: NaiveDateTime,
}

/// The import this user made with this key, if any.
pub fn import_by_key(
    conn: &mut DbConn,
    community: CommunityId,
    user: UserId,
    key: &str,
) -> QueryResult<Option<RosterImportRow>> {
    roster_imports::table
        .filter(roster_imports::community_id.eq(DbUuid::from(community)))
        .filter(roster_imports::user_id.eq(DbUuid::from(user)))
        .filter(roster_imports::idem_key.eq(key))
        .select(RosterImportRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn insert_import(conn: &mut DbConn, record: &RosterImportRow) -> QueryResult<()> {
    diesel::insert_into(roster_imports::table)
        .values(record)
        .execute(conn)?;
    Ok(())
}

/// Passbook numbers for the rows that give none: the community's counter moved once for all of
/// them, passing over numbers taken in the database or written in the file.
fn allocate_member_nos(
    conn: &mut DbConn,
    community: CommunityId,
    count: usize,
    taken: &HashSet<String>,
) -> Result<Vec<String>, CreateMemberError> {
    let mut numbers = Vec::with_capacity(count);
    let mut skipped = 0_u32;
    while numbers.len() < count {
        let wanted = (count - numbers.len()) as i64;
        let last: i64 = diesel::update(
            member_no_counters::table
                .filter(member_no_counters::community_id.eq(DbUuid::from(community))),
        )
        .set(member_no_counters::last_value.eq(member_no_counters::last_value + wanted))
        .returning(member_no_counters::last_value)
        .get_result(conn)?;
        for value in (last - wanted + 1)..=last {
            let number = MemberNo::generated(value).as_str().to_string();
            if taken.contains(&number) {
                skipped += 1;
                if skipped >= super::GENERATED_MEMBER_NO_SKIPS_MAX {
                    return Err(CreateMemberError::NoFreeGeneratedNumber);
                }
            } else {
                numbers.push(number);
            }
        }
    }
    Ok(numbers)
}

/// Inserts every row's member and account, a few hundred per statement. Run inside the write
/// transaction that also records the import; `taken` is every number in use (database and file).
/// A number or phone taken meanwhile by another writer fails the whole insert, which rolls back.
pub fn insert_rows(
    conn: &mut DbConn,
    community: CommunityId,
    rows: &[ImportRow],
    today: NaiveDate,
    now: NaiveDateTime,
    taken: &HashSet<String>,
) -> Result<Vec<(MemberRow, AccountRow)>, CreateMemberError> {
    let unnumbered = rows.iter().filter(|r| r.member_no.is_none()).count();
    let mut generated = allocate_member_nos(conn, community, unnumbered, taken)?.into_iter();
    let mut members = Vec::with_capacity(rows.len());
    for row in rows {
        let mut member = MemberRow::new(community, &row.name, now);
        member.set_roster(&row.fields, today);
        member.member_no = match &row.member_no {
            Some(no) => no.as_str().to_string(),
            None => generated
                .next()
                .ok_or(CreateMemberError::NoFreeGeneratedNumber)?,
        };
        members.push(member);
    }
    let accounts: Vec<AccountRow> = members.iter().map(member_account).collect();
    for chunk in members.chunks(INSERT_ROWS_MAX) {
        crate::with_backend!(conn, |c| diesel::insert_into(members::table)
            .values(chunk)
            .execute(c))
        .map_err(|e| match phone_taken_or(e) {
            CreateMemberError::Database(e) => member_no_taken_or(e),
            other => other,
        })?;
    }
    for chunk in accounts.chunks(INSERT_ROWS_MAX) {
        crate::with_backend!(conn, |c| diesel::insert_into(accounts::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(members.into_iter().zip(accounts).collect())
}

fn member_no_taken_or(e: diesel::result::Error) -> CreateMemberError {
    match crate::db::violated_constraint(&e) {
        Some((diesel::result::DatabaseErrorKind::UniqueViolation, name))
            if name.contains("members_member_no_key") || name.contains("members.member_no") =>
        {
            CreateMemberError::MemberNoTaken
        }
        _ => CreateMemberError::Database(e),
    }
}

/// Every member of the community with their account, in passbook-number order, for an export.
pub fn roster(
    conn: &mut DbConn,
    community: CommunityId,
    limit: i64,
) -> QueryResult<Vec<(MemberRow, AccountRow)>> {
    members::table
        .inner_join(
            accounts::table.on(accounts::member_id
                .eq(members::id.nullable())
                .and(accounts::community_id.eq(members::community_id))),
        )
        .filter(members::community_id.eq(DbUuid::from(community)))
        .select((MemberRow::as_select(), AccountRow::as_select()))
        .order(members::member_no.asc())
        .limit(limit)
        .load(conn)
}
