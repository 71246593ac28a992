//! The fund's part of the ledger writer: a donation (member −x, fund +x) and a grant's approval
//! (fund −x, member +x) with the grant's decision in the same batch, guarded on its status.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{may_decide, GrantStatus};
use super::store::GrantRow;
use super::write::GrantDecision;
use crate::db::schema::fund_grants;
use crate::db::{DbConn, DbUuid};
use crate::kernel::policy::refuse_self_dealing;
use crate::kernel::{
    AccountId, Act, Actor, BalancedTransaction, CommunityId, GrantId, JournalKind, MemberId,
    Points, PostingDraft, Subject,
};
use crate::ledger::view::push_unique;
use crate::ledger::{post, unbalanced, Batch, Draft, IdempotencyClaim, LedgerError, Posted, View};

/// A resident gives coins from their passbook to the fund: on their own page, or recorded by a
/// clerk at the counter (`for_another`), never by staff for their own passbook.
#[derive(Debug, Clone)]
pub struct Donate {
    pub community_id: CommunityId,
    pub member_id: MemberId,
    pub amount: Points,
    pub memo: String,
    pub actor: Actor,
    pub for_another: bool,
    pub idempotency: IdempotencyClaim,
}

/// A second admin approves a proposed grant: the fund pays it.
#[derive(Debug, Clone)]
pub struct ApproveGrant {
    pub community_id: CommunityId,
    pub grant_id: GrantId,
    pub actor: Actor,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FundOutcome {
    Donated(Posted),
    Granted { posted: Posted, grant: GrantRow },
}

/// The grants this batch decides on, read inside its transaction (never kept across batches, so
/// a grant rejected by a handler or another instance is seen as it is).
#[derive(Debug, Default, Clone)]
pub struct FundView {
    pub grants: HashMap<GrantId, GrantRow>,
}

impl FundView {
    pub fn start_batch(&mut self) {
        self.grants.clear();
    }

    pub fn load_grants(
        &mut self,
        conn: &mut DbConn,
        approvals: &[&ApproveGrant],
    ) -> QueryResult<()> {
        let mut ids: Vec<DbUuid> = Vec::new();
        for a in approvals {
            if !self.grants.contains_key(&a.grant_id) {
                push_unique(&mut ids, DbUuid::from(a.grant_id));
            }
        }
        if ids.is_empty() {
            return Ok(());
        }
        let rows: Vec<GrantRow> = fund_grants::table
            .filter(fund_grants::id.eq_any(&ids))
            .select(GrantRow::as_select())
            .load(conn)?;
        for row in rows {
            self.grants.insert(row.id.into(), row);
        }
        Ok(())
    }

    /// The passbook account a grant pays into, once the grant is loaded.
    pub fn grant_account(&self, id: GrantId) -> Option<AccountId> {
        self.grants.get(&id).map(|g| g.account_id.into())
    }
}

/// Grants decided earlier in the batch.
#[derive(Debug, Default)]
pub struct FundPending {
    grants: HashMap<GrantId, GrantRow>,
}

pub struct Fund<'a> {
    pub ledger: &'a View,
    pub view: &'a FundView,
    pub batch: &'a mut Batch,
    pub pending: &'a mut FundPending,
    pub now: NaiveDateTime,
}

impl Fund<'_> {
    fn fund_account(&self, community_id: CommunityId) -> Result<AccountId, LedgerError> {
        self.batch
            .community(self.ledger, community_id)
            .and_then(|c| c.fund_account)
            .ok_or_else(|| LedgerError::Unavailable("the community has no fund account".into()))
    }

    pub fn donate(&mut self, d: &Donate) -> Result<FundOutcome, LedgerError> {
        let account_id = self
            .ledger
            .member_accounts
            .get(&d.member_id)
            .copied()
            .ok_or(LedgerError::MemberNotFound(d.member_id))?;
        let member = self
            .batch
            .account(self.ledger, account_id)
            .filter(|a| a.community_id == d.community_id)
            .ok_or(LedgerError::MemberNotFound(d.member_id))?;
        if d.for_another {
            refuse_self_dealing(
                d.actor,
                Act::Donate,
                Subject {
                    member_id: member.member_id,
                    ..Subject::default()
                },
            )?;
        }
        let fund = self.fund_account(d.community_id)?;
        let transaction = BalancedTransaction::new(vec![
            PostingDraft {
                account_id,
                amount: -d.amount,
            },
            PostingDraft {
                account_id: fund,
                amount: d.amount,
            },
        ])
        .map_err(unbalanced)?;
        let posted = post(
            Draft {
                community_id: d.community_id,
                kind: JournalKind::FundDonation,
                reference_id: None,
                memo: d.memo.clone(),
                actor_id: Some(d.actor.user_id),
                transaction,
                idempotency: Some(d.idempotency.clone()),
            },
            self.ledger,
            self.batch,
            self.now,
        )?;
        Ok(FundOutcome::Donated(posted))
    }

    pub fn approve(&mut self, a: &ApproveGrant) -> Result<FundOutcome, LedgerError> {
        let grant = self
            .pending
            .grants
            .get(&a.grant_id)
            .or_else(|| self.view.grants.get(&a.grant_id))
            .filter(|g| CommunityId::from(g.community_id) == a.community_id)
            .cloned()
            .ok_or(LedgerError::GrantNotFound)?;
        may_decide(grant.facts(), a.actor.user_id)?;
        refuse_self_dealing(
            a.actor,
            Act::Grant,
            Subject {
                member_id: Some(grant.member_id.into()),
                ..Subject::default()
            },
        )?;
        let fund = self.fund_account(a.community_id)?;
        let held = self
            .batch
            .account(self.ledger, fund)
            .ok_or(LedgerError::AccountNotFound(fund))?
            .balance;
        let amount = Points::from_hundredths(grant.amount);
        if held < grant.amount {
            return Err(LedgerError::FundInsufficient {
                balance: Points::from_hundredths(held),
                required: amount,
            });
        }
        let transaction = BalancedTransaction::new(vec![
            PostingDraft {
                account_id: fund,
                amount: -amount,
            },
            PostingDraft {
                account_id: grant.account_id.into(),
                amount,
            },
        ])
        .map_err(unbalanced)?;
        let posted = post(
            Draft {
                community_id: a.community_id,
                kind: JournalKind::FundGrant,
                reference_id: Some(grant.id.0),
                memo: grant.reason.clone(),
                actor_id: Some(a.actor.user_id),
                transaction,
                idempotency: None,
            },
            self.ledger,
            self.batch,
            self.now,
        )?;
        let mut row = grant;
        row.status = GrantStatus::Approved;
        row.decided_by = Some(a.actor.user_id.into());
        row.decided_at = Some(self.now);
        row.journal_id = Some(posted.journal_id.into());
        self.batch.rows.push(&GrantDecision { grant: &row });
        self.pending.grants.insert(a.grant_id, row.clone());
        Ok(FundOutcome::Granted { posted, grant: row })
    }
}
