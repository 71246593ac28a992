//! The roster (花名册): members' phone, address, ID-card tail, group, date joined and note; search
//! and namesakes; and roster import (CSV in UTF-8, UTF-8 with BOM or GB18030, and .xlsx) and
//! export, all or nothing, idempotent, and round-tripping into a fresh database.

use std::collections::BTreeMap;
use std::time::Instant;

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::common::{Resp, TestApp};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The standard's own example of an 18-character ID-card number (check character X).
const FULL_ID: &str = "11010519491231002X";

fn send_bytes(
    app: &TestApp,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    app.request_bytes("POST", path, Some(token), headers, Some(body))
}

fn import(app: &TestApp, key: Option<&str>, content_type: &str, body: &[u8]) -> Resp {
    let mut headers = vec![("Content-Type", content_type)];
    if let Some(key) = key {
        headers.push(("Idempotency-Key", key));
    }
    send_bytes(
        app,
        "/api/v1/members/import",
        &app.admin_token,
        &headers,
        body,
    )
}

fn dry_run(app: &TestApp, content_type: &str, body: &[u8]) -> Resp {
    send_bytes(
        app,
        "/api/v1/members/import?dry_run=true",
        &app.admin_token,
        &[("Content-Type", content_type)],
        body,
    )
}

fn download(app: &TestApp, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let response = ureq::get(&app.url(path))
        .set("Authorization", &format!("Bearer {}", app.admin_token))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).expect("body");
    (status, headers, bytes)
}

fn member_count(app: &TestApp) -> i64 {
    use moralbank::db::schema::members;
    let mut conn = app.db.connect();
    members::table.count().get_result(&mut conn).expect("count")
}

fn search(app: &TestApp, token: &str, q: &str) -> Vec<Value> {
    let q: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
    let resp = app.get(&format!("/api/v1/members?q={q}"), token);
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["items"].as_array().expect("items").clone()
}

fn create(app: &TestApp, body: Value) -> Resp {
    app.post("/api/v1/members", &app.admin_token, &body)
}

fn patch(app: &TestApp, id: &str, body: Value) -> Resp {
    app.request(
        "PATCH",
        &format!("/api/v1/members/{id}"),
        Some(&app.admin_token),
        &[],
        Some(&body.to_string()),
    )
}

fn roster_fields_are_checked_and_the_whole_id_number_is_never_stored(app: TestApp) {
    let resp = create(
        &app,
        json!({"name": "王芳", "phone": "+86 138-1234-5678", "id_card": FULL_ID.to_lowercase(),
               "building": "3", "unit": "2", "room": "501", "group": "第一网格",
               "joined_on": "2024/3/1", "note": "低保户"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let m = &resp.body;
    assert_eq!(m["phone"], "13812345678");
    assert_eq!(m["id_last4"], "002X");
    assert_eq!(m["address_line"], "3栋2单元501");
    assert_eq!(m["group"], "第一网格");
    assert_eq!(m["joined_on"], "2024-03-01");
    assert_eq!(m["note"], "低保户");
    assert_eq!(m["namesakes"], 0);

    // Without a date the member joined on the community's local today (+08:00 here).
    let plain = create(
        &app,
        json!({"name": "李四", "address": "李家村二组15号", "phone": "0931 8123456"}),
    );
    assert_eq!(plain.status, 201, "{}", plain.text);
    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(plain.body["joined_on"], today.as_str());
    assert_eq!(plain.body["address_line"], "李家村二组15号");
    assert_eq!(plain.body["phone"], "0931-8123456");

    // Every bad field is a 422 naming the field, never a 500, and nothing is written.
    let before = member_count(&app);
    for (body, field) in [
        (json!({"name": "甲", "phone": "12812345678"}), "phone"),
        (json!({"name": "甲", "phone": "138123"}), "phone"),
        (
            json!({"name": "甲", "id_card": "110105194912310021"}),
            "id_card",
        ),
        (json!({"name": "甲", "id_card": "12345"}), "id_card"),
        (json!({"name": "甲", "group": "组".repeat(33)}), "group"),
        (json!({"name": "甲", "note": "字".repeat(501)}), "note"),
        (json!({"name": "甲", "room": "室".repeat(17)}), "room"),
        (
            json!({"name": "甲", "joined_on": "2099-01-01"}),
            "joined_on",
        ),
        (
            json!({"name": "甲", "joined_on": "2024-02-30"}),
            "joined_on",
        ),
        (json!({"name": "甲", "address": "a\u{0}b"}), "address"),
        (json!({"name": " "}), "name"),
    ] {
        let resp = create(&app, body.clone());
        resp.assert_problem(422, "validation_failed");
        assert_eq!(resp.body["field"], field, "{body}: {}", resp.text);
        assert!(
            !resp.text.contains("1101051949"),
            "an answer never echoes an ID number"
        );
    }
    let wrong_id = create(&app, json!({"name": "甲", "id_card": "110105194912310021"}));
    assert!(!wrong_id.text.contains("110105194912310021"));
    let id = m["id"].as_str().unwrap();
    let resp = patch(&app, id, json!({"id_card": "110105194912310021"}));
    assert_eq!(resp.body["field"], "id_card", "{}", resp.text);
    assert_eq!(member_count(&app), before);

    // PATCH changes some fields, re-composes the address line, and "" clears a field.
    let resp = patch(&app, id, json!({"room": "502", "note": ""}));
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["address_line"], "3栋2单元502");
    assert_eq!(resp.body["note"], Value::Null);
    assert_eq!(resp.body["phone"], "13812345678", "untouched fields stay");

    // The database holds only the last four characters, in every column of every member.
    use moralbank::db::schema::members;
    let mut conn = app.db.connect();
    type Texts = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
    );
    let rows: Vec<Texts> = members::table
        .select((
            members::member_no,
            members::name,
            members::phone,
            members::building,
            members::unit,
            members::room,
            members::address,
            members::address_line,
            members::id_last4,
            members::member_group,
            members::joined_on,
            members::note,
        ))
        .load(&mut conn)
        .expect("members");
    let dump = format!("{rows:?}");
    assert!(dump.contains("002X"), "{dump}");
    for fragment in ["1101051949", "19491231", FULL_ID, &FULL_ID.to_lowercase()] {
        assert!(
            !dump.contains(fragment),
            "the whole ID number reached the database: {dump}"
        );
    }
}

fn a_phone_belongs_to_one_member_of_the_community(app: TestApp) {
    let first = create(&app, json!({"name": "张一", "phone": "13900001111"}));
    assert_eq!(first.status, 201, "{}", first.text);
    let second = create(&app, json!({"name": "张二", "phone": "139 0000 1111"}));
    second.assert_problem(409, "phone_taken");
    assert_eq!(second.body["field"], "phone");
    let other = create(&app, json!({"name": "张二", "phone": "13900002222"}));
    assert_eq!(other.status, 201, "{}", other.text);
    let other_id = other.body["id"].as_str().unwrap();
    patch(&app, other_id, json!({"phone": "+8613900001111"})).assert_problem(409, "phone_taken");
    // Many members may have no phone; a cleared phone is free again.
    for i in 0..3 {
        assert_eq!(
            create(&app, json!({"name": format!("无电话{i}")})).status,
            201
        );
    }
    let first_id = first.body["id"].as_str().unwrap();
    assert_eq!(patch(&app, first_id, json!({"phone": ""})).status, 200);
    let resp = patch(&app, other_id, json!({"phone": "13900001111"}));
    assert_eq!(resp.status, 200, "{}", resp.text);
}

fn phones_are_whole_for_editors_and_the_resident_and_masked_for_others(app: TestApp) {
    let (member, resident) = app.resident("赵六", "zhaoliu");
    let id = member["id"].as_str().unwrap();
    assert_eq!(patch(&app, id, json!({"phone": "13712345678"})).status, 200);
    let clerk = app.user_with_roles("clerk1", &["clerk"], None);
    let path = format!("/api/v1/members/{id}");
    assert_eq!(app.get(&path, &clerk).body["phone"], "137****5678");
    assert_eq!(
        app.get(&path, &app.admin_token).body["phone"],
        "13712345678"
    );
    assert_eq!(app.get(&path, &resident).body["phone"], "13712345678");
    assert_eq!(search(&app, &clerk, "赵六")[0]["phone"], "137****5678");
}

fn search_finds_members_by_each_key_and_tells_namesakes_apart(app: TestApp) {
    let a = create(
        &app,
        json!({"name": "王芳", "member_no": "A-7", "phone": "13511112222",
                                "building": "3", "unit": "2", "room": "501", "id_card": "1234",
                                "group": "一组"}),
    );
    let b = create(
        &app,
        json!({"name": "王芳", "phone": "0571-88886666",
                                "address": "李家村二组15号", "id_card": "567X", "group": "二组"}),
    );
    let c = create(&app, json!({"name": "王芳芳"}));
    let d = create(&app, json!({"name": "Li Lei"}));
    for r in [&a, &b, &c, &d] {
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let names = |items: &[Value]| -> Vec<String> {
        let mut v: Vec<String> = items
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    // Name substring.
    let found = search(&app, &app.admin_token, "王芳");
    assert_eq!(names(&found), ["王芳", "王芳", "王芳芳"]);
    let twins: Vec<&Value> = found.iter().filter(|i| i["name"] == "王芳").collect();
    for twin in &twins {
        assert_eq!(twin["namesakes"], 1, "{twin}");
    }
    let tell_apart: std::collections::BTreeSet<String> = twins
        .iter()
        .map(|t| {
            format!(
                "{}|{}|{}|{}",
                t["address_line"], t["group"], t["phone"], t["id_last4"]
            )
        })
        .collect();
    assert_eq!(
        tell_apart.len(),
        2,
        "namesakes differ in what is shown: {tell_apart:?}"
    );
    let single = found.iter().find(|i| i["name"] == "王芳芳").unwrap();
    assert_eq!(single["namesakes"], 0);
    // Passbook number (any case), phone in any spelling or part, address line.
    assert_eq!(search(&app, &app.admin_token, "a-7")[0]["id"], a.body["id"]);
    assert_eq!(
        search(&app, &app.admin_token, "135 1111 2222")[0]["id"],
        a.body["id"]
    );
    assert_eq!(
        search(&app, &app.admin_token, "88886666")[0]["id"],
        b.body["id"]
    );
    assert_eq!(
        search(&app, &app.admin_token, "0571 88886666")[0]["id"],
        b.body["id"]
    );
    assert_eq!(
        search(&app, &app.admin_token, "3栋2单元")[0]["id"],
        a.body["id"]
    );
    assert_eq!(
        search(&app, &app.admin_token, "李家村")[0]["id"],
        b.body["id"]
    );
    // Latin letters fold A–Z, as before; wildcards are literal.
    assert_eq!(
        search(&app, &app.admin_token, "li lei")[0]["id"],
        d.body["id"]
    );
    assert!(search(&app, &app.admin_token, "%").is_empty());
    assert!(search(&app, &app.admin_token, "_").is_empty());
}

fn deactivating_a_member_keeps_the_balance_visible_and_says_so(app: TestApp) {
    let member = app.create_member("搬走的人");
    let id = member["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("k1", id, "12.50", "opening_balance", "结转")
            .status,
        201
    );
    let resp = patch(&app, id, json!({"status": "inactive"}));
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["status"], "inactive");
    assert_eq!(resp.body["balance"], "12.50");
    let note = resp.body["balance_note"].as_str().expect("balance_note");
    assert!(note.contains("12.50") && note.contains("stays"), "{note}");
    let again = app.get(&format!("/api/v1/members/{id}"), &app.admin_token);
    assert_eq!(again.body["balance"], "12.50");
    assert!(again.body["balance_note"].is_string());
    let active = patch(&app, id, json!({"status": "active"}));
    assert_eq!(active.body["balance_note"], Value::Null);
}

const HEADER: &str = "存折号,姓名,手机,楼栋,单元,门牌,身份证,小组,入册日期,备注,期初积分\n";

/// One good roster line; row numbers are the spreadsheet's (the header is row 1).
fn good_line(i: usize) -> String {
    format!(
        "R{i:05},居民{i},{phone},{b},{u},{r},{id:04},第{g}网格,2025-0{m}-1{d},,{whole}.{cents:02}\n",
        phone = 13_000_000_000_u64 + i as u64,
        b = i % 20 + 1,
        u = i % 4 + 1,
        r = 100 + i % 50,
        id = i % 10_000,
        g = i % 9 + 1,
        m = i % 9 + 1,
        d = i % 9,
        whole = i % 100,
        cents = i % 7,
    )
}

fn expected_total_hundredths(n: usize) -> i64 {
    (0..n)
        .map(|i| (i % 100) as i64 * 100 + (i % 7) as i64)
        .sum()
}

/// 5,000 rows, ten of them broken (each in one named column), or all fixed.
fn big_roster(broken: bool) -> (String, Vec<(u32, &'static str)>) {
    let mut text = HEADER.to_string();
    let mut bad = Vec::new();
    for i in 0..5000 {
        let row = i as u32 + 2;
        let line = good_line(i);
        let mut cells: Vec<String> = line.trim_end().split(',').map(str::to_string).collect();
        if broken {
            let (col, value): (usize, String) = match i {
                100 => (2, "12345".into()),
                600 => (6, "110105194912310021".into()),
                1200 => (2, "13000000003".into()),
                1700 => (0, "R00004".into()),
                2300 => (10, "-5".into()),
                2800 => (8, "2025-13-40".into()),
                3300 => (1, "".into()),
                3900 => (10, "1.234".into()),
                4400 => (0, "EXISTING-1".into()),
                4999 => (2, "13999999999".into()),
                _ => (usize::MAX, String::new()),
            };
            if col != usize::MAX {
                cells[col] = value;
                let column = [
                    "member_no",
                    "name",
                    "phone",
                    "building",
                    "unit",
                    "room",
                    "id_card",
                    "group",
                    "joined_on",
                    "note",
                    "opening_balance",
                ][col];
                bad.push((row, column));
            }
        }
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    (text, bad)
}

fn a_5000_row_roster_with_ten_bad_rows_is_refused_whole_then_imported_once_fixed(app: TestApp) {
    // Two members already in the database: a taken passbook number and a taken phone.
    assert_eq!(
        create(&app, json!({"name": "老住户", "member_no": "EXISTING-1"})).status,
        201
    );
    assert_eq!(
        create(&app, json!({"name": "老住户二", "phone": "13999999999"})).status,
        201
    );
    let members_before = member_count(&app);
    let ledger_before = app.ledger_counts();

    let (broken, bad) = big_roster(true);
    assert_eq!(bad.len(), 10);
    let started = Instant::now();
    let resp = import(&app, Some("big-1"), "text/csv", broken.as_bytes());
    let refused_in = started.elapsed();
    resp.assert_problem(422, "validation_failed");
    let problems = resp.body["problems"].as_array().expect("problems");
    let named: Vec<(u32, String)> = problems
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap() as u32,
                p["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(u32, String)> = bad.iter().map(|(r, c)| (*r, c.to_string())).collect();
    assert_eq!(named, expected, "{}", resp.text);
    for p in problems {
        assert!(p["code"].is_string() && p["message"].is_string(), "{p}");
    }
    assert_eq!(member_count(&app), members_before, "nothing was written");
    assert_eq!(app.ledger_counts(), ledger_before, "nothing was posted");

    // The same problems from a dry run, which writes nothing either.
    let preview = dry_run(&app, "text/csv", broken.as_bytes());
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["problems"], resp.body["problems"]);
    assert_eq!(preview.body["would_create"], 4990);
    assert_eq!(member_count(&app), members_before);

    let (fixed, _) = big_roster(false);
    let started = Instant::now();
    let resp = import(&app, Some("big-2"), "text/csv", fixed.as_bytes());
    let imported_in = started.elapsed();
    assert_eq!(
        resp.status,
        201,
        "{}",
        &resp.text[..resp.text.len().min(2000)]
    );
    eprintln!(
        "MEASURED roster import on {:?}: 5,000 rows refused in {refused_in:?}, imported (members, accounts and opening balances) in {imported_in:?}",
        app.backend
    );
    assert_eq!(resp.body["created"], 5000);
    let total = expected_total_hundredths(5000);
    assert_eq!(
        resp.body["opening_total"],
        format!("{}.{:02}", total / 100, total % 100)
    );
    assert_eq!(member_count(&app), members_before + 5000);
    let posted = resp.body["opening_balances"].as_u64().unwrap() as i64;
    assert_eq!(
        posted,
        (0..5000).filter(|i| i % 100 != 0 || i % 7 != 0).count() as i64
    );
    let (journal, postings, keys) = app.ledger_counts();
    assert_eq!(journal, ledger_before.0 + posted);
    assert_eq!(postings, ledger_before.1 + 2 * posted);
    assert_eq!(keys, ledger_before.2 + posted);
    // Spot checks: a row's member carries its balance and fields.
    let row_1235 = search(&app, &app.admin_token, "R01233");
    assert_eq!(row_1235.len(), 1);
    assert_eq!(row_1235[0]["balance"], "33.01");
    assert_eq!(row_1235[0]["phone"], "13000001233");
    assert_eq!(row_1235[0]["address_line"], "14栋2单元133");
    let verify = app.verify();
    assert_eq!(verify["ok"], true, "{verify}");
}

fn a_dry_run_answers_every_row_and_writes_nothing(app: TestApp) {
    let csv = "姓名,Phone,地址,期初积分,年龄\n张三,13812345678,李家村,5,30\n";
    let resp = dry_run(&app, "text/csv", csv.as_bytes());
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["problems"][0]["code"], "unknown_column");
    assert_eq!(resp.body["problems"][0]["header"], "年龄");
    let csv = "name,phone,address,opening_balance\n张三,13812345678,李家村,5\n李四,bad,,\n";
    let resp = dry_run(&app, "text/csv", csv.as_bytes());
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["rows"], 2);
    assert_eq!(resp.body["would_create"], 1);
    assert_eq!(resp.body["items"][0]["name"], "张三");
    assert_eq!(resp.body["items"][0]["opening_balance"], "5.00");
    assert_eq!(resp.body["problems"][0]["row"], 3);
    assert_eq!(resp.body["problems"][0]["column"], "phone");
    assert_eq!(resp.body["problems"][0]["code"], "invalid_phone");
    assert_eq!(member_count(&app), 0);
    assert_eq!(app.ledger_counts(), (0, 0, 0));
    // A real run needs a key; a body past the limit is 413.
    import(&app, None, "text/csv", csv.as_bytes()).assert_problem(400, "idempotency_key_missing");
    let huge = vec![b'a'; 8 * 1024 * 1024 + 1];
    import(&app, Some("huge"), "text/csv", &huge).assert_problem(413, "payload_too_large");
    // Garbage is a 422, never a 500.
    let resp = import(&app, Some("junk"), XLSX, b"PK\x03\x04 not really a zip");
    resp.assert_problem(422, "validation_failed");
    assert_eq!(resp.body["problems"][0]["code"], "roster_unreadable");
    let resp = import(
        &app,
        Some("junk2"),
        "text/csv",
        &[0xff, 0xfe, 0x00, 0x81, 0x30],
    );
    assert_eq!(resp.status, 422, "{}", resp.text);
}

fn small_roster() -> String {
    "存折号,姓名,电话,地址,身份证,期初积分\nG-1,王芳,13811112222,李家村一组3号,11010519491231002X,10.50\nG-2,王芳,13833334444,李家村二组8号,,0\n".into()
}

fn check_small_import(app: &TestApp, resp: &Resp) {
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["created"], 2);
    assert_eq!(resp.body["opening_balances"], 1);
    let found = search(app, &app.admin_token, "王芳");
    assert_eq!(found.len(), 2);
    let g1 = found.iter().find(|m| m["member_no"] == "G-1").expect("G-1");
    assert_eq!(g1["balance"], "10.50");
    assert_eq!(g1["id_last4"], "002X");
    assert_eq!(g1["address_line"], "李家村一组3号");
    assert_eq!(g1["namesakes"], 1);
    assert_eq!(app.verify()["ok"], true);
}

fn gb18030_and_bom_csv_files_import(app: TestApp) {
    let text = small_roster();
    let (gbk, _, lossy) = encoding_rs::GB18030.encode(&text);
    assert!(!lossy);
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the fixture is really not UTF-8"
    );
    let resp = import(&app, Some("gbk"), "text/csv", &gbk);
    check_small_import(&app, &resp);

    let other = TestApp::spawn(app.backend).expect("second app");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(small_roster().as_bytes());
    let resp = import(&other, Some("bom"), "text/csv", &bom);
    check_small_import(&other, &resp);
}

fn xlsx_bytes(rows: &[Vec<&str>], numbers_in: &[usize]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if r > 0 && numbers_in.contains(&c) && !cell.is_empty() {
                sheet
                    .write_number(r as u32, c as u16, cell.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn an_xlsx_sheet_imports_with_numbers_as_typed(app: TestApp) {
    // Excel keeps a phone typed without a leading 0 and a balance as numbers.
    let bytes = xlsx_bytes(
        &[
            vec!["存折号", "姓名", "电话", "地址", "身份证", "期初积分"],
            vec![
                "G-1",
                "王芳",
                "13811112222",
                "李家村一组3号",
                FULL_ID,
                "10.5",
            ],
            vec!["G-2", "王芳", "13833334444", "李家村二组8号", "", "0"],
        ],
        &[2, 5],
    );
    // Detected by the zip magic even when sent as octet-stream.
    let resp = import(&app, Some("xlsx"), "application/octet-stream", &bytes);
    check_small_import(&app, &resp);
}

fn a_retried_import_returns_the_first_summary_and_posts_nothing_twice(app: TestApp) {
    let csv = small_roster();
    let first = import(&app, Some("once"), "text/csv", csv.as_bytes());
    assert_eq!(first.status, 201, "{}", first.text);
    let counts = app.ledger_counts();
    let members = member_count(&app);
    let again = import(&app, Some("once"), "text/csv", csv.as_bytes());
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body, first.body, "the first summary, byte for byte");
    assert_eq!(app.ledger_counts(), counts);
    assert_eq!(member_count(&app), members);
    // The same key with another file is refused; a new key with the same file is a new import,
    // which the roster refuses: its numbers and phones are taken now.
    let other = csv.replace("10.50", "11.50");
    import(&app, Some("once"), "text/csv", other.as_bytes())
        .assert_problem(422, "idempotency_key_reused");
    let dup = import(&app, Some("twice"), "text/csv", csv.as_bytes());
    dup.assert_problem(422, "validation_failed");
    let codes: Vec<&str> = dup.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "member_no_taken",
            "phone_taken",
            "member_no_taken",
            "phone_taken"
        ]
    );
    assert_eq!(app.ledger_counts(), counts);
}

fn a_retry_posts_the_opening_balances_a_crash_left_unposted(app: TestApp) {
    let csv = small_roster();
    let first = import(&app, Some("crash"), "text/csv", csv.as_bytes());
    assert_eq!(first.status, 201, "{}", first.text);
    // Stand in for a crash between the member transaction and the ledger job: a second import
    // record whose members exist but whose opening balance was never posted. The summary names
    // the member of the first import (so no member is created twice) under a new import id.
    use moralbank::db::schema::roster_imports;
    let mut conn = app.db.connect();
    let (community, user, hash): (moralbank::db::DbUuid, moralbank::db::DbUuid, String) =
        roster_imports::table
            .select((
                roster_imports::community_id,
                roster_imports::user_id,
                roster_imports::request_hash,
            ))
            .first(&mut conn)
            .expect("record");
    let member = app.create_member("崩溃后补记");
    let import_id = uuid::Uuid::now_v7();
    let summary = json!({
        "import_id": import_id, "created": 1, "opening_balances": 1, "opening_total": "7.25",
        "members": [{"row": 2, "member_id": member["id"], "member_no": member["member_no"],
                     "name": "崩溃后补记", "account_id": member["account_id"],
                     "opening_balance": "7.25"}]});
    let other_csv = format!("{csv}\n");
    let other_hash = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"POST /api/v1/members/import\n");
        h.update(other_csv.as_bytes());
        hex::encode(h.finalize())
    };
    assert_ne!(hash, other_hash);
    diesel::insert_into(roster_imports::table)
        .values((
            roster_imports::id.eq(moralbank::db::DbUuid(import_id)),
            roster_imports::community_id.eq(community),
            roster_imports::user_id.eq(user),
            roster_imports::idem_key.eq("crashed"),
            roster_imports::request_hash.eq(&other_hash),
            roster_imports::rows_created.eq(1),
            roster_imports::summary.eq(summary.to_string()),
            roster_imports::created_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(&mut conn)
        .expect("insert crashed import");
    let counts = app.ledger_counts();
    let resp = import(&app, Some("crashed"), "text/csv", other_csv.as_bytes());
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body, summary);
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "7.25"
    );
    assert_eq!(app.ledger_counts().0, counts.0 + 1);
    // Once posted, a further retry posts nothing.
    let resp = import(&app, Some("crashed"), "text/csv", other_csv.as_bytes());
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(app.ledger_counts().0, counts.0 + 1);
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "7.25"
    );
    assert_eq!(app.verify()["ok"], true);
}

/// What identifies the roster, member by member, balances included.
fn roster_of(app: &TestApp) -> BTreeMap<String, Vec<Value>> {
    let resp = app.get("/api/v1/members?limit=200", &app.admin_token);
    assert_eq!(resp.status, 200, "{}", resp.text);
    let mut out = BTreeMap::new();
    for m in resp.body["items"].as_array().unwrap() {
        out.insert(
            m["member_no"].as_str().unwrap().to_string(),
            [
                "name",
                "phone",
                "building",
                "unit",
                "room",
                "address",
                "address_line",
                "id_last4",
                "group",
                "joined_on",
                "note",
                "balance",
            ]
            .iter()
            .map(|f| m[*f].clone())
            .collect(),
        );
    }
    out
}

fn an_export_imports_back_into_a_fresh_database(app: TestApp) {
    let a = create(
        &app,
        json!({"name": "王芳", "member_no": "A-1", "phone": "0571-88886666",
        "building": "3", "unit": "2", "room": "501", "id_card": FULL_ID, "group": "一组",
        "joined_on": "2023-05-06", "note": "有\"引号\"，也有逗号"}),
    );
    let b = create(
        &app,
        json!({"name": "王芳", "address": "李家村二组15号", "phone": "13511112222"}),
    );
    let c = create(&app, json!({"name": "零余额"}));
    for r in [&a, &b, &c] {
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let a_id = a.body["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("e1", a_id, "35.50", "opening_balance", "结转")
            .status,
        201
    );
    assert_eq!(
        app.adjust(
            "e2",
            b.body["id"].as_str().unwrap(),
            "0.01",
            "opening_balance",
            "结转"
        )
        .status,
        201
    );
    let original = roster_of(&app);
    assert_eq!(original.len(), 3);

    let (status, headers, csv) = download(&app, "/api/v1/members/export?format=csv");
    assert_eq!(status, 200);
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "CSV starts with a BOM");
    let disposition = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-disposition"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(
        disposition.contains("attachment; filename=\"roster-") && disposition.contains(".csv"),
        "{disposition}"
    );
    let (status, headers, xlsx) = download(&app, "/api/v1/members/export?format=xlsx");
    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == XLSX));
    // The balance is a number in the sheet, the phone text (its leading 0 kept).
    {
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.clone())).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        let header: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let balance_col = header.iter().position(|h| h == "期初积分").unwrap();
        let phone_col = header.iter().position(|h| h == "电话").unwrap();
        let first = range.rows().nth(1).unwrap();
        assert!(
            matches!(first[balance_col], calamine::Data::Float(f) if (f - 35.5).abs() < 1e-9),
            "{:?}",
            first[balance_col]
        );
        assert_eq!(
            first[phone_col],
            calamine::Data::String("0571-88886666".into())
        );
    }
    let bad = app.get("/api/v1/members/export?format=pdf", &app.admin_token);
    bad.assert_problem(400, "invalid_query");

    for (name, bytes, content_type) in [("csv", csv, "text/csv"), ("xlsx", xlsx, XLSX)] {
        let fresh = TestApp::spawn(app.backend).expect("fresh app");
        let resp = import(&fresh, Some("round-trip"), content_type, &bytes);
        assert_eq!(resp.status, 201, "{name}: {}", resp.text);
        assert_eq!(
            roster_of(&fresh),
            original,
            "{name}: the same roster, balances carried over"
        );
        assert_eq!(fresh.verify()["ok"], true);
    }
}

both_backends!(
    roster_fields_are_checked_and_the_whole_id_number_is_never_stored,
    a_phone_belongs_to_one_member_of_the_community,
    phones_are_whole_for_editors_and_the_resident_and_masked_for_others,
    search_finds_members_by_each_key_and_tells_namesakes_apart,
    deactivating_a_member_keeps_the_balance_visible_and_says_so,
    a_5000_row_roster_with_ten_bad_rows_is_refused_whole_then_imported_once_fixed,
    a_dry_run_answers_every_row_and_writes_nothing,
    gb18030_and_bom_csv_files_import,
    an_xlsx_sheet_imports_with_numbers_as_typed,
    a_retried_import_returns_the_first_summary_and_posts_nothing_twice,
    a_retry_posts_the_opening_balances_a_crash_left_unposted,
    an_export_imports_back_into_a_fresh_database,
);
