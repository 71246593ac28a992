//! Communities: creation with their system accounts; the platform's operators; the server's
//! secrets.

use diesel::prelude::*;

use crate::db::models::*;
use crate::db::schema::*;
use crate::db::{now_utc, DbConn, DbUuid};
use crate::kernel::transaction::GENESIS_HASH;
use crate::kernel::{AccountId, AccountKind, CommunityId};

pub const JWT_SECRET_NAME: &str = "jwt_secret";

// ---------------------------------------------------------------- communities

pub struct NewCommunity<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub utc_offset_minutes: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateCommunityError {
    #[error("a community with this code exists already")]
    CodeTaken,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Creates a community with its passbook-number counter and system accounts. Run inside a
/// writing transaction so all of it lands together.
pub fn create_community(
    conn: &mut DbConn,
    new: &NewCommunity<'_>,
) -> Result<CommunityRow, CreateCommunityError> {
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
    // ON CONFLICT DO NOTHING keeps a PostgreSQL transaction usable and sees an insert in flight.
    let inserted = crate::with_backend!(conn, |c| {
        diesel::insert_into(communities::table)
            .values(&row)
            .on_conflict(communities::code)
            .do_nothing()
            .execute(c)
    })?;
    if inserted == 0 {
        return Err(CreateCommunityError::CodeTaken);
    }
    diesel::insert_into(member_no_counters::table)
        .values((
            member_no_counters::community_id.eq(row.id),
            member_no_counters::last_value.eq(0_i64),
        ))
        .execute(conn)?;
    for kind in AccountKind::SYSTEM {
        diesel::insert_into(accounts::table)
            .values(&AccountRow {
                id: AccountId::new().into(),
                community_id: row.id,
                kind,
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
    Ok(row)
}

/// Creates the system accounts a community lacks: those of kinds added after it was created
/// (the `expired` account of communities older than expiry). Idempotent; two instances starting
/// at once may both try, and the loser's insert is skipped by the unique index on (community,
/// kind), in a savepoint so PostgreSQL's transaction stays usable.
pub fn ensure_system_accounts(conn: &mut DbConn) -> QueryResult<usize> {
    let communities: Vec<DbUuid> = communities::table.select(communities::id).load(conn)?;
    let present: Vec<(DbUuid, AccountKind)> = accounts::table
        .filter(accounts::kind.eq_any(AccountKind::SYSTEM))
        .select((accounts::community_id, accounts::kind))
        .load(conn)?;
    let mut created = 0;
    for community in communities {
        for kind in AccountKind::SYSTEM {
            if present.contains(&(community, kind)) {
                continue;
            }
            let row = AccountRow {
                id: AccountId::new().into(),
                community_id: community,
                kind,
                member_id: None,
                balance: 0,
                last_seq: 0,
                version: 0,
                status: "active".into(),
                created_at: now_utc(),
                credits_total: 0,
            };
            match conn.transaction(|conn| {
                diesel::insert_into(accounts::table)
                    .values(&row)
                    .execute(conn)
            }) {
                Ok(n) => created += n,
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(created)
}

pub fn count_communities(conn: &mut DbConn) -> QueryResult<i64> {
    communities::table.count().get_result(conn)
}

pub fn community_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<CommunityRow>> {
    communities::table
        .filter(communities::code.eq(code))
        .select(CommunityRow::as_select())
        .get_result(conn)
        .optional()
}

/// Which community a login, or a command run on the server, means.
#[derive(Debug)]
pub enum Resolved {
    Found(CommunityRow),
    /// A code was given and no community has it.
    Unknown,
    /// No code was given and the database holds several communities (or none).
    Required {
        communities: i64,
    },
}

/// The community with this code; with no code, the only community there is.
pub fn resolve_community(conn: &mut DbConn, code: Option<&str>) -> QueryResult<Resolved> {
    if let Some(code) = code {
        let code = code.trim().to_ascii_lowercase();
        return Ok(match community_by_code(conn, &code)? {
            Some(row) => Resolved::Found(row),
            None => Resolved::Unknown,
        });
    }
    let mut two: Vec<CommunityRow> = communities::table
        .select(CommunityRow::as_select())
        .limit(2)
        .load(conn)?;
    Ok(match two.len() {
        1 => Resolved::Found(two.remove(0)),
        _ => Resolved::Required {
            communities: count_communities(conn)?,
        },
    })
}

/// What the platform may know of a community: sizes and activity, never a resident.
#[derive(Debug, Clone, Default)]
pub struct CommunityFigures {
    pub members: i64,
    pub users: i64,
    pub last_transaction_at: Option<chrono::NaiveDateTime>,
}

pub fn community_figures(
    conn: &mut DbConn,
    community: CommunityId,
) -> QueryResult<CommunityFigures> {
    let id = DbUuid::from(community);
    Ok(figures(conn, Some(community))?
        .remove(&id)
        .unwrap_or_default())
}

/// The figures of every community (or of one), in three grouped queries whatever their number.
pub fn figures(
    conn: &mut DbConn,
    only: Option<CommunityId>,
) -> QueryResult<std::collections::HashMap<DbUuid, CommunityFigures>> {
    use diesel::dsl::{count_star, max};
    let mut out = std::collections::HashMap::new();
    fn slot(
        out: &mut std::collections::HashMap<DbUuid, CommunityFigures>,
        id: DbUuid,
    ) -> &mut CommunityFigures {
        out.entry(id).or_default()
    }
    let mut members_q = members::table
        .group_by(members::community_id)
        .select((members::community_id, count_star()))
        .into_boxed();
    let mut users_q = users::table
        .group_by(users::community_id)
        .select((users::community_id, count_star()))
        .into_boxed();
    let mut journal_q = journal::table
        .group_by(journal::community_id)
        .select((journal::community_id, max(journal::created_at)))
        .into_boxed();
    if let Some(one) = only {
        let id = DbUuid::from(one);
        members_q = members_q.filter(members::community_id.eq(id));
        users_q = users_q.filter(users::community_id.eq(id));
        journal_q = journal_q.filter(journal::community_id.eq(id));
    }
    for (id, n) in members_q.load::<(DbUuid, i64)>(conn)? {
        slot(&mut out, id).members = n;
    }
    for (id, n) in users_q.load::<(DbUuid, i64)>(conn)? {
        slot(&mut out, id).users = n;
    }
    for (id, at) in journal_q.load::<(DbUuid, Option<chrono::NaiveDateTime>)>(conn)? {
        slot(&mut out, id).last_transaction_at = at;
    }
    Ok(out)
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
    kind: AccountKind,
) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .filter(accounts::kind.eq(kind))
        .select(AccountRow::as_select())
        .get_result(conn)
        .optional()
}

// ---------------------------------------------------------------- operators

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = operators)]
pub struct OperatorRow {
    pub id: DbUuid,
    pub username: String,
    pub password_hash: String,
    pub token_version: i64,
    pub status: String,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateOperatorError {
    #[error("an operator with this username exists already")]
    UsernameTaken,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

pub fn insert_operator(
    conn: &mut DbConn,
    username: &str,
    password_hash: &str,
) -> Result<OperatorRow, CreateOperatorError> {
    let now = now_utc();
    let row = OperatorRow {
        id: DbUuid(uuid::Uuid::now_v7()),
        username: username.to_string(),
        password_hash: password_hash.to_string(),
        token_version: 0,
        status: "active".into(),
        created_at: now,
        updated_at: now,
    };
    let inserted = crate::with_backend!(conn, |c| {
        diesel::insert_into(operators::table)
            .values(&row)
            .on_conflict(operators::username)
            .do_nothing()
            .execute(c)
    })?;
    if inserted == 0 {
        return Err(CreateOperatorError::UsernameTaken);
    }
    Ok(row)
}

pub fn operator_by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<OperatorRow>> {
    operators::table
        .filter(operators::username.eq(username))
        .select(OperatorRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn operator_by_id(conn: &mut DbConn, id: uuid::Uuid) -> QueryResult<Option<OperatorRow>> {
    operators::table
        .find(DbUuid(id))
        .select(OperatorRow::as_select())
        .get_result(conn)
        .optional()
}

/// Sets a new password and revokes every token the operator holds.
pub fn set_operator_password(conn: &mut DbConn, id: uuid::Uuid, hash: &str) -> QueryResult<usize> {
    diesel::update(operators::table.find(DbUuid(id)))
        .set((
            operators::password_hash.eq(hash),
            operators::token_version.eq(operators::token_version + 1),
            operators::updated_at.eq(now_utc()),
        ))
        .execute(conn)
}
