//! Coins that expire (清零): a community's rule, the oldest unspent coins expiring first, the
//! warning before, exactly once however many sweeps and instances run, and the ledger verifying
//! after each.

use std::time::{Duration, Instant};

use crate::common::TestApp;
use crate::console::Visitor;
use serde_json::{json, Value};

fn put_settings(app: &TestApp, token: &str, body: &Value) -> crate::common::Resp {
    app.request(
        "PUT",
        "/api/v1/settings/expiry",
        Some(token),
        &[],
        Some(&body.to_string()),
    )
}

fn set_rule(app: &TestApp, body: Value) {
    let resp = put_settings(app, &app.admin_token, &body);
    assert_eq!(resp.status, 200, "{}", resp.text);
}

fn credit(app: &TestApp, member: &Value, key: &str, amount: &str) {
    let resp = app.adjust(
        key,
        member["id"].as_str().unwrap(),
        amount,
        if amount.starts_with('-') {
            "correction"
        } else {
            "opening_balance"
        },
        "纸质存折结转",
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
}

fn balance(app: &TestApp, member: &Value) -> String {
    app.balance_of(member["account_id"].as_str().unwrap())
}

/// The passbook's expiry lines.
fn expiry_lines(app: &TestApp, member: &Value) -> Vec<Value> {
    let account = member["account_id"].as_str().unwrap();
    let resp = app.get(
        &format!("/api/v1/accounts/{account}/statement?limit=200"),
        &app.admin_token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "expiry")
        .cloned()
        .collect()
}

/// Waits for the sweeper (it runs every 50 ms in tests) to bring the balance to `want`.
fn wait_for_balance(app: &TestApp, member: &Value, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = balance(app, member);
        if now == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the balance stayed {now}, expected {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn expiring(app: &TestApp, member: &Value) -> Value {
    let resp = app.get(
        &format!("/api/v1/members/{}", member["id"].as_str().unwrap()),
        &app.admin_token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["expiring"].clone()
}

/// Months mode: 100 earned in December, 30 spent and 50 earned in January. On 1 February the
/// coins earned before January expire, and the 30 spent were the oldest: 70 expire, 50 stay.
fn months_mode_expires_only_the_unspent_old_coins(app: TestApp) {
    let member = app.create_member("张大爷");
    credit(&app, &member, "dec", "100");
    set_rule(
        &app,
        json!({"mode": "months", "months": 1, "notice_days": 30}),
    );
    // To 2 January: the expiry of 1 January takes what was earned before 1 December, nothing.
    app.clock.advance(chrono::Duration::days(30));
    credit(&app, &member, "jan-spend", "-30");
    credit(&app, &member, "jan-earn", "50");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(balance(&app, &member), "120.00");
    assert!(expiry_lines(&app, &member).is_empty());
    // The next expiry is announced: 70 of December's coins on 1 February.
    assert_eq!(
        expiring(&app, &member),
        json!({"amount": "70.00", "on": "2027-02-01"})
    );
    app.clock.advance(chrono::Duration::days(31));
    wait_for_balance(&app, &member, "50.00");
    let lines = expiry_lines(&app, &member);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["amount_out"], "70.00");
    assert_eq!(lines[0]["kind_label"], "过期清零");
    assert_eq!(lines[0]["description"], "2027-01 前获得的积分到期");
    // The next expiry (1 March, January's coins) is more than notice_days away? It is 27 days:
    // announced, the 50 earned in January.
    assert_eq!(
        expiring(&app, &member),
        json!({"amount": "50.00", "on": "2027-03-01"})
    );
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

/// Year end: every coin earned before 1 January expires then, a deactivated member's too; the
/// warning comes notice_days before; a restarted server (a fresh sweep) posts nothing more.
fn year_end_expires_what_was_earned_before_the_new_year(mut app: TestApp) {
    let member = app.create_member("李阿姨");
    credit(&app, &member, "a", "100");
    let away = app.create_member("王叔叔");
    credit(&app, &away, "b", "40");
    let resp = app.request(
        "PATCH",
        &format!("/api/v1/members/{}", away["id"].as_str().unwrap()),
        Some(&app.admin_token),
        &[],
        Some(&json!({"status": "inactive"}).to_string()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(expiring(&app, &member), Value::Null, "no rule, no warning");
    set_rule(&app, json!({"mode": "year_end", "notice_days": 10}));
    // 1 January is more than 10 days away (the tests run in December 2026): not announced yet.
    let today = app.clock.now().date();
    let new_year = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    assert!(today < new_year, "these tests expect to run before 2027");
    if (new_year - today).num_days() > 10 {
        assert_eq!(expiring(&app, &member), Value::Null);
    }
    set_rule(&app, json!({"mode": "year_end", "notice_days": 90}));
    assert_eq!(
        expiring(&app, &member),
        json!({"amount": "100.00", "on": "2027-01-01"})
    );
    // The resident's page and the counter card say so.
    app.user_with_roles("li", &["resident"], member["id"].as_str());
    let mut resident = Visitor::new(&app);
    resident.login_ok("li", "password-123");
    let page = resident.get("/me");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("100.00 分将于 2027年1月1日 到期"),
        "{}",
        page.text
    );
    app.user_with_roles("clerk", &["clerk"], None);
    let mut clerk = Visitor::new(&app);
    clerk.login_ok("clerk", "password-123");
    let card = clerk.get(&format!(
        "/counter/members/{}",
        member["id"].as_str().unwrap()
    ));
    assert!(
        card.text.contains("100.00 分将于 2027年1月1日 到期"),
        "{}",
        card.text
    );
    // The new year comes.
    app.clock
        .advance(new_year.signed_duration_since(today) + chrono::Duration::days(1));
    wait_for_balance(&app, &member, "0.00");
    wait_for_balance(&app, &away, "0.00");
    let lines = expiry_lines(&app, &member);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["amount_out"], "100.00");
    assert_eq!(lines[0]["description"], "2026年底前获得的积分清零");
    assert_eq!(expiry_lines(&app, &away).len(), 1);
    assert_eq!(
        expiring(&app, &member),
        Value::Null,
        "nothing left to expire"
    );
    let page = resident.get("/me");
    assert!(!page.text.contains("到期"), "{}", page.text);
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
    // A restart sweeps again at start, and finds nothing more.
    app.restart();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(expiry_lines(&app, &member).len(), 1);
    assert_eq!(expiry_lines(&app, &away).len(), 1);
    assert_eq!(balance(&app, &member), "0.00");
    // Coins earned after the new year stay.
    credit(&app, &member, "c", "15");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(balance(&app, &member), "15.00");
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

/// Two servers on one database sweep at the same moment: each account's coins expire once.
fn two_instances_expire_each_account_once(app: TestApp) {
    let second = TestApp::spawn_on(app.backend, app.db.shared());
    let members: Vec<Value> = (0..6)
        .map(|i| {
            let m = app.create_member(&format!("居民{i}"));
            credit(&app, &m, &format!("k{i}"), "20");
            m
        })
        .collect();
    set_rule(&app, json!({"mode": "year_end", "notice_days": 30}));
    let today = app.clock.now().date();
    let new_year = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    let by = new_year.signed_duration_since(today) + chrono::Duration::days(1);
    app.clock.advance(by);
    second.clock.advance(by);
    for m in &members {
        wait_for_balance(&app, m, "0.00");
    }
    // Give both sweepers time for a few more rounds.
    std::thread::sleep(Duration::from_millis(500));
    for m in &members {
        let lines = expiry_lines(&app, m);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["amount_out"], "20.00");
    }
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
    assert_eq!(second.verify()["ok"], true, "{}", second.verify());
}

/// Bad settings are refused with a problem and change nothing; a resident may not set them.
fn bad_settings_are_refused_and_change_nothing(app: TestApp) {
    set_rule(
        &app,
        json!({"mode": "months", "months": 6, "notice_days": 20}),
    );
    for (body, field) in [
        (json!({"mode": "weekly"}), "mode"),
        (json!({"mode": "months", "months": 0}), "months"),
        (json!({"mode": "months", "months": 121}), "months"),
        (json!({"mode": "months"}), "months"),
        (json!({"mode": "year_end", "months": 3}), "months"),
        (json!({"mode": "none", "notice_days": 91}), "notice_days"),
        (json!({"mode": "none", "notice_days": -1}), "notice_days"),
    ] {
        let resp = put_settings(&app, &app.admin_token, &body);
        resp.assert_problem(422, "validation_failed");
        assert_eq!(resp.body["field"], field, "{}", resp.text);
    }
    let resp = put_settings(&app, &app.admin_token, &json!({"mode": "none", "extra": 1}));
    assert!(resp.status >= 400 && resp.status < 500, "{}", resp.text);
    let (_, resident) = app.resident("赵", "zhao");
    let resp = put_settings(&app, &resident, &json!({"mode": "none"}));
    resp.assert_problem(403, "forbidden");
    let now = app.get("/api/v1/settings/expiry", &app.admin_token);
    assert_eq!(now.status, 200, "{}", now.text);
    assert_eq!(now.body["mode"], "months");
    assert_eq!(now.body["months"], 6);
    assert_eq!(now.body["notice_days"], 20);
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

/// A community that never set a rule has none: coins never expire.
fn without_a_rule_nothing_expires(app: TestApp) {
    let member = app.create_member("孙");
    credit(&app, &member, "a", "10");
    let now = app.get("/api/v1/settings/expiry", &app.admin_token);
    assert_eq!(now.body["mode"], "none", "{}", now.text);
    assert_eq!(now.body["notice_days"], 30);
    app.clock.advance(chrono::Duration::days(400));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(balance(&app, &member), "10.00");
    assert_eq!(expiring(&app, &member), Value::Null);
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

both_backends!(
    months_mode_expires_only_the_unspent_old_coins,
    year_end_expires_what_was_earned_before_the_new_year,
    two_instances_expire_each_account_once,
    bad_settings_are_refused_and_change_nothing,
    without_a_rule_nothing_expires,
);
