//! Households (户, 一户一档): a household's own passbook, deeds credited to it when the community
//! says so (each line naming the member), members paying from it at the counter when allowed, and
//! a member moving between households with their history kept.

use crate::common::{Resp, TestApp};
use serde_json::{json, Value};

fn today() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

fn household(app: &TestApp, name: &str, head: &Value) -> Resp {
    app.post(
        "/api/v1/households",
        &app.admin_token,
        &json!({"name": name, "head_member_id": head["id"]}),
    )
}

fn settings(app: &TestApp, credit_to: &str, members_redeem: bool) -> Resp {
    app.request(
        "PUT",
        "/api/v1/household-settings",
        Some(&app.admin_token),
        &[],
        Some(&json!({"credit_to": credit_to, "members_redeem": members_redeem}).to_string()),
    )
}

/// A deed of `hours` × 1 point for `member`, approved.
fn credited(app: &TestApp, approver: &str, rule: &Value, member: &Value, hours: i64) -> Value {
    let resp = app.post(
        "/api/v1/deeds",
        &app.admin_token,
        &json!({"member_id": member["id"], "rule_id": rule["id"], "quantity": hours,
                "occurred_on": today(), "description": "打扫楼道"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let id = resp.body["id"].as_str().unwrap();
    let resp = app.request(
        "POST",
        &format!("/api/v1/deeds/{id}/approve"),
        Some(approver),
        &[],
        None,
    );
    assert_eq!(resp.body["status"], "credited", "{}", resp.text);
    resp.body
}

fn redeem(
    app: &TestApp,
    clerk: &str,
    key: &str,
    member: &Value,
    goods: &Value,
    pay_from: &str,
) -> Resp {
    app.request(
        "POST",
        "/api/v1/redemptions",
        Some(clerk),
        &[("Idempotency-Key", key)],
        Some(
            &json!({"member_id": member["id"], "pay_from": pay_from,
                    "lines": [{"goods_id": goods["id"], "quantity": 1}]})
            .to_string(),
        ),
    )
}

fn last_line(app: &TestApp, account: &str) -> Value {
    let resp = app.get(
        &format!("/api/v1/accounts/{account}/statement?limit=200"),
        &app.admin_token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["lines"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap()
}

fn a_household_passbook_takes_its_members_deeds_and_pays_at_the_counter(app: TestApp) {
    let rule = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": "CLEAN", "name": "打扫卫生", "category": "环境", "points": "1", "unit": "hour", "direction": "earn"}),
    );
    assert_eq!(rule.status, 201, "{}", rule.text);
    let rule = rule.body;
    let approver = app.user_with_roles("approver", &["admin"], None);
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    let head = app.create_member("张大山");
    let son = app.create_member("张小山");
    let neighbour = app.create_member("李四");
    let zhang = household(&app, "张家", &head);
    assert_eq!(zhang.status, 201, "{}", zhang.text);
    let zhang = zhang.body;
    assert_eq!(zhang["head_member_id"], head["id"]);
    assert_eq!(zhang["balance"], "0.00");
    let zid = zhang["id"].as_str().unwrap();
    let added = app.post(
        &format!("/api/v1/households/{zid}/members"),
        &app.admin_token,
        &json!({"member_id": son["id"]}),
    );
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.body["members"].as_array().unwrap().len(), 2);

    // By default deeds credit the member.
    credited(&app, &approver, &rule, &son, 2);
    assert_eq!(app.balance_of(son["account_id"].as_str().unwrap()), "2.00");
    // 一户一档: from now on they credit the household, and the line says who did it.
    assert_eq!(settings(&app, "household", false).status, 200);
    credited(&app, &approver, &rule, &son, 5);
    let zaccount = zhang["account_id"].as_str().unwrap();
    assert_eq!(app.balance_of(son["account_id"].as_str().unwrap()), "2.00");
    assert_eq!(app.balance_of(zaccount), "5.00");
    let line = last_line(&app, zaccount);
    assert_eq!(line["kind"], "deed_credit");
    assert!(
        line["description"]
            .as_str()
            .unwrap()
            .starts_with("【张小山】"),
        "{line}"
    );
    // A member in no household is credited themself.
    credited(&app, &approver, &rule, &neighbour, 1);
    assert_eq!(
        app.balance_of(neighbour["account_id"].as_str().unwrap()),
        "1.00"
    );

    // Paying from the household passbook needs the community's leave.
    let goods = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "SALT", "name": "食盐", "price": "3", "stock": 10}),
    );
    let goods = goods.body;
    redeem(&app, &clerk, "h-1", &head, &goods, "household")
        .assert_problem(409, "household_redeem_off");
    assert_eq!(settings(&app, "household", true).status, 200);
    let paid = redeem(&app, &clerk, "h-2", &head, &goods, "household");
    assert_eq!(paid.status, 201, "{}", paid.text);
    assert_eq!(paid.body["member_name"], "张大山");
    assert_eq!(paid.body["account_id"], zaccount);
    assert_eq!(paid.body["balance_after"], "2.00");
    assert_eq!(app.balance_of(zaccount), "2.00");
    assert!(last_line(&app, zaccount)["description"]
        .as_str()
        .unwrap()
        .starts_with("【张大山】"));
    // The household holds 2: a basket of 3 is refused with the true figures, nothing moves.
    let short = redeem(&app, &clerk, "h-3", &son, &goods, "household");
    short.assert_problem(422, "insufficient_balance");
    assert_eq!(short.body["balance"], "2.00");
    redeem(&app, &clerk, "h-4", &neighbour, &goods, "household")
        .assert_problem(409, "no_household");
    redeem(&app, &clerk, "h-5", &head, &goods, "family").assert_problem(422, "validation_failed");
    // A void gives the household its coins back.
    let id = paid.body["id"].as_str().unwrap();
    let void = app.post(
        &format!("/api/v1/redemptions/{id}/void"),
        &clerk,
        &json!({"reason": "拿错"}),
    );
    assert_eq!(void.status, 200, "{}", void.text);
    assert_eq!(app.balance_of(zaccount), "5.00");

    // The son marries out: a household of his own. What he brought into 张家 stays there.
    let li = household(&app, "李家", &neighbour);
    assert_eq!(li.status, 201, "{}", li.text);
    let li = li.body;
    let lid = li["id"].as_str().unwrap();
    let moved = app.post(
        &format!("/api/v1/households/{lid}/members"),
        &app.admin_token,
        &json!({"member_id": son["id"]}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text);
    credited(&app, &approver, &rule, &son, 4);
    assert_eq!(app.balance_of(li["account_id"].as_str().unwrap()), "4.00");
    assert_eq!(app.balance_of(zaccount), "5.00");
    let zhang_now = app
        .get(&format!("/api/v1/households/{zid}"), &app.admin_token)
        .body;
    let son_in_zhang: Vec<&Value> = zhang_now["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["member_id"] == son["id"])
        .collect();
    assert_eq!(son_in_zhang.len(), 1);
    assert!(
        son_in_zhang[0]["left_at"].is_string(),
        "history kept: {zhang_now}"
    );
    // Back to crediting members: the son's own passbook again.
    assert_eq!(settings(&app, "member", false).status, 200);
    credited(&app, &approver, &rule, &son, 1);
    assert_eq!(app.balance_of(son["account_id"].as_str().unwrap()), "3.00");
    let list = app.get("/api/v1/households", &clerk);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    let (_, _, sum) = app.ledger_snapshot();
    assert_eq!(sum, 0);
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

fn bad_household_input_is_refused(app: TestApp) {
    let head = app.create_member("王五");
    household(&app, "", &head).assert_problem(422, "validation_failed");
    household(&app, &"户".repeat(41), &head).assert_problem(422, "validation_failed");
    assert_eq!(household(&app, "王家", &head).status, 201);
    let other = app.create_member("王六");
    household(&app, "王家", &other).assert_problem(409, "household_name_taken");
    household(&app, "赵家", &json!({"id": uuid::Uuid::now_v7()})).assert_problem(404, "not_found");
    settings(&app, "family", false).assert_problem(422, "validation_failed");
    let (_, resident) = app.resident("居民", "jumin");
    app.post(
        "/api/v1/households",
        &resident,
        &json!({"name": "居民家", "head_member_id": other["id"]}),
    )
    .assert_problem(403, "forbidden");
    let missing = uuid::Uuid::now_v7();
    app.post(
        &format!("/api/v1/households/{missing}/members"),
        &app.admin_token,
        &json!({"member_id": other["id"]}),
    )
    .assert_problem(404, "not_found");
    assert_eq!(
        app.get("/api/v1/household-settings", &app.admin_token).body["credit_to"],
        "member"
    );
}

both_backends!(
    a_household_passbook_takes_its_members_deeds_and_pays_at_the_counter,
    bad_household_input_is_refused,
);

/// The committee's 户籍 page: set up a household by passbook numbers, move a resident in, the
/// refusals beside their fields; and how it looks.
fn the_console_sets_up_households(app: TestApp, look: bool) {
    use crate::common::ADMIN_PASSWORD;
    use crate::console::Visitor;
    let head = app.create_member("赵大爷");
    let daughter = app.create_member("赵小红");
    let mut admin = Visitor::new(&app);
    admin.login_ok("admin", ADMIN_PASSWORD);
    let empty = admin.get("/households");
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert!(empty.text.contains("还没有登记户"), "{}", empty.text);
    let token = empty.input("form_token");
    let no = |m: &Value| m["member_no"].as_str().unwrap().to_string();
    let bad = admin.post(
        "/households",
        &[
            ("form_token", &token),
            ("name", "赵家"),
            ("head_no", "M999999"),
        ],
    );
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("没有这个存折号的居民"), "{}", bad.text);
    let blank = admin.post(
        "/households",
        &[
            ("form_token", &token),
            ("name", " "),
            ("head_no", &no(&head)),
        ],
    );
    assert_eq!(blank.status, 422);
    assert!(blank.text.contains("请填写户名"), "{}", blank.text);
    let made = admin.post(
        "/households",
        &[
            ("form_token", &token),
            ("name", "赵家"),
            ("head_no", &no(&head)),
        ],
    );
    assert_eq!(made.status, 303, "{}", made.text);
    let twice = admin.post(
        "/households",
        &[
            ("form_token", &token),
            ("name", "赵家"),
            ("head_no", &no(&daughter)),
        ],
    );
    assert!(
        twice.text.contains("已经有叫这个名字的户了"),
        "{}",
        twice.text
    );
    let list = app.get("/api/v1/households", &app.admin_token).body;
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let moved = admin.post(
        &format!("/households/{id}/members"),
        &[("form_token", &token), ("member_no", &no(&daughter))],
    );
    assert_eq!(moved.status, 303, "{}", moved.text);
    let page = admin.get("/households?done=moved");
    assert!(page.text.contains("★ 赵大爷"), "{}", page.text);
    assert!(page.text.contains("赵小红"), "{}", page.text);
    let account = list["items"][0]["account_id"].as_str().unwrap();
    let print = admin.get(&format!("/passbook/{account}/print"));
    assert_eq!(
        print.status, 200,
        "the household passbook prints: {}",
        print.text
    );
    let (_, resident) = app.resident("居民甲", "jumin-a");
    let _ = resident;
    let mut someone = Visitor::new(&app);
    someone.login_ok("jumin-a", "password-123");
    assert_eq!(someone.get("/households").status, 403);
    // What the committee sees.
    if let Some(browser) = look
        .then(|| crate::common::browser::Browser::start(1366, 768))
        .flatten()
    {
        browser.goto(&app.url("/login"));
        browser.fill("#username", "admin");
        browser.fill("#password", ADMIN_PASSWORD);
        browser.click("#login-form button[type=submit]");
        browser.wait_for_path_prefix("/");
        browser.goto(&app.url("/households"));
        assert!(browser.text("#households").contains("赵家"));
        browser.screenshot("households-page");
    }
}

mod console_runs {
    use crate::common::{Backend, TestApp};

    #[test]
    fn the_console_sets_up_households_sqlite() {
        if let Some(app) = TestApp::spawn(Backend::Sqlite) {
            super::the_console_sets_up_households(app, true);
        }
    }

    #[test]
    fn the_console_sets_up_households_postgres() {
        if let Some(app) = TestApp::spawn(Backend::Postgres) {
            super::the_console_sets_up_households(app, false);
        }
    }
}
