//! The adjustments' part of the ledger writer: a balance carried over from a paper passbook, or a
//! correction, against the issuance account.

use chrono::NaiveDateTime;

use crate::kernel::policy::refuse_self_dealing;
use crate::kernel::{
    AccountId, AccountKind, Act, Actor, BalancedTransaction, CommunityId, JournalKind, Points,
    PostingDraft, Subject,
};
use crate::ledger::{post, unbalanced, Batch, Draft, IdempotencyClaim, LedgerError, Posted, View};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentKind {
    /// A balance carried over from a paper passbook.
    OpeningBalance,
    /// A correction of a mistake, credit or debit.
    Correction,
}

impl AdjustmentKind {
    pub fn journal_kind(self) -> JournalKind {
        match self {
            AdjustmentKind::OpeningBalance => JournalKind::OpeningBalance,
            AdjustmentKind::Correction => JournalKind::Correction,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.journal_kind().as_str()
    }

    pub fn parse(text: &str) -> Option<AdjustmentKind> {
        match JournalKind::parse(text)? {
            JournalKind::OpeningBalance => Some(AdjustmentKind::OpeningBalance),
            JournalKind::Correction => Some(AdjustmentKind::Correction),
            _ => None,
        }
    }
}

/// Credit (positive amount) or debit (negative) a member against the issuance account.
#[derive(Debug, Clone)]
pub struct Adjust {
    pub community_id: CommunityId,
    pub member_account_id: AccountId,
    pub kind: AdjustmentKind,
    pub amount: Points,
    pub reason: String,
    pub actor: Actor,
    pub idempotency: IdempotencyClaim,
}

pub fn plan_adjust(
    a: &Adjust,
    view: &View,
    batch: &mut Batch,
    now: NaiveDateTime,
) -> Result<Posted, LedgerError> {
    let member = batch
        .account(view, a.member_account_id)
        .filter(|s| s.community_id == a.community_id)
        .ok_or(LedgerError::AccountNotFound(a.member_account_id))?;
    if member.kind != AccountKind::Member {
        return Err(LedgerError::NotAMemberAccount(a.member_account_id));
    }
    refuse_self_dealing(
        a.actor,
        Act::Adjust,
        Subject {
            member_id: member.member_id,
            ..Subject::default()
        },
    )?;
    let issuance = batch
        .community(view, a.community_id)
        .and_then(|c| c.issuance_account)
        .ok_or_else(|| LedgerError::Unavailable("the community has no issuance account".into()))?;
    let transaction = BalancedTransaction::new(vec![
        PostingDraft {
            account_id: a.member_account_id,
            amount: a.amount,
        },
        PostingDraft {
            account_id: issuance,
            amount: -a.amount,
        },
    ])
    .map_err(unbalanced)?;
    post(
        Draft {
            community_id: a.community_id,
            kind: a.kind.journal_kind(),
            reference_id: None,
            memo: a.reason.clone(),
            actor_id: Some(a.actor.user_id),
            transaction,
            idempotency: Some(a.idempotency.clone()),
        },
        view,
        batch,
        now,
    )
}
