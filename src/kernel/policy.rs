//! Who may do what, written once: the permission table (which role may take which kind of step),
//! and the separation of duties (nobody acts on their own passbook, nobody decides on a deed they
//! submitted, and the first check (初审) and the decision of a two-stage review are made by two
//! different people). Every face asks these; the README's roles table is checked against
//! [`GRANTS`] cell by cell.

use super::ids::{MemberId, UserId};
use super::roles::{Role, RoleSet};

crate::stored_words! {
    /// A kind of step a role may take. Reading one's own passbook, deeds and receipts, the notice
    /// board, objecting to a deed on it, and the honor roll need no permission: every user of the
    /// community may.
    pub enum Permission {
        /// Read every member and their passbook account.
        ReadMembers = "read_members",
        RegisterMembers = "register_members",
        /// Rename and (de)activate members.
        EditMembers = "edit_members",
        /// Read anyone's passbook statement.
        ReadStatements = "read_statements",
        /// Read the community's own accounts (issuance, shop, deductions).
        ReadSystemAccounts = "read_system_accounts",
        /// Read every deed, not only one's own.
        ReadDeeds = "read_deeds",
        DeclareOwnDeeds = "declare_own_deeds",
        /// Record deeds (and deductions) for residents.
        DeclareForOthers = "declare_for_others",
        /// The first check of a two-stage review (初审).
        FirstCheck = "first_check",
        /// Approve or reject a deed.
        DecideDeeds = "decide_deeds",
        ReverseDeeds = "reverse_deeds",
        /// See names on the notice board unmasked.
        ReadBoardNames = "read_board_names",
        /// The points schedule and the workflow settings.
        ManageRules = "manage_rules",
        /// Goods, prices and restocks.
        ManageGoods = "manage_goods",
        ReadStockMovements = "read_stock_movements",
        Redeem = "redeem",
        /// Reserve goods for oneself, picked up later with a code.
        ReserveOwn = "reserve_own",
        /// Void a redemption on the day it was made.
        VoidToday = "void_today",
        VoidAnyDay = "void_any_day",
        /// Read every redemption and the day's totals.
        ReadRegister = "read_register",
        /// Opening balances and corrections.
        Adjust = "adjust",
        ManageUsers = "manage_users",
        /// The period summary (the honor roll is open to everyone in the community).
        ReadReports = "read_reports",
        /// The journal feed.
        ReadJournal = "read_journal",
        VerifyLedger = "verify_ledger",
        /// Record a resident's donation to the community fund at the counter.
        DonateForOthers = "donate_for_others",
        /// The fund's balance, totals and grants.
        ReadFund = "read_fund",
        /// Propose, approve and reject grants from the fund (a second admin decides).
        GrantFromFund = "grant_from_fund",
    }
}

use Permission as P;
use Role as R;

/// THE permission table: each permission and the roles that hold it.
pub const GRANTS: &[(Permission, &[Role])] = &[
    (
        P::ReadMembers,
        &[R::Reviewer, R::Clerk, R::Auditor, R::Admin],
    ),
    (P::RegisterMembers, &[R::Reviewer, R::Admin]),
    (P::EditMembers, &[R::Admin]),
    (P::ReadStatements, &[R::Clerk, R::Auditor, R::Admin]),
    (P::ReadSystemAccounts, &[R::Auditor, R::Admin]),
    (P::ReadDeeds, &[R::Reviewer, R::Auditor, R::Admin]),
    (P::DeclareOwnDeeds, &[R::Resident]),
    (P::DeclareForOthers, &[R::Reviewer, R::Admin]),
    (P::FirstCheck, &[R::Reviewer, R::Admin]),
    (P::DecideDeeds, &[R::Admin]),
    (P::ReverseDeeds, &[R::Admin]),
    (
        P::ReadBoardNames,
        &[R::Reviewer, R::Clerk, R::Auditor, R::Admin],
    ),
    (P::ManageRules, &[R::Admin]),
    (P::ManageGoods, &[R::Admin]),
    (P::ReadStockMovements, &[R::Clerk, R::Auditor, R::Admin]),
    (P::Redeem, &[R::Clerk, R::Admin]),
    (P::ReserveOwn, &[R::Resident]),
    (P::VoidToday, &[R::Clerk, R::Admin]),
    (P::VoidAnyDay, &[R::Admin]),
    (P::ReadRegister, &[R::Clerk, R::Auditor, R::Admin]),
    (P::Adjust, &[R::Admin]),
    (P::ManageUsers, &[R::Admin]),
    (P::ReadReports, &[R::Auditor, R::Admin]),
    (P::ReadJournal, &[R::Auditor, R::Admin]),
    (P::VerifyLedger, &[R::Auditor, R::Admin]),
    (P::DonateForOthers, &[R::Clerk, R::Admin]),
    (P::ReadFund, &[R::Clerk, R::Auditor, R::Admin]),
    (P::GrantFromFund, &[R::Admin]),
];

impl Permission {
    /// The roles that hold this permission.
    pub fn roles(self) -> &'static [Role] {
        GRANTS
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, roles)| *roles)
            .unwrap_or(&[])
    }
}

impl RoleSet {
    /// True when one of these roles holds `permission`.
    pub fn may(self, permission: Permission) -> bool {
        permission.roles().iter().any(|r| self.contains(*r))
    }
}

/// Who is acting: the user, and the member whose passbook is theirs, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub member_id: Option<MemberId>,
}

/// What the actor is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// The first check of a deed (初审): pass or return.
    FirstCheck,
    /// Approving or rejecting a deed.
    Decide,
    /// Reversing a credited deed.
    Reverse,
    /// Redeeming goods at the counter.
    Redeem,
    /// Voiding a redemption.
    Void,
    /// Adjusting a passbook (opening balance, correction).
    Adjust,
    /// Recording a resident's donation to the fund at the counter.
    Donate,
    /// Proposing or deciding a grant from the fund.
    Grant,
}

/// What the act is done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Subject {
    /// The member whose passbook the act changes.
    pub member_id: Option<MemberId>,
    /// Who submitted the deed, for deed acts.
    pub submitted_by: Option<UserId>,
    /// Who made the first check of the deed, for a decision after a two-stage review.
    pub first_checked_by: Option<UserId>,
}

/// The act would have the actor deal with their own coins or check their own work.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
#[error("nobody {} their own passbook or their own deed", act_words(*act))]
pub struct SelfDealing {
    pub act: Act,
}

fn act_words(act: Act) -> &'static str {
    match act {
        Act::FirstCheck => "checks",
        Act::Decide => "decides on",
        Act::Reverse => "reverses",
        Act::Redeem => "redeems from",
        Act::Void => "voids a redemption on",
        Act::Adjust => "adjusts",
        Act::Donate => "records a donation from",
        Act::Grant => "grants from the fund to",
    }
}

/// Refuses the act when it would be self-dealing.
pub fn refuse_self_dealing(actor: Actor, act: Act, subject: Subject) -> Result<(), SelfDealing> {
    let own_passbook = actor.member_id.is_some() && actor.member_id == subject.member_id;
    let own_deed = subject.submitted_by == Some(actor.user_id)
        && matches!(act, Act::FirstCheck | Act::Decide | Act::Reverse);
    let checked_it_first = act == Act::Decide && subject.first_checked_by == Some(actor.user_id);
    if own_passbook || own_deed || checked_it_first {
        return Err(SelfDealing { act });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_is_in_the_table_once() {
        for permission in Permission::ALL {
            let rows = GRANTS.iter().filter(|(p, _)| p == permission).count();
            assert_eq!(rows, 1, "{permission}");
            assert!(
                !permission.roles().is_empty(),
                "{permission} is held by nobody"
            );
        }
    }

    fn actor(member: Option<MemberId>) -> Actor {
        Actor {
            user_id: UserId::new(),
            member_id: member,
        }
    }

    #[test]
    fn nobody_acts_on_their_own_passbook() {
        let own = MemberId::new();
        let me = actor(Some(own));
        for act in [
            Act::FirstCheck,
            Act::Decide,
            Act::Reverse,
            Act::Redeem,
            Act::Void,
            Act::Adjust,
        ] {
            let subject = Subject {
                member_id: Some(own),
                ..Subject::default()
            };
            assert_eq!(
                refuse_self_dealing(me, act, subject),
                Err(SelfDealing { act })
            );
            let other = Subject {
                member_id: Some(MemberId::new()),
                ..Subject::default()
            };
            assert_eq!(refuse_self_dealing(me, act, other), Ok(()));
        }
    }

    #[test]
    fn a_staff_member_without_a_passbook_is_not_everyones_owner() {
        let staff = actor(None);
        let subject = Subject {
            member_id: None,
            ..Subject::default()
        };
        assert_eq!(refuse_self_dealing(staff, Act::Redeem, subject), Ok(()));
    }

    #[test]
    fn nobody_decides_on_a_deed_they_submitted_or_checked_first() {
        let me = actor(None);
        let submitted = Subject {
            member_id: Some(MemberId::new()),
            submitted_by: Some(me.user_id),
            first_checked_by: None,
        };
        for act in [Act::FirstCheck, Act::Decide, Act::Reverse] {
            assert!(refuse_self_dealing(me, act, submitted).is_err(), "{act:?}");
        }
        let checked = Subject {
            member_id: Some(MemberId::new()),
            submitted_by: Some(UserId::new()),
            first_checked_by: Some(me.user_id),
        };
        assert!(refuse_self_dealing(me, Act::Decide, checked).is_err());
        assert_eq!(refuse_self_dealing(me, Act::Reverse, checked), Ok(()));
    }
}
