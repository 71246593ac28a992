//! Reserved orders with a pickup code: coins and goods held, not spent, until the code collects
//! them at the counter, the order is cancelled, or its time runs out; every end exactly once,
//! also when two of them race.

use crate::common::{Resp, TestApp};
use serde_json::{json, Value};

struct Shop {
    clerk: String,
    member: Value,
    resident: String,
    oil: Value,
}

fn goods(app: &TestApp, sku: &str, price: &str, stock: i64, limit: Option<i64>) -> Value {
    let mut body =
        json!({"sku": sku, "name": format!("{sku} 商品"), "price": price, "stock": stock});
    if let Some(limit) = limit {
        body["monthly_limit"] = json!(limit);
    }
    let resp = app.post("/api/v1/goods", &app.admin_token, &body);
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body
}

/// A clerk, a resident holding 50 and logged in, and oil at 10.00 × 5.
fn shop(app: &TestApp) -> Shop {
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    let (member, resident) = app.resident("预订居民", "yuding");
    let resp = app.adjust(
        "opening",
        member["id"].as_str().unwrap(),
        "50",
        "opening_balance",
        "carried over",
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let oil = goods(app, "OIL", "10.00", 5, None);
    Shop {
        clerk,
        member,
        resident,
        oil,
    }
}

fn order(app: &TestApp, token: &str, key: &str, body: &Value) -> Resp {
    app.request(
        "POST",
        "/api/v1/orders",
        Some(token),
        &[("Idempotency-Key", key)],
        Some(&body.to_string()),
    )
}

fn placed(app: &TestApp, token: &str, key: &str, body: &Value) -> Value {
    let resp = order(app, token, key, body);
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body
}

fn oil_basket(s: &Shop, quantity: i64) -> Value {
    json!({"lines": [{"goods_id": s.oil["id"], "quantity": quantity}]})
}

fn collect(app: &TestApp, token: &str, code: &str) -> Resp {
    app.post(
        "/api/v1/orders/collect",
        token,
        &json!({ "pickup_code": code }),
    )
}

fn cancel(app: &TestApp, token: &str, id: &str) -> Resp {
    app.post(
        &format!("/api/v1/orders/{id}/cancel"),
        token,
        &json!({"reason": "不要了"}),
    )
}

fn balance(app: &TestApp, s: &Shop) -> String {
    app.balance_of(s.member["account_id"].as_str().unwrap())
}

fn stock(app: &TestApp, goods: &Value) -> i64 {
    let id = goods["id"].as_str().unwrap();
    app.get(&format!("/api/v1/goods/{id}"), &app.admin_token)
        .body["stock"]
        .as_i64()
        .unwrap()
}

fn status(app: &TestApp, id: &str) -> String {
    let resp = app.get(&format!("/api/v1/orders/{id}"), &app.admin_token);
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["status"].as_str().unwrap().to_string()
}

/// The passbook's line kinds, oldest first.
fn line_kinds(app: &TestApp, s: &Shop) -> Vec<String> {
    let account = s.member["account_id"].as_str().unwrap();
    let resp = app.get(
        &format!("/api/v1/accounts/{account}/statement?limit=200"),
        &app.admin_token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap().to_string())
        .collect()
}

fn an_order_holds_coins_and_stock_until_collected_with_its_code(app: TestApp) {
    let s = shop(&app);
    let o = placed(&app, &s.resident, "o-1", &oil_basket(&s, 2));
    assert_eq!(o["status"], "held");
    assert_eq!(o["total"], "20.00");
    let code = o["pickup_code"].as_str().unwrap().to_string();
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "{code}"
    );
    // Held, not spent: what is left to spend and what is left on the shelf both show it.
    assert_eq!(balance(&app, &s), "30.00");
    assert_eq!(stock(&app, &s.oil), 3);
    assert_eq!(line_kinds(&app, &s).last().unwrap(), "order_hold");
    // The same key and basket answer the same order; nothing is held twice.
    let again = placed(&app, &s.resident, "o-1", &oil_basket(&s, 2));
    assert_eq!(again["id"], o["id"]);
    assert_eq!(balance(&app, &s), "30.00");
    // A redemption at the counter can spend only what is not held.
    let rice = goods(&app, "RICE", "31.00", 5, None);
    let redeem = app.request(
        "POST",
        "/api/v1/redemptions",
        Some(&s.clerk),
        &[("Idempotency-Key", "r-1")],
        Some(
            &json!({"member_id": s.member["id"], "lines": [{"goods_id": rice["id"], "quantity": 1}]})
                .to_string(),
        ),
    );
    redeem.assert_problem(422, "insufficient_balance");
    assert_eq!(redeem.body["balance"], "30.00", "{}", redeem.text);
    // The resident sees the order, with its code.
    let mine = app.get("/api/v1/orders", &s.resident);
    assert_eq!(mine.body["items"][0]["pickup_code"], code.as_str());

    let wrong = if code == "000000" { "000001" } else { "000000" };
    collect(&app, &s.clerk, wrong).assert_problem(404, "order_not_found");
    collect(&app, &s.clerk, "12a456").assert_problem(422, "validation_failed");
    // A resident does not hand goods over to themself.
    collect(&app, &s.resident, &code).assert_problem(403, "forbidden");
    let done = collect(&app, &s.clerk, &format!(" {}-{} ", &code[..3], &code[3..]));
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["order"]["status"], "collected");
    assert_eq!(done.body["redemption"]["id"], o["id"]);
    assert_eq!(done.body["redemption"]["total"], "20.00");
    assert_eq!(done.body["redemption"]["status"], "completed");
    assert_eq!(done.body["redemption"]["lines"][0]["quantity"], 2);
    // Collecting moved nothing on the passbook or the shelf again.
    assert_eq!(balance(&app, &s), "30.00");
    assert_eq!(stock(&app, &s.oil), 3);
    // The code is spent.
    collect(&app, &s.clerk, &code).assert_problem(404, "order_not_found");
    let receipt = app.get(
        &format!("/api/v1/redemptions/{}", o["id"].as_str().unwrap()),
        &s.clerk,
    );
    assert_eq!(receipt.status, 200, "{}", receipt.text);
    // A collected order's redemption voids like any other: coins and goods come back once.
    let void = app.post(
        &format!("/api/v1/redemptions/{}/void", o["id"].as_str().unwrap()),
        &s.clerk,
        &json!({"reason": "拿错了"}),
    );
    assert_eq!(void.status, 200, "{}", void.text);
    assert_eq!(balance(&app, &s), "50.00");
    assert_eq!(stock(&app, &s.oil), 5);
    let (_, _, sum) = app.ledger_snapshot();
    assert_eq!(sum, 0);
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

fn a_cancelled_order_gives_everything_back_once(app: TestApp) {
    let s = shop(&app);
    let o = placed(&app, &s.resident, "o-1", &oil_basket(&s, 3));
    let id = o["id"].as_str().unwrap();
    assert_eq!(balance(&app, &s), "20.00");
    // Another resident neither sees nor cancels it.
    let (_, other) = app.resident("别人", "bieren");
    assert_eq!(app.get(&format!("/api/v1/orders/{id}"), &other).status, 404);
    cancel(&app, &other, id).assert_problem(404, "not_found");
    let done = cancel(&app, &s.resident, id);
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "cancelled");
    assert_eq!(done.body["end_reason"], "不要了");
    assert_eq!(balance(&app, &s), "50.00");
    assert_eq!(stock(&app, &s.oil), 5);
    assert_eq!(
        line_kinds(&app, &s)[1..],
        ["order_hold".to_string(), "order_release".to_string()]
    );
    cancel(&app, &s.resident, id).assert_problem(409, "order_ended");
    cancel(&app, &s.clerk, id).assert_problem(409, "order_ended");
    collect(&app, &s.clerk, o["pickup_code"].as_str().unwrap())
        .assert_problem(404, "order_not_found");
    assert_eq!(balance(&app, &s), "50.00");

    // The clerk places one for the resident, and may cancel it at the counter.
    let body =
        json!({"member_id": s.member["id"], "lines": [{"goods_id": s.oil["id"], "quantity": 1}]});
    let by_clerk = placed(&app, &s.clerk, "c-1", &body);
    assert_eq!(by_clerk["member_id"], s.member["id"]);
    assert_eq!(
        cancel(&app, &s.clerk, by_clerk["id"].as_str().unwrap()).status,
        200
    );
    // A resident orders only for themself; a clerk names the resident.
    order(&app, &other, "x-1", &body).assert_problem(403, "forbidden");
    order(&app, &s.clerk, "x-2", &oil_basket(&s, 1)).assert_problem(422, "validation_failed");
    // More than the balance, or the shelf, holds nothing.
    order(&app, &s.resident, "x-3", &oil_basket(&s, 6)).assert_problem(409, "out_of_stock");
    // A refusal is the key's answer: the same key for another basket is refused as reused.
    order(&app, &s.resident, "x-3", &oil_basket(&s, 6)).assert_problem(409, "out_of_stock");
    order(&app, &s.resident, "x-3", &oil_basket(&s, 1))
        .assert_problem(422, "idempotency_key_reused");
    let big = goods(&app, "TV", "100.00", 1, None);
    order(
        &app,
        &s.resident,
        "x-4",
        &json!({"lines": [{"goods_id": big["id"], "quantity": 1}]}),
    )
    .assert_problem(422, "insufficient_balance");
    order(&app, &s.resident, "x-5", &json!({"lines": []})).assert_problem(422, "validation_failed");
    order(&app, &s.resident, "x-6", &oil_basket(&s, 0)).assert_problem(422, "validation_failed");
    assert_eq!(
        (balance(&app, &s), stock(&app, &s.oil), stock(&app, &big)),
        ("50.00".into(), 5, 1)
    );
    // An open order counts against the goods' monthly limit, as a redemption does.
    let soap = goods(&app, "SOAP", "1.00", 50, Some(2));
    placed(
        &app,
        &s.resident,
        "l-1",
        &json!({"lines": [{"goods_id": soap["id"], "quantity": 2}]}),
    );
    let more = app.request(
        "POST",
        "/api/v1/redemptions",
        Some(&s.clerk),
        &[("Idempotency-Key", "l-2")],
        Some(
            &json!({"member_id": s.member["id"], "lines": [{"goods_id": soap["id"], "quantity": 1}]})
                .to_string(),
        ),
    );
    more.assert_problem(422, "monthly_limit");
    // Settings: the committee's waiting time, checked.
    let put = |token: &str, hours: Value| {
        app.request(
            "PUT",
            "/api/v1/order-settings",
            Some(token),
            &[],
            Some(&json!({ "hold_hours": hours }).to_string()),
        )
    };
    put(&app.admin_token, json!(0)).assert_problem(422, "validation_failed");
    put(&app.admin_token, json!(721)).assert_problem(422, "validation_failed");
    put(&s.resident, json!(24)).assert_problem(403, "forbidden");
    assert_eq!(put(&app.admin_token, json!(24)).status, 200);
    assert_eq!(
        app.get("/api/v1/order-settings", &s.clerk).body["hold_hours"],
        24
    );
    app.get("/api/v1/orders?status=lost", &s.clerk)
        .assert_problem(422, "validation_failed");
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

/// Exactly one of two ends wins: two clerks collecting one code at once, a cancel racing a
/// collect, and the sweepers of two instances releasing an expired order while a clerk collects
/// it.
fn races_end_an_order_exactly_once(app: TestApp) {
    let s = shop(&app);
    let second_clerk = app.user_with_roles("clerk2", &["clerk"], None);
    // Two collects of one code.
    let o = placed(&app, &s.resident, "o-1", &oil_basket(&s, 1));
    let code = o["pickup_code"].as_str().unwrap().to_string();
    let answers: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = [&s.clerk, &second_clerk]
            .into_iter()
            .map(|token| {
                let (app, code) = (&app, &code);
                scope.spawn(move || collect(app, token, code).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|s| **s == 200).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|s| [200, 404, 409].contains(s)),
        "{answers:?}"
    );
    assert_eq!(status(&app, o["id"].as_str().unwrap()), "collected");

    // A cancel racing a collect.
    let o = placed(&app, &s.resident, "o-2", &oil_basket(&s, 1));
    let id = o["id"].as_str().unwrap().to_string();
    let code = o["pickup_code"].as_str().unwrap().to_string();
    let (cancelled, collected) = std::thread::scope(|scope| {
        let a = scope.spawn(|| cancel(&app, &s.resident, &id).status);
        let b = scope.spawn(|| collect(&app, &s.clerk, &code).status);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(
        [cancelled, collected].iter().filter(|s| **s == 200).count(),
        1,
        "cancel {cancelled}, collect {collected}"
    );
    let end = status(&app, &id);
    assert!(end == "cancelled" || end == "collected", "{end}");
    let expected = if end == "cancelled" { "40.00" } else { "30.00" };
    assert_eq!(balance(&app, &s), expected);

    // Expiry on two instances while a clerk collects.
    let put = app.request(
        "PUT",
        "/api/v1/order-settings",
        Some(&app.admin_token),
        &[],
        Some(&json!({"hold_hours": 1}).to_string()),
    );
    assert_eq!(put.status, 200, "{}", put.text);
    let o = placed(&app, &s.resident, "o-3", &oil_basket(&s, 1));
    let id = o["id"].as_str().unwrap().to_string();
    let code = o["pickup_code"].as_str().unwrap().to_string();
    let before = balance(&app, &s);
    let other = TestApp::spawn_on(app.backend, app.db.shared());
    // Not yet due: the sweepers leave it.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(status(&app, &id), "held");
    let hour = chrono::Duration::hours(1) + chrono::Duration::minutes(1);
    app.clock.advance(hour);
    other.clock.advance(hour);
    let collected = collect(&app, &s.clerk, &code).status;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while status(&app, &id) == "held" {
        assert!(
            std::time::Instant::now() < deadline,
            "the sweepers never ended the order"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let end = status(&app, &id);
    let kinds = line_kinds(&app, &s);
    let releases = kinds.iter().filter(|k| *k == "order_release").count();
    if collected == 200 {
        assert_eq!(end, "collected");
    } else {
        assert_eq!(end, "expired");
        assert!([404, 409].contains(&collected), "{collected}");
    }
    let before_cents: f64 = before.parse().unwrap();
    let after: f64 = balance(&app, &s).parse().unwrap();
    if end == "expired" {
        assert_eq!(after, before_cents + 10.0, "the coins came back once");
    } else {
        assert_eq!(after, before_cents);
    }
    // One release line per released order on this passbook, never two.
    let released_orders = app.get("/api/v1/orders", &app.admin_token).body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "cancelled" || o["status"] == "expired")
        .count();
    assert_eq!(releases, released_orders, "{kinds:?}");
    let (_, _, sum) = app.ledger_snapshot();
    assert_eq!(sum, 0);
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
    drop(other);
}

both_backends!(
    an_order_holds_coins_and_stock_until_collected_with_its_code,
    a_cancelled_order_gives_everything_back_once,
    races_end_an_order_exactly_once,
);

/// The console, without a browser: a resident reserves from the shop page and reads the code;
/// the clerk's pickup page refuses a wrong code beside the field and collects the right one.
fn the_console_reserves_and_collects(app: TestApp) {
    use crate::console::Visitor;
    let s = shop(&app);
    let mut resident = Visitor::new(&app);
    resident.login_ok("yuding", "password-123");
    let shelf = resident.get("/shop");
    let id = s.oil["id"].as_str().unwrap();
    assert!(
        shelf.text.contains(&format!("/me/orders/new?goods={id}")),
        "{}",
        shelf.text
    );
    let form = resident.get(&format!("/me/orders/new?goods={id}"));
    assert_eq!(form.status, 200, "{}", form.text);
    let token = form.input("form_token");
    let key = form.input("key");
    let bad = resident.post(
        "/me/orders/new",
        &[
            ("form_token", &token),
            ("key", &key),
            ("goods_id", id),
            ("quantity", "0"),
        ],
    );
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("1 到 100 之间的整数"), "{}", bad.text);
    let short = resident.post(
        "/me/orders/new",
        &[
            ("form_token", &token),
            ("key", &key),
            ("goods_id", id),
            ("quantity", "6"),
        ],
    );
    assert_eq!(short.status, 409);
    assert!(short.text.contains("库存不足"), "{}", short.text);
    // The refusal is that key's answer for good; the page comes back with a fresh one.
    let key = short.input("key");
    let placed = resident.post(
        "/me/orders/new",
        &[
            ("form_token", &token),
            ("key", &key),
            ("goods_id", id),
            ("quantity", "2"),
        ],
    );
    assert_eq!(placed.status, 303, "{}", placed.text);
    let page = resident.get(&placed.location);
    let code = page
        .text
        .split("id=\"pickup-code\" aria-label=\"取货码\">")
        .nth(1)
        .unwrap()[..6]
        .to_string();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");
    // The same form sent twice places one order.
    let twice = resident.post(
        "/me/orders/new",
        &[
            ("form_token", &token),
            ("key", &key),
            ("goods_id", id),
            ("quantity", "2"),
        ],
    );
    assert_eq!(twice.location, placed.location);
    let me = resident.get("/me");
    assert!(
        me.text.contains(&format!("取货码 <strong>{code}</strong>")),
        "{}",
        me.text
    );
    assert!(me.text.contains("30.00 <small>分</small>"), "{}", me.text);

    let mut clerk = Visitor::new(&app);
    clerk.login_ok("clerk", "password-123");
    let card = clerk.get(&format!(
        "/counter/members/{}",
        s.member["id"].as_str().unwrap()
    ));
    assert!(card.text.contains("待取货的预订"), "{}", card.text);
    let pickup = clerk.get("/counter/pickup");
    let token = pickup.input("form_token");
    let wrong = if code == "999999" { "999998" } else { "999999" };
    let refused = clerk.post(
        "/counter/pickup",
        &[("form_token", &token), ("code", wrong)],
    );
    assert_eq!(refused.status, 404);
    assert!(
        refused.text.contains("没有找到用这个取货码的待取预订"),
        "{}",
        refused.text
    );
    let typo = clerk.post(
        "/counter/pickup",
        &[("form_token", &token), ("code", "12345")],
    );
    assert_eq!(typo.status, 422);
    assert!(typo.text.contains("取货码是六位数字"), "{}", typo.text);
    let done = clerk.post(
        "/counter/pickup",
        &[("form_token", &token), ("code", &code)],
    );
    assert_eq!(done.status, 303, "{}", done.text);
    assert!(
        done.location.starts_with("/counter/receipts/"),
        "{}",
        done.location
    );
    let receipt = clerk.get(&done.location);
    assert!(receipt.text.contains("20.00"), "{}", receipt.text);
    let again = clerk.post(
        "/counter/pickup",
        &[("form_token", &token), ("code", &code)],
    );
    assert_eq!(again.status, 404);
    let mine = resident.get(&placed.location);
    assert!(mine.text.contains("已取货"), "{}", mine.text);
    assert_eq!(app.verify()["ok"], true);
}

/// What the resident sees on a phone, and the clerk at the counter, in Chromium.
fn the_order_pages_in_a_browser(app: TestApp) {
    use crate::common::browser::Browser;
    let s = shop(&app);
    let Some(browser) = Browser::start(390, 844) else {
        return;
    };
    browser.goto(&app.url("/login"));
    browser.fill("#username", "yuding");
    browser.fill("#password", "password-123");
    browser.click("#login-form button[type=submit]");
    browser.wait_for_path("/me");
    browser.goto(&app.url("/shop"));
    browser.screenshot("orders-shop-phone");
    browser.click(".shop-reserve");
    browser.wait_for_path_prefix("/me/orders/new");
    browser.fill("#quantity", "2");
    browser.screenshot("orders-new-phone");
    browser.click("#order-confirm");
    browser.wait_for_path_prefix("/me/orders/0");
    let code = browser.text("#pickup-code");
    assert_eq!(code.len(), 6, "{code}");
    browser.screenshot("orders-code-phone");
    browser.goto(&app.url("/me"));
    assert!(browser.text("#me-holds").contains(&code));
    browser.screenshot("orders-me-phone");
    browser.click("form[action='/logout'] button");
    browser.wait_for_path_prefix("/login");
    browser.set_window_size(1366, 768);
    browser.goto(&app.url("/login"));
    browser.fill("#username", "clerk");
    browser.fill("#password", "password-123");
    browser.click("#login-form button[type=submit]");
    browser.wait_for_path("/counter");
    browser.goto(&app.url("/counter/pickup"));
    browser.fill("#code", "000-00");
    browser.click("#pickup-confirm");
    browser.wait_for_path("/counter/pickup");
    assert!(browser.text("#pickup-problem").contains("六位数字"));
    browser.screenshot("orders-pickup-refused");
    browser.fill("#code", &code);
    browser.click("#pickup-confirm");
    browser.wait_for_path_prefix("/counter/receipts/");
    browser.screenshot("orders-pickup-receipt");
    let _ = s;
}

mod console_runs {
    use crate::common::{Backend, TestApp};

    #[test]
    fn the_console_reserves_and_collects_sqlite() {
        if let Some(app) = TestApp::spawn(Backend::Sqlite) {
            super::the_console_reserves_and_collects(app);
        }
    }

    #[test]
    fn the_console_reserves_and_collects_postgres() {
        if let Some(app) = TestApp::spawn(Backend::Postgres) {
            super::the_console_reserves_and_collects(app);
        }
    }

    #[test]
    fn the_order_pages_in_a_browser_sqlite() {
        if let Some(app) = TestApp::spawn(Backend::Sqlite) {
            super::the_order_pages_in_a_browser(app);
        }
    }
}
