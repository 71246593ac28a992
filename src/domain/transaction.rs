//! A balanced journal transaction and the bytes its hash-chain link is computed over.

use sha2::{Digest, Sha256};

use super::ids::{AccountId, CommunityId, JournalId, UserId};
use super::points::Points;

/// The `prev_hash` of a community's first transaction.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Postings per transaction: every movement this service knows has two or three legs.
pub const TRANSACTION_POSTINGS_MAX: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostingDraft {
    pub account_id: AccountId,
    pub amount: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("a transaction needs at least two postings")]
    TooFewPostings,
    #[error("a transaction has at most {TRANSACTION_POSTINGS_MAX} postings")]
    TooManyPostings,
    #[error("a posting of zero points")]
    ZeroPosting,
    #[error("postings sum to {0}, not zero")]
    Unbalanced(Points),
    #[error("an account appears twice in one transaction")]
    DuplicateAccount,
}

/// Postings that sum to zero. There is no way to build one that does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancedTransaction {
    postings: Vec<PostingDraft>,
}

impl BalancedTransaction {
    pub fn new(postings: Vec<PostingDraft>) -> Result<BalancedTransaction, TransactionError> {
        if postings.len() < 2 {
            return Err(TransactionError::TooFewPostings);
        }
        if postings.len() > TRANSACTION_POSTINGS_MAX {
            return Err(TransactionError::TooManyPostings);
        }
        if postings.iter().any(|p| p.amount == Points::ZERO) {
            return Err(TransactionError::ZeroPosting);
        }
        for (i, p) in postings.iter().enumerate() {
            if postings[..i].iter().any(|q| q.account_id == p.account_id) {
                return Err(TransactionError::DuplicateAccount);
            }
        }
        let sum: i128 = postings.iter().map(|p| p.amount.hundredths() as i128).sum();
        if sum != 0 {
            let clamped = sum.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
            return Err(TransactionError::Unbalanced(Points::from_hundredths(
                clamped,
            )));
        }
        Ok(BalancedTransaction { postings })
    }

    pub fn postings(&self) -> &[PostingDraft] {
        &self.postings
    }
}

/// Everything the hash of one journal transaction covers.
#[derive(Debug, Clone)]
pub struct ChainLink<'a> {
    pub prev_hash: &'a str,
    pub community_id: CommunityId,
    pub seq: i64,
    pub journal_id: JournalId,
    pub kind: &'a str,
    pub reference_id: Option<uuid::Uuid>,
    pub memo: &'a str,
    pub actor_id: Option<UserId>,
    pub created_at_micros: i64,
    /// (account, account_seq, amount, balance_after) in hundredths.
    pub postings: Vec<(AccountId, i64, i64, i64)>,
}

impl ChainLink<'_> {
    /// `SHA-256(prev_hash ‖ canonical bytes)`, hex encoded. Variable-length text is length-prefixed
    /// and postings are sorted by account, so two different transactions never share bytes.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        let mut text = String::with_capacity(256);
        use std::fmt::Write;
        let reference = self
            .reference_id
            .map(|r| r.to_string())
            .unwrap_or_else(|| "-".into());
        let actor = self
            .actor_id
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into());
        let _ = write!(
            text,
            "|v1|{}|{}|{}|{}:{}|{}|{}:{}|{}|{}",
            self.community_id,
            self.seq,
            self.journal_id,
            self.kind.len(),
            self.kind,
            reference,
            self.memo.len(),
            self.memo,
            actor,
            self.created_at_micros
        );
        let mut postings = self.postings.clone();
        postings.sort_by_key(|p| p.0);
        for (account, account_seq, amount, balance_after) in postings {
            let _ = write!(text, "|{account}:{account_seq}:{amount}:{balance_after}");
        }
        hasher.update(text.as_bytes());
        hex::encode(hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(amount: i64) -> PostingDraft {
        PostingDraft {
            account_id: AccountId::new(),
            amount: Points::from_hundredths(amount),
        }
    }

    #[test]
    fn a_balanced_transaction_must_sum_to_zero() {
        assert!(BalancedTransaction::new(vec![draft(100), draft(-100)]).is_ok());
        assert_eq!(
            BalancedTransaction::new(vec![draft(100), draft(-99)]),
            Err(TransactionError::Unbalanced(Points::from_hundredths(1)))
        );
        assert_eq!(
            BalancedTransaction::new(vec![draft(100)]),
            Err(TransactionError::TooFewPostings)
        );
        assert_eq!(
            BalancedTransaction::new(vec![draft(0), draft(0)]),
            Err(TransactionError::ZeroPosting)
        );
        let a = draft(5);
        assert_eq!(
            BalancedTransaction::new(vec![
                a,
                PostingDraft {
                    amount: Points::from_hundredths(-5),
                    ..a
                }
            ]),
            Err(TransactionError::DuplicateAccount)
        );
    }

    #[test]
    fn the_hash_changes_when_any_covered_field_changes() {
        let account = AccountId::new();
        let link = ChainLink {
            prev_hash: GENESIS_HASH,
            community_id: CommunityId::new(),
            seq: 1,
            journal_id: JournalId::new(),
            kind: "opening_balance",
            reference_id: None,
            memo: "paper passbook",
            actor_id: None,
            created_at_micros: 1,
            postings: vec![(account, 1, 100, 100)],
        };
        let base = link.hash();
        assert_eq!(base.len(), 64);
        let mut changed = link.clone();
        changed.postings[0].2 = 101;
        assert_ne!(changed.hash(), base);
        let mut changed = link.clone();
        changed.memo = "paper passbooK";
        assert_ne!(changed.hash(), base);
        let mut changed = link.clone();
        changed.prev_hash = "1";
        assert_ne!(changed.hash(), base);
    }
}
