//! The public check page (核验) a printed passbook line's QR code opens: without a login, no name
//! and no memo, the server's verdict and the data the page's own script recomputes; a changed line
//! or a truncated ledger fails it, and a damaged QR code gets a Chinese answer and changes nothing.

use diesel::connection::SimpleConnection;
use moralbank::ledger::merkle::{inclusion_ranges, leaf_hash, node_hash, Hash};
use serde_json::json;

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};

const NAME: &str = "核验甲乙丙";
const MEMO: &str = "备注不公开XYZ";

/// The check URL printed on the last sheet of the member's passbook (the print signs a head
/// covering it when there is none), as a path.
fn printed_check_path(app: &TestApp, account: &str) -> String {
    let r = app.get(
        &format!("/api/v1/accounts/{account}/passbook"),
        &app.admin_token,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let urls: Vec<&str> = r
        .text
        .split("class=\"check-url\">")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap())
        .collect();
    let url = urls.last().expect("a check URL on the passbook");
    let path = &url[url.find("/public/").expect("a public check URL")..];
    path.replace("&amp;", "&").replace("&#38;", "&")
}

fn attr<'a>(page: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let start = page
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in the page"))
        + key.len();
    &page[start..start + page[start..].find('"').unwrap()]
}

fn seq_size(path: &str) -> (i64, u64) {
    let q = &path[path.find('?').unwrap() + 1..];
    let mut seq = 0;
    let mut size = 0;
    for part in q.split('&') {
        let (k, v) = part.split_once('=').unwrap();
        match k {
            "seq" => seq = v.parse().unwrap(),
            "size" => size = v.parse().unwrap(),
            _ => {}
        }
    }
    (seq, size)
}

/// RFC 9162's `MTH` by its recursive definition, over leaf hashes.
fn mth(leaves: &[Hash]) -> Hash {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let k = (leaves.len() as u64 - 1).next_power_of_two() as usize;
    let k = if k >= leaves.len() { k / 2 } else { k };
    node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
}

fn heads_count(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use moralbank::db::schema::ledger_heads;
    let mut conn = app.db.connect();
    ledger_heads::table.count().get_result(&mut conn).unwrap()
}

fn a_printed_line_checks_without_a_login_and_names_no_one(app: TestApp) {
    let member = app.create_member(NAME);
    let id = member["id"].as_str().unwrap();
    let account = member["account_id"].as_str().unwrap();
    let member_no = member["member_no"].as_str().unwrap().to_string();
    assert_eq!(
        app.adjust("c1", id, "12.50", "opening_balance", MEMO)
            .status,
        201
    );
    assert_eq!(app.adjust("c2", id, "-2", "correction", MEMO).status, 201);
    let path = printed_check_path(&app, account);
    let (seq, size) = seq_size(&path);
    assert_eq!((seq, size), (2, 2), "{path}");

    // More lines after the print: the check reaches the newest head by a consistency proof.
    for i in 0..5 {
        assert_eq!(
            app.adjust(&format!("d{i}"), id, "1", "correction", "r")
                .status,
            201
        );
    }
    let newest = app.post("/api/v1/ledger/heads", &app.admin_token, &json!({}));
    assert_eq!(newest.status, 201, "{}", newest.text);

    let page = app.request("GET", &path, None, &[], None);
    assert_eq!(page.status, 200, "{}", page.text);
    let html = &page.text;
    assert!(
        html.contains("id=\"verdict\" data-verdict=\"ok\""),
        "{html}"
    );
    assert!(!html.contains("class=\"bad\""), "{html}");
    assert_eq!(
        html.matches("<span class=\"mark\">✔</span>").count(),
        5,
        "{html}"
    );
    assert!(!html.contains(NAME), "the page names the resident");
    assert!(!html.contains(MEMO), "the page shows the memo");
    assert!(
        !html.contains(&member_no),
        "the passbook number is shown whole"
    );
    let masked = format!(
        "{}***{}",
        &member_no[..2],
        &member_no[member_no.len() - 2..]
    );
    assert!(html.contains(&masked), "no masked passbook number {masked}");
    assert!(html.contains("-2.00"), "{html}");
    assert!(html.contains("更正"), "{html}");
    assert!(html.contains("#7·"), "the newest head is named");

    // What the page hands its script is the real proof: the inclusion path it gives leads from
    // the transaction's leaf to the signed root, as the tree says.
    let chain_hash = attr(html, "data-chain-hash");
    let mut entry: Hash = [0; 32];
    hex::decode_to_slice(chain_hash, &mut entry).unwrap();
    let leaves: Vec<Hash> = {
        let j = app.get("/api/v1/journal?after_seq=0&limit=100", &app.admin_token);
        j.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let mut h: Hash = [0; 32];
                hex::decode_to_slice(t["hash"].as_str().unwrap(), &mut h).unwrap();
                leaf_hash(&h)
            })
            .collect()
    };
    assert_eq!(leaves[1], leaf_hash(&entry));
    let expected: Vec<String> = inclusion_ranges(1, 2)
        .iter()
        .map(|r| hex::encode(mth(&leaves[r.start as usize..r.end as usize])))
        .collect();
    assert_eq!(attr(html, "data-inclusion"), expected.join(" "));
    assert_eq!(attr(html, "data-latest-size"), "7");
    assert!(!attr(html, "data-consistency").is_empty());
}

fn a_changed_line_or_a_truncated_ledger_fails_the_check(app: TestApp) {
    let member = app.create_member(NAME);
    let id = member["id"].as_str().unwrap();
    let account = member["account_id"].as_str().unwrap();
    assert_eq!(
        app.adjust("c1", id, "10", "opening_balance", "r").status,
        201
    );
    assert_eq!(app.adjust("c2", id, "5", "correction", "r").status, 201);
    let path = printed_check_path(&app, account);
    assert_eq!(seq_size(&path), (2, 2));
    let ok = app.request("GET", &path, None, &[], None);
    assert!(ok.text.contains("data-verdict=\"ok\""), "{}", ok.text);

    // One amount changed behind the service's back.
    let mut conn = app.db.connect();
    let (disable, enable) = match app.backend {
        Backend::Sqlite => ("DROP TRIGGER postings_no_update", ""),
        Backend::Postgres => (
            "ALTER TABLE postings DISABLE TRIGGER postings_append_only",
            "ALTER TABLE postings ENABLE TRIGGER postings_append_only",
        ),
    };
    conn.batch_execute(disable).unwrap();
    conn.batch_execute(&format!(
        "UPDATE postings SET amount = amount + 100, balance_after = balance_after + 100 \
         WHERE account_id = '{account}' AND account_seq = 2"
    ))
    .unwrap();
    let changed = app.request("GET", &path, None, &[], None);
    assert_eq!(changed.status, 200);
    assert!(
        changed.text.contains("id=\"verdict\" data-verdict=\"bad\""),
        "{}",
        changed.text
    );
    assert!(
        changed.text.contains("<li class=\"bad\">"),
        "{}",
        changed.text
    );
    assert!(changed.text.contains("没有被改动"), "{}", changed.text);
    // Put back, it checks again.
    conn.batch_execute(&format!(
        "UPDATE postings SET amount = amount - 100, balance_after = balance_after - 100 \
         WHERE account_id = '{account}' AND account_seq = 2"
    ))
    .unwrap();
    if !enable.is_empty() {
        conn.batch_execute(enable).unwrap();
    }
    let again = app.request("GET", &path, None, &[], None);
    assert!(again.text.contains("data-verdict=\"ok\""), "{}", again.text);

    // The line removed, and the cached head and balance rewound: the database alone looks like
    // an honest shorter ledger; the signed head does not.
    drop(conn);
    app.cut_the_tail();
    let gone = app.request("GET", &path, None, &[], None);
    assert_eq!(gone.status, 200);
    assert!(gone.text.contains("data-verdict=\"bad\""), "{}", gone.text);
    assert!(
        gone.text.contains("账本里已经找不到这一笔了"),
        "{}",
        gone.text
    );
}

fn a_damaged_qr_code_gets_a_chinese_answer_and_changes_nothing(app: TestApp) {
    let member = app.create_member(NAME);
    let id = member["id"].as_str().unwrap();
    let account = member["account_id"].as_str().unwrap();
    assert_eq!(
        app.adjust("c1", id, "10", "opening_balance", "r").status,
        201
    );
    let path = printed_check_path(&app, account);
    let base = &path[..path.find('?').unwrap()];
    let before = (heads_count(&app), app.ledger_counts());
    for (query, status, words) in [
        ("seq=0&size=1", 400, "第几笔"),
        ("seq=abc&size=1", 400, "第几笔"),
        ("size=1", 400, "第几笔"),
        ("seq=2&size=1", 400, "签名记录编号"),
        ("seq=1&size=-1", 400, "签名记录编号"),
        ("seq=1&size=99999999999999999999999", 400, "签名记录编号"),
        ("seq=1&size=5", 404, "没有在这个编号签过名"),
    ] {
        let r = app.request("GET", &format!("{base}?{query}"), None, &[], None);
        assert_eq!(r.status, status, "{query}: {}", r.text);
        assert!(r.text.contains(words), "{query}: {}", r.text);
        assert!(r.text.contains("id=\"check-problem\""), "{query}");
        assert!(!r.text.contains("data-verdict"), "{query}");
    }
    let unknown = app.request("GET", "/public/nowhere/check?seq=1&size=1", None, &[], None);
    assert_eq!(unknown.status, 404);
    assert_eq!((heads_count(&app), app.ledger_counts()), before);
}

both_backends!(
    a_printed_line_checks_without_a_login_and_names_no_one,
    a_changed_line_or_a_truncated_ledger_fails_the_check,
    a_damaged_qr_code_gets_a_chinese_answer_and_changes_nothing,
);

/// On a phone: the page's own script recomputes the proofs and agrees with the server, says ✘
/// when a proof hash is changed, and agrees with the Rust verifier on every inclusion and
/// consistency proof of trees up to 33 leaves.
#[test]
fn the_check_page_script_recomputes_the_proofs_on_a_phone() {
    let Some(app) = TestApp::spawn(Backend::Sqlite) else {
        return;
    };
    let member = app.create_member(NAME);
    let id = member["id"].as_str().unwrap();
    let account = member["account_id"].as_str().unwrap();
    for i in 0..6 {
        assert_eq!(
            app.adjust(&format!("c{i}"), id, "3", "correction", "r")
                .status,
            201
        );
    }
    let path = printed_check_path(&app, account);
    for i in 6..11 {
        assert_eq!(
            app.adjust(&format!("c{i}"), id, "1", "correction", "r")
                .status,
            201
        );
    }
    assert_eq!(
        app.post("/api/v1/ledger/heads", &app.admin_token, &json!({}))
            .status,
        201
    );
    let Some(browser) = Browser::start(390, 844) else {
        return;
    };
    browser.goto(&app.url(&path));
    assert_eq!(browser.text("#verdict").chars().next(), Some('✔'));
    let verdict = browser.execute(
        "return document.getElementById('browser-verdict').getAttribute('data-verdict');",
        vec![],
    );
    assert_eq!(verdict, json!("ok"), "{}", browser.text("#browser-verdict"));
    let wide = browser.execute(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        vec![],
    );
    assert!(
        wide.as_i64().unwrap_or(1) <= 0,
        "wider than the phone: {wide}"
    );
    browser.screenshot("check-page-phone");
    browser.execute(
        "document.getElementById('server-steps').scrollIntoView();",
        vec![],
    );
    browser.screenshot("check-page-phone-steps");
    browser.execute("document.querySelector('.key').scrollIntoView();", vec![]);
    browser.screenshot("check-page-phone-below");

    // One hash of the consistency proof changed: the script says no.
    let bad = browser.execute(
        "var p = document.getElementById('proof');\
         var h = p.getAttribute('data-consistency').split(' ');\
         h[0] = (h[0][0] === '0' ? '1' : '0') + h[0].slice(1);\
         p.setAttribute('data-consistency', h.join(' '));\
         return window.moralbankCheck.run();",
        vec![],
    );
    assert_eq!(bad, json!("bad"));
    assert!(browser.text("#browser-verdict").starts_with('✘'));
    browser.execute(
        "document.getElementById('server-steps').scrollIntoView();",
        vec![],
    );
    browser.screenshot("check-page-phone-script-says-no");

    // The script's SHA-256 and proofs against the Rust ones.
    assert_eq!(
        browser.execute("return window.moralbankCheck.sha256Hex('');", vec![]),
        json!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    let long = "61".repeat(200);
    assert_eq!(
        browser.execute(
            "return window.moralbankCheck.sha256Hex(arguments[0]);",
            vec![json!(long)]
        ),
        json!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            vec![b'a'; 200]
        )))
    );
    let leaves: Vec<Hash> = (0u8..33).map(|i| leaf_hash(&[i; 32])).collect();
    let mut cases = Vec::new();
    for size in 1..=33u64 {
        let root = hex::encode(mth(&leaves[..size as usize]));
        for index in [0, size / 2, size - 1] {
            let proof: Vec<String> = inclusion_ranges(index, size)
                .iter()
                .map(|r| hex::encode(mth(&leaves[r.start as usize..r.end as usize])))
                .collect();
            cases.push(json!({"kind": "inclusion", "index": index, "size": size,
                "leaf": hex::encode(leaves[index as usize]), "proof": proof, "root": root}));
        }
        for old in [1, size / 3, size - 1]
            .into_iter()
            .filter(|&o| o >= 1 && o < size)
        {
            let proof: Vec<String> = moralbank::ledger::merkle::consistency_ranges(old, size)
                .iter()
                .map(|r| hex::encode(mth(&leaves[r.start as usize..r.end as usize])))
                .collect();
            cases.push(json!({"kind": "consistency", "old": old, "size": size,
                "old_root": hex::encode(mth(&leaves[..old as usize])), "proof": proof, "root": root}));
        }
    }
    let answers = browser.execute(
        "var c = window.moralbankCheck; return arguments[0].map(function (t) {\
           var flip = function (h) { return (h[0] === '0' ? '1' : '0') + h.slice(1); };\
           if (t.kind === 'inclusion') {\
             var good = c.verifyInclusion(t.index, t.size, t.leaf, t.proof, t.root);\
             var bad = t.proof.length > 0 && c.verifyInclusion(t.index, t.size, t.leaf, [flip(t.proof[0])].concat(t.proof.slice(1)), t.root);\
             var wrongLeaf = c.verifyInclusion(t.index, t.size, flip(t.leaf), t.proof, t.root);\
             return [good, bad, wrongLeaf];\
           }\
           var ok = c.verifyConsistency(t.old, t.size, t.old_root, t.root, t.proof);\
           var broken = c.verifyConsistency(t.old, t.size, t.old_root, t.root, [flip(t.proof[0])].concat(t.proof.slice(1)));\
           var otherRoot = c.verifyConsistency(t.old, t.size, flip(t.old_root), t.root, t.proof);\
           return [ok, broken, otherRoot];\
         });",
        vec![json!(cases)],
    );
    for (case, answer) in cases.iter().zip(answers.as_array().unwrap()) {
        assert_eq!(answer, &json!([true, false, false]), "{case}");
    }
}
