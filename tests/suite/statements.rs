//! The passbook: statements, exports, balance as of a time, reports, the change feed, the demo.

use std::process::Command;

use crate::common::{Backend, TestApp, ADMIN_PASSWORD};
use chrono::{Duration, NaiveDate, Timelike};
use serde_json::{json, Value};

fn credit(app: &TestApp, key: &str, member: &Value, amount: &str) {
    let resp = app.adjust(
        key,
        member["id"].as_str().unwrap(),
        amount,
        "correction",
        "测试入账",
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
}

fn statement(app: &TestApp, token: &str, account: &str, query: &str) -> Value {
    let resp = app.get(
        &format!("/api/v1/accounts/{account}/statement?{query}"),
        token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body
}

fn money(v: &Value) -> i64 {
    let text = v.as_str().unwrap();
    let (whole, frac) = text.split_once('.').unwrap();
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    sign * (whole.trim_start_matches('-').parse::<i64>().unwrap() * 100
        + frac.parse::<i64>().unwrap())
}

/// Moves the server's clock so that "now" is `hour:minute` local (+08:00) on a day after today.
fn set_local_time(app: &TestApp, days_ahead: i64, hour: u32, minute: u32) -> NaiveDate {
    let now_local = chrono::Utc::now().naive_utc() + Duration::hours(8) + current_offset(app);
    let day = now_local.date() + Duration::days(days_ahead);
    let target = day.and_hms_opt(hour, minute, 0).unwrap();
    app.clock.advance(target - now_local);
    day
}

fn current_offset(app: &TestApp) -> Duration {
    app.clock.now() - chrono::Utc::now().naive_utc()
}

fn opening_and_closing_follow_local_days(app: TestApp) {
    let member = app.create_member("跨日测试");
    let account = member["account_id"].as_str().unwrap();
    credit(&app, "a", &member, "100");
    let day1 = set_local_time(&app, 2, 23, 59);
    credit(&app, "b", &member, "10");
    set_local_time(&app, 0, 23, 59);
    app.clock.advance(Duration::minutes(2)); // 00:01 the next local day
    let now = app.clock.now() + Duration::hours(8);
    assert_eq!((now.hour(), now.minute()), (0, 1));
    credit(&app, "c", &member, "1");
    let day2 = day1 + Duration::days(1);

    let d1 = statement(
        &app,
        &app.admin_token,
        account,
        &format!("from={day1}&to={day1}"),
    );
    assert_eq!(d1["opening_balance"], "100.00");
    assert_eq!(d1["closing_balance"], "110.00");
    assert_eq!(
        (d1["total_in"].as_str(), d1["total_out"].as_str()),
        (Some("10.00"), Some("0.00"))
    );
    assert_eq!(d1["lines"].as_array().unwrap().len(), 1);
    let d2 = statement(
        &app,
        &app.admin_token,
        account,
        &format!("from={day2}&to={day2}"),
    );
    assert_eq!(d2["opening_balance"], "110.00");
    assert_eq!(d2["closing_balance"], "111.00");
    assert_eq!(d2["lines"][0]["amount_in"], "1.00");
    let both = statement(
        &app,
        &app.admin_token,
        account,
        &format!("from={day1}&to={day2}"),
    );
    assert_eq!(both["lines"].as_array().unwrap().len(), 2);
    let before = statement(
        &app,
        &app.admin_token,
        account,
        &format!("to={}", day1 - Duration::days(1)),
    );
    assert_eq!(before["closing_balance"], "100.00");
    // The balance at a moment between the two lines.
    let between = (app.clock.now() - Duration::minutes(1))
        .and_utc()
        .to_rfc3339();
    let resp = app.get(
        &format!(
            "/api/v1/accounts/{account}/balance?at={}",
            between.replace('+', "%2B")
        ),
        &app.admin_token,
    );
    assert_eq!(resp.body["balance"], "110.00", "{}", resp.text);
    assert_eq!(resp.body["seq"], 2);
    app.get(
        &format!("/api/v1/accounts/{account}/statement?from={day2}&to={day1}"),
        &app.admin_token,
    )
    .assert_problem(400, "invalid_query");
}

fn paging_yields_every_line_once_in_order(app: TestApp) {
    let member = app.create_member("长存折");
    let account = member["account_id"].as_str().unwrap();
    for i in 0..120 {
        credit(
            &app,
            &format!("k{i}"),
            &member,
            &format!("{}.{:02}", 1 + i % 7, i % 100),
        );
        if i % 10 == 9 {
            app.adjust(
                &format!("d{i}"),
                member["id"].as_str().unwrap(),
                "-3.00",
                "correction",
                "扣回",
            );
        }
    }
    let mut seqs = Vec::new();
    let mut balance = 0;
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=37&cursor={c}"),
            None => "limit=37".into(),
        };
        let page = statement(&app, &app.admin_token, account, &query);
        pages += 1;
        for line in page["lines"].as_array().unwrap() {
            seqs.push(line["seq"].as_i64().unwrap());
            balance += money(&line["amount_in"]) - money(&line["amount_out"]);
            assert_eq!(
                money(&line["balance_after"]),
                balance,
                "running balance at line {}",
                line["seq"]
            );
            assert_eq!(line["hash"].as_str().unwrap().len(), 12);
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seqs, (1..=132).collect::<Vec<i64>>());
    assert_eq!(pages, 4);
    assert_eq!(
        app.balance_of(account),
        format!("{}.{:02}", balance / 100, balance % 100)
    );
    let all = statement(&app, &app.admin_token, account, "limit=500");
    assert_eq!(money(&all["total_in"]) - money(&all["total_out"]), balance);
    assert_eq!(all["total_out"], "36.00");
    app.get(
        &format!("/api/v1/accounts/{account}/statement?limit=501"),
        &app.admin_token,
    )
    .assert_problem(400, "invalid_limit");
    app.get(
        &format!("/api/v1/accounts/{account}/statement?cursor=x"),
        &app.admin_token,
    )
    .assert_problem(400, "invalid_cursor");
}

/// A small CSV reader for quoted fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        rows.push(fields);
    }
    rows
}

fn csv_has_a_bom_and_the_same_numbers(app: TestApp) {
    let member = app.create_member("导出, \"引号\"");
    let account = member["account_id"].as_str().unwrap();
    credit(&app, "a", &member, "12.34");
    app.adjust(
        "b",
        member["id"].as_str().unwrap(),
        "-2.30",
        "correction",
        "=SUM(A1), 逗号",
    );
    let resp = app.request(
        "GET",
        &format!("/api/v1/accounts/{account}/statement?format=csv"),
        Some(&app.admin_token),
        &[],
        None,
    );
    assert_eq!(resp.status, 200);
    assert!(resp.header("content-type").unwrap().starts_with("text/csv"));
    let bytes = resp.text.as_bytes();
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF], "UTF-8 BOM first");
    let rows = parse_csv(resp.text.trim_start_matches('\u{feff}'));
    assert_eq!(rows[1], ["户名", "导出, \"引号\""], "quotes survive");
    // Nine header rows, the column header, then the lines (the blank row is skipped here).
    assert_eq!(rows[9][0], "日期");
    assert_eq!(rows.len(), 12);
    let json = statement(&app, &app.admin_token, account, "");
    let blank_zero = |amount: &str| {
        if amount == "0.00" {
            String::new()
        } else {
            amount.to_string()
        }
    };
    for (row, line) in rows[10..].iter().zip(json["lines"].as_array().unwrap()) {
        assert_eq!(row[3], blank_zero(line["amount_in"].as_str().unwrap()));
        assert_eq!(row[4], blank_zero(line["amount_out"].as_str().unwrap()));
        assert_eq!(row[5], line["balance_after"].as_str().unwrap());
        assert_eq!(row[6], line["seq"].to_string());
    }
    assert_eq!(
        rows[11][2], "'=SUM(A1), 逗号",
        "a formula is defused, commas survive"
    );
    let by_accept = app.request(
        "GET",
        &format!("/api/v1/accounts/{account}/statement"),
        Some(&app.admin_token),
        &[("Accept", "text/csv")],
        None,
    );
    // The same file, but for the minute it was made.
    let mut again = parse_csv(by_accept.text.trim_start_matches('\u{feff}'));
    let mut first = rows.clone();
    assert_eq!(again.remove(8)[0], "导出时间");
    first.remove(8);
    assert_eq!(again, first);
}

fn the_printed_passbook_escapes_what_users_typed(app: TestApp) {
    let member = app.create_member("<script>alert(1)</script>");
    let account = member["account_id"].as_str().unwrap();
    app.adjust(
        "x",
        member["id"].as_str().unwrap(),
        "5",
        "opening_balance",
        "<img src=x onerror=alert(2)>",
    );
    let resp = app.request(
        "GET",
        &format!("/api/v1/accounts/{account}/passbook"),
        Some(&app.admin_token),
        &[],
        None,
    );
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    // The template engine writes < and > as numeric references.
    assert!(resp
        .text
        .contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(resp.text.contains("&#60;img src=x onerror=alert(2)&#62;"));
    assert!(!resp.text.contains("<script>alert"));
    assert!(!resp.text.contains("<img"));
    assert!(resp.text.contains("<html lang=\"zh-CN\">"));
    // The print's style is the console's stylesheet (with its @page rules), not inline.
    assert!(resp
        .text
        .contains("<link rel=\"stylesheet\" href=\"/assets/console.css\">"));
    assert!(!resp.text.contains("<style"));
    assert!(resp.text.contains("期初结转"));
}

fn residents_read_only_their_own_passbook(app: TestApp) {
    let (mine, token) = app.resident("甲", "jia");
    let (theirs, _) = app.resident("乙", "yi");
    let reviewer = app.user_with_roles("reviewer", &["reviewer"], None);
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    let own = mine["account_id"].as_str().unwrap();
    let other = theirs["account_id"].as_str().unwrap();
    for path in ["statement", "passbook", "balance"] {
        assert_eq!(
            app.get(&format!("/api/v1/accounts/{own}/{path}"), &token)
                .status,
            200,
            "{path}"
        );
        app.get(&format!("/api/v1/accounts/{other}/{path}"), &token)
            .assert_problem(404, "not_found");
        app.get(&format!("/api/v1/accounts/{other}/{path}"), &reviewer)
            .assert_problem(403, "forbidden");
        assert_eq!(
            app.get(&format!("/api/v1/accounts/{other}/{path}"), &clerk)
                .status,
            200,
            "{path}"
        );
    }
}

fn honor_roll_ranks_by_earnings_with_ties(app: TestApp) {
    let rule = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": "HELP", "name": "助人", "category": "好人好事", "points": "10", "unit": "event", "direction": "earn"}),
    );
    let month = (chrono::Utc::now() + Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    let today = (chrono::Utc::now() + Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let approver = app.user_with_roles("approver", &["admin"], None);
    let mut members = Vec::new();
    for (name, deeds) in [("甲", 2), ("乙", 2), ("丙", 1), ("丁", 3)] {
        let m = app.create_member(name);
        for _ in 0..deeds {
            let d = app.post("/api/v1/deeds", &app.admin_token, &json!({"member_id": m["id"], "rule_id": rule.body["id"], "quantity": 1, "occurred_on": today, "description": "d"}));
            let id = d.body["id"].as_str().unwrap();
            let r = app.request(
                "POST",
                &format!("/api/v1/deeds/{id}/approve"),
                Some(&approver),
                &[],
                None,
            );
            assert_eq!(r.status, 200, "{}", r.text);
        }
        members.push(m);
    }
    // 丁 spends coins: the roll is by earnings, not balance. A big opening balance does not count.
    app.adjust(
        "rich",
        members[2]["id"].as_str().unwrap(),
        "1000",
        "opening_balance",
        "r",
    );
    let roll = app.get(
        &format!("/api/v1/reports/honor-roll?month={month}&limit=2"),
        &app.admin_token,
    );
    assert_eq!(roll.status, 200, "{}", roll.text);
    let items: Vec<(i64, String, String)> = roll.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["rank"].as_i64().unwrap(),
                i["member_name"].as_str().unwrap().to_string(),
                i["earned"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        items,
        vec![
            (1, "丁".into(), "30.00".into()),
            (2, "甲".into(), "20.00".into()),
            (2, "乙".into(), "20.00".into()),
        ],
        "ties at the cut are all shown"
    );
    let other_month = app.get("/api/v1/reports/honor-roll?month=2000-01", &app.admin_token);
    assert!(other_month.body["items"].as_array().unwrap().is_empty());
    app.get("/api/v1/reports/honor-roll?month=2026-13", &app.admin_token)
        .assert_problem(400, "invalid_query");
    // Staff who read the roster see whose passbook each place is.
    assert_eq!(
        roll.body["items"][0]["member_no"], members[3]["member_no"],
        "{}",
        roll.text
    );
    assert_eq!(roll.body["items"][0]["member_id"], members[3]["id"]);
    // Residents read the roll too (it goes on the notice wall), ranked and named as for the admin,
    // but without anyone's passbook number or id.
    let (_, resident) = app.resident("戊", "wu");
    let for_resident = app.get(
        &format!("/api/v1/reports/honor-roll?month={month}&limit=2"),
        &resident,
    );
    assert_eq!(for_resident.status, 200, "{}", for_resident.text);
    let mut wall = roll.body.clone();
    for item in wall["items"].as_array_mut().unwrap() {
        item["member_no"] = Value::Null;
        item["member_id"] = Value::Null;
    }
    assert_eq!(for_resident.body, wall);
}

fn the_summary_adds_up(app: TestApp) {
    let a = app.create_member("汇总甲");
    let b = app.create_member("汇总乙");
    credit(&app, "a1", &a, "50");
    credit(&app, "b1", &b, "30");
    app.adjust("a2", a["id"].as_str().unwrap(), "-5", "correction", "r");
    let goods = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "SOAP", "name": "肥皂", "price": "2.50", "stock": 10}),
    );
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    let redeem = |key: &str, m: &Value, q: i64| {
        app.request("POST", "/api/v1/redemptions", Some(&clerk), &[("Idempotency-Key", key)],
            Some(&json!({"member_id": m["id"], "lines": [{"goods_id": goods.body["id"], "quantity": q}]}).to_string()))
    };
    let r1 = redeem("r1", &a, 2);
    assert_eq!(redeem("r2", &b, 3).status, 201);
    let id = r1.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/redemptions/{id}/void"),
        &clerk,
        &json!({"reason": "x"}),
    );
    let s = app.get("/api/v1/reports/summary", &app.admin_token);
    assert_eq!(s.status, 200, "{}", s.text);
    let s = s.body;
    assert_eq!(s["adjusted_in"], "80.00");
    assert_eq!(s["adjusted_out"], "5.00");
    assert_eq!(s["redeemed"], "12.50");
    assert_eq!(s["voided"], "5.00");
    let outstanding = money(&s["adjusted_in"]) - money(&s["adjusted_out"]) - money(&s["redeemed"])
        + money(&s["voided"]);
    assert_eq!(money(&s["outstanding"]), outstanding);
    let held = money(&json!(app.balance_of(a["account_id"].as_str().unwrap())))
        + money(&json!(app.balance_of(b["account_id"].as_str().unwrap())));
    assert_eq!(money(&s["outstanding"]), held);
    assert_eq!(
        s["shop_stock_value"], "17.50",
        "7 soaps at 2.50 are on the shelf"
    );
    let past = app.get(
        "/api/v1/reports/summary?from=2000-01-01&to=2000-01-31",
        &app.admin_token,
    );
    assert_eq!(past.body["outstanding"], "0.00");
    assert_eq!(past.body["redeemed"], "0.00");
}

fn the_change_feed_pages_the_journal(app: TestApp) {
    let m = app.create_member("订阅");
    for i in 0..5 {
        credit(&app, &format!("f{i}"), &m, "1");
    }
    let auditor = app.user_with_roles("auditor", &["auditor"], None);
    let first = app.get("/api/v1/journal?after_seq=0&limit=3", &auditor);
    assert_eq!(first.status, 200, "{}", first.text);
    let seqs: Vec<i64> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(
        first.body["items"][0]["postings"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        first.body["items"][1]["prev_hash"],
        first.body["items"][0]["hash"]
    );
    let next = app.get(
        &format!("/api/v1/journal?after_seq={}", first.body["next_after_seq"]),
        &auditor,
    );
    assert_eq!(next.body["items"].as_array().unwrap().len(), 2);
    let done = app.get("/api/v1/journal?after_seq=5", &auditor);
    assert!(done.body["items"].as_array().unwrap().is_empty());
    assert_eq!(done.body["next_after_seq"], 5);
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    app.get("/api/v1/journal", &clerk)
        .assert_problem(403, "forbidden");
}

fn moralbank(app: &TestApp, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_moralbank"))
        .args(args)
        .env("MORALBANK_DATABASE_URL", &app.db.url)
        .env("MORALBANK_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn the_demo_verifies_and_edits_are_named(app: TestApp) {
    let (code, out) = moralbank(&app, &["demo"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("demo-admin") && out.contains("moralbank-demo"),
        "{out}"
    );
    // The demo joined the test's community: the printed logins say which community to name.
    assert!(out.contains(r#""community": "demo""#), "{out}");
    let (code, out) = moralbank(&app, &["verify"]);
    assert_eq!(code, 0, "{out}");
    // The demo's logins work, and a resident's passbook is believable.
    let token = app.login_in_ok("demo", "demo-r04", "moralbank-demo");
    let me = app.get("/api/v1/me", &token);
    let account = me.body["member"]["account_id"].as_str().unwrap();
    let s = statement(&app, &token, account, "");
    assert!(s["lines"].as_array().unwrap().len() >= 3, "{s}");
    let (code, _) = moralbank(&app, &["demo"]);
    assert_ne!(code, 0, "a second demo is refused");

    // Edit a journal row's memo and a cached balance behind the service's back.
    use diesel::connection::SimpleConnection;
    let mut conn = app.db.connect();
    let disable = match app.backend {
        Backend::Sqlite => "DROP TRIGGER journal_no_update",
        Backend::Postgres => "ALTER TABLE journal DISABLE TRIGGER journal_append_only",
    };
    conn.batch_execute(disable).unwrap();
    conn.batch_execute("UPDATE journal SET memo = 'forged' WHERE seq = 7")
        .unwrap();
    conn.batch_execute(&format!(
        "UPDATE accounts SET balance = balance + 100 WHERE id = '{account}'"
    ))
    .unwrap();
    drop(conn);
    let (code, out) = moralbank(&app, &["verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("PROBLEM hash_mismatch seq 7 ")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("PROBLEM balance_mismatch") && l.contains(account)),
        "{out}"
    );
}

both_backends!(
    opening_and_closing_follow_local_days,
    paging_yields_every_line_once_in_order,
    csv_has_a_bom_and_the_same_numbers,
    the_printed_passbook_escapes_what_users_typed,
    residents_read_only_their_own_passbook,
    honor_roll_ranks_by_earnings_with_ties,
    the_summary_adds_up,
    the_change_feed_pages_the_journal,
    the_demo_verifies_and_edits_are_named,
);
