//! Queries of the points schedule and the deed workflow.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use chrono::NaiveDateTime;

use super::model::{DeedAction, DeedStatus, Direction, ObjectionStatus, Unit};
use crate::db::schema::{
    community_settings, deed_events, deed_objections, deeds, members, rule_versions, rules,
};
use crate::db::{now_utc, DbConn, DbUuid};
use crate::kernel::ActiveStatus;

crate::text_column!(DeedStatus, DeedAction, Direction, Unit, ObjectionStatus);
use crate::kernel::{CommunityId, DeedId, MemberId, RuleId, UserId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = community_settings)]
pub struct SettingsRow {
    pub community_id: DbUuid,
    pub review_stages: i32,
    pub notice_days: i32,
    pub backdate_days: i32,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rules)]
pub struct RuleRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub code: String,
    pub current_version: i32,
    pub status: ActiveStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rule_versions)]
pub struct RuleVersionRow {
    pub id: DbUuid,
    pub rule_id: DbUuid,
    pub version: i32,
    pub name: String,
    pub category: String,
    pub points: i64,
    pub unit: Unit,
    pub direction: Direction,
    pub monthly_cap: Option<i64>,
    pub per_deed_cap: Option<i64>,
    pub created_by: Option<DbUuid>,
    pub created_at: NaiveDateTime,
    pub community_id: DbUuid,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deeds)]
pub struct DeedRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub member_id: DbUuid,
    pub account_id: DbUuid,
    pub rule_id: DbUuid,
    pub rule_version_id: DbUuid,
    pub rule_name: String,
    pub direction: Direction,
    pub quantity: i64,
    pub counted_quantity: i64,
    pub points: i64,
    pub monthly_cap: Option<i64>,
    pub occurred_on: String,
    pub description: String,
    pub evidence: String,
    pub status: DeedStatus,
    pub submitted_by: DbUuid,
    pub cap_month: Option<String>,
    pub notice_ends_at: Option<NaiveDateTime>,
    pub applied_points: Option<i64>,
    pub credit_journal_id: Option<DbUuid>,
    pub reversal_journal_id: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Who passed the first check (初审), so that someone else makes the decision.
    pub first_checked_by: Option<DbUuid>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deed_events)]
pub struct DeedEventRow {
    pub id: DbUuid,
    pub deed_id: DbUuid,
    pub community_id: DbUuid,
    pub action: DeedAction,
    pub from_status: Option<DeedStatus>,
    pub to_status: DeedStatus,
    pub actor_id: Option<DbUuid>,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

/// An objection to a deed on notice (公示异议), and the admin's ruling once made.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deed_objections)]
pub struct ObjectionRow {
    pub id: DbUuid,
    pub deed_id: DbUuid,
    pub community_id: DbUuid,
    pub raised_by: DbUuid,
    pub reason: String,
    pub raised_at: NaiveDateTime,
    pub status: ObjectionStatus,
    pub ruled_by: Option<DbUuid>,
    pub ruling_reason: Option<String>,
    pub ruled_at: Option<NaiveDateTime>,
}

pub mod receivables;
pub mod submit;

// ---------------------------------------------------------------- settings

pub const DEFAULT_REVIEW_STAGES: i32 = 1;
pub const DEFAULT_NOTICE_DAYS: i32 = 0;
pub const DEFAULT_BACKDATE_DAYS: i32 = 30;

/// The community's workflow settings, or the defaults when none were saved.
pub fn settings(conn: &mut DbConn, community: CommunityId) -> QueryResult<SettingsRow> {
    Ok(community_settings::table
        .find(DbUuid::from(community))
        .select(SettingsRow::as_select())
        .get_result(conn)
        .optional()?
        .unwrap_or(SettingsRow {
            community_id: community.into(),
            review_stages: DEFAULT_REVIEW_STAGES,
            notice_days: DEFAULT_NOTICE_DAYS,
            backdate_days: DEFAULT_BACKDATE_DAYS,
            updated_at: now_utc(),
        }))
}

pub fn save_settings(conn: &mut DbConn, row: &SettingsRow) -> QueryResult<()> {
    let updated = diesel::update(community_settings::table.find(row.community_id))
        .set((
            community_settings::review_stages.eq(row.review_stages),
            community_settings::notice_days.eq(row.notice_days),
            community_settings::backdate_days.eq(row.backdate_days),
            community_settings::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        // Another request may have inserted the row meanwhile: then update it instead.
        // In a savepoint, so a lost race leaves PostgreSQL's transaction usable.
        match conn.transaction(|conn| {
            diesel::insert_into(community_settings::table)
                .values(row)
                .execute(conn)
        }) {
            Ok(_) => {}
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                diesel::update(community_settings::table.find(row.community_id))
                    .set((
                        community_settings::review_stages.eq(row.review_stages),
                        community_settings::notice_days.eq(row.notice_days),
                        community_settings::backdate_days.eq(row.backdate_days),
                        community_settings::updated_at.eq(row.updated_at),
                    ))
                    .execute(conn)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- rules

#[derive(Debug, thiserror::Error)]
pub enum CreateRuleError {
    #[error("rule code is taken")]
    CodeTaken,
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// The fields a rule version is made of.
#[derive(Debug, Clone)]
pub struct RuleTerms {
    pub name: String,
    pub category: String,
    pub points: i64,
    pub unit: Unit,
    pub direction: Direction,
    pub monthly_cap: Option<i64>,
    pub per_deed_cap: Option<i64>,
}

fn version_row(rule: &RuleRow, version: i32, terms: &RuleTerms, actor: UserId) -> RuleVersionRow {
    RuleVersionRow {
        id: DbUuid(uuid::Uuid::now_v7()),
        rule_id: rule.id,
        community_id: rule.community_id,
        version,
        name: terms.name.clone(),
        category: terms.category.clone(),
        points: terms.points,
        unit: terms.unit,
        direction: terms.direction,
        monthly_cap: terms.monthly_cap,
        per_deed_cap: terms.per_deed_cap,
        created_by: Some(actor.into()),
        created_at: now_utc(),
    }
}

pub fn create_rule(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
    terms: &RuleTerms,
    actor: UserId,
) -> Result<(RuleRow, RuleVersionRow), CreateRuleError> {
    let now = now_utc();
    let rule = RuleRow {
        id: RuleId::new().into(),
        community_id: community.into(),
        code: code.to_string(),
        current_version: 1,
        status: ActiveStatus::Active,
        created_at: now,
        updated_at: now,
    };
    match diesel::insert_into(rules::table)
        .values(&rule)
        .execute(conn)
    {
        Ok(_) => {}
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            return Err(CreateRuleError::CodeTaken)
        }
        Err(e) => return Err(e.into()),
    }
    let version = version_row(&rule, 1, terms, actor);
    diesel::insert_into(rule_versions::table)
        .values(&version)
        .execute(conn)?;
    Ok((rule, version))
}

pub fn rule_with_current(
    conn: &mut DbConn,
    community: CommunityId,
    rule: RuleId,
) -> QueryResult<Option<(RuleRow, RuleVersionRow)>> {
    rules::table
        .inner_join(
            rule_versions::table.on(rule_versions::rule_id
                .eq(rules::id)
                .and(rule_versions::community_id.eq(rules::community_id))),
        )
        .filter(rules::id.eq(DbUuid::from(rule)))
        .filter(rules::community_id.eq(DbUuid::from(community)))
        .filter(rule_versions::version.eq(rules::current_version))
        .select((RuleRow::as_select(), RuleVersionRow::as_select()))
        .get_result(conn)
        .optional()
}

pub fn rule_versions_of(conn: &mut DbConn, rule: RuleId) -> QueryResult<Vec<RuleVersionRow>> {
    rule_versions::table
        .filter(rule_versions::rule_id.eq(DbUuid::from(rule)))
        .order(rule_versions::version.asc())
        .select(RuleVersionRow::as_select())
        .load(conn)
}

pub fn list_rules(
    conn: &mut DbConn,
    community: CommunityId,
    status: Option<&str>,
    after: Option<RuleId>,
    limit: i64,
) -> QueryResult<Vec<(RuleRow, RuleVersionRow)>> {
    let mut query = rules::table
        .inner_join(
            rule_versions::table.on(rule_versions::rule_id
                .eq(rules::id)
                .and(rule_versions::community_id.eq(rules::community_id))),
        )
        .filter(rules::community_id.eq(DbUuid::from(community)))
        .filter(rule_versions::version.eq(rules::current_version))
        .select((RuleRow::as_select(), RuleVersionRow::as_select()))
        .order(rules::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(rules::status.eq(status));
    }
    if let Some(after) = after {
        query = query.filter(rules::id.gt(DbUuid::from(after)));
    }
    query.load(conn)
}

/// Writes a new version of the rule's terms; deeds already submitted keep theirs.
pub fn add_rule_version(
    conn: &mut DbConn,
    rule: &RuleRow,
    terms: &RuleTerms,
    actor: UserId,
) -> QueryResult<RuleVersionRow> {
    let next = rule.current_version + 1;
    let updated = diesel::update(
        rules::table
            .filter(rules::id.eq(rule.id))
            .filter(rules::current_version.eq(rule.current_version)),
    )
    .set((
        rules::current_version.eq(next),
        rules::updated_at.eq(now_utc()),
    ))
    .execute(conn)?;
    if updated != 1 {
        return Err(DieselError::NotFound);
    }
    let version = version_row(rule, next, terms, actor);
    diesel::insert_into(rule_versions::table)
        .values(&version)
        .execute(conn)?;
    Ok(version)
}

pub fn set_rule_status(
    conn: &mut DbConn,
    rule: DbUuid,
    status: ActiveStatus,
) -> QueryResult<usize> {
    diesel::update(rules::table.filter(rules::id.eq(rule)))
        .set((rules::status.eq(status), rules::updated_at.eq(now_utc())))
        .execute(conn)
}

// ---------------------------------------------------------------- deeds

pub fn insert_deed(conn: &mut DbConn, deed: &DeedRow, event: &DeedEventRow) -> QueryResult<()> {
    diesel::insert_into(deeds::table)
        .values(deed)
        .execute(conn)?;
    diesel::insert_into(deed_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// Inserts many submitted deeds with their submission events, a thousand a statement: what
/// [`insert_deed`] writes for each, for building large test communities (the county benchmark).
pub fn insert_deeds(conn: &mut DbConn, deeds: &[(DeedRow, DeedEventRow)]) -> QueryResult<()> {
    for chunk in deeds.chunks(1_000) {
        let rows: Vec<&DeedRow> = chunk.iter().map(|(d, _)| d).collect();
        let events: Vec<&DeedEventRow> = chunk.iter().map(|(_, e)| e).collect();
        crate::with_backend!(&mut *conn, |c| {
            diesel::insert_into(deeds::table).values(rows).execute(c)?;
            diesel::insert_into(deed_events::table)
                .values(events)
                .execute(c)
        })?;
    }
    Ok(())
}

pub fn deed_by_id(
    conn: &mut DbConn,
    community: CommunityId,
    id: DeedId,
) -> QueryResult<Option<DeedRow>> {
    deeds::table
        .filter(deeds::id.eq(DbUuid::from(id)))
        .filter(deeds::community_id.eq(DbUuid::from(community)))
        .select(DeedRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn events_of(conn: &mut DbConn, deed: DeedId) -> QueryResult<Vec<DeedEventRow>> {
    deed_events::table
        .filter(deed_events::deed_id.eq(DbUuid::from(deed)))
        .order(deed_events::id.asc())
        .select(DeedEventRow::as_select())
        .load(conn)
}

/// A member's deeds, newest first, at most `limit`: the resident's 我的申报.
pub fn member_deeds_newest(
    conn: &mut DbConn,
    community: CommunityId,
    member: MemberId,
    limit: i64,
) -> QueryResult<Vec<DeedRow>> {
    deeds::table
        .filter(deeds::community_id.eq(DbUuid::from(community)))
        .filter(deeds::member_id.eq(DbUuid::from(member)))
        .order(deeds::id.desc())
        .limit(limit)
        .select(DeedRow::as_select())
        .load(conn)
}

/// The history of these deeds, oldest first, in one query.
pub fn events_of_deeds(conn: &mut DbConn, ids: &[DbUuid]) -> QueryResult<Vec<DeedEventRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    deed_events::table
        .filter(deed_events::deed_id.eq_any(ids))
        .order(deed_events::id.asc())
        .select(DeedEventRow::as_select())
        .load(conn)
}

/// Every objection to a deed, oldest first.
pub fn objections_of(conn: &mut DbConn, deed: DeedId) -> QueryResult<Vec<ObjectionRow>> {
    deed_objections::table
        .filter(deed_objections::deed_id.eq(DbUuid::from(deed)))
        .order(deed_objections::id.asc())
        .select(ObjectionRow::as_select())
        .load(conn)
}

/// The undecided objections to these deeds.
pub fn open_objections(conn: &mut DbConn, deeds: &[DbUuid]) -> QueryResult<Vec<ObjectionRow>> {
    deed_objections::table
        .filter(deed_objections::deed_id.eq_any(deeds))
        .filter(deed_objections::status.eq(ObjectionStatus::Open))
        .order(deed_objections::id.asc())
        .select(ObjectionRow::as_select())
        .load(conn)
}

/// Moves a deed to `next` if nobody moved it since `seen_version`; records the event. Returns
/// false when someone else got there first.
pub fn move_deed(
    conn: &mut DbConn,
    seen_version: i64,
    next: &DeedRow,
    event: &DeedEventRow,
) -> QueryResult<bool> {
    let updated = diesel::update(
        deeds::table
            .filter(deeds::id.eq(next.id))
            .filter(deeds::version.eq(seen_version)),
    )
    .set((
        deeds::status.eq(&next.status),
        deeds::cap_month.eq(&next.cap_month),
        deeds::notice_ends_at.eq(next.notice_ends_at),
        deeds::version.eq(seen_version + 1),
        deeds::updated_at.eq(next.updated_at),
    ))
    .execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    diesel::insert_into(deed_events::table)
        .values(event)
        .execute(conn)?;
    Ok(true)
}

pub struct DeedFilter<'a> {
    pub status: Option<&'a str>,
    pub member: Option<MemberId>,
    pub rule: Option<RuleId>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub after: Option<DeedId>,
    pub limit: i64,
}

/// Deeds with their member's passbook number and name, oldest first.
pub fn list_deeds(
    conn: &mut DbConn,
    community: CommunityId,
    filter: &DeedFilter<'_>,
) -> QueryResult<Vec<(DeedRow, String, String)>> {
    let mut query = deeds::table
        .inner_join(
            members::table.on(members::id
                .eq(deeds::member_id)
                .and(members::community_id.eq(deeds::community_id))),
        )
        .filter(deeds::community_id.eq(DbUuid::from(community)))
        .select((DeedRow::as_select(), members::member_no, members::name))
        .order(deeds::id.asc())
        .limit(filter.limit)
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(deeds::status.eq(status));
    }
    if let Some(member) = filter.member {
        query = query.filter(deeds::member_id.eq(DbUuid::from(member)));
    }
    if let Some(rule) = filter.rule {
        query = query.filter(deeds::rule_id.eq(DbUuid::from(rule)));
    }
    if let Some(from) = filter.from {
        query = query.filter(deeds::occurred_on.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(deeds::occurred_on.le(to));
    }
    if let Some(after) = filter.after {
        query = query.filter(deeds::id.gt(DbUuid::from(after)));
    }
    query.load(conn)
}

/// Deeds whose public notice has ended by `now` with no undecided objection, for the sweeper
/// (a deed waiting for a ruling is not offered, so it never stands in the way of the others).
pub fn due_deeds(
    conn: &mut DbConn,
    now: chrono::NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(DbUuid, DbUuid)>> {
    let undecided = deed_objections::table
        .filter(deed_objections::deed_id.eq(deeds::id))
        .filter(deed_objections::status.eq(ObjectionStatus::Open));
    deeds::table
        .filter(deeds::status.eq("approved"))
        .filter(deeds::notice_ends_at.le(now))
        .filter(diesel::dsl::not(diesel::dsl::exists(undecided)))
        .order(deeds::notice_ends_at.asc())
        .limit(limit)
        .select((deeds::community_id, deeds::id))
        .load(conn)
}

/// Deeds on the notice board now, with member names.
pub fn notices(
    conn: &mut DbConn,
    community: CommunityId,
    now: chrono::NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(DeedRow, String, String)>> {
    deeds::table
        .inner_join(
            members::table.on(members::id
                .eq(deeds::member_id)
                .and(members::community_id.eq(deeds::community_id))),
        )
        .filter(deeds::community_id.eq(DbUuid::from(community)))
        .filter(deeds::status.eq("approved"))
        .filter(deeds::notice_ends_at.gt(now))
        .order(deeds::notice_ends_at.asc())
        .limit(limit)
        .select((DeedRow::as_select(), members::member_no, members::name))
        .load(conn)
}

/// What the review desk's queues filter on.
pub struct QueueFilter<'a> {
    pub status: DeedStatus,
    /// The resident's group or grid (members' `member_group`).
    pub group: Option<&'a str>,
    pub rule: Option<RuleId>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// The username of who recorded the deed.
    pub submitter: Option<&'a str>,
    pub limit: i64,
}

/// A deed in a queue: with its resident's number, name and group, and who recorded it.
pub struct QueueRow {
    pub deed: DeedRow,
    pub member_no: String,
    pub member_name: String,
    pub member_group: Option<String>,
    pub submitter: String,
}

/// One queue of the review desk, oldest first.
pub fn queue(
    conn: &mut DbConn,
    community: CommunityId,
    filter: &QueueFilter<'_>,
) -> QueryResult<Vec<QueueRow>> {
    use crate::db::schema::users;
    let mut query = deeds::table
        .inner_join(
            members::table.on(members::id
                .eq(deeds::member_id)
                .and(members::community_id.eq(deeds::community_id))),
        )
        .inner_join(
            users::table.on(users::id
                .eq(deeds::submitted_by)
                .and(users::community_id.eq(deeds::community_id))),
        )
        .filter(deeds::community_id.eq(DbUuid::from(community)))
        .filter(deeds::status.eq(filter.status))
        .select((
            DeedRow::as_select(),
            members::member_no,
            members::name,
            members::member_group,
            users::username,
        ))
        .order(deeds::id.asc())
        .limit(filter.limit)
        .into_boxed();
    if let Some(group) = filter.group {
        query = query.filter(members::member_group.eq(group));
    }
    if let Some(rule) = filter.rule {
        query = query.filter(deeds::rule_id.eq(DbUuid::from(rule)));
    }
    if let Some(from) = filter.from {
        query = query.filter(deeds::occurred_on.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(deeds::occurred_on.le(to));
    }
    if let Some(submitter) = filter.submitter {
        query = query.filter(users::username.eq(submitter));
    }
    let rows: Vec<(DeedRow, String, String, Option<String>, String)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(deed, member_no, member_name, member_group, submitter)| QueueRow {
                deed,
                member_no,
                member_name,
                member_group,
                submitter,
            },
        )
        .collect())
}

/// The groups (grids) the community's members belong to, for the desk's filter.
pub fn member_groups(conn: &mut DbConn, community: CommunityId) -> QueryResult<Vec<String>> {
    let groups: Vec<Option<String>> = members::table
        .filter(members::community_id.eq(DbUuid::from(community)))
        .filter(members::member_group.is_not_null())
        .select(members::member_group)
        .distinct()
        .order(members::member_group.asc())
        .limit(200)
        .load(conn)?;
    Ok(groups.into_iter().flatten().collect())
}

/// Usernames of these users, for pages that say who did what.
pub fn usernames(
    conn: &mut DbConn,
    ids: &[DbUuid],
) -> QueryResult<std::collections::HashMap<DbUuid, String>> {
    use crate::db::schema::users;
    let rows: Vec<(DbUuid, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}
