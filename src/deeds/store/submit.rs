//! Declaring a deed: the one place it is checked and recorded, whichever face declares it (a
//! resident at home, a grid worker for an elderly resident, the demo). Points come from the rule
//! version in force, never from the declarer.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::result::Error as DieselError;

use super::{rule_with_current, settings, DeedEventRow, DeedRow};
use crate::db::{self, DbConn, DbUuid};
use crate::deeds::model::{
    check_occurred_on, deed_points, parse_quantity, DeedAction, DeedInputError, DeedStatus,
    Direction,
};
use crate::kernel::{ActiveStatus, CommunityId, DeedId, LocalCalendar, MemberId, RuleId, UserId};
use crate::members::store::{member_with_account, MemberRow};

/// A deed as declared.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub community: CommunityId,
    pub member: MemberId,
    pub rule: RuleId,
    /// Hours (in halves) or events (whole), per the rule's unit.
    pub quantity: f64,
    pub occurred_on: NaiveDate,
    pub description: String,
    pub evidence: Vec<String>,
    pub declared_by: UserId,
    /// Declared for someone else by a reviewer or admin, who may also record deductions.
    pub on_behalf: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Input(#[from] DeedInputError),
    #[error("member not found")]
    MemberNotFound,
    #[error("rule not found")]
    RuleNotFound,
    #[error("this rule is no longer in force")]
    RuleInactive,
    #[error("deductions are recorded by reviewers and admins")]
    DeductionNotAllowed,
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// Checks the declaration against the community's settings and the rule, and records the deed
/// with its first history line, in one writing transaction.
pub fn submit(
    conn: &mut DbConn,
    d: &Declaration,
    calendar: LocalCalendar,
    now: NaiveDateTime,
) -> Result<(DeedRow, MemberRow), SubmitError> {
    let settings = settings(conn, d.community)?;
    check_occurred_on(d.occurred_on, calendar.day_of(now), settings.backdate_days)?;
    let (member, account) =
        member_with_account(conn, d.community, d.member)?.ok_or(SubmitError::MemberNotFound)?;
    let (rule, version) =
        rule_with_current(conn, d.community, d.rule)?.ok_or(SubmitError::RuleNotFound)?;
    if rule.status != ActiveStatus::Active {
        return Err(SubmitError::RuleInactive);
    }
    if version.direction == Direction::Deduct && !d.on_behalf {
        return Err(SubmitError::DeductionNotAllowed);
    }
    let quantity = parse_quantity("quantity", d.quantity, version.unit)?;
    let (counted, points) = deed_points(quantity, version.per_deed_cap, version.points)?;
    let deed = DeedRow {
        id: DeedId::new().into(),
        community_id: d.community.into(),
        member_id: member.id,
        account_id: account.id,
        rule_id: rule.id,
        rule_version_id: version.id,
        rule_name: version.name.clone(),
        direction: version.direction,
        quantity,
        counted_quantity: counted,
        points,
        monthly_cap: version.monthly_cap,
        occurred_on: d.occurred_on.format("%Y-%m-%d").to_string(),
        description: d.description.clone(),
        evidence: serde_json::to_string(&d.evidence).unwrap_or_else(|_| "[]".into()),
        status: DeedStatus::Submitted,
        submitted_by: d.declared_by.into(),
        cap_month: None,
        notice_ends_at: None,
        applied_points: None,
        credit_journal_id: None,
        reversal_journal_id: None,
        version: 0,
        created_at: now,
        updated_at: now,
        first_checked_by: None,
    };
    let event = DeedEventRow {
        id: DbUuid(uuid::Uuid::now_v7()),
        deed_id: deed.id,
        community_id: deed.community_id,
        action: DeedAction::Submit,
        from_status: None,
        to_status: deed.status,
        actor_id: Some(d.declared_by.into()),
        reason: None,
        created_at: now,
    };
    db::write_transaction(conn, |conn| super::insert_deed(conn, &deed, &event))?;
    Ok((deed, member))
}
