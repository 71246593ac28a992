//! Signed ledger heads: signed on demand and on a timer, published without login, exported, and
//! held against the ledger by `moralbank verify --heads`, which finds what plain verification
//! cannot: a tail cut off with every cache rewound, and a past rewritten with every hash redone.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use moralbank::db::models::{JournalRow, PostingRow};
use moralbank::db::schema::{journal, postings};
use moralbank::db::{DbConn, DbUuid};
use moralbank::kernel::{AccountId, ChainLink, ChainPosting, CommunityId, HashFormat, UserId};
use moralbank::trust::model::{check_head, SignedHead};
use serde_json::Value;

use crate::common::child::{moralbank as moralbank_cli, verify_cli};
use crate::common::{Backend, TestApp};

fn code_of(app: &TestApp) -> String {
    let me = app.get("/api/v1/me", &app.admin_token);
    me.body["community"]["code"].as_str().unwrap().to_string()
}

fn transactions(app: &TestApp, tag: &str, n: usize) {
    let m = app.create_member(&format!("签名{tag}"));
    let id = m["id"].as_str().unwrap();
    assert_eq!(
        app.adjust(&format!("{tag}o"), id, "50", "opening_balance", "r")
            .status,
        201
    );
    for i in 1..n {
        assert_eq!(
            app.adjust(&format!("{tag}{i}"), id, "-1", "correction", "第{i}笔")
                .status,
            201
        );
    }
}

fn journal_size(conn: &mut DbConn) -> i64 {
    journal::table.count().get_result(conn).unwrap()
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

fn verify_heads(app: &TestApp, file: &Value) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heads.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let out = moralbank_cli()
        .arg("verify")
        .arg("--heads")
        .arg(&path)
        .env("MORALBANK_DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

fn export(app: &TestApp) -> Value {
    let r = app.get("/api/v1/ledger/heads/export", &app.admin_token);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn a_head_is_signed_on_demand_published_without_login_and_checks_with_the_key(app: TestApp) {
    transactions(&app, "a", 5);
    let code = code_of(&app);
    let head = sign(&app);
    let mut conn = app.db.connect();
    assert_eq!(head.tree_size as i64, journal_size(&mut conn));
    assert_eq!(head.community, code);
    drop(conn);
    // Anyone may read the heads and the key: no token.
    let public = app.request("GET", &format!("/public/{code}/heads"), None, &[], None);
    assert_eq!(public.status, 200, "{}", public.text);
    let key = public.body["public_key"].as_str().unwrap();
    assert_eq!(check_head(&head, key), Ok(()));
    assert_eq!(public.body["latest"], serde_json::to_value(&head).unwrap());
    // A head changed by one digit no longer checks.
    let mut forged = head.clone();
    forged.tree_size += 1;
    assert!(check_head(&forged, key).is_err());
    // Residents and clerks do not sign; unknown communities and bad pages are refused.
    let (_, resident) = app.resident("居民", "jumin");
    app.request(
        "POST",
        "/api/v1/ledger/heads",
        Some(&resident),
        &[],
        Some("{}"),
    )
    .assert_problem(403, "forbidden");
    app.request("GET", "/public/nowhere/heads", None, &[], None)
        .assert_problem(404, "not_found");
    app.request(
        "GET",
        &format!("/public/{code}/heads?limit=0"),
        None,
        &[],
        None,
    )
    .assert_problem(400, "invalid_limit");
    // The export holds every head with the key, and the ledger holds what they committed to.
    transactions(&app, "b", 3);
    sign(&app);
    let file = export(&app);
    assert_eq!(file["heads"].as_array().unwrap().len(), 2);
    assert_eq!(file["public_key"], key);
    let (code_out, out) = verify_heads(&app, &file);
    assert_eq!(code_out, 0, "{out}");
    assert!(
        out.contains("HEADS OK") && out.contains("all 2 signed head(s)"),
        "{out}"
    );
}

/// Removes the newest transaction with everything that would betray it: its postings and key,
/// its leaf and the tree nodes over it, the accounts' cached balances and the chain head.
fn verify_heads_names_a_tail_cut_off_that_plain_verify_cannot_see(mut app: TestApp) {
    transactions(&app, "t", 6);
    let kept = sign(&app);
    let file = export(&app);
    app.stop();
    app.cut_the_tail();
    // The database alone looks like an honest shorter ledger…
    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(code, 0, "a consistent cut passes plain verification: {out}");
    // …but the head kept elsewhere committed to one transaction more.
    let (code, out) = verify_heads(&app, &file);
    assert_eq!(code, 1, "{out}");
    let first = out
        .lines()
        .find(|l| l.starts_with("FIRST BROKEN HEAD"))
        .unwrap_or_else(|| panic!("no broken head named: {out}"));
    assert!(
        first.contains(&format!("#{}·{}", kept.tree_size, &kept.root_hash[..8]))
            && first.contains("head_truncated")
            && first.contains(&kept.signed_at),
        "{first}"
    );
    app.restart();
}

/// Rewrites the memo of transaction `seq` and redoes every hash after it, and the tree: what an
/// insider with the database and this program's source could do.
fn rewrite_the_past(app: &TestApp, seq: i64) {
    let mut conn = app.db.connect();
    let disable = match app.backend {
        Backend::Sqlite => "DROP TRIGGER journal_no_update; DROP TRIGGER ledger_tree_no_delete;",
        Backend::Postgres => "ALTER TABLE journal DISABLE TRIGGER journal_append_only; ALTER TABLE ledger_tree DISABLE TRIGGER ledger_tree_append_only;",
    };
    conn.batch_execute(disable).unwrap();
    let rows: Vec<JournalRow> = journal::table
        .order(journal::seq.asc())
        .select(JournalRow::as_select())
        .load(&mut conn)
        .unwrap();
    let mut prev = String::new();
    for mut row in rows {
        if row.seq < seq {
            prev = row.hash.clone();
            continue;
        }
        if row.seq == seq {
            row.memo = "改过的摘要".into();
        }
        let mut lines: Vec<PostingRow> = postings::table
            .filter(postings::journal_id.eq(row.id))
            .select(PostingRow::as_select())
            .load(&mut conn)
            .unwrap();
        lines.sort_by_key(|p| (p.account_id, p.account_seq));
        let hash = ChainLink {
            format: HashFormat::from_number(row.hash_version).unwrap(),
            prev_hash: &prev,
            community_id: CommunityId::from(row.community_id),
            seq: row.seq,
            journal_id: row.id.into(),
            kind: row.kind.as_str(),
            reference_id: row.reference_id.map(|r| r.0),
            memo: &row.memo,
            actor_id: row.actor_id.map(UserId::from),
            created_at_micros: moralbank::db::time_to_micros(row.created_at),
            postings: lines
                .iter()
                .map(|p| ChainPosting {
                    posting_id: p.id.0,
                    account_id: AccountId::from(p.account_id),
                    account_seq: p.account_seq,
                    amount: p.amount,
                    balance_after: p.balance_after,
                    credits_after: p.credits_after,
                    posted_at_micros: moralbank::db::time_to_micros(p.posted_at),
                })
                .collect(),
        }
        .hash();
        diesel::update(journal::table.filter(journal::id.eq(row.id)))
            .set((
                journal::memo.eq(&row.memo),
                journal::prev_hash.eq(&prev),
                journal::hash.eq(&hash),
            ))
            .execute(&mut conn)
            .unwrap();
        prev = hash;
    }
    conn.batch_execute(&format!(
        "UPDATE communities SET chain_hash = '{prev}'; DELETE FROM ledger_tree;"
    ))
    .unwrap();
    moralbank::ledger::tree::catch_up(&mut conn, &mut |_, _| {}).unwrap();
    let _: DbUuid = journal::table
        .filter(journal::seq.eq(seq))
        .select(journal::id)
        .first(&mut conn)
        .unwrap();
}

fn verify_heads_names_a_rewritten_past_that_plain_verify_cannot_see(mut app: TestApp) {
    transactions(&app, "p", 4);
    let first = sign(&app);
    transactions(&app, "q", 4);
    let second = sign(&app);
    let file = export(&app);
    app.stop();
    rewrite_the_past(&app, 2);
    let (code, out) = verify_cli(&app.db.url);
    assert_eq!(
        code, 0,
        "a rehashed rewrite passes plain verification: {out}"
    );
    let (code, out) = verify_heads(&app, &file);
    assert_eq!(code, 1, "{out}");
    let broken: Vec<&str> = out.lines().filter(|l| l.contains("BROKEN HEAD")).collect();
    assert_eq!(broken.len(), 2, "{out}");
    assert!(
        broken[0].starts_with("FIRST BROKEN HEAD")
            && broken[0].contains(&format!("#{}·", first.tree_size))
            && broken[0].contains("head_rewritten"),
        "{out}"
    );
    assert!(
        broken[1].contains(&format!("#{}·", second.tree_size)),
        "{out}"
    );
    // A file whose head was altered is refused as not signed, naming it.
    let mut altered = file.clone();
    altered["heads"][1]["tree_size"] = Value::from(second.tree_size - 1);
    let (code, out) = verify_heads(&app, &altered);
    assert_eq!(code, 1);
    assert!(out.contains("head_not_signed"), "{out}");
    app.restart();
}

fn heads_are_signed_on_a_timer_only_while_the_journal_grows(app: TestApp) {
    // A service that signs every 200 ms (the setting's unit is minutes; tests set the interval).
    let db = app.db.shared();
    let backend = app.backend;
    let mut first = app;
    first.stop();
    let app = TestApp::spawn_on_with(backend, db, |config| {
        config.head_sign_interval_ms = 200;
    });
    transactions(&app, "s", 2);
    let code = code_of(&app);
    let heads = |app: &TestApp| -> Vec<Value> {
        let r = app.request("GET", &format!("/public/{code}/heads"), None, &[], None);
        r.body["heads"].as_array().unwrap().clone()
    };
    // Wait for the first head, then for quiet.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while heads(&app).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no head was signed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(700));
    let quiet = heads(&app);
    assert_eq!(
        quiet.len(),
        1,
        "an unchanged journal is not signed again: {quiet:?}"
    );
    assert_eq!(quiet[0]["tree_size"], 2);
    transactions(&app, "u", 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = heads(&app);
        if now.len() == 2 {
            assert_eq!(now[0]["tree_size"], 3, "newest first");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the grown journal was not signed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

both_backends!(
    a_head_is_signed_on_demand_published_without_login_and_checks_with_the_key,
    verify_heads_names_a_tail_cut_off_that_plain_verify_cannot_see,
    verify_heads_names_a_rewritten_past_that_plain_verify_cannot_see,
    heads_are_signed_on_a_timer_only_while_the_journal_grows
);
