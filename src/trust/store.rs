//! Keys and signed heads in the database: a key for every community, the current head read from
//! one snapshot, signing and keeping heads, and the Merkle roots the journal itself gives at the
//! sizes heads name (for `verify --heads`, which trusts the journal's hashes, not the stored tree).

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDateTime, Timelike};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::RngCore;

use super::model::{self, SignedHead};
use crate::db::schema::{communities, community_keys, journal, ledger_heads};
use crate::db::{DbConn, DbUuid};
use crate::kernel::CommunityId;
use crate::ledger::merkle::{Frontier, Hash};
use crate::ledger::tree;

/// Journal transactions read per query while computing roots; memory stays flat.
const ROOTS_PAGE_TRANSACTIONS: i64 = 5_000;
/// Heads one public page lists at most.
pub const HEADS_PAGE_MAX: i64 = 200;

/// A community's signing key.
#[derive(Debug, Clone)]
pub struct CommunityKey {
    pub key_id: String,
    pub public_key: String,
    secret: [u8; 32],
}

/// Creates the community's key unless it has one.
pub fn ensure_key(
    conn: &mut DbConn,
    community: CommunityId,
    now: NaiveDateTime,
) -> QueryResult<()> {
    if key_of(conn, community)?.is_some() {
        return Ok(());
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let public = model::public_key(&secret);
    diesel::insert_into(community_keys::table)
        .values((
            community_keys::community_id.eq(DbUuid::from(community)),
            community_keys::key_id.eq(model::key_id(&public)),
            community_keys::public_key.eq(hex::encode(public)),
            community_keys::secret_key.eq(hex::encode(secret)),
            community_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Gives every community without a key one (communities created before keys existed).
pub fn ensure_keys(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<u64> {
    let ids: Vec<DbUuid> = communities::table.select(communities::id).load(conn)?;
    let mut made = 0;
    for id in ids {
        if key_of(conn, id.into())?.is_none() {
            ensure_key(conn, id.into(), now)?;
            made += 1;
        }
    }
    Ok(made)
}

/// The community's key (the newest, should there be several).
pub fn key_of(conn: &mut DbConn, community: CommunityId) -> QueryResult<Option<CommunityKey>> {
    let row: Option<(String, String, String)> = community_keys::table
        .filter(community_keys::community_id.eq(DbUuid::from(community)))
        .order(community_keys::created_at.desc())
        .select((
            community_keys::key_id,
            community_keys::public_key,
            community_keys::secret_key,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(key_id, public_key, secret)| {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&secret, &mut bytes).ok()?;
        Some(CommunityKey {
            key_id,
            public_key,
            secret: bytes,
        })
    }))
}

/// The journal's size and the stored tree's root at it, read from one snapshot.
pub fn current_head(conn: &mut DbConn, community: CommunityId) -> QueryResult<(u64, Hash)> {
    conn.transaction(|conn| {
        if let DbConn::Pg(pg) = conn {
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        let seq: i64 = communities::table
            .find(DbUuid::from(community))
            .select(communities::chain_seq)
            .first(conn)?;
        let size = seq.max(0) as u64;
        let frontier =
            tree::frontier(conn, community, size)?.ok_or(diesel::result::Error::NotFound)?;
        Ok((size, frontier.root()))
    })
}

type HeadRow = (i64, String, NaiveDateTime, String, String);

fn head_of(code: &str, row: HeadRow) -> SignedHead {
    let (tree_size, root_hash, signed_at, key_id, signature) = row;
    SignedHead {
        community: code.to_string(),
        tree_size: tree_size as u64,
        root_hash,
        signed_at: model::head_time(signed_at),
        key_id,
        signature,
    }
}

const HEAD_COLUMNS: (
    ledger_heads::tree_size,
    ledger_heads::root_hash,
    ledger_heads::signed_at,
    ledger_heads::key_id,
    ledger_heads::signature,
) = (
    ledger_heads::tree_size,
    ledger_heads::root_hash,
    ledger_heads::signed_at,
    ledger_heads::key_id,
    ledger_heads::signature,
);

/// Signs the community's current head and keeps it. `now` is taken to the whole second.
pub fn sign_head(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
    now: NaiveDateTime,
) -> QueryResult<SignedHead> {
    ensure_key(conn, community, now)?;
    let key = key_of(conn, community)?.ok_or(diesel::result::Error::NotFound)?;
    let (size, root) = current_head(conn, community)?;
    let signed_at = now.with_nanosecond(0).unwrap_or(now);
    let root_hash = hex::encode(root);
    let message = model::head_message(code, size, &root_hash, &model::head_time(signed_at));
    let signature = hex::encode(model::sign(&key.secret, &message));
    diesel::insert_into(ledger_heads::table)
        .values((
            ledger_heads::community_id.eq(DbUuid::from(community)),
            ledger_heads::id.eq(DbUuid(uuid::Uuid::now_v7())),
            ledger_heads::tree_size.eq(size as i64),
            ledger_heads::root_hash.eq(&root_hash),
            ledger_heads::signed_at.eq(signed_at),
            ledger_heads::key_id.eq(&key.key_id),
            ledger_heads::signature.eq(&signature),
        ))
        .execute(conn)?;
    Ok(SignedHead {
        community: code.to_string(),
        tree_size: size,
        root_hash,
        signed_at: model::head_time(signed_at),
        key_id: key.key_id,
        signature,
    })
}

/// The newest head of the community, if any.
pub fn latest_head(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
) -> QueryResult<Option<SignedHead>> {
    Ok(heads_page(conn, community, code, None, 1)?
        .into_iter()
        .next())
}

/// Heads newest first, signed before `before` when given, at most `limit`.
pub fn heads_page(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
    before: Option<NaiveDateTime>,
    limit: i64,
) -> QueryResult<Vec<SignedHead>> {
    let mut query = ledger_heads::table
        .filter(ledger_heads::community_id.eq(DbUuid::from(community)))
        .order((ledger_heads::signed_at.desc(), ledger_heads::id.desc()))
        .limit(limit)
        .select(HEAD_COLUMNS)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(ledger_heads::signed_at.lt(before));
    }
    let rows: Vec<HeadRow> = query.load(conn)?;
    Ok(rows.into_iter().map(|r| head_of(code, r)).collect())
}

/// Every head of the community, oldest first.
pub fn all_heads(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
) -> QueryResult<Vec<SignedHead>> {
    let rows: Vec<HeadRow> = ledger_heads::table
        .filter(ledger_heads::community_id.eq(DbUuid::from(community)))
        .order((ledger_heads::signed_at.asc(), ledger_heads::id.asc()))
        .select(HEAD_COLUMNS)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| head_of(code, r)).collect())
}

/// Signs a head for every community whose journal grew since its newest head (or that has none
/// while its journal holds transactions): the sweeper's regular signing. Answers the heads made.
pub fn sign_changed(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<SignedHead>> {
    let rows: Vec<(DbUuid, String, i64)> = communities::table
        .select((communities::id, communities::code, communities::chain_seq))
        .order(communities::id)
        .load(conn)?;
    let mut made = Vec::new();
    for (id, code, seq) in rows {
        let community = CommunityId::from(id);
        let latest = latest_head(conn, community, &code)?;
        let changed = match &latest {
            Some(head) => head.tree_size != seq.max(0) as u64,
            None => seq > 0,
        };
        if changed {
            made.push(sign_head(conn, community, &code, now)?);
        }
    }
    Ok(made)
}

/// The Merkle roots of the community's journal at each of `sizes`, computed from the journal's
/// own hashes (not the stored tree); a size past the journal's end is absent.
pub fn journal_roots(
    conn: &mut DbConn,
    community: CommunityId,
    sizes: &[u64],
) -> QueryResult<HashMap<u64, Hash>> {
    let wanted: BTreeSet<u64> = sizes.iter().copied().collect();
    let mut roots = HashMap::new();
    let Some(&last) = wanted.iter().next_back() else {
        return Ok(roots);
    };
    let mut tree = Frontier::new();
    if wanted.contains(&0) {
        roots.insert(0, tree.root());
    }
    let key = DbUuid::from(community);
    let mut after = 0_i64;
    while tree.size() < last {
        let page: Vec<(i64, String)> = journal::table
            .filter(journal::community_id.eq(key))
            .filter(journal::seq.gt(after))
            .order(journal::seq.asc())
            .limit(ROOTS_PAGE_TRANSACTIONS)
            .select((journal::seq, journal::hash))
            .load(conn)?;
        let Some((seq, _)) = page.last() else { break };
        after = *seq;
        for (_, hash) in &page {
            tree.append(tree::chain_leaf(hash));
            if wanted.contains(&tree.size()) {
                roots.insert(tree.size(), tree.root());
            }
            if tree.size() == last {
                break;
            }
        }
    }
    Ok(roots)
}

/// What every start does after the migrations, before anything writes: the ledger trees level with
/// their journals, and a key for every community.
pub fn ready_at_start(conn: &mut DbConn) -> Result<(), String> {
    tree::catch_up_at_start(conn)?;
    let made = ensure_keys(conn, crate::db::now_utc())
        .map_err(|e| format!("cannot create the communities' signing keys: {e}"))?;
    if made > 0 {
        tracing::info!(communities = made, "signing keys created");
    }
    Ok(())
}

/// What is wrong between a kept heads file and the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadProblem {
    /// `no_such_community`, `key_changed`, `head_not_signed`, `head_truncated`, `head_rewritten`.
    pub kind: &'static str,
    /// The head concerned, when one is.
    pub head: Option<SignedHead>,
    pub detail: String,
}

/// Checks the ledger against heads kept elsewhere: each head must check with the file's key, and
/// the journal must still hold its transactions and give its root (computed from the journal's
/// own hashes). Problems come in the order the heads were signed, so the first names the first
/// broken head.
pub fn check_heads(conn: &mut DbConn, file: &model::HeadsFile) -> QueryResult<Vec<HeadProblem>> {
    let mut problems = Vec::new();
    let Some(row) = crate::communities::store::community_by_code(conn, &file.community)? else {
        problems.push(HeadProblem {
            kind: "no_such_community",
            head: None,
            detail: format!("the database holds no community {}", file.community),
        });
        return Ok(problems);
    };
    let community = CommunityId::from(row.id);
    if let Some(key) = key_of(conn, community)? {
        if key.public_key != file.public_key {
            problems.push(HeadProblem {
                kind: "key_changed",
                head: None,
                detail: format!(
                    "the database's key for {} is {}, not the key {} the heads were signed with",
                    file.community, key.key_id, file.key_id
                ),
            });
        }
    }
    let mut heads: Vec<&SignedHead> = file.heads.iter().collect();
    heads.sort_by(|a, b| (&a.signed_at, a.tree_size).cmp(&(&b.signed_at, b.tree_size)));
    let signed: Vec<&SignedHead> = heads
        .into_iter()
        .filter(|h| {
            let ok =
                h.community == file.community && model::check_head(h, &file.public_key).is_ok();
            if !ok {
                problems.push(HeadProblem {
                    kind: "head_not_signed",
                    head: Some((*h).clone()),
                    detail:
                        "this head does not check with the file's public key: the file was changed"
                            .into(),
                });
            }
            ok
        })
        .collect();
    let sizes: Vec<u64> = signed.iter().map(|h| h.tree_size).collect();
    let roots = journal_roots(conn, community, &sizes)?;
    let journal_size = row.chain_seq.max(0);
    for head in signed {
        match roots.get(&head.tree_size) {
            None => problems.push(HeadProblem {
                kind: "head_truncated",
                head: Some(head.clone()),
                detail: format!(
                    "it commits to {} transactions but the journal holds {journal_size}: transactions were removed",
                    head.tree_size
                ),
            }),
            Some(root) if hex::encode(root) != head.root_hash => problems.push(HeadProblem {
                kind: "head_rewritten",
                head: Some(head.clone()),
                detail: format!(
                    "the journal's first {} transactions no longer give the root it signed: the past was rewritten",
                    head.tree_size
                ),
            }),
            Some(_) => {}
        }
    }
    Ok(problems)
}

/// The newest head of the community that covers transaction `seq`.
pub fn head_covering(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
    seq: i64,
) -> QueryResult<Option<SignedHead>> {
    let row: Option<HeadRow> = ledger_heads::table
        .filter(ledger_heads::community_id.eq(DbUuid::from(community)))
        .filter(ledger_heads::tree_size.ge(seq))
        .order((ledger_heads::signed_at.desc(), ledger_heads::id.desc()))
        .select(HEAD_COLUMNS)
        .first(conn)
        .optional()?;
    Ok(row.map(|r| head_of(code, r)))
}

/// Why a proof bundle cannot be made.
#[derive(Debug)]
pub enum BundleRefusal {
    NoSuchTransaction,
    /// No signed head covers the transaction yet.
    NotYetSigned,
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for BundleRefusal {
    fn from(e: diesel::result::Error) -> Self {
        BundleRefusal::Database(e)
    }
}

/// The transaction with journal seq `seq`, with its postings, as its hash covers it.
pub fn proof_transaction(
    conn: &mut DbConn,
    community: CommunityId,
    seq: i64,
) -> QueryResult<Option<model::ProofTransaction>> {
    use crate::db::models::{JournalRow, PostingRow};
    use crate::db::schema::postings;
    let Some(row): Option<JournalRow> = journal::table
        .filter(journal::community_id.eq(DbUuid::from(community)))
        .filter(journal::seq.eq(seq))
        .select(JournalRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let mut lines: Vec<PostingRow> = postings::table
        .filter(postings::journal_id.eq(row.id))
        .select(PostingRow::as_select())
        .load(conn)?;
    lines.sort_by_key(|p| (p.account_id, p.account_seq));
    Ok(Some(model::ProofTransaction {
        community_id: row.community_id.0,
        journal_id: row.id.0,
        seq: row.seq,
        hash_version: row.hash_version,
        prev_hash: row.prev_hash,
        kind: row.kind.as_str().to_string(),
        reference_id: row.reference_id.map(|r| r.0),
        memo: row.memo,
        actor_id: row.actor_id.map(|a| a.0),
        created_at_micros: crate::db::time_to_micros(row.created_at),
        postings: lines
            .iter()
            .map(|p| model::ProofPosting {
                posting_id: p.id.0,
                account_id: p.account_id.0,
                account_seq: p.account_seq,
                amount: p.amount,
                balance_after: p.balance_after,
                credits_after: p.credits_after,
                posted_at_micros: crate::db::time_to_micros(p.posted_at),
            })
            .collect(),
        hash: row.hash,
    }))
}

/// The inclusion proof of transaction `seq` in the tree of `size` transactions, from the stored
/// tree; `None` when a node it needs is not stored.
pub fn inclusion_proof(
    conn: &mut DbConn,
    community: CommunityId,
    seq: i64,
    size: u64,
) -> QueryResult<Option<Vec<Hash>>> {
    let index = (seq - 1).max(0) as u64;
    if index >= size {
        return Ok(None);
    }
    tree::range_hashes(
        conn,
        community,
        &crate::ledger::merkle::inclusion_ranges(index, size),
    )
}

/// The consistency proof from the tree of `old` transactions to the tree of `new`.
pub fn consistency_proof(
    conn: &mut DbConn,
    community: CommunityId,
    old: u64,
    new: u64,
) -> QueryResult<Option<Vec<Hash>>> {
    if old > new {
        return Ok(None);
    }
    tree::range_hashes(
        conn,
        community,
        &crate::ledger::merkle::consistency_ranges(old, new),
    )
}

/// A proof bundle for transaction `seq` under the newest head that covers it.
pub fn proof_bundle(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
    seq: i64,
) -> Result<model::ProofBundle, BundleRefusal> {
    let transaction =
        proof_transaction(conn, community, seq)?.ok_or(BundleRefusal::NoSuchTransaction)?;
    let head = head_covering(conn, community, code, seq)?.ok_or(BundleRefusal::NotYetSigned)?;
    let key = key_of(conn, community)?.ok_or(BundleRefusal::NotYetSigned)?;
    let proof = inclusion_proof(conn, community, seq, head.tree_size)?
        .ok_or(BundleRefusal::Database(diesel::result::Error::NotFound))?;
    Ok(model::ProofBundle {
        format: model::PROOF_FORMAT.to_string(),
        transaction,
        head,
        public_key: key.public_key,
        inclusion_proof: proof.iter().map(hex::encode).collect(),
    })
}

/// The newest head signed at exactly `size` transactions (the one a printed line names).
pub fn head_at_size(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
    size: u64,
) -> QueryResult<Option<SignedHead>> {
    let Ok(size) = i64::try_from(size) else {
        return Ok(None);
    };
    let row: Option<HeadRow> = ledger_heads::table
        .filter(ledger_heads::community_id.eq(DbUuid::from(community)))
        .filter(ledger_heads::tree_size.eq(size))
        .order((ledger_heads::signed_at.desc(), ledger_heads::id.desc()))
        .select(HEAD_COLUMNS)
        .first(conn)
        .optional()?;
    Ok(row.map(|r| head_of(code, r)))
}

/// An account a checked line moved, as the public check page may name it: its kind and, for a
/// passbook, the passbook number (the page masks it).
#[derive(Debug, Clone)]
pub struct LineAccount {
    pub account_id: uuid::Uuid,
    pub kind: crate::kernel::AccountKind,
    pub member_no: Option<String>,
}

/// Everything the public check of transaction `seq` under the head of `size` rests on, read from
/// the database as it is now; the check itself ([`model::check_line`]) trusts none of it but the
/// community's key.
#[derive(Debug, Clone)]
pub struct LineEvidence {
    /// The line's head: the newest signed at `size`.
    pub head: SignedHead,
    pub latest: SignedHead,
    pub public_key: String,
    pub key_id: String,
    /// The transaction as stored, `None` when the journal no longer holds it.
    pub transaction: Option<model::ProofTransaction>,
    /// `None` when the stored tree lacks a node the proof needs.
    pub inclusion: Option<Vec<Hash>>,
    pub consistency: Option<Vec<Hash>>,
    pub accounts: Vec<LineAccount>,
}

/// Why there is nothing to check.
#[derive(Debug)]
pub enum EvidenceRefusal {
    /// No head was signed at that size (or the community has no key).
    NoSuchHead,
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for EvidenceRefusal {
    fn from(e: diesel::result::Error) -> Self {
        EvidenceRefusal::Database(e)
    }
}

/// Reads the evidence for the check of transaction `seq` (1 ≤ seq ≤ size) under the head of
/// `size`.
pub fn line_evidence(
    conn: &mut DbConn,
    community: CommunityId,
    code: &str,
    seq: i64,
    size: u64,
) -> Result<LineEvidence, EvidenceRefusal> {
    use crate::db::schema::{accounts, members};
    let head = head_at_size(conn, community, code, size)?.ok_or(EvidenceRefusal::NoSuchHead)?;
    let key = key_of(conn, community)?.ok_or(EvidenceRefusal::NoSuchHead)?;
    // The line's own head is the newest when none was signed after it.
    let latest = latest_head(conn, community, code)?.unwrap_or_else(|| head.clone());
    let transaction = proof_transaction(conn, community, seq)?;
    let inclusion = inclusion_proof(conn, community, seq, size)?;
    let consistency = consistency_proof(conn, community, size, latest.tree_size)?;
    let ids: Vec<DbUuid> = transaction
        .iter()
        .flat_map(|t| t.postings.iter().map(|p| DbUuid(p.account_id)))
        .collect();
    let rows: Vec<(DbUuid, crate::kernel::AccountKind, Option<String>)> = accounts::table
        .left_join(
            members::table.on(accounts::member_id
                .eq(members::id.nullable())
                .and(members::community_id.eq(accounts::community_id))),
        )
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .filter(accounts::id.eq_any(&ids))
        .select((accounts::id, accounts::kind, members::member_no.nullable()))
        .load(conn)?;
    let accounts = rows
        .into_iter()
        .map(|(id, kind, member_no)| LineAccount {
            account_id: id.0,
            kind,
            member_no,
        })
        .collect();
    Ok(LineEvidence {
        head,
        latest,
        public_key: key.public_key,
        key_id: key.key_id,
        transaction,
        inclusion,
        consistency,
        accounts,
    })
}
