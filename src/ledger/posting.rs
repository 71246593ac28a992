//! The posting primitive every money-moving command ends in: check a balanced transaction against
//! the batch's state (account in the community, not frozen, no member below zero), then chain it,
//! post its lines with running balances and claim its idempotency key. Either every effect is
//! added to the batch or none.

use chrono::NaiveDateTime;

use super::batch::{Batch, TreeNodeRow};
use super::command::{IdempotencyClaim, LedgerError, Posted, PostedLine};
use super::view::{AccountState, View};
use crate::db::models::{IdempotencyRow, JournalRow, PostingRow};
use crate::db::DbUuid;
use crate::kernel::time::time_to_micros;
use crate::kernel::{
    AccountId, BalancedTransaction, ChainLink, ChainPosting, CommunityId, HashFormat, JournalId,
    JournalKind, Points, UserId,
};

/// One journal transaction a command wants written.
pub struct Draft {
    pub community_id: CommunityId,
    pub kind: JournalKind,
    pub reference_id: Option<uuid::Uuid>,
    pub memo: String,
    pub actor_id: Option<UserId>,
    pub transaction: BalancedTransaction,
    pub idempotency: Option<IdempotencyClaim>,
}

/// A transaction that does not balance is a programmer's error: commands build balanced ones.
pub fn unbalanced(e: crate::kernel::TransactionError) -> LedgerError {
    tracing::error!(error = %e, "a command's transaction did not balance");
    LedgerError::Unavailable("the transaction could not be balanced".into())
}

/// Checks `draft` and, when it passes, adds its journal row, postings, account states, chain head
/// and idempotency key to `batch`. Changes nothing on `Err`.
pub fn post(
    draft: Draft,
    view: &View,
    batch: &mut Batch,
    now: NaiveDateTime,
) -> Result<Posted, LedgerError> {
    let community = batch
        .community(view, draft.community_id)
        .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
    // First every check, with nothing changed.
    let legs = check_legs(&draft, view, batch)?;
    // Then every effect.
    let journal_id = JournalId::from_uuid(batch.ids.next_id());
    let seq = community.chain_seq + 1;
    let (lines, chain) = post_legs(&draft, journal_id, legs, view, batch, now);
    let digest = ChainLink {
        format: HashFormat::CURRENT,
        prev_hash: &community.chain_hash,
        community_id: draft.community_id,
        seq,
        journal_id,
        kind: draft.kind.as_str(),
        reference_id: draft.reference_id,
        memo: &draft.memo,
        actor_id: draft.actor_id,
        created_at_micros: time_to_micros(now),
        postings: chain,
    }
    .digest();
    let mut head = community;
    for (node, node_hash) in head.tree.append(super::merkle::leaf_hash(&digest)) {
        batch.rows.push(&TreeNodeRow {
            community_id: draft.community_id.into(),
            height: node.height as i32,
            idx: node.index as i64,
            hash: super::tree::to_hex(&node_hash),
        });
    }
    let hash = hex::encode(digest);
    batch.rows.push(&JournalRow {
        id: journal_id.into(),
        community_id: draft.community_id.into(),
        seq,
        kind: draft.kind,
        reference_id: draft.reference_id.map(DbUuid),
        memo: draft.memo,
        actor_id: draft.actor_id.map(Into::into),
        created_at: now,
        prev_hash: head.chain_hash.clone(),
        hash: hash.clone(),
        hash_version: HashFormat::CURRENT.number(),
    });
    if let Some(claim) = draft.idempotency {
        claim_key(batch, draft.community_id, claim, journal_id, now);
    }
    head.chain_seq = seq;
    head.chain_hash = hash;
    batch.set_head(view, draft.community_id, head);
    Ok(Posted {
        journal_id,
        seq,
        lines,
        created_at: now,
    })
}

/// A leg that passed its checks: the account, its state before, its balance after.
type Leg = (AccountId, AccountState, i64);

/// Every leg in the community, on an account that is not frozen, no member below zero.
fn check_legs(draft: &Draft, view: &View, batch: &Batch) -> Result<Vec<Leg>, LedgerError> {
    let mut legs = Vec::with_capacity(draft.transaction.postings().len());
    for posting in draft.transaction.postings() {
        let state = batch
            .account(view, posting.account_id)
            .filter(|a| a.community_id == draft.community_id)
            .ok_or(LedgerError::AccountNotFound(posting.account_id))?;
        if state.frozen {
            return Err(LedgerError::AccountFrozen(posting.account_id));
        }
        let balance_after = state
            .balance
            .checked_add(posting.amount.hundredths())
            .ok_or(LedgerError::TooLarge)?;
        if state.kind.never_negative() && balance_after < 0 {
            return Err(LedgerError::InsufficientBalance {
                member_id: state.member_id,
                balance: Points::from_hundredths(state.balance),
                required: -posting.amount,
            });
        }
        legs.push((posting.account_id, state, balance_after));
    }
    Ok(legs)
}

/// Posts the checked legs: passbook lines with running balances, the accounts' new states, and
/// what the chain link covers of each.
fn post_legs(
    draft: &Draft,
    journal_id: JournalId,
    legs: Vec<Leg>,
    view: &View,
    batch: &mut Batch,
    now: NaiveDateTime,
) -> (Vec<PostedLine>, Vec<ChainPosting>) {
    let mut lines = Vec::with_capacity(legs.len());
    let mut chain = Vec::with_capacity(legs.len());
    for ((account_id, state, balance_after), posting) in
        legs.into_iter().zip(draft.transaction.postings())
    {
        let mut next = state.clone();
        next.balance = balance_after;
        next.credits = state.credits + posting.amount.hundredths().max(0);
        next.last_seq = state.last_seq + 1;
        assert_eq!(
            next.balance,
            state.balance + posting.amount.hundredths(),
            "new balance equals old plus amount"
        );
        assert!(
            !next.kind.never_negative() || next.balance >= 0,
            "a balance that may not go negative never does"
        );
        let row = PostingRow {
            id: DbUuid(batch.ids.next_id()),
            journal_id: journal_id.into(),
            community_id: draft.community_id.into(),
            account_id: account_id.into(),
            account_seq: next.last_seq,
            amount: posting.amount.hundredths(),
            balance_after,
            posted_at: now,
            credits_after: next.credits,
        };
        chain.push(ChainPosting {
            posting_id: row.id.0,
            account_id,
            account_seq: row.account_seq,
            amount: row.amount,
            balance_after: row.balance_after,
            credits_after: row.credits_after,
            posted_at_micros: time_to_micros(row.posted_at),
        });
        batch.rows.push(&row);
        lines.push(PostedLine {
            account_id,
            amount: posting.amount,
            balance_after: Points::from_hundredths(balance_after),
        });
        batch.set_account(view, account_id, next);
    }
    (lines, chain)
}

/// The idempotency key, stored in the same transaction as the effect it guards.
fn claim_key(
    batch: &mut Batch,
    community_id: CommunityId,
    claim: IdempotencyClaim,
    journal_id: JournalId,
    now: NaiveDateTime,
) {
    batch
        .claimed_keys
        .insert((claim.user_id, claim.key.clone()));
    let id = DbUuid(batch.ids.next_id());
    batch.rows.push(&IdempotencyRow {
        id,
        community_id: community_id.into(),
        user_id: claim.user_id.into(),
        idem_key: claim.key,
        request_hash: claim.request_hash,
        journal_id: Some(journal_id.into()),
        created_at: now,
        refusal: None,
    });
}
