//! Members (the roster) and their passbook accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::db::models::*;
use crate::db::schema::*;
use crate::db::{now_utc, DbConn, DbUuid};
use crate::kernel::ActiveStatus;
use crate::kernel::{AccountId, AccountKind, CommunityId, MemberId};
use crate::members::model::{MemberName, MemberNo};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = members)]
pub struct MemberRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub member_no: String,
    pub name: String,
    pub status: ActiveStatus,
    pub created_at: NaiveDateTime,
}

// ---------------------------------------------------------------- members and accounts

/// Generated numbers one creation passes over at most because members typed them in by hand.
pub const GENERATED_MEMBER_NO_SKIPS_MAX: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum CreateMemberError {
    #[error("member_no is taken")]
    MemberNoTaken,
    #[error("the next {GENERATED_MEMBER_NO_SKIPS_MAX} generated passbook numbers are all taken")]
    NoFreeGeneratedNumber,
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// Creates a member and their account (balance zero: no money moves, so no ledger command).
/// Run inside a writing transaction so the generated number and both rows land together.
///
/// A generated number is allocated from the community's counter and inserted in the same
/// transaction; when the number is taken — by a member typed in by hand, committed or still in
/// flight — the next one is tried, so the service never refuses a number it chose itself.
pub fn create_member(
    conn: &mut DbConn,
    community: CommunityId,
    name: &MemberName,
    member_no: Option<&MemberNo>,
) -> Result<(MemberRow, AccountRow), CreateMemberError> {
    let now = now_utc();
    let mut member = MemberRow {
        id: MemberId::new().into(),
        community_id: community.into(),
        member_no: String::new(),
        name: name.as_str().to_string(),
        status: ActiveStatus::Active,
        created_at: now,
    };
    match member_no {
        Some(no) => {
            member.member_no = no.as_str().to_string();
            if !insert_member_unless_number_taken(conn, &member)? {
                return Err(CreateMemberError::MemberNoTaken);
            }
        }
        None => {
            let mut skipped = 0;
            loop {
                member.member_no = allocate_member_no(conn, community)?;
                if insert_member_unless_number_taken(conn, &member)? {
                    break;
                }
                skipped += 1;
                if skipped >= GENERATED_MEMBER_NO_SKIPS_MAX {
                    return Err(CreateMemberError::NoFreeGeneratedNumber);
                }
            }
        }
    }
    let account = AccountRow {
        id: AccountId::new().into(),
        community_id: community.into(),
        kind: AccountKind::Member,
        member_id: Some(member.id),
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
    Ok((member, account))
}

/// The next generated passbook number, from one statement: the counter row stays locked until
/// the caller's transaction ends, so no two creations are given the same value.
fn allocate_member_no(conn: &mut DbConn, community: CommunityId) -> QueryResult<String> {
    let value: i64 = diesel::update(
        member_no_counters::table
            .filter(member_no_counters::community_id.eq(DbUuid::from(community))),
    )
    .set(member_no_counters::last_value.eq(member_no_counters::last_value + 1))
    .returning(member_no_counters::last_value)
    .get_result(conn)?;
    Ok(MemberNo::generated(value).as_str().to_string())
}

/// Inserts the member unless another member of the community has the number, and says which.
/// `ON CONFLICT DO NOTHING` also covers a number inserted by a transaction not yet committed
/// (PostgreSQL waits for it, SQLite admits one writer at a time), and unlike a unique violation
/// it leaves a PostgreSQL transaction usable for the next try. A check before the insert cannot
/// see an uncommitted number, so it would let the insert fail on a number the service chose.
fn insert_member_unless_number_taken(conn: &mut DbConn, member: &MemberRow) -> QueryResult<bool> {
    let inserted = crate::with_backend!(conn, |c| {
        diesel::insert_into(members::table)
            .values(member)
            .on_conflict((members::community_id, members::member_no))
            .do_nothing()
            .execute(c)
    })?;
    Ok(inserted == 1)
}

/// Renames a member and/or sets their status. The account version is bumped in the same transaction, so
/// the ledger writer, which checks member status, reloads the account before its next write.
pub fn update_member(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
    name: Option<&str>,
    status: Option<ActiveStatus>,
) -> QueryResult<usize> {
    let target = members::table
        .filter(members::id.eq(DbUuid::from(member)))
        .filter(members::community_id.eq(DbUuid::from(community)));
    let mut changed = 0;
    if let Some(name) = name {
        changed = diesel::update(target)
            .set(members::name.eq(name))
            .execute(conn)?;
    }
    if let Some(status) = status {
        changed = diesel::update(target)
            .set(members::status.eq(status))
            .execute(conn)?;
    }
    diesel::update(accounts::table.filter(accounts::member_id.eq(DbUuid::from(member))))
        .set(accounts::version.eq(accounts::version + 1))
        .execute(conn)?;
    Ok(changed)
}

pub fn member_with_account(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
) -> QueryResult<Option<(MemberRow, AccountRow)>> {
    members::table
        .inner_join(accounts::table)
        .filter(members::id.eq(DbUuid::from(member)))
        .filter(members::community_id.eq(DbUuid::from(community)))
        .select((MemberRow::as_select(), AccountRow::as_select()))
        .get_result(conn)
        .optional()
}

pub struct MemberFilter<'a> {
    pub member_no: Option<&'a str>,
    /// Substring of the name or the passbook number.
    pub query: Option<&'a str>,
    /// Only this member (a resident sees themself alone).
    pub only: Option<MemberId>,
    pub after: Option<MemberId>,
    pub limit: i64,
}

const ASCII_UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ASCII_LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";

diesel::define_sql_function! {
    /// PostgreSQL's `translate(text, from, to)`: each character of `from` in `text` becomes the
    /// character at the same place in `to`. Used on PostgreSQL only.
    fn translate(
        text: diesel::sql_types::Text,
        from: diesel::sql_types::Text,
        to: diesel::sql_types::Text,
    ) -> diesel::sql_types::Text;
}

/// Escapes LIKE wildcards so a search for "50%" finds "50%", not everything.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub fn list_members(
    conn: &mut DbConn,
    community: CommunityId,
    filter: &MemberFilter<'_>,
) -> QueryResult<Vec<(MemberRow, AccountRow)>> {
    let mut query = members::table
        .inner_join(accounts::table)
        .filter(members::community_id.eq(DbUuid::from(community)))
        .select((MemberRow::as_select(), AccountRow::as_select()))
        .order(members::id.asc())
        .limit(filter.limit)
        .into_boxed();
    if let Some(no) = filter.member_no {
        query = query.filter(members::member_no.eq(no.trim().to_ascii_uppercase()));
    }
    if let Some(text) = filter.query {
        // The Latin letters A–Z match in either case, every other character only as written, and
        // the same on both backends. SQLite's LIKE folds exactly A–Z. PostgreSQL's LIKE folds
        // nothing, and its ILIKE and lower() fold by the database's locale (É = é), so there the
        // stored text has its A–Z folded by translate() and the pattern is folded the same way.
        let pattern = like_pattern(&text.trim().to_ascii_lowercase());
        query = match conn {
            DbConn::Pg(_) => query.filter(
                translate(members::name, ASCII_UPPERCASE, ASCII_LOWERCASE)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(
                        translate(members::member_no, ASCII_UPPERCASE, ASCII_LOWERCASE)
                            .like(pattern)
                            .escape('\\'),
                    ),
            ),
            DbConn::Sqlite(_) => query.filter(
                members::name
                    .like(pattern.clone())
                    .escape('\\')
                    .or(members::member_no.like(pattern).escape('\\')),
            ),
        };
    }
    if let Some(only) = filter.only {
        query = query.filter(members::id.eq(DbUuid::from(only)));
    }
    if let Some(after) = filter.after {
        query = query.filter(members::id.gt(DbUuid::from(after)));
    }
    query.load(conn)
}

pub fn account_with_member(
    conn: &mut DbConn,
    community: CommunityId,
    account: AccountId,
) -> QueryResult<Option<(AccountRow, Option<MemberRow>)>> {
    accounts::table
        .left_join(members::table)
        .filter(accounts::id.eq(DbUuid::from(account)))
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .select((AccountRow::as_select(), Option::<MemberRow>::as_select()))
        .get_result(conn)
        .optional()
}
