//! Users: who may log in, their roles and token versions.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::*;
use crate::db::{now_utc, DbConn, DbUuid};
use crate::kernel::{CommunityId, MemberId, Role, RoleSet, UserId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub username: String,
    pub password_hash: String,
    pub roles: String,
    pub member_id: Option<DbUuid>,
    pub token_version: i64,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Set by an admin's reset; cleared when the user sets a password of their own.
    pub password_change_required: bool,
    pub temporary_password_expires_at: Option<NaiveDateTime>,
    /// The name people know the user by (姓名); `None`: shown by their member's name or username.
    pub display_name: Option<String>,
}

// ---------------------------------------------------------------- users

pub fn user_by_username(
    conn: &mut DbConn,
    community: CommunityId,
    username: &str,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::community_id.eq(DbUuid::from(community)))
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

/// The member's active login. A member may also have disabled logins from before; those are
/// history, never "the user of the member".
pub fn user_by_member(conn: &mut DbConn, member: MemberId) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::member_id.eq(DbUuid::from(member)))
        .filter(users::status.eq("active"))
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
    /// Already checked and trimmed (`users::model::check_display_name`).
    pub display_name: Option<&'a str>,
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
        password_change_required: false,
        temporary_password_expires_at: None,
        display_name: new.display_name.map(str::to_string),
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

/// Changes a user's roles, status and/or display name. A change of roles or status revokes every
/// token they hold, so no token carries roles the user no longer has; a new name alone does not.
pub fn update_user(
    conn: &mut DbConn,
    community: CommunityId,
    user: UserId,
    roles: Option<RoleSet>,
    status: Option<&str>,
    display_name: Option<&str>,
) -> QueryResult<Option<UserRow>> {
    let target = users::table
        .filter(users::id.eq(DbUuid::from(user)))
        .filter(users::community_id.eq(DbUuid::from(community)));
    if let Some(name) = display_name {
        diesel::update(target)
            .set(users::display_name.eq(Some(name)))
            .execute(conn)?;
    }
    if roles.is_none() && status.is_none() {
        let updated = diesel::update(target)
            .set(users::updated_at.eq(now_utc()))
            .execute(conn)?;
        if updated == 0 {
            return Ok(None);
        }
        return user_by_id(conn, user);
    }
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

/// Sets a new password hash the user chose and revokes every token in the same statement. A
/// temporary password from a reset ends with it.
pub fn set_password_hash(conn: &mut DbConn, user: UserId, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(DbUuid::from(user)))
        .set((
            users::password_hash.eq(hash),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(now_utc()),
            users::password_change_required.eq(false),
            users::temporary_password_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
}

/// True when a write failed because the member already has an active login
/// (`users_member_key`: one active login per member).
pub fn is_member_has_user(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => info
            .constraint_name()
            .unwrap_or(info.message())
            .contains("member"),
        _ => false,
    }
}

// ---------------------------------------------------------------- password resets

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = password_resets)]
pub struct PasswordResetRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub user_id: DbUuid,
    /// `None`: reset on the server's command line.
    pub reset_by: Option<DbUuid>,
    pub reset_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub struct PasswordReset<'a> {
    pub community: CommunityId,
    pub user: UserId,
    /// The admin who reset it; `None` on the server's command line.
    pub reset_by: Option<UserId>,
    /// The temporary password's hash; the password itself is never stored.
    pub password_hash: &'a str,
    pub reset_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Gives the user a temporary password that must be changed at the next login, revokes every
/// token they hold, and records who did it. `None` when the community has no such user. Call
/// inside a writing transaction, so the reset and its record are one.
pub fn reset_password(
    conn: &mut DbConn,
    reset: &PasswordReset<'_>,
) -> QueryResult<Option<UserRow>> {
    let updated = diesel::update(
        users::table
            .filter(users::id.eq(DbUuid::from(reset.user)))
            .filter(users::community_id.eq(DbUuid::from(reset.community))),
    )
    .set((
        users::password_hash.eq(reset.password_hash),
        users::password_change_required.eq(true),
        users::temporary_password_expires_at.eq(Some(reset.expires_at)),
        users::token_version.eq(users::token_version + 1),
        users::updated_at.eq(now_utc()),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    diesel::insert_into(password_resets::table)
        .values(&PasswordResetRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            community_id: reset.community.into(),
            user_id: reset.user.into(),
            reset_by: reset.reset_by.map(Into::into),
            reset_at: reset.reset_at,
            expires_at: reset.expires_at,
        })
        .execute(conn)?;
    user_by_id(conn, reset.user)
}

/// The user's latest password reset, with the username of the admin who made it (none for a reset
/// on the server's command line).
pub fn last_password_reset(
    conn: &mut DbConn,
    community: CommunityId,
    user: UserId,
) -> QueryResult<Option<(PasswordResetRow, Option<String>)>> {
    let Some(reset) = password_resets::table
        .filter(password_resets::community_id.eq(DbUuid::from(community)))
        .filter(password_resets::user_id.eq(DbUuid::from(user)))
        .order((password_resets::reset_at.desc(), password_resets::id.desc()))
        .select(PasswordResetRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let by: Option<String> = match reset.reset_by {
        Some(by) => Some(
            users::table
                .filter(users::id.eq(by))
                .filter(users::community_id.eq(DbUuid::from(community)))
                .select(users::username)
                .get_result(conn)?,
        ),
        None => None,
    };
    Ok(Some((reset, by)))
}
