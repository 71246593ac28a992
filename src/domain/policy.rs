//! Separation of duties, written once: nobody acts on their own passbook, nobody decides on a deed
//! they submitted, and the first check (初审) and the decision of a two-stage review are made by two
//! different people. Every transition that a person performs on someone's coins asks this rule.

use super::ids::{MemberId, UserId};

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
