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
    /// The id the deed is to have, chosen by the declarer's form when it was drawn: the same
    /// declaration sent twice under it (a double click, a retried POST) records one deed and
    /// answers it both times. `None` makes a fresh id.
    pub id: Option<DeedId>,
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
    /// The id was already taken by another declaration (another person's, or different words).
    #[error("this declaration's id was used for a different declaration")]
    IdTaken,
    #[error(transparent)]
    Database(#[from] DieselError),
}

/// The deed already recorded under the declaration's id, when this very declaration made it;
/// refused when the id holds something else.
fn recorded_before(
    conn: &mut DbConn,
    d: &Declaration,
    quantity: i64,
) -> Result<Option<(DeedRow, MemberRow)>, SubmitError> {
    let Some(id) = d.id else { return Ok(None) };
    let Some(deed) = super::deed_by_id(conn, d.community, id)? else {
        return Ok(None);
    };
    let same = deed.submitted_by == d.declared_by.into()
        && deed.member_id == d.member.into()
        && deed.rule_id == d.rule.into()
        && deed.quantity == quantity
        && deed.occurred_on == d.occurred_on.format("%Y-%m-%d").to_string()
        && deed.description == d.description;
    if !same {
        return Err(SubmitError::IdTaken);
    }
    let (member, _) =
        member_with_account(conn, d.community, d.member)?.ok_or(SubmitError::MemberNotFound)?;
    Ok(Some((deed, member)))
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
    if let Some(earlier) = recorded_before(conn, d, quantity)? {
        return Ok(earlier);
    }
    let (counted, points) = deed_points(quantity, version.per_deed_cap, version.points)?;
    // 一户一档: where the community credits households, a member's deeds go to their household's
    // passbook (the deed still names the member who did it).
    let account_id = match crate::households::store::rules(conn, d.community)?.credit_to {
        crate::households::model::CreditTo::Household => {
            crate::households::store::current_household(conn, d.community, d.member)?
                .map(|(_, household)| household.id)
                .unwrap_or(account.id)
        }
        crate::households::model::CreditTo::Member => account.id,
    };
    let deed = DeedRow {
        id: d.id.unwrap_or_default().into(),
        community_id: d.community.into(),
        member_id: member.id,
        account_id,
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
    match db::write_transaction(conn, |conn| super::insert_deed(conn, &deed, &event)) {
        Ok(()) => Ok((deed, member)),
        // The same declaration sent twice at once: the one that lost the race answers the deed
        // the other recorded.
        Err(DieselError::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
            if d.id.is_some() =>
        {
            recorded_before(conn, d, quantity)?.ok_or(SubmitError::IdTaken)
        }
        Err(e) => Err(e.into()),
    }
}
