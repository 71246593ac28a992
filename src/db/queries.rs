//! Queries per aggregate. Each takes `&mut DbConn`; the caller owns any transaction.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::models::*;
use super::schema::*;
use super::{now_utc, DbConn, DbUuid};
use crate::domain::member::{MemberName, MemberNo};
use crate::domain::transaction::GENESIS_HASH;
use crate::domain::{AccountId, CommunityId, MemberId, Role, RoleSet, UserId};
use crate::ledger::{ACCOUNT_KIND_MEMBER, SYSTEM_ACCOUNT_KINDS};

pub const JWT_SECRET_NAME: &str = "jwt_secret";

// ---------------------------------------------------------------- bootstrap

pub struct NewCommunity<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub utc_offset_minutes: i32,
}

/// Creates the community and its system accounts unless a community with this code exists.
/// Returns the community and whether it was created now.
pub fn ensure_community(
    conn: &mut DbConn,
    new: &NewCommunity<'_>,
) -> QueryResult<(CommunityRow, bool)> {
    if let Some(existing) = communities::table
        .filter(communities::code.eq(new.code))
        .select(CommunityRow::as_select())
        .get_result(conn)
        .optional()?
    {
        return Ok((existing, false));
    }
    let now = now_utc();
    let row = CommunityRow {
        id: CommunityId::new().into(),
        code: new.code.to_string(),
        name: new.name.to_string(),
        utc_offset_minutes: new.utc_offset_minutes,
        chain_seq: 0,
        chain_hash: GENESIS_HASH.to_string(),
        chain_version: 0,
        created_at: now,
    };
    diesel::insert_into(communities::table)
        .values(&row)
        .execute(conn)?;
    diesel::insert_into(member_no_counters::table)
        .values((
            member_no_counters::community_id.eq(row.id),
            member_no_counters::last_value.eq(0_i64),
        ))
        .execute(conn)?;
    for kind in SYSTEM_ACCOUNT_KINDS {
        diesel::insert_into(accounts::table)
            .values(&AccountRow {
                id: AccountId::new().into(),
                community_id: row.id,
                kind: kind.to_string(),
                member_id: None,
                balance: 0,
                last_seq: 0,
                version: 0,
                status: "active".into(),
                created_at: now,
                credits_total: 0,
            })
            .execute(conn)?;
    }
    Ok((row, true))
}

pub fn community_by_id(conn: &mut DbConn, id: CommunityId) -> QueryResult<Option<CommunityRow>> {
    communities::table
        .find(DbUuid::from(id))
        .select(CommunityRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn communities_all(conn: &mut DbConn) -> QueryResult<Vec<CommunityRow>> {
    communities::table
        .order(communities::created_at)
        .select(CommunityRow::as_select())
        .load(conn)
}

pub fn secret(conn: &mut DbConn, name: &str) -> QueryResult<Option<String>> {
    server_secrets::table
        .find(name)
        .select(server_secrets::value)
        .get_result(conn)
        .optional()
}

pub fn insert_secret(conn: &mut DbConn, name: &str, value: &str) -> QueryResult<()> {
    diesel::insert_into(server_secrets::table)
        .values((
            server_secrets::name.eq(name),
            server_secrets::value.eq(value),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn system_account(
    conn: &mut DbConn,
    community: CommunityId,
    kind: &str,
) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .filter(accounts::kind.eq(kind))
        .select(AccountRow::as_select())
        .get_result(conn)
        .optional()
}

// ---------------------------------------------------------------- users

pub fn user_by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn user_by_id(conn: &mut DbConn, id: UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(DbUuid::from(id))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn user_by_member(conn: &mut DbConn, member: MemberId) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::member_id.eq(DbUuid::from(member)))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn count_users(conn: &mut DbConn, community: CommunityId) -> QueryResult<i64> {
    users::table
        .filter(users::community_id.eq(DbUuid::from(community)))
        .count()
        .get_result(conn)
}

pub struct NewUser<'a> {
    pub community: CommunityId,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub roles: RoleSet,
    pub member: Option<MemberId>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("username is taken")]
    UsernameTaken,
    #[error("the member already has a user")]
    MemberHasUser,
    #[error(transparent)]
    Database(#[from] DieselError),
}

pub fn insert_user(conn: &mut DbConn, new: &NewUser<'_>) -> Result<UserRow, CreateUserError> {
    let now = now_utc();
    let row = UserRow {
        id: UserId::new().into(),
        community_id: new.community.into(),
        username: new.username.to_string(),
        password_hash: new.password_hash.to_string(),
        roles: new.roles.to_stored(),
        member_id: new.member.map(Into::into),
        token_version: 0,
        status: "active".into(),
        created_at: now,
        updated_at: now,
    };
    match diesel::insert_into(users::table).values(&row).execute(conn) {
        Ok(_) => Ok(row),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
            let name = info.constraint_name().unwrap_or(info.message()).to_string();
            if name.contains("member") {
                Err(CreateUserError::MemberHasUser)
            } else {
                Err(CreateUserError::UsernameTaken)
            }
        }
        Err(e) => Err(e.into()),
    }
}

pub fn list_users(
    conn: &mut DbConn,
    community: CommunityId,
    after: Option<UserId>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table
        .filter(users::community_id.eq(DbUuid::from(community)))
        .select(UserRow::as_select())
        .order(users::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(DbUuid::from(after)));
    }
    query.load(conn)
}

/// Changes a user's roles and/or status and revokes every token they hold, so no token carries
/// roles the user no longer has.
pub fn update_user(
    conn: &mut DbConn,
    community: CommunityId,
    user: UserId,
    roles: Option<RoleSet>,
    status: Option<&str>,
) -> QueryResult<Option<UserRow>> {
    let target = users::table
        .filter(users::id.eq(DbUuid::from(user)))
        .filter(users::community_id.eq(DbUuid::from(community)));
    if let Some(roles) = roles {
        diesel::update(target)
            .set(users::roles.eq(roles.to_stored()))
            .execute(conn)?;
    }
    if let Some(status) = status {
        diesel::update(target)
            .set(users::status.eq(status))
            .execute(conn)?;
    }
    let updated = diesel::update(target)
        .set((
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(now_utc()),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    user_by_id(conn, user)
}

/// Serialises every change to who the community's admins are, so that a check like "another
/// active admin remains" still holds when the change commits. Call first inside a writing
/// transaction. SQLite needs nothing more: `BEGIN IMMEDIATE` already admits one writer at a time.
/// PostgreSQL locks the community row `FOR NO KEY UPDATE`, which does not conflict with the
/// key-share locks that inserts referencing the community take (`FOR UPDATE` would, and
/// deadlocked with the ledger writer). Hold it only briefly and never while waiting for the
/// ledger writer: the writer updates this row's chain head and waits for the lock too.
pub fn lock_community_admins(conn: &mut DbConn, community: CommunityId) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => communities::table
            .find(DbUuid::from(community))
            .select(communities::id)
            .for_no_key_update()
            .get_result::<DbUuid>(c)
            .map(|_| ()),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Active users of the community holding the admin role, other than `except`.
pub fn count_other_active_admins(
    conn: &mut DbConn,
    community: CommunityId,
    except: UserId,
) -> QueryResult<usize> {
    // The LIKE only narrows the rows read; whether a user is an admin is decided by parsing.
    let roles: Vec<String> = users::table
        .filter(users::community_id.eq(DbUuid::from(community)))
        .filter(users::status.eq("active"))
        .filter(users::id.ne(DbUuid::from(except)))
        .filter(users::roles.like("%admin%"))
        .select(users::roles)
        .load(conn)?;
    Ok(roles
        .iter()
        .filter(|stored| RoleSet::parse_stored(stored).is_ok_and(|r| r.contains(Role::Admin)))
        .count())
}

/// Revokes every token the user holds.
pub fn bump_token_version(conn: &mut DbConn, user: UserId) -> QueryResult<usize> {
    diesel::update(users::table.find(DbUuid::from(user)))
        .set((
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(now_utc()),
        ))
        .execute(conn)
}

/// Sets a new password hash and revokes every token in the same statement.
pub fn set_password_hash(conn: &mut DbConn, user: UserId, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(DbUuid::from(user)))
        .set((
            users::password_hash.eq(hash),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(now_utc()),
        ))
        .execute(conn)
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
        status: "active".into(),
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
        kind: ACCOUNT_KIND_MEMBER.into(),
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
    status: Option<&str>,
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

// ---------------------------------------------------------------- idempotency and receipts

pub fn idempotency_record(
    conn: &mut DbConn,
    user: UserId,
    key: &str,
) -> QueryResult<Option<IdempotencyRow>> {
    idempotency_keys::table
        .filter(idempotency_keys::user_id.eq(DbUuid::from(user)))
        .filter(idempotency_keys::idem_key.eq(key))
        .select(IdempotencyRow::as_select())
        .get_result(conn)
        .optional()
}

/// A journal transaction with its postings.
pub fn journal_entry(
    conn: &mut DbConn,
    id: crate::domain::JournalId,
) -> QueryResult<Option<(JournalRow, Vec<PostingRow>)>> {
    let Some(entry) = journal::table
        .find(DbUuid::from(id))
        .select(JournalRow::as_select())
        .get_result(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let lines = postings::table
        .filter(postings::journal_id.eq(entry.id))
        .select(PostingRow::as_select())
        .load(conn)?;
    Ok(Some((entry, lines)))
}
