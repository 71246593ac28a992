//! The stored Merkle tree of each community's journal (`ledger_tree`): reading its right edge for
//! the writer, reading the nodes a proof needs, and bringing a tree level with its journal once at
//! start-up (a database from before the tree, or restored from a dump without it). The arithmetic
//! is in [`super::merkle`]; the writer appends the rows (see `posting::post`).

use std::collections::HashMap;

use diesel::prelude::*;

use super::merkle::{self, Frontier, Hash, NodeId, Range};
use crate::db::schema::{communities, journal, ledger_tree};
use crate::db::{DbConn, DbUuid};
use crate::kernel::CommunityId;

/// Journal transactions read per query while catching up; memory stays flat.
const CATCH_UP_PAGE_TRANSACTIONS: i64 = 5_000;
/// Tree rows inserted per statement (4 bound values each; SQLite allows 32,766 per statement).
const INSERT_ROWS_MAX: usize = 2_000;

/// The leaf entry of a transaction: the 32 bytes its chain hash spells. A stored hash that is not
/// 64 hex digits (only a tampered row can be) is taken as its text, so the tree stays defined and
/// `verify` reports the row.
pub fn chain_leaf(chain_hash: &str) -> Hash {
    let mut bytes = [0u8; 32];
    match hex::decode_to_slice(chain_hash, &mut bytes) {
        Ok(()) => merkle::leaf_hash(&bytes),
        Err(_) => merkle::leaf_hash(chain_hash.as_bytes()),
    }
}

/// A node's hash as stored: 64 lowercase hex digits.
pub fn to_hex(hash: &Hash) -> String {
    hex::encode(hash)
}

/// A stored node's hash, or `None` when the row does not hold one.
pub fn from_hex(text: &str) -> Option<Hash> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes).ok().map(|()| bytes)
}

/// The stored nodes among `ids` (one query); a node not stored, or not holding a hash, is absent.
pub fn nodes(
    conn: &mut DbConn,
    community: CommunityId,
    ids: &[NodeId],
) -> QueryResult<HashMap<NodeId, Hash>> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    // Exact pairs are picked out here: a proof's nodes have few distinct heights and indices, so
    // the two IN lists fetch at most a handful more rows than asked for, in one portable query.
    let heights: Vec<i32> = ids.iter().map(|id| id.height as i32).collect();
    let indices: Vec<i64> = ids.iter().map(|id| id.index as i64).collect();
    let rows: Vec<(i32, i64, String)> = ledger_tree::table
        .filter(ledger_tree::community_id.eq(DbUuid::from(community)))
        .filter(ledger_tree::height.eq_any(&heights))
        .filter(ledger_tree::idx.eq_any(&indices))
        .select((ledger_tree::height, ledger_tree::idx, ledger_tree::hash))
        .load(conn)?;
    for (height, idx, hash) in rows {
        if let (Ok(height), Ok(index), Some(hash)) =
            (u32::try_from(height), u64::try_from(idx), from_hex(&hash))
        {
            let id = NodeId { height, index };
            if ids.contains(&id) {
                out.insert(id, hash);
            }
        }
    }
    Ok(out)
}

/// The right edge of the community's tree at `size` leaves, or `None` when a node of it is not
/// stored (the tree is behind its journal).
pub fn frontier(
    conn: &mut DbConn,
    community: CommunityId,
    size: u64,
) -> QueryResult<Option<Frontier>> {
    if size == 0 {
        return Ok(Some(Frontier::new()));
    }
    let ids = merkle::range_nodes(Range {
        start: 0,
        end: size,
    });
    let stored = nodes(conn, community, &ids)?;
    let peaks: Option<Vec<Hash>> = ids.iter().map(|id| stored.get(id).copied()).collect();
    Ok(peaks.and_then(|p| Frontier::from_parts(size, p).ok()))
}

/// The roots of `ranges` from the stored nodes, or `None` when one is missing.
pub fn range_hashes(
    conn: &mut DbConn,
    community: CommunityId,
    ranges: &[Range],
) -> QueryResult<Option<Vec<Hash>>> {
    let parts: Vec<Vec<NodeId>> = ranges.iter().map(|r| merkle::range_nodes(*r)).collect();
    let mut ids: Vec<NodeId> = parts.iter().flatten().copied().collect();
    ids.sort();
    ids.dedup();
    let stored = nodes(conn, community, &ids)?;
    Ok(parts
        .iter()
        .map(|p| {
            let hashes: Option<Vec<Hash>> = p.iter().map(|id| stored.get(id).copied()).collect();
            hashes.map(|h| merkle::range_hash(&h))
        })
        .collect())
}

/// How many leaves the stored tree holds: one past the highest leaf row.
pub fn stored_size(conn: &mut DbConn, community: CommunityId) -> QueryResult<u64> {
    let top: Option<i64> = ledger_tree::table
        .filter(ledger_tree::community_id.eq(DbUuid::from(community)))
        .filter(ledger_tree::height.eq(0))
        .select(diesel::dsl::max(ledger_tree::idx))
        .first(conn)?;
    Ok(top.map_or(0, |i| i as u64 + 1))
}

fn insert_nodes(
    conn: &mut DbConn,
    community: CommunityId,
    done: &[(NodeId, Hash)],
) -> QueryResult<()> {
    for chunk in done.chunks(INSERT_ROWS_MAX) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, hash)| {
                (
                    ledger_tree::community_id.eq(DbUuid::from(community)),
                    ledger_tree::height.eq(id.height as i32),
                    ledger_tree::idx.eq(id.index as i64),
                    ledger_tree::hash.eq(to_hex(hash)),
                )
            })
            .collect();
        crate::with_backend!(conn, |c| diesel::insert_into(ledger_tree::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// What a catch-up did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CatchUp {
    pub communities: u64,
    /// Transactions added to trees.
    pub leaves: u64,
}

/// Brings every community's tree level with its journal, adding the leaves it lacks, page by
/// page, each page in its own transaction that first takes the community's chain head (so the
/// writer and another instance catching up wait, and nobody adds a leaf twice). `progress` hears
/// (transactions done, transactions to do) after each page. A tree already level costs one query
/// per community.
pub fn catch_up(conn: &mut DbConn, progress: &mut dyn FnMut(u64, u64)) -> QueryResult<CatchUp> {
    let heads: Vec<(DbUuid, i64)> = communities::table
        .select((communities::id, communities::chain_seq))
        .order(communities::id)
        .load(conn)?;
    let mut behind = Vec::new();
    for (id, seq) in heads {
        let size = stored_size(conn, id.into())?;
        if (size as i64) < seq {
            behind.push((CommunityId::from(id), size, seq as u64));
        }
    }
    let total: u64 = behind.iter().map(|(_, size, seq)| seq - size).sum();
    let mut result = CatchUp::default();
    for (community, _, _) in behind {
        result.communities += 1;
        loop {
            let added = conn.transaction(|conn| catch_up_page(conn, community))?;
            if added == 0 {
                break;
            }
            result.leaves += added;
            progress(result.leaves, total);
        }
    }
    Ok(result)
}

/// Adds up to one page of missing leaves to the community's tree; answers how many.
fn catch_up_page(conn: &mut DbConn, community: CommunityId) -> QueryResult<u64> {
    let key = DbUuid::from(community);
    // Take the community's row first: the writer updates it with every transaction, so while
    // this transaction holds it no leaf is appended behind our back.
    diesel::update(communities::table.filter(communities::id.eq(key)))
        .set(communities::chain_version.eq(communities::chain_version))
        .execute(conn)?;
    let head: i64 = communities::table
        .filter(communities::id.eq(key))
        .select(communities::chain_seq)
        .first(conn)?;
    let size = stored_size(conn, community)?;
    if size as i64 >= head {
        return Ok(0);
    }
    let Some(mut tree) = frontier(conn, community, size)? else {
        // The tree holds leaves but not its own right edge: not something catch-up can mend
        // honestly; verify reports it.
        tracing::error!(%community, size, "the ledger tree lacks its right edge");
        return Ok(0);
    };
    let page: Vec<(i64, String)> = journal::table
        .filter(journal::community_id.eq(key))
        .filter(journal::seq.gt(size as i64))
        .filter(journal::seq.le(head))
        .order(journal::seq.asc())
        .limit(CATCH_UP_PAGE_TRANSACTIONS)
        .select((journal::seq, journal::hash))
        .load(conn)?;
    let mut done = Vec::with_capacity(page.len() * 2);
    for (seq, hash) in &page {
        if *seq as u64 != tree.size() + 1 {
            // A gap in the journal: verify reports it; the tree stops where the journal does.
            tracing::error!(%community, seq, "the journal has a gap; the ledger tree stops before it");
            break;
        }
        done.extend(tree.append(chain_leaf(hash)));
    }
    insert_nodes(conn, community, &done)?;
    Ok(done.iter().filter(|(id, _)| id.height == 0).count() as u64)
}

/// [`catch_up`] as start-up runs it: after the migrations, before anything writes, with progress
/// in the log (a tree level with its journal, the usual case, logs nothing).
pub fn catch_up_at_start(conn: &mut DbConn) -> Result<CatchUp, String> {
    let mut last_logged = 0;
    let done = catch_up(conn, &mut |done, total| {
        if done == total || done - last_logged >= 50_000 {
            last_logged = done;
            tracing::info!(
                done,
                total,
                "ledger tree: adding the journal's transactions"
            );
        }
    })
    .map_err(|e| format!("cannot bring the ledger tree level with the journal: {e}"))?;
    if done.leaves > 0 {
        tracing::info!(
            communities = done.communities,
            transactions = done.leaves,
            "ledger tree level with the journal"
        );
    }
    Ok(done)
}
