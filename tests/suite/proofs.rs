//! Proofs a person can hold: a transaction's proof bundle checks with no database and fails when
//! any byte changes; a consistency proof links an old signed head to a new one.

use diesel::connection::SimpleConnection;
use moralbank::ledger::merkle::verify_consistency;
use moralbank::trust::model::{check_head, SignedHead};
use serde_json::Value;

use crate::common::child::moralbank as moralbank_cli;
use crate::common::{Backend, TestApp};

fn code_of(app: &TestApp) -> String {
    let me = app.get("/api/v1/me", &app.admin_token);
    me.body["community"]["code"].as_str().unwrap().to_string()
}

fn sign(app: &TestApp) -> SignedHead {
    let r = app.post(
        "/api/v1/ledger/heads",
        &app.admin_token,
        &serde_json::json!({}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    serde_json::from_value(r.body).unwrap()
}

fn proof_check(bundle: &Value, key: Option<&str>) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proof.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    let mut cmd = moralbank_cli();
    cmd.arg("proof").arg("check").arg(&path);
    if let Some(key) = key {
        cmd.arg("--key").arg(key);
    }
    // No database: the check needs none.
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// Flips one hex digit (or one character) of a text value.
fn flip(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let i = chars.len() / 2;
    chars[i] = match chars[i] {
        '0' => '1',
        c if c.is_ascii_hexdigit() => '0',
        _ => 'X',
    };
    chars.into_iter().collect()
}

fn a_proof_bundle_checks_offline_and_fails_after_any_changed_byte(app: TestApp) {
    let (a, a_token) = app.resident("甲", "jia");
    let (b, _) = app.resident("乙", "yi");
    let a_id = a["id"].as_str().unwrap();
    let b_id = b["id"].as_str().unwrap();
    let first = app.adjust("a1", a_id, "12.50", "opening_balance", "上期结转");
    assert_eq!(first.status, 201);
    assert_eq!(
        app.adjust("b1", b_id, "3", "opening_balance", "上期结转")
            .status,
        201
    );
    assert_eq!(
        app.adjust("a2", a_id, "-1", "correction", "更正").status,
        201
    );
    let seq = |r: &crate::common::Resp| -> i64 {
        let id = r.body["journal_id"].as_str().unwrap();
        let j = app.get("/api/v1/journal?after_seq=0&limit=100", &app.admin_token);
        j.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()["seq"]
            .as_i64()
            .unwrap()
    };
    let a_seq = seq(&first);
    // Nothing signed yet: no proof to give.
    app.get(
        &format!("/api/v1/ledger/transactions/{a_seq}/proof"),
        &app.admin_token,
    )
    .assert_problem(409, "not_yet_signed");
    let head = sign(&app);
    let code = code_of(&app);
    let key = app
        .request("GET", &format!("/public/{code}/heads"), None, &[], None)
        .body["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    // The resident fetches the proof of their own line; another's answers as not there.
    let mine = app.get(
        &format!("/api/v1/ledger/transactions/{a_seq}/proof"),
        &a_token,
    );
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body["head"]["tree_size"], head.tree_size);
    let b_seq = a_seq + 1;
    app.get(
        &format!("/api/v1/ledger/transactions/{b_seq}/proof"),
        &a_token,
    )
    .assert_problem(404, "not_found");
    app.get("/api/v1/ledger/transactions/999/proof", &app.admin_token)
        .assert_problem(404, "not_found");
    let bundle = mine.body;
    let (code_out, out) = proof_check(&bundle, Some(&key));
    assert_eq!(code_out, 0, "{out}");
    assert!(
        out.starts_with(&format!("OK: transaction {a_seq} of {code}")),
        "{out}"
    );
    let (code_out, out) = proof_check(&bundle, None);
    assert_eq!(code_out, 0, "{out}");
    assert!(out.contains("the key is the file's own"), "{out}");
    // Any one change, anywhere in the bundle, and it fails.
    let mut changes: Vec<(&str, Value)> = Vec::new();
    let mut c = bundle.clone();
    c["transaction"]["memo"] = Value::from("改过");
    changes.push(("memo", c));
    let mut c = bundle.clone();
    c["transaction"]["postings"][0]["amount"] = Value::from(
        bundle["transaction"]["postings"][0]["amount"]
            .as_i64()
            .unwrap()
            + 1,
    );
    changes.push(("amount", c));
    let mut c = bundle.clone();
    c["transaction"]["seq"] = Value::from(a_seq + 1);
    changes.push(("seq", c));
    for (i, _) in bundle["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let mut c = bundle.clone();
        c["inclusion_proof"][i] = Value::from(flip(bundle["inclusion_proof"][i].as_str().unwrap()));
        changes.push(("proof hash", c));
    }
    assert!(!bundle["inclusion_proof"].as_array().unwrap().is_empty());
    let mut c = bundle.clone();
    c["head"]["root_hash"] = Value::from(flip(bundle["head"]["root_hash"].as_str().unwrap()));
    changes.push(("root", c));
    let mut c = bundle.clone();
    c["head"]["signature"] = Value::from(flip(bundle["head"]["signature"].as_str().unwrap()));
    changes.push(("signature", c));
    let mut c = bundle.clone();
    c["transaction"]["hash"] = Value::from(flip(bundle["transaction"]["hash"].as_str().unwrap()));
    changes.push(("hash", c));
    for (what, changed) in &changes {
        let (code_out, out) = proof_check(changed, Some(&key));
        assert_eq!(code_out, 1, "a changed {what} must fail: {out}");
        assert!(out.starts_with("FAILED"), "{out}");
    }
    // A key other than the published one is refused.
    let (code_out, _) = proof_check(&bundle, Some(&"ab".repeat(32)));
    assert_eq!(code_out, 1);

    // The ledger changed behind the service's back: a fresh bundle no longer checks.
    let mut conn = app.db.connect();
    let disable = match app.backend {
        Backend::Sqlite => "DROP TRIGGER journal_no_update;",
        Backend::Postgres => "ALTER TABLE journal DISABLE TRIGGER journal_append_only;",
    };
    conn.batch_execute(&format!(
        "{disable} UPDATE journal SET memo = '改过的' WHERE seq = {a_seq};"
    ))
    .unwrap();
    drop(conn);
    let fresh = app.get(
        &format!("/api/v1/ledger/transactions/{a_seq}/proof"),
        &app.admin_token,
    );
    let (code_out, out) = proof_check(&fresh.body, Some(&key));
    assert_eq!(code_out, 1, "{out}");
    assert!(out.contains("was changed"), "{out}");
}

fn a_consistency_proof_links_an_old_head_to_a_new_one(app: TestApp) {
    let m = app.create_member("丙");
    let id = m["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("c0", id, "20", "opening_balance", "r").status,
        201
    );
    for i in 1..3 {
        assert_eq!(
            app.adjust(&format!("c{i}"), id, "-1", "correction", "r")
                .status,
            201
        );
    }
    let old = sign(&app);
    for i in 3..9 {
        assert_eq!(
            app.adjust(&format!("c{i}"), id, "-1", "correction", "r")
                .status,
            201
        );
    }
    let new = sign(&app);
    let code = code_of(&app);
    let public = app.request("GET", &format!("/public/{code}/heads"), None, &[], None);
    let key = public.body["public_key"].as_str().unwrap();
    assert_eq!(check_head(&old, key), Ok(()));
    assert_eq!(check_head(&new, key), Ok(()));
    let r = app.request(
        "GET",
        &format!(
            "/public/{code}/consistency?from={}&to={}",
            old.tree_size, new.tree_size
        ),
        None,
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let proof: Vec<[u8; 32]> = r.body["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let mut b = [0u8; 32];
            hex::decode_to_slice(h.as_str().unwrap(), &mut b).unwrap();
            b
        })
        .collect();
    let root = |h: &SignedHead| {
        let mut b = [0u8; 32];
        hex::decode_to_slice(&h.root_hash, &mut b).unwrap();
        b
    };
    assert!(!proof.is_empty());
    verify_consistency(
        old.tree_size,
        new.tree_size,
        &root(&old),
        &root(&new),
        &proof,
    )
    .unwrap();
    for i in 0..proof.len() {
        for byte in [0, 31] {
            let mut bad = proof.clone();
            bad[i][byte] ^= 1;
            assert!(
                verify_consistency(old.tree_size, new.tree_size, &root(&old), &root(&new), &bad)
                    .is_err(),
                "hash {i} byte {byte}"
            );
        }
    }
    app.request(
        "GET",
        &format!("/public/{code}/consistency?from=5&to=2"),
        None,
        &[],
        None,
    )
    .assert_problem(400, "invalid_query");
    app.request(
        "GET",
        &format!("/public/{code}/consistency?from=1&to=999"),
        None,
        &[],
        None,
    )
    .assert_problem(400, "invalid_query");
    app.request(
        "GET",
        "/public/nowhere/consistency?from=1&to=2",
        None,
        &[],
        None,
    )
    .assert_problem(404, "not_found");
}

both_backends!(
    a_proof_bundle_checks_offline_and_fails_after_any_changed_byte,
    a_consistency_proof_links_an_old_head_to_a_new_one
);
