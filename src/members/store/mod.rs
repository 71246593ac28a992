//! Members (the roster) and their passbook accounts.

pub mod import;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::db::models::*;
use crate::db::schema::*;
use crate::db::{now_utc, DbConn, DbUuid};
use crate::kernel::ActiveStatus;
use crate::kernel::LocalCalendar;
use crate::kernel::{AccountId, AccountKind, CommunityId, MemberId};
use crate::members::model::roster::{Phone, RosterFields, RosterText};
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
    /// Normalised (`13812345678`, `0571-88886666`); unique in the community when present.
    pub phone: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    /// Free text, for villages without buildings.
    pub address: Option<String>,
    /// The address as one line (free text, then `3栋2单元501`), for search and display.
    pub address_line: String,
    /// The last four characters of the ID card; the whole number is never stored.
    pub id_last4: Option<String>,
    /// 居民小组 / 网格.
    pub member_group: Option<String>,
    /// The community's local date, `YYYY-MM-DD`.
    pub joined_on: String,
    pub note: Option<String>,
}

impl MemberRow {
    /// The roster fields as stored, as text again (so an update can change some and re-check all).
    pub fn roster_text(&self) -> RosterText {
        RosterText {
            phone: self.phone.clone(),
            building: self.building.clone(),
            unit: self.unit.clone(),
            room: self.room.clone(),
            address: self.address.clone(),
            id_card: self.id_last4.clone(),
            group: self.member_group.clone(),
            joined_on: Some(self.joined_on.clone()),
            note: self.note.clone(),
        }
    }

    fn set_roster(&mut self, fields: &RosterFields, joined_on: NaiveDate) {
        self.phone = fields.phone.as_ref().map(|p| p.as_str().to_string());
        self.building = fields.building.clone();
        self.unit = fields.unit.clone();
        self.room = fields.room.clone();
        self.address = fields.address.clone();
        self.address_line = fields.address_line();
        self.id_last4 = fields.id_last4.as_ref().map(|i| i.as_str().to_string());
        self.member_group = fields.group.clone();
        self.joined_on = fields
            .joined_on
            .unwrap_or(joined_on)
            .format("%Y-%m-%d")
            .to_string();
        self.note = fields.note.clone();
    }
}

/// The roster columns an update writes, all at once (they were re-checked together).
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = members, treat_none_as_null = true)]
struct RosterChange<'a> {
    phone: Option<&'a str>,
    building: Option<&'a str>,
    unit: Option<&'a str>,
    room: Option<&'a str>,
    address: Option<&'a str>,
    address_line: &'a str,
    id_last4: Option<&'a str>,
    member_group: Option<&'a str>,
    joined_on: &'a str,
    note: Option<&'a str>,
}

impl<'a> RosterChange<'a> {
    fn of(row: &'a MemberRow) -> RosterChange<'a> {
        RosterChange {
            phone: row.phone.as_deref(),
            building: row.building.as_deref(),
            unit: row.unit.as_deref(),
            room: row.room.as_deref(),
            address: row.address.as_deref(),
            address_line: &row.address_line,
            id_last4: row.id_last4.as_deref(),
            member_group: row.member_group.as_deref(),
            joined_on: &row.joined_on,
            note: row.note.as_deref(),
        }
    }
}

// ---------------------------------------------------------------- members and accounts

/// Generated numbers one creation passes over at most because members typed them in by hand.
pub const GENERATED_MEMBER_NO_SKIPS_MAX: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum CreateMemberError {
    #[error("member_no is taken")]
    MemberNoTaken,
    #[error("phone is taken")]
    PhoneTaken,
    #[error("the next {GENERATED_MEMBER_NO_SKIPS_MAX} generated passbook numbers are all taken")]
    NoFreeGeneratedNumber,
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// Creates a member with no roster details beyond the name, joined today (the community's local
/// day). See [`create_member_with`].
pub fn create_member(
    conn: &mut DbConn,
    community: CommunityId,
    name: &MemberName,
    member_no: Option<&MemberNo>,
) -> Result<(MemberRow, AccountRow), CreateMemberError> {
    let today = community_today(conn, community, now_utc())?;
    create_member_with(
        conn,
        community,
        name,
        member_no,
        &RosterFields::default(),
        today,
    )
}

/// The community's local date at `now`.
pub fn community_today(
    conn: &mut DbConn,
    community: CommunityId,
    now: NaiveDateTime,
) -> QueryResult<NaiveDate> {
    let offset: i32 = communities::table
        .filter(communities::id.eq(DbUuid::from(community)))
        .select(communities::utc_offset_minutes)
        .get_result(conn)?;
    Ok(LocalCalendar::new(offset).day_of(now))
}

/// Creates a member and their account (balance zero: no money moves, so no ledger command).
/// Run inside a writing transaction so the generated number and both rows land together.
/// `today` is the join date when the fields give none.
///
/// A generated number is allocated from the community's counter and inserted in the same
/// transaction; when the number is taken — by a member typed in by hand, committed or still in
/// flight — the next one is tried, so the service never refuses a number it chose itself.
pub fn create_member_with(
    conn: &mut DbConn,
    community: CommunityId,
    name: &MemberName,
    member_no: Option<&MemberNo>,
    fields: &RosterFields,
    today: NaiveDate,
) -> Result<(MemberRow, AccountRow), CreateMemberError> {
    let now = now_utc();
    let mut member = MemberRow::new(community, name, now);
    member.set_roster(fields, today);
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
    let account = member_account(&member);
    diesel::insert_into(accounts::table)
        .values(&account)
        .execute(conn)?;
    Ok((member, account))
}

/// Rows per multi-row insert in [`create_members_in_bulk`]: members have 16 columns, and
/// PostgreSQL takes at most 65,535 bound values a statement.
const BULK_ROWS_PER_INSERT: usize = 1_000;

/// Creates many members without roster details, with their accounts, as [`create_member`] would
/// one by one (numbers from the community's counter, in order; accounts at zero), but in a few
/// multi-row statements: for building large test communities (the county benchmark). Run inside
/// a writing transaction; refuses nothing, so use it only on numbers the counter hands out.
pub fn create_members_in_bulk(
    conn: &mut DbConn,
    community: CommunityId,
    names: &[MemberName],
) -> QueryResult<Vec<(MemberRow, AccountRow)>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_utc();
    let today = community_today(conn, community, now)?;
    let last: i64 = diesel::update(
        member_no_counters::table
            .filter(member_no_counters::community_id.eq(DbUuid::from(community))),
    )
    .set(member_no_counters::last_value.eq(member_no_counters::last_value + names.len() as i64))
    .returning(member_no_counters::last_value)
    .get_result(conn)?;
    let first = last - names.len() as i64 + 1;
    let created: Vec<(MemberRow, AccountRow)> = names
        .iter()
        .zip(first..)
        .map(|(name, number)| {
            let mut member = MemberRow::new(community, name, now);
            member.set_roster(&RosterFields::default(), today);
            member.member_no = MemberNo::generated(number).as_str().to_string();
            let account = member_account(&member);
            (member, account)
        })
        .collect();
    for chunk in created.chunks(BULK_ROWS_PER_INSERT) {
        let members: Vec<&MemberRow> = chunk.iter().map(|(m, _)| m).collect();
        let accounts: Vec<&AccountRow> = chunk.iter().map(|(_, a)| a).collect();
        crate::with_backend!(&mut *conn, |c| {
            diesel::insert_into(members::table)
                .values(members)
                .execute(c)?;
            diesel::insert_into(accounts::table)
                .values(accounts)
                .execute(c)
        })?;
    }
    Ok(created)
}

impl MemberRow {
    /// A new active member with no roster details, joined on the UTC date of `now`.
    pub fn new(community: CommunityId, name: &MemberName, now: NaiveDateTime) -> MemberRow {
        MemberRow {
            id: MemberId::new().into(),
            community_id: community.into(),
            member_no: String::new(),
            name: name.as_str().to_string(),
            status: ActiveStatus::Active,
            created_at: now,
            phone: None,
            building: None,
            unit: None,
            room: None,
            address: None,
            address_line: String::new(),
            id_last4: None,
            member_group: None,
            joined_on: now.date().format("%Y-%m-%d").to_string(),
            note: None,
        }
    }
}

/// The passbook account a new member opens, at balance zero.
pub(crate) fn member_account(member: &MemberRow) -> AccountRow {
    AccountRow {
        id: AccountId::new().into(),
        community_id: member.community_id,
        kind: AccountKind::Member,
        member_id: Some(member.id),
        balance: 0,
        last_seq: 0,
        version: 0,
        status: "active".into(),
        created_at: member.created_at,
        credits_total: 0,
    }
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
/// A phone another member has is a unique violation of `members_phone_key`, answered as such.
fn insert_member_unless_number_taken(
    conn: &mut DbConn,
    member: &MemberRow,
) -> Result<bool, CreateMemberError> {
    let inserted = crate::with_backend!(conn, |c| {
        diesel::insert_into(members::table)
            .values(member)
            .on_conflict((members::community_id, members::member_no))
            .do_nothing()
            .execute(c)
    })
    .map_err(phone_taken_or)?;
    Ok(inserted == 1)
}

/// The unique phone index names a taken phone; any other error is the database's.
pub(crate) fn phone_taken_or(e: DieselError) -> CreateMemberError {
    match crate::db::violated_constraint(&e) {
        Some((diesel::result::DatabaseErrorKind::UniqueViolation, name))
            if name.contains("members_phone_key") || name.contains("members.phone") =>
        {
            CreateMemberError::PhoneTaken
        }
        _ => CreateMemberError::Database(e),
    }
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

/// Writes a member's roster fields (all of them: they were checked together). A phone another
/// member has answers [`CreateMemberError::PhoneTaken`].
pub fn set_roster(
    conn: &mut DbConn,
    community: CommunityId,
    member: &MemberRow,
    fields: &RosterFields,
) -> Result<usize, CreateMemberError> {
    let mut row = member.clone();
    let joined = NaiveDate::parse_from_str(&member.joined_on, "%Y-%m-%d")
        .unwrap_or_else(|_| member.created_at.date());
    row.set_roster(fields, joined);
    diesel::update(
        members::table
            .filter(members::id.eq(row.id))
            .filter(members::community_id.eq(DbUuid::from(community))),
    )
    .set(RosterChange::of(&row))
    .execute(conn)
    .map_err(phone_taken_or)
}

/// How many other members of the community carry each of these names.
pub fn namesakes(
    conn: &mut DbConn,
    community: CommunityId,
    names: &[&str],
) -> QueryResult<std::collections::HashMap<String, i64>> {
    let mut unique: Vec<&str> = names.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let counts: Vec<(String, i64)> = members::table
        .filter(members::community_id.eq(DbUuid::from(community)))
        .filter(members::name.eq_any(unique))
        .group_by(members::name)
        .select((members::name, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(counts.into_iter().map(|(n, c)| (n, c - 1)).collect())
}

pub fn member_with_account(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
) -> QueryResult<Option<(MemberRow, AccountRow)>> {
    members::table
        .inner_join(
            accounts::table.on(accounts::member_id
                .eq(members::id.nullable())
                .and(accounts::community_id.eq(members::community_id))),
        )
        .filter(members::id.eq(DbUuid::from(member)))
        .filter(members::community_id.eq(DbUuid::from(community)))
        .select((MemberRow::as_select(), AccountRow::as_select()))
        .get_result(conn)
        .optional()
}

pub struct MemberFilter<'a> {
    pub member_no: Option<&'a str>,
    /// Substring of the name, passbook number, phone or address line.
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
        .inner_join(
            accounts::table.on(accounts::member_id
                .eq(members::id.nullable())
                .and(accounts::community_id.eq(members::community_id))),
        )
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
        // A phone is stored normalised, so it is also searched as typed normalised: a whole
        // number in any spelling (`138 1234 5678`, `+86…`), or the digits of a part of one.
        let phone_pattern = match Phone::parse(text) {
            Ok(phone) => like_pattern(phone.as_str()),
            Err(_) => like_pattern(&text.trim().replace([' ', '-'], "")),
        };
        let phone = members::phone.assume_not_null();
        query = match conn {
            DbConn::Pg(_) => query.filter(
                translate(members::name, ASCII_UPPERCASE, ASCII_LOWERCASE)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(
                        translate(members::member_no, ASCII_UPPERCASE, ASCII_LOWERCASE)
                            .like(pattern.clone())
                            .escape('\\'),
                    )
                    .or(
                        translate(members::address_line, ASCII_UPPERCASE, ASCII_LOWERCASE)
                            .like(pattern)
                            .escape('\\'),
                    )
                    .or(phone.like(phone_pattern).escape('\\')),
            ),
            DbConn::Sqlite(_) => query.filter(
                members::name
                    .like(pattern.clone())
                    .escape('\\')
                    .or(members::member_no.like(pattern.clone()).escape('\\'))
                    .or(members::address_line.like(pattern).escape('\\'))
                    .or(phone.like(phone_pattern).escape('\\')),
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
        .left_join(
            members::table.on(accounts::member_id
                .eq(members::id.nullable())
                .and(members::community_id.eq(accounts::community_id))),
        )
        .filter(accounts::id.eq(DbUuid::from(account)))
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .select((AccountRow::as_select(), Option::<MemberRow>::as_select()))
        .get_result(conn)
        .optional()
}
