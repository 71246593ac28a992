//! The Merkle tree over each community's journal (`ledger_tree`): the writer keeps exactly the
//! perfect subtrees of the journal, a database without them gets them at start, and verify finds
//! a tree edited behind the service's back.

use std::collections::BTreeMap;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use moralbank::db::schema::{journal, ledger_tree};
use moralbank::db::{DbConn, DbUuid};
use moralbank::ledger::merkle::{Frontier, Hash, NodeId};
use moralbank::ledger::tree::{chain_leaf, from_hex};

use crate::common::child::verify_cli;
use crate::common::{Backend, TestApp};

type Nodes = BTreeMap<(DbUuid, u32, u64), Hash>;

/// Every stored node, by community, height and index.
fn stored(conn: &mut DbConn) -> Nodes {
    let rows: Vec<(DbUuid, i32, i64, String)> = ledger_tree::table
        .select((
            ledger_tree::community_id,
            ledger_tree::height,
            ledger_tree::idx,
            ledger_tree::hash,
        ))
        .load(conn)
        .unwrap();
    rows.into_iter()
        .map(|(c, h, i, hash)| ((c, h as u32, i as u64), from_hex(&hash).unwrap()))
        .collect()
}

/// The tree the journal should have, rebuilt from its hashes alone, and each community's root.
fn expected(conn: &mut DbConn) -> (Nodes, BTreeMap<DbUuid, (u64, Hash)>) {
    let rows: Vec<(DbUuid, i64, String)> = journal::table
        .select((journal::community_id, journal::seq, journal::hash))
        .order((journal::community_id, journal::seq))
        .load(conn)
        .unwrap();
    let mut trees: BTreeMap<DbUuid, Frontier> = BTreeMap::new();
    let mut nodes = Nodes::new();
    for (community, seq, hash) in rows {
        let tree = trees.entry(community).or_default();
        assert_eq!(seq as u64, tree.size() + 1, "the journal has no gaps");
        for (NodeId { height, index }, h) in tree.append(chain_leaf(&hash)) {
            nodes.insert((community, height, index), h);
        }
    }
    let roots = trees
        .into_iter()
        .map(|(c, t)| (c, (t.size(), t.root())))
        .collect();
    (nodes, roots)
}

/// Journal transactions of several kinds: opening balances, redemptions, a void, corrections.
fn some_transactions(app: &TestApp, n: usize) {
    let goods = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &serde_json::json!({"sku": "SOAP", "name": "肥皂", "price": "1.50", "stock": 1000}),
    );
    assert_eq!(goods.status, 201, "{}", goods.text);
    let clerk = app.user_with_roles("clerk1", &["clerk"], None);
    for i in 0..n {
        let m = app.create_member(&format!("树{i}"));
        let id = m["id"].as_str().unwrap();
        assert_eq!(
            app.adjust(&format!("o{i}"), id, "20", "opening_balance", "r")
                .status,
            201
        );
        if i % 2 == 0 {
            let r = app.request(
                "POST",
                "/api/v1/redemptions",
                Some(&clerk),
                &[("Idempotency-Key", &format!("r{i}"))],
                Some(
                    &serde_json::json!({"member_id": id, "lines": [{"goods_id": goods.body["id"], "quantity": 2}]})
                        .to_string(),
                ),
            );
            assert_eq!(r.status, 201, "{}", r.text);
        }
        if i % 5 == 0 {
            assert_eq!(
                app.adjust(&format!("c{i}"), id, "-1", "correction", "r")
                    .status,
                201
            );
        }
    }
}

fn the_writer_keeps_exactly_the_perfect_subtrees_of_the_journal(app: TestApp) {
    some_transactions(&app, 23);
    let mut conn = app.db.connect();
    let (want, roots) = expected(&mut conn);
    let have = stored(&mut conn);
    // 23 openings, 12 redemptions and 5 corrections: 40 leaves, 40 + 20 + 10 + 5 + 2 + 1 nodes.
    let (size, _) = roots.values().next().copied().unwrap();
    assert_eq!(size, 40);
    assert_eq!(want.len(), 78);
    assert_eq!(have, want, "stored nodes differ from the journal's tree");
    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 0, "{out}");
}

fn a_database_without_its_tree_gets_it_at_start(mut app: TestApp) {
    some_transactions(&app, 9);
    let mut conn = app.db.connect();
    let (want, _) = expected(&mut conn);
    let script = match app.backend {
        Backend::Sqlite => "DROP TRIGGER ledger_tree_no_delete; DELETE FROM ledger_tree;",
        Backend::Postgres => {
            "ALTER TABLE ledger_tree DISABLE TRIGGER ledger_tree_append_only; DELETE FROM ledger_tree;"
        }
    };
    conn.batch_execute(script).unwrap();
    drop(conn);
    // Without its tree the ledger does not verify…
    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("PROBLEM tree_behind")
            && out.contains("holds 0 transactions but the journal 16"),
        "{out}"
    );
    // …and a start brings the tree level with the journal before anything is written.
    app.restart();
    let mut conn = app.db.connect();
    assert_eq!(stored(&mut conn), want);
    drop(conn);
    some_transactions_more(&app);
    let mut conn = app.db.connect();
    let (want, _) = expected(&mut conn);
    assert_eq!(stored(&mut conn), want);
    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 0, "{out}");
}

fn some_transactions_more(app: &TestApp) {
    let m = app.create_member("又一位");
    let id = m["id"].as_str().unwrap();
    for i in 0..3 {
        assert_eq!(
            app.adjust(&format!("more{i}"), id, "2", "correction", "r")
                .status,
            201
        );
    }
}

fn verify_finds_a_tree_node_changed_or_removed_behind_the_services_back(app: TestApp) {
    some_transactions(&app, 6);
    let mut conn = app.db.connect();
    let edit = "UPDATE ledger_tree SET hash = '0000000000000000000000000000000000000000000000000000000000000000' WHERE height = 1 AND idx = 2";
    assert!(
        conn.batch_execute(edit).is_err(),
        "the tree must be append-only"
    );
    let disable = match app.backend {
        Backend::Sqlite => {
            "DROP TRIGGER ledger_tree_no_update; DROP TRIGGER ledger_tree_no_delete;"
        }
        Backend::Postgres => "ALTER TABLE ledger_tree DISABLE TRIGGER ledger_tree_append_only",
    };
    conn.batch_execute(disable).unwrap();
    conn.batch_execute(edit).unwrap();
    drop(conn);
    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("tree_node_mismatch") && out.contains("height 1 over transactions 5–6"),
        "{out}"
    );
    let mut conn = app.db.connect();
    conn.batch_execute("DELETE FROM ledger_tree WHERE height = 0 AND idx = 0")
        .unwrap();
    drop(conn);
    let report = app.verify();
    assert_eq!(report["ok"], false);
    let kinds: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"tree_node_missing"), "{kinds:?}");
    assert!(kinds.contains(&"tree_node_mismatch"), "{kinds:?}");
}

both_backends!(
    the_writer_keeps_exactly_the_perfect_subtrees_of_the_journal,
    a_database_without_its_tree_gets_it_at_start,
    verify_finds_a_tree_node_changed_or_removed_behind_the_services_back
);
