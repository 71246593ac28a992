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

/// The canonical bytes a transaction's hash is computed over. Chains keep the format each row was
/// written in (`journal.hash_version`), so a chain written before a format change still verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HashFormat {
    /// The transaction and, per posting, account, line number, amount and running balance.
    V1,
    /// Everything a passbook shows: V1 plus each posting's id, date and running credit total.
    V2,
}

impl HashFormat {
    /// The format new transactions are written in.
    pub const CURRENT: HashFormat = HashFormat::V2;

    pub fn number(self) -> i32 {
        match self {
            HashFormat::V1 => 1,
            HashFormat::V2 => 2,
        }
    }

    pub fn from_number(n: i32) -> Option<HashFormat> {
        match n {
            1 => Some(HashFormat::V1),
            2 => Some(HashFormat::V2),
            _ => None,
        }
    }
}

/// One posting as its transaction's hash covers it. All amounts in hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainPosting {
    pub posting_id: uuid::Uuid,
    pub account_id: AccountId,
    pub account_seq: i64,
    pub amount: i64,
    pub balance_after: i64,
    pub credits_after: i64,
    pub posted_at_micros: i64,
}

/// Everything the hash of one journal transaction covers.
#[derive(Debug, Clone)]
pub struct ChainLink<'a> {
    pub format: HashFormat,
    pub prev_hash: &'a str,
    pub community_id: CommunityId,
    pub seq: i64,
    pub journal_id: JournalId,
    pub kind: &'a str,
    pub reference_id: Option<uuid::Uuid>,
    pub memo: &'a str,
    pub actor_id: Option<UserId>,
    pub created_at_micros: i64,
    pub postings: Vec<ChainPosting>,
}

impl ChainLink<'_> {
    /// `SHA-256(prev_hash ‖ canonical bytes)`, hex encoded: what the journal stores. Variable-length
    /// text is length-prefixed and postings are sorted by account, so two different transactions
    /// never share bytes.
    pub fn hash(&self) -> String {
        hex::encode(self.digest())
    }

    /// The same hash as its 32 bytes (the entry of the transaction's leaf in the Merkle tree).
    pub fn digest(&self) -> [u8; 32] {
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
            "|v{}|{}|{}|{}|{}:{}|{}|{}:{}|{}|{}",
            self.format.number(),
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
        postings.sort_by_key(|p| p.account_id);
        for p in postings {
            let _ = match self.format {
                HashFormat::V1 => write!(
                    text,
                    "|{}:{}:{}:{}",
                    p.account_id, p.account_seq, p.amount, p.balance_after
                ),
                HashFormat::V2 => write!(
                    text,
                    "|{}:{}:{}:{}:{}:{}:{}",
                    p.posting_id,
                    p.account_id,
                    p.account_seq,
                    p.amount,
                    p.balance_after,
                    p.credits_after,
                    p.posted_at_micros
                ),
            };
        }
        hasher.update(text.as_bytes());
        hasher.finalize().into()
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
        let link = ChainLink {
            format: HashFormat::CURRENT,
            prev_hash: GENESIS_HASH,
            community_id: CommunityId::new(),
            seq: 1,
            journal_id: JournalId::new(),
            kind: "opening_balance",
            reference_id: None,
            memo: "paper passbook",
            actor_id: None,
            created_at_micros: 1,
            postings: vec![ChainPosting {
                posting_id: uuid::Uuid::now_v7(),
                account_id: AccountId::new(),
                account_seq: 1,
                amount: 100,
                balance_after: 100,
                credits_after: 100,
                posted_at_micros: 1,
            }],
        };
        let base = link.hash();
        assert_eq!(base.len(), 64);
        let changes: Vec<fn(&mut ChainLink<'static>)> = vec![
            |l| l.postings[0].amount = 101,
            |l| l.postings[0].balance_after = 101,
            |l| l.postings[0].credits_after = 101,
            |l| l.postings[0].posted_at_micros = 2,
            |l| l.postings[0].account_seq = 2,
            |l| l.postings[0].posting_id = uuid::Uuid::nil(),
            |l| l.memo = "paper passbooK",
            |l| l.prev_hash = "1",
            |l| l.created_at_micros = 2,
            |l| l.format = HashFormat::V1,
        ];
        for (i, change) in changes.into_iter().enumerate() {
            let mut changed = link.clone();
            change(&mut changed);
            assert_ne!(changed.hash(), base, "change {i} left the hash as it was");
        }
    }

    #[test]
    fn the_first_format_hashes_what_it_always_hashed() {
        // A v1 link's bytes are fixed for ever: chains written in it must keep verifying.
        let community = CommunityId::from_uuid(uuid::Uuid::from_u128(1));
        let account = AccountId::from_uuid(uuid::Uuid::from_u128(2));
        let link = ChainLink {
            format: HashFormat::V1,
            prev_hash: GENESIS_HASH,
            community_id: community,
            seq: 1,
            journal_id: JournalId::from_uuid(uuid::Uuid::from_u128(3)),
            kind: "opening_balance",
            reference_id: None,
            memo: "m",
            actor_id: None,
            created_at_micros: 7,
            postings: vec![ChainPosting {
                posting_id: uuid::Uuid::from_u128(4),
                account_id: account,
                account_seq: 1,
                amount: 100,
                balance_after: 100,
                credits_after: 999,
                posted_at_micros: 999,
            }],
        };
        let mut expected = Sha256::new();
        expected.update(GENESIS_HASH.as_bytes());
        expected.update(
            format!(
                "|v1|{community}|1|{}|15:opening_balance|-|1:m|-|7|{account}:1:100:100",
                link.journal_id
            )
            .as_bytes(),
        );
        assert_eq!(link.hash(), hex::encode(expected.finalize()));
    }
}
