//! The deeds' part of the ledger writer: every step of the workflow, those that move coins
//! (approval without notice, crediting when the notice ends, reversal) and those that do not
//! (first check, rejection, withdrawal, objection). Each step asks the transition table of
//! `model` and the separation of duties of `crate::kernel::policy`.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::model::{may_credit, DeedAction, DeedStatus, Direction, ObjectionStatus, ReviewStages};
use super::store::receivables::{ReceivableRow, RepaymentRow};
use super::store::{DeedEventRow, DeedRow, ObjectionRow};
use super::view::{CapKey, DeedView};
use super::write::{DeedUpdate, ObjectionRuling, ReceivableUpdate};
use crate::db::DbUuid;
use crate::kernel::policy::refuse_self_dealing;
use crate::kernel::{
    AccountId, Act, Actor, BalancedTransaction, CommunityId, DeedId, JournalKind, MemberId, Points,
    PostingDraft, RuleId, Subject, UserId,
};
use crate::ledger::{post, unbalanced, Batch, Draft, LedgerError, Posted, View};

/// A step of the workflow, asked of the writer.
#[derive(Debug, Clone)]
pub struct DeedCommand {
    pub community_id: CommunityId,
    pub deed_id: DeedId,
    pub step: Step,
    /// The business clock's "now": notice periods and cap months are counted from it.
    pub clock_now: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub enum Step {
    /// Approve: the deed enters public notice, or (without notice) credits at once.
    Approve {
        actor: Actor,
        stages: ReviewStages,
        notice_days: i32,
    },
    /// Credit a deed whose notice ended unopposed (the sweeper's step).
    CreditDue,
    /// Undo a credited deed with a linked reversing transaction.
    Reverse { actor: Actor, reason: String },
    /// An objection during the notice: recorded, the deed stays on notice, crediting waits.
    Object { actor: Actor, reason: String },
    /// An admin's ruling on an objection: upheld, the deed goes back to review; dismissed (with
    /// a reason), the notice runs on.
    RuleObjection {
        actor: Actor,
        objection_id: uuid::Uuid,
        uphold: bool,
        reason: Option<String>,
    },
    /// A step that moves no coins: first check, rejection, withdrawal.
    Move {
        actor: Actor,
        action: DeedAction,
        reason: Option<String>,
        stages: ReviewStages,
    },
}

/// What a deed step answers: the deed as it now stands, and the transaction if coins moved.
#[derive(Debug, Clone, PartialEq)]
pub struct DeedOutcome {
    pub deed: Box<DeedRow>,
    pub posted: Option<Posted>,
    /// The objection raised or ruled on, for those steps.
    pub objection: Option<Box<ObjectionRow>>,
}

/// The deeds and monthly cap sums a batch changes, over the view.
#[derive(Debug, Default)]
pub struct DeedPending {
    /// Deed → (version the view saw, new state).
    pub deeds: HashMap<DeedId, (i64, DeedRow)>,
    pub cap_sums: HashMap<CapKey, i64>,
    /// Objections raised in this batch, as they stand at its end.
    pub new_objections: Vec<ObjectionRow>,
    /// Objections read from the view and ruled on in this batch.
    pub rulings: HashMap<DbUuid, ObjectionRow>,
    /// Receivables read from the view and repaid in this batch: (version seen, new state).
    pub receivables: HashMap<DbUuid, (i64, ReceivableRow)>,
    /// Receivables recorded in this batch, as they stand at its end.
    pub new_receivables: Vec<ReceivableRow>,
    pub repayments: Vec<RepaymentRow>,
}

impl DeedPending {
    /// The deed's objections as the batch so far leaves them, oldest first.
    fn objections(&self, view: &DeedView, deed: DeedId) -> Vec<ObjectionRow> {
        let stored = view.objections.get(&deed).into_iter().flatten();
        let mut all: Vec<ObjectionRow> = stored
            .map(|o| self.rulings.get(&o.id).unwrap_or(o).clone())
            .collect();
        let id = DbUuid::from(deed);
        all.extend(
            self.new_objections
                .iter()
                .filter(|o| o.deed_id == id)
                .cloned(),
        );
        all
    }

    fn set_objection(&mut self, next: ObjectionRow) {
        if let Some(new) = self.new_objections.iter_mut().find(|o| o.id == next.id) {
            *new = next;
        } else {
            self.rulings.insert(next.id, next);
        }
    }

    /// The account's receivables still owing as the batch so far leaves them, oldest first.
    fn open_receivables(&self, view: &DeedView, account: DbUuid) -> Vec<ReceivableRow> {
        let stored = view
            .receivables
            .get(&AccountId::from(account))
            .into_iter()
            .flatten()
            .map(|r| {
                self.receivables
                    .get(&r.id)
                    .map(|(_, next)| next)
                    .unwrap_or(r)
                    .clone()
            });
        let mut open: Vec<ReceivableRow> = stored
            .chain(
                self.new_receivables
                    .iter()
                    .filter(|r| r.account_id == account)
                    .cloned(),
            )
            .filter(|r| r.outstanding > 0)
            .collect();
        open.sort_by_key(|r| (r.created_at, r.id));
        open
    }

    fn set_receivable(&mut self, next: ReceivableRow) {
        if let Some(new) = self.new_receivables.iter_mut().find(|r| r.id == next.id) {
            *new = next;
            return;
        }
        let seen = self
            .receivables
            .get(&next.id)
            .map(|(v, _)| *v)
            .unwrap_or(next.version);
        self.receivables.insert(next.id, (seen, next));
    }

    fn deed(&self, view: &DeedView, id: DeedId) -> Option<DeedRow> {
        self.deeds
            .get(&id)
            .map(|(_, d)| d.clone())
            .or_else(|| view.deeds.get(&id).cloned())
    }

    fn cap_sum(&self, view: &DeedView, key: &CapKey) -> Option<i64> {
        self.cap_sums
            .get(key)
            .copied()
            .or_else(|| view.cap_sums.get(key).copied())
    }

    fn set_deed(&mut self, view: &DeedView, next: DeedRow) {
        let id = DeedId::from(next.id);
        let seen = self
            .deeds
            .get(&id)
            .map(|(v, _)| *v)
            .or_else(|| view.deeds.get(&id).map(|d| d.version))
            .unwrap_or(next.version);
        self.deeds.insert(id, (seen, next));
    }

    /// The changed deeds as guarded updates, in a fixed order.
    pub fn push_updates(&self, batch: &mut Batch) {
        let mut deeds: Vec<_> = self.deeds.iter().collect();
        deeds.sort_by_key(|(id, _)| **id);
        for (_, (seen, deed)) in deeds {
            batch.rows.push(&DeedUpdate { seen: *seen, deed });
        }
        for objection in &self.new_objections {
            batch.rows.push(objection);
        }
        let mut rulings: Vec<_> = self.rulings.values().collect();
        rulings.sort_by_key(|o| o.id);
        for objection in rulings {
            batch.rows.push(&ObjectionRuling { objection });
        }
        for receivable in &self.new_receivables {
            batch.rows.push(receivable);
        }
        for repayment in &self.repayments {
            batch.rows.push(repayment);
        }
        let mut repaid: Vec<_> = self.receivables.values().collect();
        repaid.sort_by_key(|(_, r)| r.id);
        for (seen, receivable) in repaid {
            batch.rows.push(&ReceivableUpdate {
                seen: *seen,
                receivable,
            });
        }
    }
}

/// Everything the deeds' planning reads: the ledger's view, the deeds', and the batch so far.
pub struct Deeds<'a> {
    pub ledger: &'a View,
    pub view: &'a DeedView,
    pub batch: &'a mut Batch,
    pub pending: &'a mut DeedPending,
    pub now: NaiveDateTime,
}

/// Whom a decision on this deed concerns, for the separation of duties.
fn subject(deed: &DeedRow) -> Subject {
    Subject {
        member_id: Some(deed.member_id.into()),
        submitted_by: Some(deed.submitted_by.into()),
        first_checked_by: deed.first_checked_by.map(Into::into),
    }
}

fn refused(deed: &DeedRow, action: DeedAction) -> LedgerError {
    LedgerError::invalid_transition(deed.status.as_str(), action.past_participle())
}

/// What a deed's passbook line says: the rule, then the deed in the resident's words.
fn deed_memo(deed: &DeedRow) -> String {
    let description: String = deed.description.chars().take(200).collect();
    format!("{}：{}", deed.rule_name, description)
}

impl Deeds<'_> {
    pub fn run(&mut self, c: &DeedCommand) -> Result<DeedOutcome, LedgerError> {
        let deed = self
            .pending
            .deed(self.view, c.deed_id)
            .filter(|d| CommunityId::from(d.community_id) == c.community_id)
            .ok_or(LedgerError::DeedNotFound(c.deed_id))?;
        match &c.step {
            Step::Approve {
                actor,
                stages,
                notice_days,
            } => self.approve(c, deed, *actor, *stages, *notice_days),
            Step::CreditDue => self.credit_due(c, deed),
            Step::Reverse { actor, reason } => self.reverse(c, deed, *actor, reason),
            Step::Object { actor, reason } => self.object(c, deed, *actor, reason),
            Step::RuleObjection {
                actor,
                objection_id,
                uphold,
                reason,
            } => self.rule_objection(deed, *actor, *objection_id, *uphold, reason.clone()),
            Step::Move {
                actor,
                action,
                reason,
                stages,
            } => self.move_deed(deed, *actor, *action, reason.clone(), *stages),
        }
    }

    fn event(
        &mut self,
        deed: &DeedRow,
        action: DeedAction,
        from: DeedStatus,
        actor: Option<UserId>,
        reason: Option<String>,
    ) {
        let row = DeedEventRow {
            id: DbUuid(self.batch.ids.next_id()),
            deed_id: deed.id,
            community_id: deed.community_id,
            action,
            from_status: Some(from),
            to_status: deed.status,
            actor_id: actor.map(Into::into),
            reason,
            created_at: self.now,
        };
        self.batch.rows.push(&row);
    }

    fn cap_key(&self, c: &DeedCommand, deed: &DeedRow) -> Result<CapKey, LedgerError> {
        let community = self
            .batch
            .community(self.ledger, c.community_id)
            .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
        Ok((
            MemberId::from(deed.member_id),
            RuleId::from(deed.rule_id),
            community.calendar().month_key(c.clock_now),
        ))
    }

    fn check_cap(&self, deed: &DeedRow, key: &CapKey) -> Result<(), LedgerError> {
        let (Some(cap), Direction::Earn) = (deed.monthly_cap, deed.direction) else {
            return Ok(());
        };
        let used = self
            .pending
            .cap_sum(self.view, key)
            .ok_or_else(|| LedgerError::Unavailable("the monthly sum was not loaded".into()))?;
        if used + deed.points > cap {
            return Err(LedgerError::MonthlyCapExceeded {
                cap: Points::from_hundredths(cap),
                used: Points::from_hundredths(used),
                remaining: Points::from_hundredths((cap - used).max(0)),
            });
        }
        Ok(())
    }

    fn approve(
        &mut self,
        c: &DeedCommand,
        deed: DeedRow,
        actor: Actor,
        stages: ReviewStages,
        notice_days: i32,
    ) -> Result<DeedOutcome, LedgerError> {
        let on_notice = notice_days > 0;
        let next_status = deed
            .status
            .after(DeedAction::Approve, stages, on_notice)
            .ok_or_else(|| refused(&deed, DeedAction::Approve))?;
        refuse_self_dealing(actor, Act::Decide, subject(&deed))?;
        let cap_key = self.cap_key(c, &deed)?;
        self.check_cap(&deed, &cap_key)?;
        let mut next = deed.clone();
        next.cap_month = Some(cap_key.2.clone());
        next.updated_at = self.now;
        let posted = if next_status == DeedStatus::Approved {
            next.status = DeedStatus::Approved;
            next.notice_ends_at = Some(c.clock_now + chrono::Duration::days(notice_days as i64));
            self.event(
                &next,
                DeedAction::Approve,
                deed.status,
                Some(actor.user_id),
                None,
            );
            if deed.monthly_cap.is_some() {
                // No coins move yet, but the cap sum was read: touching the chain head serialises
                // this with every other writer of the community, so another instance's approval
                // in between makes this batch replay on a fresh sum.
                self.batch.touch_head(self.ledger, c.community_id)?;
            }
            None
        } else {
            let (credited, posted) = self.credit(next, Some(actor.user_id))?;
            let mut approved = credited.clone();
            approved.status = DeedStatus::Approved;
            self.event(
                &approved,
                DeedAction::Approve,
                deed.status,
                Some(actor.user_id),
                None,
            );
            let from = DeedStatus::Approved;
            self.event(
                &credited,
                DeedAction::Credit,
                from,
                Some(actor.user_id),
                None,
            );
            next = credited;
            posted
        };
        if deed.monthly_cap.is_some() && deed.direction == Direction::Earn {
            let used = self.pending.cap_sum(self.view, &cap_key).unwrap_or(0);
            self.pending.cap_sums.insert(cap_key, used + deed.points);
        }
        self.pending.set_deed(self.view, next.clone());
        Ok(DeedOutcome {
            deed: Box::new(next),
            posted,
            objection: None,
        })
    }

    fn credit_due(&mut self, c: &DeedCommand, deed: DeedRow) -> Result<DeedOutcome, LedgerError> {
        if deed
            .status
            .after(DeedAction::Credit, ReviewStages::One, true)
            != Some(DeedStatus::Credited)
        {
            return Err(refused(&deed, DeedAction::Credit));
        }
        if deed.notice_ends_at.is_none_or(|end| end > c.clock_now) {
            return Err(LedgerError::NoticeNotOver);
        }
        let open = self.open_objections(&deed).len();
        if !may_credit(deed.notice_ends_at, c.clock_now, open) {
            return Err(LedgerError::ObjectionsUndecided { count: open });
        }
        let (credited, posted) = self.credit(deed.clone(), None)?;
        self.event(&credited, DeedAction::Credit, deed.status, None, None);
        self.pending.set_deed(self.view, credited.clone());
        Ok(DeedOutcome {
            deed: Box::new(credited),
            posted,
            objection: None,
        })
    }

    /// Posts a deed's coins: issuance → member for an earning deed; member → deductions for a
    /// deduction, never more than the balance holds (both amounts are kept). Changes nothing on
    /// `Err`.
    fn credit(
        &mut self,
        mut deed: DeedRow,
        actor: Option<UserId>,
    ) -> Result<(DeedRow, Option<Posted>), LedgerError> {
        let community_id = CommunityId::from(deed.community_id);
        let community = self
            .batch
            .community(self.ledger, community_id)
            .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
        let member_account = AccountId::from(deed.account_id);
        // On a household's passbook a line says which member did the deed.
        let on_household = self
            .batch
            .account(self.ledger, member_account)
            .is_some_and(|a| a.kind == crate::kernel::AccountKind::Household);
        let who = self
            .view
            .member_names
            .get(&deed.member_id)
            .filter(|_| on_household)
            .map(|name| format!("【{name}】"))
            .unwrap_or_default();
        let (kind, memo, applied, counter) = match deed.direction {
            Direction::Earn => {
                let issuance = community
                    .issuance_account
                    .ok_or_else(|| LedgerError::Unavailable("no issuance account".into()))?;
                (
                    JournalKind::DeedCredit,
                    format!("{who}{}", deed_memo(&deed)),
                    deed.points,
                    issuance,
                )
            }
            Direction::Deduct => {
                let deductions = community
                    .deductions_account
                    .ok_or_else(|| LedgerError::Unavailable("no deductions account".into()))?;
                let balance = self
                    .batch
                    .account(self.ledger, member_account)
                    .map(|a| a.balance)
                    .ok_or(LedgerError::AccountNotFound(member_account))?;
                let applied = deed.points.min(balance.max(0));
                let memo = format!(
                    "{who}{}（应扣 {}，实扣 {}）",
                    deed_memo(&deed),
                    Points::from_hundredths(deed.points),
                    Points::from_hundredths(applied)
                );
                (JournalKind::DeedDeduction, memo, applied, deductions)
            }
        };
        let signed = match deed.direction {
            Direction::Earn => applied,
            Direction::Deduct => -applied,
        };
        let posted = if applied > 0 {
            Some(self.post_pair(
                community_id,
                member_account,
                counter,
                signed,
                kind,
                memo,
                deed.id,
                actor,
            )?)
        } else {
            None
        };
        if deed.direction == Direction::Earn && posted.is_some() {
            self.repay(&deed, community_id, member_account, applied, actor);
        }
        deed.status = DeedStatus::Credited;
        deed.applied_points = Some(applied);
        deed.credit_journal_id = posted.as_ref().map(|p| p.journal_id.into());
        deed.updated_at = self.now;
        Ok((deed, posted))
    }

    /// Takes what the member still owes from a credit just posted, oldest receivable first, each
    /// part its own passbook line naming the reversal it serves. The credit made the balance at
    /// least `credited` more, so no line can drive it below zero. A part the posting refuses
    /// (which the checks above leave no room for) ends the repaying: it never undoes the credit.
    fn repay(
        &mut self,
        deed: &DeedRow,
        community_id: CommunityId,
        member: AccountId,
        credited: i64,
        actor: Option<UserId>,
    ) {
        let Some(issuance) = self
            .batch
            .community(self.ledger, community_id)
            .and_then(|c| c.issuance_account)
        else {
            return;
        };
        let mut left = credited;
        for receivable in self.pending.open_receivables(self.view, deed.account_id) {
            if left <= 0 {
                break;
            }
            let take = receivable.outstanding.min(left);
            let outstanding_after = receivable.outstanding - take;
            let repayment_id = DbUuid(self.batch.ids.next_id());
            let memo = format!(
                "追回 {}：本次 {}，尚欠 {}",
                receivable.what,
                Points::from_hundredths(take),
                Points::from_hundredths(outstanding_after)
            );
            let posted = match self.post_pair(
                community_id,
                member,
                issuance,
                -take,
                JournalKind::Clawback,
                memo,
                repayment_id,
                actor,
            ) {
                Ok(posted) => posted,
                Err(e) => {
                    tracing::error!(error = %e, receivable = %receivable.id.0, "a clawback was refused");
                    return;
                }
            };
            self.pending.repayments.push(RepaymentRow {
                id: repayment_id,
                community_id: deed.community_id,
                receivable_id: receivable.id,
                journal_id: posted.journal_id.into(),
                paid_by_deed_id: deed.id,
                amount: take,
                outstanding_after,
                created_at: self.now,
            });
            let mut next = receivable;
            next.outstanding = outstanding_after;
            if outstanding_after == 0 {
                next.settled_at = Some(self.now);
            }
            self.pending.set_receivable(next);
            left -= take;
        }
    }

    /// Member `signed`, counter account the opposite, referencing the deed.
    #[allow(clippy::too_many_arguments)]
    fn post_pair(
        &mut self,
        community_id: CommunityId,
        member: AccountId,
        counter: AccountId,
        signed: i64,
        kind: JournalKind,
        memo: String,
        deed: DbUuid,
        actor: Option<UserId>,
    ) -> Result<Posted, LedgerError> {
        let transaction = BalancedTransaction::new(vec![
            PostingDraft {
                account_id: member,
                amount: Points::from_hundredths(signed),
            },
            PostingDraft {
                account_id: counter,
                amount: Points::from_hundredths(-signed),
            },
        ])
        .map_err(unbalanced)?;
        post(
            Draft {
                community_id,
                kind,
                reference_id: Some(deed.0),
                memo,
                actor_id: actor,
                transaction,
                idempotency: None,
            },
            self.ledger,
            self.batch,
            self.now,
        )
    }

    fn reverse(
        &mut self,
        c: &DeedCommand,
        deed: DeedRow,
        actor: Actor,
        reason: &str,
    ) -> Result<DeedOutcome, LedgerError> {
        let next_status = deed
            .status
            .after(DeedAction::Reverse, ReviewStages::One, false)
            .ok_or_else(|| refused(&deed, DeedAction::Reverse))?;
        refuse_self_dealing(actor, Act::Reverse, subject(&deed))?;
        let community = self
            .batch
            .community(self.ledger, c.community_id)
            .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
        let applied = deed.applied_points.unwrap_or(0);
        let member = AccountId::from(deed.account_id);
        // What the reversal takes now: all of it for a deduction (coins go back) and for an earning
        // deed whose coins are still there; for one whose coins were spent, what the balance holds,
        // the rest owed and taken from the member's next credits.
        let taken = match deed.direction {
            Direction::Deduct => applied,
            Direction::Earn => {
                let balance = self
                    .batch
                    .account(self.ledger, member)
                    .map(|a| a.balance)
                    .ok_or(LedgerError::AccountNotFound(member))?;
                applied.min(balance.max(0))
            }
        };
        let owed = applied - taken;
        let posted = if taken > 0 {
            let (signed, counter) = match deed.direction {
                Direction::Earn => (-taken, community.issuance_account),
                Direction::Deduct => (taken, community.deductions_account),
            };
            let counter =
                counter.ok_or_else(|| LedgerError::Unavailable("no system account".into()))?;
            let memo = if owed > 0 {
                format!(
                    "冲正 {}：{}（应冲 {}，实冲 {}，尚欠 {} 从今后入账中扣回）",
                    deed.rule_name,
                    reason,
                    Points::from_hundredths(applied),
                    Points::from_hundredths(taken),
                    Points::from_hundredths(owed)
                )
            } else {
                format!("冲正 {}：{}", deed.rule_name, reason)
            };
            let kind = JournalKind::DeedReversal;
            let posted = self.post_pair(
                c.community_id,
                member,
                counter,
                signed,
                kind,
                memo,
                deed.id,
                Some(actor.user_id),
            )?;
            if deed.direction == Direction::Deduct {
                // Coins given back are a credit like any other: what the member owes comes first.
                self.repay(&deed, c.community_id, member, taken, Some(actor.user_id));
            }
            Some(posted)
        } else {
            None
        };
        if owed > 0 {
            self.pending.new_receivables.push(ReceivableRow {
                id: DbUuid(self.batch.ids.next_id()),
                community_id: deed.community_id,
                member_id: deed.member_id,
                account_id: deed.account_id,
                deed_id: deed.id,
                reversal_journal_id: posted.as_ref().map(|p| p.journal_id.into()),
                what: format!("冲正 {}（{}）", deed.rule_name, deed.occurred_on),
                owed,
                outstanding: owed,
                version: 1,
                created_at: self.now,
                settled_at: None,
            });
        }
        let mut next = deed.clone();
        next.status = next_status;
        next.reversal_journal_id = posted.as_ref().map(|p| p.journal_id.into());
        next.updated_at = self.now;
        let why = Some(reason.to_string());
        self.event(
            &next,
            DeedAction::Reverse,
            deed.status,
            Some(actor.user_id),
            why,
        );
        self.pending.set_deed(self.view, next.clone());
        Ok(DeedOutcome {
            deed: Box::new(next),
            posted,
            objection: None,
        })
    }

    /// The coinless steps: where the table lets the deed go, and who may take it there.
    fn move_deed(
        &mut self,
        deed: DeedRow,
        actor: Actor,
        action: DeedAction,
        reason: Option<String>,
        stages: ReviewStages,
    ) -> Result<DeedOutcome, LedgerError> {
        if matches!(action, DeedAction::Pass | DeedAction::Return) && stages == ReviewStages::One {
            return Err(LedgerError::SingleStageReview);
        }
        if action == DeedAction::Withdraw && UserId::from(deed.submitted_by) != actor.user_id {
            return Err(LedgerError::NotTheSubmitter);
        }
        if !matches!(
            action,
            DeedAction::Pass | DeedAction::Return | DeedAction::Reject | DeedAction::Withdraw
        ) {
            return Err(refused(&deed, action));
        }
        let next_status = deed
            .status
            .after(action, stages, true)
            .ok_or_else(|| refused(&deed, action))?;
        match action {
            DeedAction::Pass | DeedAction::Return => {
                refuse_self_dealing(actor, Act::FirstCheck, subject(&deed))?
            }
            DeedAction::Reject => refuse_self_dealing(actor, Act::Decide, subject(&deed))?,
            _ => {}
        }
        let mut next = deed.clone();
        next.status = next_status;
        if action == DeedAction::Pass {
            next.first_checked_by = Some(actor.user_id.into());
        }
        next.updated_at = self.now;
        self.event(&next, action, deed.status, Some(actor.user_id), reason);
        self.pending.set_deed(self.view, next.clone());
        Ok(DeedOutcome {
            deed: Box::new(next),
            posted: None,
            objection: None,
        })
    }

    fn open_objections(&self, deed: &DeedRow) -> Vec<ObjectionRow> {
        self.pending
            .objections(self.view, deed.id.into())
            .into_iter()
            .filter(|o| o.status == ObjectionStatus::Open)
            .collect()
    }

    /// Records an objection while the deed is on notice. The deed stays where it is, but its
    /// version moves, so that a crediting planned on the deed as it was is replayed and sees it.
    fn object(
        &mut self,
        c: &DeedCommand,
        deed: DeedRow,
        actor: Actor,
        reason: &str,
    ) -> Result<DeedOutcome, LedgerError> {
        let next_status = deed
            .status
            .after(DeedAction::Object, ReviewStages::One, true)
            .filter(|_| deed.notice_ends_at.is_some_and(|end| c.clock_now < end))
            .ok_or_else(|| refused(&deed, DeedAction::Object))?;
        // One undecided objection per person and deed: saying it again adds nothing for the
        // admin to rule on. After a ruling the person may object again while the notice runs.
        let undecided_own = self
            .pending
            .objections(self.view, deed.id.into())
            .iter()
            .any(|o| o.raised_by == actor.user_id.into() && o.status == ObjectionStatus::Open);
        if undecided_own {
            return Err(LedgerError::AlreadyObjected);
        }
        let objection = ObjectionRow {
            id: DbUuid(self.batch.ids.next_id()),
            deed_id: deed.id,
            community_id: deed.community_id,
            raised_by: actor.user_id.into(),
            reason: reason.to_string(),
            raised_at: self.now,
            status: ObjectionStatus::Open,
            ruled_by: None,
            ruling_reason: None,
            ruled_at: None,
        };
        let mut next = deed.clone();
        next.status = next_status;
        next.updated_at = self.now;
        let why = Some(reason.to_string());
        self.event(
            &next,
            DeedAction::Object,
            deed.status,
            Some(actor.user_id),
            why,
        );
        self.pending.new_objections.push(objection.clone());
        self.pending.set_deed(self.view, next.clone());
        Ok(DeedOutcome {
            deed: Box::new(next),
            posted: None,
            objection: Some(Box::new(objection)),
        })
    }

    /// An admin's ruling on one undecided objection. Upheld, the deed goes back to review from
    /// the start, and its other undecided objections are closed with the same ruling (they are
    /// attached to the deed under review); dismissed, the notice runs on.
    fn rule_objection(
        &mut self,
        deed: DeedRow,
        actor: Actor,
        objection_id: uuid::Uuid,
        uphold: bool,
        reason: Option<String>,
    ) -> Result<DeedOutcome, LedgerError> {
        let objections = self.pending.objections(self.view, deed.id.into());
        let objection = objections
            .iter()
            .find(|o| o.id.0 == objection_id)
            .cloned()
            .ok_or(LedgerError::ObjectionNotFound)?;
        if objection.status != ObjectionStatus::Open {
            return Err(LedgerError::ObjectionRuled {
                status: objection.status.as_str().to_string(),
            });
        }
        let action = if uphold {
            DeedAction::UpholdObjection
        } else {
            DeedAction::DismissObjection
        };
        let next_status = deed
            .status
            .after(action, ReviewStages::One, true)
            .ok_or_else(|| refused(&deed, action))?;
        refuse_self_dealing(actor, Act::Decide, subject(&deed))?;
        let ruling = if uphold {
            ObjectionStatus::Upheld
        } else {
            ObjectionStatus::Dismissed
        };
        let ruled: Vec<ObjectionRow> = objections
            .into_iter()
            .filter(|o| o.status == ObjectionStatus::Open && (uphold || o.id == objection.id))
            .map(|mut o| {
                o.status = ruling;
                o.ruled_by = Some(actor.user_id.into());
                o.ruling_reason = reason.clone();
                o.ruled_at = Some(self.now);
                o
            })
            .collect();
        let answer = ruled
            .iter()
            .find(|o| o.id == objection.id)
            .cloned()
            .ok_or(LedgerError::ObjectionNotFound)?;
        for o in ruled {
            self.pending.set_objection(o);
        }
        let mut next = deed.clone();
        next.status = next_status;
        if uphold {
            self.back_to_review(&deed, &mut next);
        }
        next.updated_at = self.now;
        let why = reason.or_else(|| Some(objection.reason.clone()));
        self.event(&next, action, deed.status, Some(actor.user_id), why);
        self.pending.set_deed(self.view, next.clone());
        Ok(DeedOutcome {
            deed: Box::new(next),
            posted: None,
            objection: Some(Box::new(answer)),
        })
    }

    /// An upheld objection sends the deed back to review from the start; its approval no longer counts
    /// against the month's cap.
    fn back_to_review(&mut self, deed: &DeedRow, next: &mut DeedRow) {
        if let (Some(month), Some(_)) = (&deed.cap_month, deed.monthly_cap) {
            let key = (
                MemberId::from(deed.member_id),
                RuleId::from(deed.rule_id),
                month.clone(),
            );
            if let Some(used) = self.pending.cap_sum(self.view, &key) {
                self.pending
                    .cap_sums
                    .insert(key, (used - deed.points).max(0));
            }
        }
        next.notice_ends_at = None;
        next.cap_month = None;
        next.first_checked_by = None;
    }
}

#[cfg(test)]
mod tests;
