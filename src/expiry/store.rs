//! Expiry's queries: the settings, the credits an account had before a cutoff, the accounts with
//! coins due, and what a resident is warned of.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::model::{unspent_before, Expiry, ExpiryRule, ExpirySettings};
use crate::db::models::AccountRow;
use crate::db::schema::{accounts, communities, expiry_settings, postings};
use crate::db::{DbConn, DbUuid};
use crate::kernel::{AccountId, AccountKind, CommunityId, LocalCalendar, Points};

/// Accounts one sweep looks at per community at most; the next sweep goes on.
pub const EXPIRY_SWEEP_ACCOUNTS_MAX: i64 = 128;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = expiry_settings)]
pub struct ExpirySettingsRow {
    pub community_id: DbUuid,
    pub mode: String,
    pub months: Option<i32>,
    pub notice_days: i32,
    pub since: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A community's settings, checked, and when its rule last changed (`None`: never set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredSettings {
    pub settings: ExpirySettings,
    pub since: Option<NaiveDateTime>,
}

impl StoredSettings {
    /// The expiry to run now, when it is due after the rule was set.
    pub fn due_now(&self, calendar: LocalCalendar, now: NaiveDateTime) -> Option<Expiry> {
        let since = calendar.day_of(self.since?);
        self.settings
            .rule
            .latest(calendar.day_of(now))
            .filter(|e| e.due > since)
    }

    /// The next expiry, when it is close enough to be announced.
    pub fn announced(&self, calendar: LocalCalendar, now: NaiveDateTime) -> Option<Expiry> {
        let since = calendar.day_of(self.since?);
        let today = calendar.day_of(now);
        self.settings
            .rule
            .next(today)
            .filter(|e| e.due > since)
            .filter(|e| (e.due - today).num_days() <= self.settings.notice_days as i64)
    }
}

fn stored(row: Option<ExpirySettingsRow>) -> QueryResult<StoredSettings> {
    let Some(row) = row else {
        return Ok(StoredSettings {
            settings: ExpirySettings::default(),
            since: None,
        });
    };
    // The table's CHECKs allow only what parses; a row that does not is a damaged database.
    let settings = ExpirySettings::parse(&row.mode, row.months, row.notice_days)
        .map_err(|e| DieselError::DeserializationError(format!("expiry settings: {e}").into()))?;
    Ok(StoredSettings {
        settings,
        since: Some(row.since),
    })
}

pub fn settings(conn: &mut DbConn, community: CommunityId) -> QueryResult<StoredSettings> {
    stored(
        expiry_settings::table
            .find(DbUuid::from(community))
            .select(ExpirySettingsRow::as_select())
            .get_result(conn)
            .optional()?,
    )
}

/// Saves the settings; `since` moves only when the rule (mode or months) changes. Run inside a
/// writing transaction.
pub fn save_settings(
    conn: &mut DbConn,
    community: CommunityId,
    new: ExpirySettings,
    now: NaiveDateTime,
) -> QueryResult<StoredSettings> {
    let old = expiry_settings::table
        .find(DbUuid::from(community))
        .select(ExpirySettingsRow::as_select())
        .get_result(conn)
        .optional()?;
    let since = match &old {
        Some(row) if row.mode == new.mode() && row.months == new.months() => row.since,
        _ => now,
    };
    let row = ExpirySettingsRow {
        community_id: community.into(),
        mode: new.mode().to_string(),
        months: new.months(),
        notice_days: new.notice_days as i32,
        since,
        updated_at: now,
    };
    let update = |conn: &mut DbConn| {
        diesel::update(expiry_settings::table.find(row.community_id))
            .set((
                expiry_settings::mode.eq(&row.mode),
                expiry_settings::months.eq(row.months),
                expiry_settings::notice_days.eq(row.notice_days),
                expiry_settings::since.eq(row.since),
                expiry_settings::updated_at.eq(row.updated_at),
            ))
            .execute(conn)
    };
    if old.is_some() {
        update(conn)?;
    } else {
        // Another request may insert the row meanwhile: then update it instead, in a savepoint
        // so a lost race leaves PostgreSQL's transaction usable.
        match conn.transaction(|conn| {
            diesel::insert_into(expiry_settings::table)
                .values(&row)
                .execute(conn)
        }) {
            Ok(_) => {}
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                update(conn)?;
            }
            Err(e) => return Err(e),
        }
    }
    stored(Some(row))
}

/// Every credit the account had before `cutoff` (UTC): the `credits_after` of its last posting
/// before it, 0 when none.
pub fn credits_before(
    conn: &mut DbConn,
    account: AccountId,
    cutoff: NaiveDateTime,
) -> QueryResult<i64> {
    Ok(postings::table
        .filter(postings::account_id.eq(DbUuid::from(account)))
        .filter(postings::posted_at.lt(cutoff))
        .order(postings::account_seq.desc())
        .select(postings::credits_after)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// A member account with coins to expire now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueAccount {
    pub community_id: CommunityId,
    pub account_id: AccountId,
    pub expiry: Expiry,
    pub rule: ExpiryRule,
    pub credits_before: i64,
    pub amount: i64,
}

/// The communities whose rule is not `none`, with their calendars.
pub fn communities_with_expiry(
    conn: &mut DbConn,
) -> QueryResult<Vec<(CommunityId, LocalCalendar, StoredSettings)>> {
    let rows: Vec<(ExpirySettingsRow, i32)> = expiry_settings::table
        .inner_join(communities::table)
        .filter(expiry_settings::mode.ne("none"))
        .select((
            ExpirySettingsRow::as_select(),
            communities::utc_offset_minutes,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(row, offset)| {
            let community = CommunityId::from(row.community_id);
            Ok((community, LocalCalendar::new(offset), stored(Some(row))?))
        })
        .collect()
}

/// The member accounts of a community (active or not: a deactivated member's coins expire by
/// the same rule) holding coins earned before the expiry's cutoff and still unspent.
pub fn due_accounts(
    conn: &mut DbConn,
    community: CommunityId,
    calendar: LocalCalendar,
    rule: ExpiryRule,
    expiry: Expiry,
) -> QueryResult<Vec<DueAccount>> {
    let cutoff = calendar.start_of(expiry.cutoff);
    // Only accounts opened before the cutoff can hold old coins, and only those with a balance
    // can lose any; each candidate costs one indexed look-up of its last posting before it.
    let candidates: Vec<AccountRow> = accounts::table
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .filter(accounts::kind.eq(AccountKind::Member))
        .filter(accounts::balance.gt(0))
        .filter(accounts::created_at.lt(cutoff))
        .order(accounts::id.asc())
        .select(AccountRow::as_select())
        .load(conn)?;
    let mut due = Vec::new();
    for account in candidates {
        let id = AccountId::from(account.id);
        let before = credits_before(conn, id, cutoff)?;
        let amount = unspent_before(before, account.credits_total, account.balance);
        if amount > 0 {
            due.push(DueAccount {
                community_id: community,
                account_id: id,
                expiry,
                rule,
                credits_before: before,
                amount,
            });
            if due.len() as i64 >= EXPIRY_SWEEP_ACCOUNTS_MAX {
                break;
            }
        }
    }
    Ok(due)
}

/// Coins of an account announced to expire: how many, and on which local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiring {
    pub amount: Points,
    pub on: NaiveDate,
}

/// What a member account will lose at the next expiry, when it is within the notice days and
/// more than nothing.
pub fn expiring(
    conn: &mut DbConn,
    community: CommunityId,
    account: &AccountRow,
    now: NaiveDateTime,
) -> QueryResult<Option<Expiring>> {
    let settings = settings(conn, community)?;
    if settings.settings.rule == ExpiryRule::Never {
        return Ok(None);
    }
    let calendar = calendar_of(conn, community)?;
    expiring_with(conn, &settings, calendar, account, now)
}

fn calendar_of(conn: &mut DbConn, community: CommunityId) -> QueryResult<LocalCalendar> {
    let offset: i32 = communities::table
        .find(DbUuid::from(community))
        .select(communities::utc_offset_minutes)
        .first(conn)?;
    Ok(LocalCalendar::new(offset))
}

/// [`expiring`] for a page of accounts, the settings read once.
pub fn expiring_many(
    conn: &mut DbConn,
    community: CommunityId,
    accounts: &[&AccountRow],
    now: NaiveDateTime,
) -> QueryResult<Vec<Option<Expiring>>> {
    let settings = settings(conn, community)?;
    if settings.settings.rule == ExpiryRule::Never {
        return Ok(vec![None; accounts.len()]);
    }
    let calendar = calendar_of(conn, community)?;
    accounts
        .iter()
        .map(|a| expiring_with(conn, &settings, calendar, a, now))
        .collect()
}

fn expiring_with(
    conn: &mut DbConn,
    settings: &StoredSettings,
    calendar: LocalCalendar,
    account: &AccountRow,
    now: NaiveDateTime,
) -> QueryResult<Option<Expiring>> {
    if settings.settings.rule == ExpiryRule::Never
        || account.kind != AccountKind::Member
        || account.balance <= 0
    {
        return Ok(None);
    }
    let Some(expiry) = settings.announced(calendar, now) else {
        return Ok(None);
    };
    let before = credits_before(conn, account.id.into(), calendar.start_of(expiry.cutoff))?;
    let amount = unspent_before(before, account.credits_total, account.balance);
    Ok((amount > 0).then(|| Expiring {
        amount: Points::from_hundredths(amount),
        on: expiry.due,
    }))
}
