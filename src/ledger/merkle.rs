//! The Merkle tree over a community's journal, hashed as RFC 9162 (Certificate Transparency 2.0)
//! section 2.1 says: a leaf is `SHA-256(0x00 ‖ entry)`, an inner node `SHA-256(0x01 ‖ left ‖ right)`,
//! the tree over `n` entries splits at the largest power of two below `n`, and the empty tree's root
//! is `SHA-256()` of nothing. The entry of the `i`-th leaf is the raw 32 bytes of the chain hash of
//! the transaction with journal seq `i + 1`.
//!
//! Pure arithmetic, no storage: the tree is kept as the **perfect subtrees** it is made of. A
//! perfect subtree is named by its height and index ([`NodeId`]), covers leaves
//! `index·2^height .. (index+1)·2^height`, and never changes once its last leaf exists, so a store
//! can append each one once ([`Frontier::append`] says which) and never rewrite a row. Every
//! hash a proof needs is the root of a range of leaves that splits into a few perfect subtrees
//! ([`range_nodes`]); the proof functions name the ranges ([`inclusion_ranges`],
//! [`consistency_ranges`]), the store reads their perfect subtrees in one query, and
//! [`range_hash`] folds them.
//!
//! Verification ([`verify_inclusion`], [`verify_consistency`]) is the iterative algorithm of RFC
//! 9162 sections 2.1.3.2 and 2.1.4.2, written independently of the recursive definitions the
//! proofs are built from, and the tests hold the two against each other.

use sha2::{Digest, Sha256};

/// A node's hash.
pub type Hash = [u8; 32];

/// Leaves one tree may hold: heights stay below 63, so every shift here is defined.
pub const TREE_LEAVES_MAX: u64 = 1 << 62;

/// The hash of a leaf whose entry is `entry`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the tree with no leaves.
pub fn empty_root() -> Hash {
    Sha256::new().finalize().into()
}

/// A perfect subtree: `2^height` leaves starting at leaf `index · 2^height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub height: u32,
    pub index: u64,
}

impl NodeId {
    /// The first leaf it covers.
    pub fn start(self) -> u64 {
        self.index << self.height
    }

    /// One past the last leaf it covers.
    pub fn end(self) -> u64 {
        (self.index + 1) << self.height
    }
}

/// A range of leaves `start .. end` whose root a proof carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

/// The largest power of two strictly below `n` (n ≥ 2): where RFC 9162 splits a tree of `n`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees a range is made of, left to right. Every range a proof or a tree names
/// starts at a multiple of its largest part, so the parts are the set bits of its length, largest
/// first, each one aligned.
pub fn range_nodes(range: Range) -> Vec<NodeId> {
    assert!(range.start < range.end, "a range holds at least one leaf");
    let mut nodes = Vec::new();
    let mut at = range.start;
    let mut left = range.end - range.start;
    while left > 0 {
        let height = 63 - left.leading_zeros();
        assert_eq!(
            at % (1 << height),
            0,
            "range {range:?} is not one a tree holds"
        );
        nodes.push(NodeId {
            height,
            index: at >> height,
        });
        at += 1 << height;
        left -= 1 << height;
    }
    nodes
}

/// The root of a range from the hashes of its [`range_nodes`], in that order: the tree's split
/// puts the largest part on the left, and the rest is again such a range.
pub fn range_hash(parts: &[Hash]) -> Hash {
    let (last, rest) = parts.split_last().expect("a range holds at least one part");
    rest.iter()
        .rev()
        .fold(*last, |right, left| node_hash(left, &right))
}

/// The ranges whose roots make the inclusion proof of leaf `index` in the tree of `size`
/// (RFC 9162 section 2.1.3.1, `PATH`), from the leaf's sibling up to the root's other half.
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<Range> {
    assert!(index < size && size <= TREE_LEAVES_MAX);
    let mut out = Vec::new();
    // Walk down from the root, noting the half the leaf is not in; the proof lists them upwards.
    let (mut start, mut end) = (0, size);
    while end - start > 1 {
        let k = split(end - start);
        if index < start + k {
            out.push(Range {
                start: start + k,
                end,
            });
            end = start + k;
        } else {
            out.push(Range {
                start,
                end: start + k,
            });
            start += k;
        }
    }
    out.reverse();
    out
}

/// The ranges whose roots make the consistency proof from the tree of `old` leaves to the tree
/// of `new` (RFC 9162 section 2.1.4.1, `PROOF` and `SUBPROOF`). Empty when `old` is 0 or equals
/// `new`: there is nothing to prove.
pub fn consistency_ranges(old: u64, new: u64) -> Vec<Range> {
    assert!(old <= new && new <= TREE_LEAVES_MAX);
    let mut out = Vec::new();
    if old == 0 || old == new {
        return out;
    }
    let (mut start, mut end) = (0, new);
    let mut m = old;
    // `whole`: the old tree is exactly the subtree reached so far, so its root is known to the
    // verifier and not sent.
    let mut whole = true;
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(Range { start, end });
            }
            break;
        }
        let k = split(n);
        if m <= k {
            out.push(Range {
                start: start + k,
                end,
            });
            end = start + k;
        } else {
            out.push(Range {
                start,
                end: start + k,
            });
            start += k;
            m -= k;
            whole = false;
        }
    }
    out.reverse();
    out
}

/// The right edge of a tree: the roots of the perfect subtrees it is made of, largest first (one
/// per set bit of its size). Enough to append a leaf and to compute the root; a writer keeps it
/// instead of rereading the tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

/// A frontier whose peaks do not match its size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tree of {size} leaves has {expected} peaks, not {given}")]
pub struct FrontierMismatch {
    pub size: u64,
    pub expected: u32,
    pub given: usize,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// A frontier read back from storage: `peaks` largest first.
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Result<Frontier, FrontierMismatch> {
        if size > TREE_LEAVES_MAX || peaks.len() != size.count_ones() as usize {
            return Err(FrontierMismatch {
                size,
                expected: size.count_ones(),
                given: peaks.len(),
            });
        }
        Ok(Frontier { size, peaks })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peaks, largest first, and the perfect subtrees they are the roots of.
    pub fn peaks(&self) -> impl Iterator<Item = (NodeId, &Hash)> {
        let nodes = if self.size == 0 {
            Vec::new()
        } else {
            range_nodes(Range {
                start: 0,
                end: self.size,
            })
        };
        nodes.into_iter().zip(self.peaks.iter())
    }

    /// The tree's root.
    pub fn root(&self) -> Hash {
        if self.peaks.is_empty() {
            return empty_root();
        }
        range_hash(&self.peaks)
    }

    /// Appends the leaf with hash `leaf` and answers the perfect subtrees it completed, the leaf
    /// first and then upwards: what a store appends, each once.
    pub fn append(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        assert!(self.size < TREE_LEAVES_MAX, "the tree is full");
        let index = self.size;
        let mut done = vec![(NodeId { height: 0, index }, leaf)];
        let mut hash = leaf;
        let mut height = 0;
        // Each trailing one bit of the old size is a peak of the height just made: they merge.
        while (index >> height) & 1 == 1 {
            let left = self.peaks.pop().expect("one peak per set bit");
            hash = node_hash(&left, &hash);
            height += 1;
            done.push((
                NodeId {
                    height,
                    index: index >> height,
                },
                hash,
            ));
        }
        self.peaks.push(hash);
        self.size += 1;
        debug_assert_eq!(self.peaks.len(), self.size.count_ones() as usize);
        done
    }
}

/// Why a proof does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf {index} is not in a tree of {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("the old tree ({old}) is larger than the new one ({new})")]
    SizesReversed { old: u64, new: u64 },
    #[error("the proof has the wrong number of hashes for these sizes")]
    WrongLength,
    #[error("the proof does not lead to the root")]
    RootMismatch,
}

/// Checks that `leaf` is leaf `index` of the tree of `size` whose root is `root` (RFC 9162
/// section 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `old` leaves with root `old_root` is the start of the tree of `new`
/// leaves with root `new_root` (RFC 9162 section 2.1.4.2; sizes 0 and equal sizes as section
/// 2.1.4.1 defines them: nothing to prove, the proof must be empty).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizesReversed { old, new });
    }
    if old == 0 || old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        if old == new && old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    // When the old tree is a perfect subtree of the new one its root starts the walk.
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof.iter());
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*path[0], *path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// RFC 9162's `MTH`, by its recursive definition: the oracle the rest is held against.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// A store as a writer would fill it: every perfect subtree, appended once.
    fn grow(leaves: &[Hash]) -> (Frontier, HashMap<NodeId, Hash>) {
        let mut frontier = Frontier::new();
        let mut store = HashMap::new();
        for leaf in leaves {
            for (id, hash) in frontier.append(*leaf) {
                assert!(store.insert(id, hash).is_none(), "{id:?} appended twice");
            }
        }
        (frontier, store)
    }

    fn proof_of(ranges: &[Range], store: &HashMap<NodeId, Hash>) -> Vec<Hash> {
        ranges
            .iter()
            .map(|r| {
                let parts: Vec<Hash> = range_nodes(*r).iter().map(|id| store[id]).collect();
                range_hash(&parts)
            })
            .collect()
    }

    #[test]
    fn the_empty_tree_and_a_single_leaf_have_the_roots_rfc_9162_gives() {
        // SHA-256 of nothing, and of the byte 0x00 (a leaf whose entry is empty).
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let mut f = Frontier::new();
        f.append(leaf_hash(b""));
        assert_eq!(f.root(), leaf_hash(b""));
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        // A node over (a, b) is not the leaf whose entry is a ‖ b.
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut joined = a.to_vec();
        joined.extend_from_slice(&b);
        assert_ne!(node_hash(&a, &b), leaf_hash(&joined));
    }

    #[test]
    fn every_perfect_subtree_is_appended_once_and_in_all() {
        for n in 0..70u64 {
            let (frontier, store) = grow(&leaves(n));
            // ⌊n / 2^h⌋ perfect subtrees of each height h.
            let expected: u64 = (0..7).map(|h| n >> h).sum();
            assert_eq!(store.len() as u64, expected, "n = {n}");
            assert_eq!(frontier.root(), mth(&leaves(n)), "n = {n}");
            let peaks: Vec<(NodeId, Hash)> = frontier.peaks().map(|(id, h)| (id, *h)).collect();
            for (id, hash) in peaks {
                assert_eq!(store[&id], hash);
            }
        }
    }

    #[test]
    fn a_frontier_read_back_must_have_one_peak_per_set_bit() {
        assert!(Frontier::from_parts(5, vec![[0; 32]; 2]).is_ok());
        assert_eq!(
            Frontier::from_parts(5, vec![[0; 32]; 3]),
            Err(FrontierMismatch {
                size: 5,
                expected: 2,
                given: 3
            })
        );
    }

    #[test]
    fn proofs_of_every_leaf_and_size_pair_up_to_33_verify() {
        let all = leaves(33);
        let (_, store) = grow(&all);
        let mut checked = 0;
        for size in 1..=33u64 {
            let root = mth(&all[..size as usize]);
            for index in 0..size {
                let proof = proof_of(&inclusion_ranges(index, size), &store);
                verify_inclusion(index, size, &all[index as usize], &proof, &root)
                    .unwrap_or_else(|e| panic!("leaf {index} of {size}: {e}"));
                checked += 1;
            }
            for old in 0..=size {
                let old_root = mth(&all[..old as usize]);
                let proof = proof_of(&consistency_ranges(old, size), &store);
                verify_consistency(old, size, &old_root, &root, &proof)
                    .unwrap_or_else(|e| panic!("{old} → {size}: {e}"));
                checked += 1;
            }
        }
        // 1 + 2 + … + 33 inclusions and 2 + 3 + … + 34 consistencies: the loops ran.
        assert_eq!(checked, 561 + 594);
    }

    #[test]
    fn the_proofs_agree_with_an_independent_implementation() {
        // ct-merkle (RFC 6962, the same hashing) builds its own tree and proofs from the same
        // entries; ours must give the same roots and the same proof bytes.
        use ct_merkle::mem_backed_tree::MemoryBackedTree;
        let entries: Vec<Vec<u8>> = (0..40u64).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut theirs = MemoryBackedTree::<sha2_011::Sha256, Vec<u8>>::new();
        let mut ours = Frontier::new();
        let mut store = HashMap::new();
        let mut leaves = Vec::new();
        for (n, entry) in entries.iter().enumerate() {
            theirs.push(entry.clone());
            let leaf = leaf_hash(entry);
            leaves.push(leaf);
            store.extend(ours.append(leaf));
            let size = n as u64 + 1;
            assert_eq!(theirs.root().as_bytes().as_slice(), ours.root().as_slice());
            for index in 0..size {
                let proof = proof_of(&inclusion_ranges(index, size), &store);
                let bytes: Vec<u8> = proof.concat();
                assert_eq!(
                    theirs.prove_inclusion(index as usize).as_bytes(),
                    bytes.as_slice(),
                    "leaf {index} of {size}"
                );
            }
            for old in 1..size {
                let proof = proof_of(&consistency_ranges(old, size), &store);
                let bytes: Vec<u8> = proof.concat();
                assert_eq!(
                    theirs.prove_consistency((size - old) as usize).as_bytes(),
                    bytes.as_slice(),
                    "{old} → {size}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn any_changed_byte_breaks_an_inclusion_proof(
            size in 1u64..200, pick in any::<u64>(), byte in 0usize..32, bit in 0u8..8, which in any::<u64>()
        ) {
            let all = leaves(size);
            let (frontier, store) = grow(&all);
            let index = pick % size;
            let mut proof = proof_of(&inclusion_ranges(index, size), &store);
            let root = frontier.root();
            prop_assert!(verify_inclusion(index, size, &all[index as usize], &proof, &root).is_ok());
            let flip = 1u8 << bit;
            // The leaf, the root, or any hash of the proof: one bit changed, and it fails.
            let mut leaf = all[index as usize];
            leaf[byte] ^= flip;
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_err());
            let mut bad_root = root;
            bad_root[byte] ^= flip;
            prop_assert!(verify_inclusion(index, size, &all[index as usize], &proof, &bad_root).is_err());
            if !proof.is_empty() {
                let at = (which % proof.len() as u64) as usize;
                proof[at][byte] ^= flip;
                prop_assert!(verify_inclusion(index, size, &all[index as usize], &proof, &root).is_err());
            }
        }

        #[test]
        fn any_changed_leaf_breaks_consistency(
            new in 2u64..200, pick in any::<u64>(), victim in any::<u64>(), byte in 0usize..32
        ) {
            let old = 1 + pick % (new - 1);
            let all = leaves(new);
            let (_, store) = grow(&all);
            let old_root = mth(&all[..old as usize]);
            let proof = proof_of(&consistency_ranges(old, new), &store);
            prop_assert!(verify_consistency(old, new, &old_root, &mth(&all), &proof).is_ok());
            // A history rewritten anywhere (in the old part or after it) no longer extends the
            // old head: the new tree's root with its proof does not check.
            let mut forged = all.clone();
            forged[(victim % new) as usize][byte] ^= 1;
            let (_, forged_store) = grow(&forged);
            let forged_proof = proof_of(&consistency_ranges(old, new), &forged_store);
            let forged_root = mth(&forged);
            if (victim % new) < old {
                prop_assert!(verify_consistency(old, new, &old_root, &forged_root, &forged_proof).is_err());
            } else {
                // Leaves after the old head may be anything; only the new root differs.
                prop_assert!(verify_consistency(old, new, &old_root, &forged_root, &forged_proof).is_ok());
                prop_assert!(verify_consistency(old, new, &old_root, &mth(&all), &forged_proof).is_err());
            }
            // A tree cut back (a truncated tail) is not consistent with the longer head it signed.
            prop_assert!(verify_consistency(old, new, &mth(&all), &old_root, &proof).is_err());
        }
    }

    #[test]
    fn malformed_proofs_are_refused_without_panicking() {
        let all = leaves(8);
        let (frontier, store) = grow(&all);
        let root = frontier.root();
        let proof = proof_of(&inclusion_ranges(3, 8), &store);
        assert_eq!(
            verify_inclusion(8, 8, &all[3], &proof, &root),
            Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(
            verify_inclusion(3, 8, &all[3], &proof[..2], &root),
            Err(ProofError::WrongLength)
        );
        let mut long = proof.clone();
        long.push([0; 32]);
        assert_eq!(
            verify_inclusion(3, 8, &all[3], &long, &root),
            Err(ProofError::WrongLength)
        );
        assert_eq!(
            verify_consistency(5, 3, &root, &root, &[]),
            Err(ProofError::SizesReversed { old: 5, new: 3 })
        );
        assert_eq!(
            verify_consistency(3, 8, &root, &root, &[]),
            Err(ProofError::WrongLength)
        );
        assert_eq!(
            verify_consistency(8, 8, &root, &empty_root(), &[]),
            Err(ProofError::RootMismatch)
        );
        assert!(verify_consistency(8, 8, &root, &root, &[]).is_ok());
        assert!(verify_consistency(0, 8, &empty_root(), &root, &[]).is_ok());
    }
}
