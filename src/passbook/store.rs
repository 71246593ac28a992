//! Passbook reads. Every query here is an index look-up on (account, seq) or (account, time), so a
//! page costs the same on an account with a million lines as on one with ten.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{JournalRow, PostingRow};
use crate::db::prepared::one_row;
use crate::db::schema::{journal, members, postings, users};
use crate::db::{DbConn, DbUuid};
use crate::kernel::AccountId;
use crate::users::model::person_name;

/// The last posting of an account strictly before `before`: (account_seq, balance, credits).
pub fn position_before(
    conn: &mut DbConn,
    account: AccountId,
    before: NaiveDateTime,
) -> QueryResult<(i64, i64, i64)> {
    Ok(one_row(
        postings::table
            .filter(postings::account_id.eq(DbUuid::from(account)))
            .filter(postings::posted_at.lt(before))
            .order(postings::posted_at.desc())
            .then_order_by(postings::account_seq.desc())
            .select((
                postings::account_seq,
                postings::balance_after,
                postings::credits_after,
            )),
    )
    .get_result(conn)
    .optional()?
    .unwrap_or((0, 0, 0)))
}

/// The last posting at or before `at`: (account_seq, balance) — the balance as of a moment.
pub fn position_at(
    conn: &mut DbConn,
    account: AccountId,
    at: NaiveDateTime,
) -> QueryResult<(i64, i64)> {
    Ok(one_row(
        postings::table
            .filter(postings::account_id.eq(DbUuid::from(account)))
            .filter(postings::posted_at.le(at))
            .order(postings::posted_at.desc())
            .then_order_by(postings::account_seq.desc())
            .select((postings::account_seq, postings::balance_after)),
    )
    .get_result(conn)
    .optional()?
    .unwrap_or((0, 0)))
}

/// Who recorded a line: their login and the name people know them by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorder {
    pub username: String,
    /// Display name, else the name of the member the user is, else the username
    /// (`users::model::person_name`).
    pub name: String,
}

/// One passbook line with its transaction and recorder (`None`: the notice sweeper).
pub type StatementRow = (PostingRow, JournalRow, Option<Recorder>);

/// Lines with `after_seq < account_seq <= last_seq`, in order, at most `limit`.
pub fn lines(
    conn: &mut DbConn,
    account: AccountId,
    after_seq: i64,
    last_seq: i64,
    limit: i64,
) -> QueryResult<Vec<StatementRow>> {
    let rows: Vec<(PostingRow, JournalRow)> = postings::table
        .inner_join(
            journal::table.on(journal::id
                .eq(postings::journal_id)
                .and(journal::community_id.eq(postings::community_id))),
        )
        .filter(postings::account_id.eq(DbUuid::from(account)))
        .filter(postings::account_seq.gt(after_seq))
        .filter(postings::account_seq.le(last_seq))
        .order(postings::account_seq.asc())
        .limit(limit)
        .select((PostingRow::as_select(), JournalRow::as_select()))
        .load(conn)?;
    let mut actors: Vec<DbUuid> = rows.iter().filter_map(|(_, j)| j.actor_id).collect();
    actors.sort();
    actors.dedup();
    // A page has few distinct recorders: two small look-ups by primary key, not a join per line.
    type UserNames = (DbUuid, String, Option<String>, Option<DbUuid>);
    let people: Vec<UserNames> = if actors.is_empty() {
        Vec::new()
    } else {
        users::table
            .filter(users::id.eq_any(&actors))
            .select((
                users::id,
                users::username,
                users::display_name,
                users::member_id,
            ))
            .load(conn)?
    };
    let mut member_ids: Vec<DbUuid> = people.iter().filter_map(|p| p.3).collect();
    member_ids.sort();
    member_ids.dedup();
    let member_names: Vec<(DbUuid, String)> = if member_ids.is_empty() {
        Vec::new()
    } else {
        members::table
            .filter(members::id.eq_any(&member_ids))
            .select((members::id, members::name))
            .load(conn)?
    };
    let recorders: Vec<(DbUuid, Recorder)> = people
        .into_iter()
        .map(|(id, username, display_name, member)| {
            let member_name = member.and_then(|m| {
                member_names
                    .iter()
                    .find(|(id, _)| *id == m)
                    .map(|(_, n)| n.as_str())
            });
            let name = person_name(display_name.as_deref(), member_name, &username);
            (id, Recorder { username, name })
        })
        .collect();
    Ok(rows
        .into_iter()
        .map(|(p, j)| {
            let recorder = j.actor_id.and_then(|a| {
                recorders
                    .iter()
                    .find(|(id, _)| *id == a)
                    .map(|(_, r)| r.clone())
            });
            (p, j, recorder)
        })
        .collect())
}
