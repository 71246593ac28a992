//! Expiry's part of the ledger writer: a member's coins earned before a cutoff and still unspent
//! go to the community's `expired` account, once.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::unspent_before;
use crate::db::schema::journal;
use crate::db::{DbConn, DbUuid};
use crate::kernel::{
    AccountId, AccountKind, BalancedTransaction, CommunityId, JournalKind, Points, PostingDraft,
};
use crate::ledger::{post, unbalanced, Batch, Draft, LedgerError, Posted, View};

/// Expire one account's old coins. `credits_before` is the account's credits before the
/// cutoff, which no later posting changes; the amount itself is judged against the batch's
/// view of the account when the command runs.
#[derive(Debug, Clone)]
pub struct Expire {
    pub community_id: CommunityId,
    pub account_id: AccountId,
    /// Derived from the account and the cutoff (`Expiry::reference`): the same on every instance.
    pub reference: uuid::Uuid,
    pub credits_before: i64,
    pub memo: String,
}

/// The expiries of this batch's commands already in the journal, read afresh per batch (another
/// instance may have written one).
#[derive(Debug, Default)]
pub struct ExpiryView {
    pub done: HashSet<uuid::Uuid>,
}

impl ExpiryView {
    pub fn start_batch(&mut self) {
        self.done.clear();
    }

    pub fn load_done(&mut self, conn: &mut DbConn, commands: &[&Expire]) -> QueryResult<()> {
        self.done.clear();
        if commands.is_empty() {
            return Ok(());
        }
        let references: Vec<DbUuid> = commands.iter().map(|c| DbUuid(c.reference)).collect();
        let found: Vec<Option<DbUuid>> = journal::table
            .filter(journal::kind.eq(JournalKind::Expiry))
            .filter(journal::reference_id.eq_any(&references))
            .select(journal::reference_id)
            .load(conn)?;
        self.done.extend(found.into_iter().flatten().map(|r| r.0));
        Ok(())
    }
}

pub fn plan_expire(
    e: &Expire,
    view: &View,
    expiry: &ExpiryView,
    batch: &mut Batch,
    now: NaiveDateTime,
) -> Result<Posted, LedgerError> {
    if expiry.done.contains(&e.reference) {
        return Err(LedgerError::NothingToExpire(e.account_id));
    }
    let member = batch
        .account(view, e.account_id)
        .filter(|s| s.community_id == e.community_id)
        .ok_or(LedgerError::AccountNotFound(e.account_id))?;
    if member.kind != AccountKind::Member {
        return Err(LedgerError::NotAMemberAccount(e.account_id));
    }
    // The balance may have moved since the sweeper looked: judge again on the view.
    let amount = unspent_before(e.credits_before, member.credits, member.balance);
    if amount <= 0 {
        return Err(LedgerError::NothingToExpire(e.account_id));
    }
    let expired = batch
        .community(view, e.community_id)
        .and_then(|c| c.expired_account)
        .ok_or_else(|| LedgerError::Unavailable("the community has no expired account".into()))?;
    let amount = Points::from_hundredths(amount);
    let transaction = BalancedTransaction::new(vec![
        PostingDraft {
            account_id: e.account_id,
            amount: -amount,
        },
        PostingDraft {
            account_id: expired,
            amount,
        },
    ])
    .map_err(unbalanced)?;
    post(
        Draft {
            community_id: e.community_id,
            kind: JournalKind::Expiry,
            reference_id: Some(e.reference),
            memo: e.memo.clone(),
            actor_id: None,
            transaction,
            idempotency: None,
        },
        view,
        batch,
        now,
    )
}
