//! Edits made behind the service's back are refused by the database where it can, and found and
//! named by verification where it cannot.

use crate::common::child::verify_cli;
use crate::common::{Backend, TestApp};
use diesel::connection::SimpleConnection;

fn an_edited_posting_is_found_and_named(app: TestApp) {
    let member = app.create_member("篡改测试");
    let id = member["id"].as_str().unwrap();
    let account = member["account_id"].as_str().unwrap();
    assert_eq!(
        app.adjust("a", id, "10", "opening_balance", "r").status,
        201
    );
    let target = app.adjust("b", id, "5", "correction", "r");
    assert_eq!(target.status, 201);
    assert_eq!(app.adjust("c", id, "-3", "correction", "r").status, 201);
    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("OK: checked 3 transactions and 6 postings"),
        "{out}"
    );

    let mut conn = app.db.connect();
    let edit = format!("UPDATE postings SET amount = amount + 100 WHERE account_id = '{account}' AND account_seq = 2");
    // The append-only guard refuses the edit as long as it stands.
    assert!(
        conn.batch_execute(&edit).is_err(),
        "postings must be append-only"
    );
    let disable = match app.backend {
        Backend::Sqlite => "DROP TRIGGER postings_no_update",
        Backend::Postgres => "ALTER TABLE postings DISABLE TRIGGER postings_append_only",
    };
    conn.batch_execute(disable).unwrap();
    conn.batch_execute(&edit).unwrap();
    drop(conn);

    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 1, "{out}");
    let journal_id = target.body["journal_id"].as_str().unwrap();
    let named = out
        .lines()
        .find(|l| l.starts_with("PROBLEM hash_mismatch"))
        .unwrap_or_else(|| panic!("no hash mismatch reported: {out}"));
    assert!(
        named.contains(" seq 2") && named.contains(journal_id),
        "{named}"
    );
    assert!(out.contains("PROBLEM unbalanced seq 2"), "{out}");
    assert!(out.contains("FAILED"), "{out}");

    let report = app.verify();
    assert_eq!(report["ok"], false);
    assert!(report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["kind"] == "hash_mismatch"
            && p["journal_id"] == journal_id
            && p["journal_seq"] == 2));
}

fn a_deleted_last_transaction_is_found(app: TestApp) {
    let member = app.create_member("删除测试");
    let id = member["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("a", id, "10", "opening_balance", "r").status,
        201
    );
    let last = app.adjust("b", id, "5", "correction", "r");
    let journal_id = last.body["journal_id"].as_str().unwrap().to_string();
    let mut conn = app.db.connect();
    let script = match app.backend {
        Backend::Sqlite => format!(
            "DROP TRIGGER postings_no_delete; DROP TRIGGER journal_no_delete; \
             DELETE FROM idempotency_keys WHERE journal_id = '{journal_id}'; \
             DELETE FROM postings WHERE journal_id = '{journal_id}'; DELETE FROM journal WHERE id = '{journal_id}';"
        ),
        Backend::Postgres => format!(
            "ALTER TABLE postings DISABLE TRIGGER postings_append_only; ALTER TABLE journal DISABLE TRIGGER journal_append_only; \
             DELETE FROM idempotency_keys WHERE journal_id = '{journal_id}'; \
             DELETE FROM postings WHERE journal_id = '{journal_id}'; DELETE FROM journal WHERE id = '{journal_id}';"
        ),
    };
    conn.batch_execute(&script).unwrap();
    drop(conn);
    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("PROBLEM chain_head_mismatch"), "{out}");
    assert!(out.contains("PROBLEM balance_mismatch"), "{out}");
    // The ledger tree still holds the removed transaction's leaf.
    assert!(out.contains("PROBLEM tree_ahead"), "{out}");
}

/// On PostgreSQL the writer's own rows keep no enforced foreign keys (migration 000035); a
/// reference broken behind the service's back is found by `verify` instead. SQLite still enforces
/// them, so the edit is made there with its foreign keys off.
fn a_reference_to_nothing_is_found(app: TestApp) {
    let member = app.create_member("悬空引用");
    let id = member["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("a", id, "10", "opening_balance", "r").status,
        201
    );
    assert_eq!(app.adjust("b", id, "1", "correction", "r").status, 201);
    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 0, "{out}");

    let mut conn = app.db.connect();
    if app.backend == Backend::Sqlite {
        conn.batch_execute("PRAGMA foreign_keys = OFF").unwrap();
    }
    let nowhere = "01890000-0000-7000-8000-000000000000";
    conn.batch_execute(&format!(
        "UPDATE idempotency_keys SET journal_id = '{nowhere}' WHERE idem_key = 'a'; \
         UPDATE idempotency_keys SET community_id = '{nowhere}' WHERE idem_key = 'b'"
    ))
    .unwrap();
    drop(conn);

    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 1, "{out}");
    let dangling: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("dangling_reference"))
        .collect();
    assert!(
        dangling
            .iter()
            .any(|l| l.contains("idempotency_keys") && l.contains("journal_id")),
        "{out}"
    );
    assert!(
        dangling
            .iter()
            .any(|l| l.contains("idempotency_keys") && l.contains("community that does not exist")),
        "{out}"
    );
}

both_backends!(
    an_edited_posting_is_found_and_named,
    a_deleted_last_transaction_is_found,
    a_reference_to_nothing_is_found
);
