//! Communities: creation with their system accounts and the server's secrets.

use diesel::prelude::*;

use crate::db::models::*;
use crate::db::schema::*;
use crate::db::{now_utc, DbConn, DbUuid};
use crate::kernel::transaction::GENESIS_HASH;
use crate::kernel::{AccountId, AccountKind, CommunityId};

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
    kind: AccountKind,
) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .filter(accounts::kind.eq(kind))
        .select(AccountRow::as_select())
        .get_result(conn)
        .optional()
}
