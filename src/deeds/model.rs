//! How a deed moves: its states, the steps between them, and the one table that says which step
//! is allowed from where. Every face (the JSON API, the console, the sweeper) asks this table.
//!
//! ```text
//! submitted ──pass──▶ reviewed ──approve──▶ approved (on notice) ──notice ends──▶ credited ──reverse──▶ reversed
//!     │  └──return──▶ returned                  │  ▲ object, dismiss                  ▲
//!     │     (two stages only)                   │  └─(stays on notice)                │
//!     │                                         └──uphold an objection──▶ submitted   │
//!     ├──approve (one stage) ────────────────────────────── no notice ────────────────┘
//!     ├──reject──▶ rejected        └──withdraw (submitter, before a decision)──▶ withdrawn
//! ```
//!
//! An objection (异议) during the notice is recorded and leaves the deed on notice, but a deed
//! with an undecided objection is not credited ([`may_credit`]): an admin upholds it (the deed
//! goes back to review, its objections attached) or dismisses it with a reason (the notice runs
//! on, and the deed credits once the notice is over and no objection is undecided).

use crate::stored_words;

stored_words! {
    pub enum DeedStatus {
        Submitted = "submitted",
        /// Passed the first check (初审); waits for the decision.
        Reviewed = "reviewed",
        /// Sent back by the first check.
        Returned = "returned",
        /// Approved and on public notice (公示).
        Approved = "approved",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
        /// Its coins are in the passbook.
        Credited = "credited",
        Reversed = "reversed",
    }
}

stored_words! {
    /// A step of the workflow, as recorded in a deed's history.
    pub enum DeedAction {
        Submit = "submit",
        /// The first check passes the deed on.
        Pass = "review_pass",
        /// The first check sends it back.
        Return = "review_return",
        Approve = "approve",
        Reject = "reject",
        Withdraw = "withdraw",
        /// Somebody objects during the notice; the deed stays on notice, its crediting waits.
        Object = "object",
        /// An admin upholds an objection: the deed goes back to review.
        UpholdObjection = "uphold_objection",
        /// An admin dismisses an objection with a reason: the notice runs on.
        DismissObjection = "dismiss_objection",
        Credit = "credit",
        Reverse = "reverse",
    }
}

stored_words! {
    /// Whether a rule earns coins or deducts them (扣分).
    pub enum Direction {
        Earn = "earn",
        Deduct = "deduct",
    }
}

stored_words! {
    /// What a rule's points are counted per.
    pub enum Unit {
        Event = "event",
        /// Hours count in halves.
        Hour = "hour",
    }
}

/// How many eyes a deed passes before coins move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStages {
    /// An admin decides directly.
    One,
    /// A reviewer checks first (初审), then an admin decides.
    Two,
}

impl ReviewStages {
    pub fn from_count(count: i32) -> ReviewStages {
        if count >= 2 {
            ReviewStages::Two
        } else {
            ReviewStages::One
        }
    }
}

impl DeedAction {
    /// The verb a refusal uses: "a credited deed cannot be *rejected*".
    pub fn past_participle(self) -> &'static str {
        match self {
            DeedAction::Submit => "submitted",
            DeedAction::Pass | DeedAction::Return => "reviewed",
            DeedAction::Approve => "approved",
            DeedAction::Reject => "rejected",
            DeedAction::Withdraw => "withdrawn",
            DeedAction::Object => "objected to",
            DeedAction::UpholdObjection | DeedAction::DismissObjection => {
                "ruled on for an objection"
            }
            DeedAction::Credit => "credited",
            DeedAction::Reverse => "reversed",
        }
    }
}

impl DeedStatus {
    /// THE transition table: where `action` takes a deed in this state, or `None` when it may not.
    /// `notice` says whether approval starts a public notice. Who may take a step (the separation of
    /// duties, the submitter for a withdrawal) is checked beside it, by `crate::kernel::policy`.
    pub fn after(
        self,
        action: DeedAction,
        stages: ReviewStages,
        notice: bool,
    ) -> Option<DeedStatus> {
        use DeedAction as A;
        use DeedStatus as S;
        match (self, action) {
            (S::Submitted, A::Pass) if stages == ReviewStages::Two => Some(S::Reviewed),
            (S::Submitted, A::Return) if stages == ReviewStages::Two => Some(S::Returned),
            // One stage decides a submitted deed; a deed checked while the community still
            // reviewed in two stages is not stranded by a switch to one.
            (S::Submitted, A::Approve) if stages == ReviewStages::One => {
                Some(if notice { S::Approved } else { S::Credited })
            }
            (S::Reviewed, A::Approve) => Some(if notice { S::Approved } else { S::Credited }),
            (S::Submitted | S::Reviewed, A::Reject) => Some(S::Rejected),
            (S::Submitted | S::Reviewed | S::Returned, A::Withdraw) => Some(S::Withdrawn),
            (S::Approved, A::Object | A::DismissObjection) => Some(S::Approved),
            (S::Approved, A::UpholdObjection) => Some(S::Submitted),
            (S::Approved, A::Credit) => Some(S::Credited),
            (S::Credited, A::Reverse) => Some(S::Reversed),
            _ => None,
        }
    }

    /// True once the deed counts against a monthly cap (approved, on notice or credited).
    pub fn counts_against_cap(self) -> bool {
        matches!(self, DeedStatus::Approved | DeedStatus::Credited)
    }
}

stored_words! {
    /// Where an objection to a deed on notice stands.
    pub enum ObjectionStatus {
        /// Waiting for an admin's ruling; the deed is not credited meanwhile.
        Open = "open",
        Upheld = "upheld",
        Dismissed = "dismissed",
    }
}

/// A deed on notice credits once its notice is over and none of its objections is undecided.
pub fn may_credit(
    notice_ends_at: Option<chrono::NaiveDateTime>,
    now: chrono::NaiveDateTime,
    open_objections: usize,
) -> bool {
    notice_ends_at.is_some_and(|end| end <= now) && open_objections == 0
}

/// Units one deed may declare at most (hours or events).
pub const DEED_QUANTITY_MAX: f64 = 1000.0;

/// Why a declared deed cannot be recorded as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeedInputError {
    #[error("{field} must be more than 0 and at most {DEED_QUANTITY_MAX}")]
    QuantityOutOfRange { field: &'static str },
    #[error("{field}: hours count in halves (0.5, 1, 1.5, …)")]
    NotHalfHours { field: &'static str },
    #[error("{field}: events count in whole numbers")]
    NotWholeEvents { field: &'static str },
    #[error("the points would have more than two decimals; use whole units")]
    PointsTooFine,
    #[error("the deed is worth too many points")]
    TooManyPoints,
    #[error("occurred_on is in the future")]
    InTheFuture,
    #[error("occurred_on is more than {days} days ago")]
    TooLongAgo { days: i32 },
}

impl DeedInputError {
    /// The request field the problem is in.
    pub fn field(&self) -> &'static str {
        match self {
            DeedInputError::QuantityOutOfRange { field }
            | DeedInputError::NotHalfHours { field }
            | DeedInputError::NotWholeEvents { field } => field,
            DeedInputError::PointsTooFine | DeedInputError::TooManyPoints => "quantity",
            DeedInputError::InTheFuture | DeedInputError::TooLongAgo { .. } => "occurred_on",
        }
    }
}

/// A quantity in hundredths: positive, at most 1000, whole for events and in halves for hours.
pub fn parse_quantity(field: &'static str, value: f64, unit: Unit) -> Result<i64, DeedInputError> {
    if !value.is_finite() || value <= 0.0 || value > DEED_QUANTITY_MAX {
        return Err(DeedInputError::QuantityOutOfRange { field });
    }
    let halves = value * 2.0;
    match unit {
        Unit::Hour if halves.fract() != 0.0 => Err(DeedInputError::NotHalfHours { field }),
        Unit::Event if value.fract() != 0.0 => Err(DeedInputError::NotWholeEvents { field }),
        _ => Ok((halves as i64) * 50),
    }
}

/// The units counted after the rule's per-deed cap, and the points they earn (hundredths), from
/// the rule version's points per unit. Never rounded: a product finer than hundredths is refused.
pub fn deed_points(
    quantity: i64,
    per_deed_cap: Option<i64>,
    points_per_unit: i64,
) -> Result<(i64, i64), DeedInputError> {
    let counted = per_deed_cap.map_or(quantity, |cap| quantity.min(cap));
    let product = (counted as i128) * (points_per_unit as i128);
    if product % 100 != 0 {
        return Err(DeedInputError::PointsTooFine);
    }
    let points = i64::try_from(product / 100)
        .ok()
        .filter(|p| *p <= crate::kernel::points::POINTS_ABS_MAX_HUNDREDTHS)
        .ok_or(DeedInputError::TooManyPoints)?;
    Ok((counted, points))
}

/// A deed may be dated today or up to `backdate_days` back, in the community's days.
pub fn check_occurred_on(
    occurred: chrono::NaiveDate,
    today: chrono::NaiveDate,
    backdate_days: i32,
) -> Result<(), DeedInputError> {
    if occurred > today {
        return Err(DeedInputError::InTheFuture);
    }
    if (today - occurred).num_days() > backdate_days as i64 {
        return Err(DeedInputError::TooLongAgo {
            days: backdate_days,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_points_are_exact() {
        assert_eq!(parse_quantity("q", 1.5, Unit::Hour), Ok(150));
        assert!(parse_quantity("q", 1.25, Unit::Hour).is_err());
        assert!(parse_quantity("q", 1.5, Unit::Event).is_err());
        assert!(parse_quantity("q", 0.0, Unit::Event).is_err());
        assert_eq!(deed_points(300, Some(200), 1000), Ok((200, 2000)));
        assert_eq!(
            deed_points(150, None, 333),
            Err(DeedInputError::PointsTooFine)
        );
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert!(check_occurred_on(today.succ_opt().unwrap(), today, 30).is_err());
        assert!(check_occurred_on(today - chrono::Duration::days(31), today, 30).is_err());
        assert!(check_occurred_on(today - chrono::Duration::days(30), today, 30).is_ok());
    }

    #[test]
    fn the_table_allows_exactly_the_drawn_arrows() {
        use DeedAction as A;
        use DeedStatus as S;
        let two = ReviewStages::Two;
        let one = ReviewStages::One;
        assert_eq!(S::Submitted.after(A::Pass, two, false), Some(S::Reviewed));
        assert_eq!(S::Submitted.after(A::Pass, one, false), None);
        assert_eq!(S::Submitted.after(A::Approve, two, false), None);
        assert_eq!(
            S::Submitted.after(A::Approve, one, false),
            Some(S::Credited)
        );
        assert_eq!(S::Reviewed.after(A::Approve, one, true), Some(S::Approved));
        assert_eq!(S::Approved.after(A::Object, one, true), Some(S::Approved));
        assert_eq!(
            S::Approved.after(A::UpholdObjection, one, true),
            Some(S::Submitted)
        );
        assert_eq!(
            S::Approved.after(A::DismissObjection, two, true),
            Some(S::Approved)
        );
        assert_eq!(S::Credited.after(A::Object, one, true), None);
        assert_eq!(S::Submitted.after(A::UpholdObjection, one, true), None);
        assert_eq!(S::Credited.after(A::Reject, one, false), None);
        assert_eq!(
            S::Returned.after(A::Withdraw, two, false),
            Some(S::Withdrawn)
        );
        assert_eq!(S::Rejected.after(A::Withdraw, two, false), None);
        // Final states go nowhere but a credited deed's reversal.
        for action in DeedAction::ALL {
            for state in [S::Rejected, S::Withdrawn, S::Reversed] {
                assert_eq!(state.after(*action, two, true), None, "{state} {action}");
            }
        }
    }
}
