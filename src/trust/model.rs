//! Signed ledger heads, as pure functions: the exact bytes a head's signature covers, signing and
//! checking with Ed25519, and the short code printed beside a head. A head says "on `signed_at`,
//! the journal of community `code` held `tree_size` transactions whose Merkle tree (RFC 9162, see
//! `ledger::merkle`) has root `root_hash`".

use chrono::NaiveDateTime;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The first line of every signed message and the `format` of an exported heads file.
pub const HEAD_FORMAT: &str = "moralbank-head-v1";
pub const HEADS_FILE_FORMAT: &str = "moralbank-heads-v1";

/// A signed head as it is published and exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedHead {
    /// The community's code.
    pub community: String,
    /// Transactions in the journal when it was signed.
    pub tree_size: u64,
    /// The Merkle root over those transactions, 64 hex digits.
    pub root_hash: String,
    /// When it was signed, UTC to the second: `2026-12-02T19:40:00Z`.
    pub signed_at: String,
    /// Which of the community's keys signed it.
    pub key_id: String,
    /// Ed25519 over [`head_message`], 128 hex digits.
    pub signature: String,
}

/// A community's heads with the public key that checks them: what `GET
/// /api/v1/ledger/heads/export` answers and `moralbank verify --heads` reads.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadsFile {
    /// `moralbank-heads-v1`.
    pub format: String,
    pub community: String,
    pub community_name: String,
    pub key_id: String,
    /// The Ed25519 public key, 64 hex digits.
    pub public_key: String,
    /// Oldest first.
    pub heads: Vec<SignedHead>,
}

/// A time as a head writes it: UTC, whole seconds.
pub fn head_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The bytes a head's signature covers: five lines of UTF-8, each ending in a newline.
pub fn head_message(community: &str, tree_size: u64, root_hash: &str, signed_at: &str) -> String {
    format!("{HEAD_FORMAT}\n{community}\n{tree_size}\n{root_hash}\n{signed_at}\n")
}

/// A key's id: the first 16 hex digits of SHA-256 of the public key.
pub fn key_id(public_key: &[u8; 32]) -> String {
    hex::encode(Sha256::digest(public_key))[..16].to_string()
}

/// The public half of a secret key.
pub fn public_key(secret: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(secret).verifying_key().to_bytes()
}

/// Signs `message` with the secret key.
pub fn sign(secret: &[u8; 32], message: &str) -> [u8; 64] {
    SigningKey::from_bytes(secret)
        .sign(message.as_bytes())
        .to_bytes()
}

/// Why a head does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("the public key is not 64 hex digits of an Ed25519 key")]
    BadKey,
    #[error("the signature is not 128 hex digits")]
    BadSignature,
    #[error("the head was not signed by this key (or was changed since)")]
    NotSigned,
    #[error("the root hash is not 64 hex digits")]
    BadRoot,
}

fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok().map(|()| out)
}

/// The root of a head as bytes.
pub fn root_of(head: &SignedHead) -> Result<[u8; 32], HeadError> {
    hex_array(&head.root_hash).ok_or(HeadError::BadRoot)
}

/// Checks a head's signature with the public key (hex).
pub fn check_head(head: &SignedHead, public_key_hex: &str) -> Result<(), HeadError> {
    let key = hex_array::<32>(public_key_hex)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or(HeadError::BadKey)?;
    let signature = hex_array::<64>(&head.signature).ok_or(HeadError::BadSignature)?;
    root_of(head)?;
    let message = head_message(
        &head.community,
        head.tree_size,
        &head.root_hash,
        &head.signed_at,
    );
    key.verify(message.as_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| HeadError::NotSigned)
}

/// The short code printed beside a head: its size and the start of its root, `#1234·a1b2c3d4`.
pub fn short_code(tree_size: u64, root_hash: &str) -> String {
    format!("#{tree_size}·{}", &root_hash[..root_hash.len().min(8)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(secret: &[u8; 32]) -> SignedHead {
        let root = "ab".repeat(32);
        let at = "2026-12-02T19:40:00Z";
        let signature = sign(secret, &head_message("C001", 40, &root, at));
        SignedHead {
            community: "C001".into(),
            tree_size: 40,
            root_hash: root,
            signed_at: at.into(),
            key_id: key_id(&public_key(secret)),
            signature: hex::encode(signature),
        }
    }

    #[test]
    fn a_head_checks_with_its_key_and_not_after_any_change() {
        let secret = [7u8; 32];
        let public = hex::encode(public_key(&secret));
        let good = head(&secret);
        assert_eq!(check_head(&good, &public), Ok(()));
        let mut changed = good.clone();
        changed.tree_size = 39;
        assert_eq!(check_head(&changed, &public), Err(HeadError::NotSigned));
        let mut changed = good.clone();
        changed.root_hash = "ac".repeat(32);
        assert_eq!(check_head(&changed, &public), Err(HeadError::NotSigned));
        let mut changed = good.clone();
        changed.signed_at = "2026-12-02T19:40:01Z".into();
        assert_eq!(check_head(&changed, &public), Err(HeadError::NotSigned));
        let mut changed = good.clone();
        changed.community = "C002".into();
        assert_eq!(check_head(&changed, &public), Err(HeadError::NotSigned));
        let other = hex::encode(public_key(&[8u8; 32]));
        assert_eq!(check_head(&good, &other), Err(HeadError::NotSigned));
        assert_eq!(check_head(&good, "zz"), Err(HeadError::BadKey));
        let mut changed = good;
        changed.signature = "00".into();
        assert_eq!(check_head(&changed, &public), Err(HeadError::BadSignature));
    }

    #[test]
    fn the_signed_message_is_five_plain_lines() {
        assert_eq!(
            head_message("C001", 3, "ff", "2026-12-02T00:00:00Z"),
            "moralbank-head-v1\nC001\n3\nff\n2026-12-02T00:00:00Z\n"
        );
        assert_eq!(short_code(1234, &"a1b2c3d4e5".repeat(6)), "#1234·a1b2c3d4");
        assert_eq!(key_id(&[0u8; 32]).len(), 16);
    }
}

/// One passbook line of a transaction, as its hash covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofPosting {
    pub posting_id: uuid::Uuid,
    pub account_id: uuid::Uuid,
    pub account_seq: i64,
    /// Hundredths of a point, signed.
    pub amount: i64,
    pub balance_after: i64,
    pub credits_after: i64,
    /// Microseconds since 1970-01-01 UTC.
    pub posted_at_micros: i64,
}

/// A transaction as its chain hash covers it: everything needed to recompute the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofTransaction {
    pub community_id: uuid::Uuid,
    pub journal_id: uuid::Uuid,
    /// The transaction's place in the journal, from 1; its leaf is `seq - 1`.
    pub seq: i64,
    pub hash_version: i32,
    pub prev_hash: String,
    pub kind: String,
    pub reference_id: Option<uuid::Uuid>,
    pub memo: String,
    pub actor_id: Option<uuid::Uuid>,
    pub created_at_micros: i64,
    pub postings: Vec<ProofPosting>,
    /// The hash the journal records; the check recomputes it.
    pub hash: String,
}

/// Everything needed to check, with no database, that a transaction is in the ledger as a signed
/// head committed to it: the transaction, its inclusion proof, the head and the public key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// `moralbank-proof-v1`.
    pub format: String,
    pub transaction: ProofTransaction,
    pub head: SignedHead,
    pub public_key: String,
    /// Hashes from the leaf's sibling up (RFC 9162 inclusion proof), hex.
    pub inclusion_proof: Vec<String>,
}

pub const PROOF_FORMAT: &str = "moralbank-proof-v1";

/// Why a proof bundle does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("the file is in format {0}, not {PROOF_FORMAT}")]
    Format(String),
    #[error("the transaction names hash format {0}, which this program does not know")]
    HashFormat(i32),
    #[error("the transaction's content does not give its recorded hash: it was changed")]
    TransactionChanged,
    #[error("the head's public key is not the one given to trust")]
    UntrustedKey,
    #[error("the head does not check with the public key: {0}")]
    Head(HeadError),
    #[error("a proof hash is not 64 hex digits")]
    BadProofHash,
    #[error("the inclusion proof does not lead to the head's root: {0}")]
    NotIncluded(crate::ledger::merkle::ProofError),
}

/// What a bundle proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub community: String,
    pub seq: i64,
    pub tree_size: u64,
    pub signed_at: String,
}

/// Checks a bundle with no database: the transaction's content gives its hash, that hash is leaf
/// `seq - 1` of the tree the head signed, and the head checks with the key — the bundle's own, or
/// `trusted_key` when given (a key taken from the notice wall or the township, not from the file).
pub fn check_bundle(
    bundle: &ProofBundle,
    trusted_key: Option<&str>,
) -> Result<Checked, BundleError> {
    use crate::kernel::{
        AccountId, ChainLink, ChainPosting, CommunityId, HashFormat, JournalId, UserId,
    };
    use crate::ledger::merkle::{leaf_hash, verify_inclusion};
    if bundle.format != PROOF_FORMAT {
        return Err(BundleError::Format(bundle.format.clone()));
    }
    if let Some(trusted) = trusted_key {
        if !trusted.eq_ignore_ascii_case(&bundle.public_key) {
            return Err(BundleError::UntrustedKey);
        }
    }
    check_head(&bundle.head, &bundle.public_key).map_err(BundleError::Head)?;
    let t = &bundle.transaction;
    let format =
        HashFormat::from_number(t.hash_version).ok_or(BundleError::HashFormat(t.hash_version))?;
    let mut postings: Vec<ChainPosting> = t
        .postings
        .iter()
        .map(|p| ChainPosting {
            posting_id: p.posting_id,
            account_id: AccountId::from_uuid(p.account_id),
            account_seq: p.account_seq,
            amount: p.amount,
            balance_after: p.balance_after,
            credits_after: p.credits_after,
            posted_at_micros: p.posted_at_micros,
        })
        .collect();
    postings.sort_by_key(|p| (p.account_id, p.account_seq));
    let digest = ChainLink {
        format,
        prev_hash: &t.prev_hash,
        community_id: CommunityId::from_uuid(t.community_id),
        seq: t.seq,
        journal_id: JournalId::from_uuid(t.journal_id),
        kind: &t.kind,
        reference_id: t.reference_id,
        memo: &t.memo,
        actor_id: t.actor_id.map(UserId::from_uuid),
        created_at_micros: t.created_at_micros,
        postings,
    }
    .digest();
    if hex::encode(digest) != t.hash {
        return Err(BundleError::TransactionChanged);
    }
    let proof: Vec<[u8; 32]> = bundle
        .inclusion_proof
        .iter()
        .map(|h| hex_array::<32>(h).ok_or(BundleError::BadProofHash))
        .collect::<Result<_, _>>()?;
    let root = root_of(&bundle.head).map_err(BundleError::Head)?;
    let index = t
        .seq
        .checked_sub(1)
        .and_then(|i| u64::try_from(i).ok())
        .ok_or(BundleError::NotIncluded(
            crate::ledger::merkle::ProofError::IndexOutOfRange {
                index: 0,
                size: bundle.head.tree_size,
            },
        ))?;
    verify_inclusion(
        index,
        bundle.head.tree_size,
        &leaf_hash(&digest),
        &proof,
        &root,
    )
    .map_err(BundleError::NotIncluded)?;
    Ok(Checked {
        community: bundle.head.community.clone(),
        seq: t.seq,
        tree_size: bundle.head.tree_size,
        signed_at: bundle.head.signed_at.clone(),
    })
}

/// Why a line on paper does not check against the newest head: its own head and inclusion as
/// [`check_bundle`] finds them, or the newest head's signature, or the ledger since the line's head
/// not being an extension of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("{0}")]
    Bundle(BundleError),
    #[error("the newest head does not check with the key: {0}")]
    LatestHead(HeadError),
    #[error("the newest head is older than the line's head")]
    LatestOlder,
    #[error("a consistency proof hash is not 64 hex digits")]
    BadProofHash,
    #[error("the ledger since the line's head does not extend it: {0}")]
    NotConsistent(crate::ledger::merkle::ProofError),
}

/// Checks a printed line end to end: the bundle with the community's `key` (the line's content
/// gives its hash, which is in the tree its head signed), the newest head with the same key, and
/// that the tree the newest head signed extends the line's tree (`consistency`, hex).
pub fn check_line(
    bundle: &ProofBundle,
    key: &str,
    latest: &SignedHead,
    consistency: &[String],
) -> Result<Checked, LineError> {
    let checked = check_bundle(bundle, Some(key)).map_err(LineError::Bundle)?;
    check_head(latest, key).map_err(LineError::LatestHead)?;
    if latest.tree_size < bundle.head.tree_size {
        return Err(LineError::LatestOlder);
    }
    let proof: Vec<[u8; 32]> = consistency
        .iter()
        .map(|h| hex_array::<32>(h).ok_or(LineError::BadProofHash))
        .collect::<Result<_, _>>()?;
    let old_root = root_of(&bundle.head).map_err(LineError::LatestHead)?;
    let new_root = root_of(latest).map_err(LineError::LatestHead)?;
    crate::ledger::merkle::verify_consistency(
        bundle.head.tree_size,
        latest.tree_size,
        &old_root,
        &new_root,
        &proof,
    )
    .map_err(LineError::NotConsistent)?;
    Ok(checked)
}
