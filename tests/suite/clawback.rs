//! Fraud found after the coins were spent: a reversal takes what the balance holds, the rest is
//! owed and taken from the member's next credits, each part a passbook line naming the reversal
//! it serves, and no balance ever goes below zero.

use crate::common::{Resp, TestApp};
use crate::console::Visitor;
use serde_json::{json, Value};

fn today() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

fn earning_rule(app: &TestApp) -> Value {
    let resp = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": "HELP", "name": "帮扶老人", "category": "邻里互助", "points": "1",
                "unit": "hour", "direction": "earn"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body
}

/// A deed of `hours` × 1 point, submitted by the admin.
fn deed(app: &TestApp, member: &Value, rule: &Value, hours: i64) -> String {
    let resp = app.post(
        "/api/v1/deeds",
        &app.admin_token,
        &json!({"member_id": member["id"], "rule_id": rule["id"], "quantity": hours,
                "occurred_on": today(), "description": "陪老人看病"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body["id"].as_str().unwrap().to_string()
}

fn approve(app: &TestApp, token: &str, id: &str) -> Resp {
    app.request(
        "POST",
        &format!("/api/v1/deeds/{id}/approve"),
        Some(token),
        &[],
        None,
    )
}

fn credited(app: &TestApp, token: &str, id: &str) {
    let resp = approve(app, token, id);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["status"], "credited", "{}", resp.text);
}

fn reverse(app: &TestApp, token: &str, id: &str, reason: &str) -> Resp {
    app.post(
        &format!("/api/v1/deeds/{id}/reverse"),
        token,
        &json!({"reason": reason}),
    )
}

fn owed(app: &TestApp, member: &Value) -> String {
    let id = member["id"].as_str().unwrap();
    let resp = app.get(&format!("/api/v1/members/{id}"), &app.admin_token);
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["owed"].as_str().unwrap().to_string()
}

fn balance(app: &TestApp, member: &Value) -> String {
    app.balance_of(member["account_id"].as_str().unwrap())
}

/// The passbook's lines, oldest first.
fn lines(app: &TestApp, member: &Value) -> Vec<Value> {
    let account = member["account_id"].as_str().unwrap();
    let resp = app.get(
        &format!("/api/v1/accounts/{account}/statement?limit=200"),
        &app.admin_token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["lines"].as_array().unwrap().clone()
}

fn spend(app: &TestApp, member: &Value, key: &str, amount: &str) {
    let resp = app.adjust(
        key,
        member["id"].as_str().unwrap(),
        &format!("-{amount}"),
        "correction",
        "兑换登记补录",
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
}

fn a_reversal_of_spent_coins_takes_what_is_there_and_the_rest_from_next_credits(app: TestApp) {
    let rule = earning_rule(&app);
    let approver = app.user_with_roles("approver", &["admin"], None);
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    let member = app.create_member("周大福");
    let first = deed(&app, &member, &rule, 10);
    credited(&app, &approver, &first);
    // Eight of the ten are spent at the shop.
    let goods = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "OIL", "name": "食用油", "price": "8", "stock": 5}),
    );
    assert_eq!(goods.status, 201, "{}", goods.text);
    let bought = app.request(
        "POST",
        "/api/v1/redemptions",
        Some(&clerk),
        &[("Idempotency-Key", "oil-1")],
        Some(
            &json!({"member_id": member["id"], "lines": [{"goods_id": goods.body["id"], "quantity": 1}]})
                .to_string(),
        ),
    );
    assert_eq!(bought.status, 201, "{}", bought.text);
    assert_eq!(balance(&app, &member), "2.00");
    assert_eq!(owed(&app, &member), "0.00");

    // The deed turns out to be made up: the reversal takes the two there are, eight are owed.
    let r = reverse(&app, &approver, &first, "虚报服务时长");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "reversed");
    assert_eq!(balance(&app, &member), "0.00");
    assert_eq!(owed(&app, &member), "8.00");
    let book = lines(&app, &member);
    let last = book.last().unwrap();
    assert_eq!(last["kind"], "deed_reversal", "{last}");
    assert_eq!(last["amount_out"], "2.00");
    let memo = last["description"].as_str().unwrap();
    assert!(
        memo.contains("实冲 2.00") && memo.contains("尚欠 8.00"),
        "{memo}"
    );
    // The member's own view says so too.
    let (_, own) = {
        let token = app.user_with_roles("zhou", &["resident"], member["id"].as_str());
        ((), app.get("/api/v1/me", &token))
    };
    assert_eq!(own.body["member"]["owed"], "8.00", "{}", own.text);

    // The next credit, five, goes to what is owed: a line for the credit, a line for the clawback.
    let second = deed(&app, &member, &rule, 5);
    credited(&app, &approver, &second);
    assert_eq!(balance(&app, &member), "0.00");
    assert_eq!(owed(&app, &member), "3.00");
    let book = lines(&app, &member);
    let (credit, clawback) = (&book[book.len() - 2], &book[book.len() - 1]);
    assert_eq!(credit["kind"], "deed_credit");
    assert_eq!(credit["amount_in"], "5.00");
    assert_eq!(clawback["kind"], "clawback", "{clawback}");
    assert_eq!(clawback["kind_label"], "追回");
    assert_eq!(clawback["amount_out"], "5.00");
    assert_eq!(clawback["balance_after"], "0.00");
    let memo = clawback["description"].as_str().unwrap();
    assert!(
        memo.contains("冲正 帮扶老人") && memo.contains("本次 5.00，尚欠 3.00"),
        "the line names the reversal it serves: {memo}"
    );

    // The one after settles the rest; what is left over is the member's.
    let third = deed(&app, &member, &rule, 10);
    credited(&app, &approver, &third);
    assert_eq!(balance(&app, &member), "7.00");
    assert_eq!(owed(&app, &member), "0.00");
    let memo = lines(&app, &member).last().unwrap()["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(memo.contains("本次 3.00，尚欠 0.00"), "{memo}");

    // A reversal when the balance holds nothing posts nothing and owes it all.
    let fourth = deed(&app, &member, &rule, 4);
    credited(&app, &approver, &fourth);
    spend(&app, &member, "spend-all", "11");
    let (_, postings_before, _) = app.ledger_snapshot();
    let r = reverse(&app, &approver, &fourth, "重复登记");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "reversed");
    let (_, postings_after, sum) = app.ledger_snapshot();
    assert_eq!(postings_after, postings_before, "nothing to take, no line");
    assert_eq!(sum, 0);
    assert_eq!(owed(&app, &member), "4.00");
    // Reversed once only.
    reverse(&app, &approver, &fourth, "again").assert_problem(409, "invalid_transition");
    assert_eq!(owed(&app, &member), "4.00");
    // A reversal of what nobody spent is whole, as before, and owes nothing.
    let other = app.create_member("吴小妹");
    let fifth = deed(&app, &other, &rule, 6);
    credited(&app, &approver, &fifth);
    let r = reverse(&app, &approver, &fifth, "录错人");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (balance(&app, &other), owed(&app, &other)),
        ("0.00".into(), "0.00".into())
    );
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

/// Many credits land at once, in one batch and from concurrent requests: together they take
/// exactly what is owed, never more, never twice.
fn credits_at_once_repay_exactly_what_is_owed(app: TestApp) {
    let rule = earning_rule(&app);
    let approver = app.user_with_roles("approver", &["admin"], None);
    let member = app.create_member("郑老伯");
    let first = deed(&app, &member, &rule, 23);
    credited(&app, &approver, &first);
    spend(&app, &member, "spent", "23");
    assert_eq!(reverse(&app, &approver, &first, "冒领").status, 200);
    assert_eq!(owed(&app, &member), "23.00");

    // Four in one bulk approval: one engine batch.
    let bulk: Vec<String> = (0..4).map(|_| deed(&app, &member, &rule, 3)).collect();
    let resp = app.post("/api/v1/deeds/approve", &approver, &json!({ "ids": bulk }));
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(owed(&app, &member), "11.00");
    assert_eq!(balance(&app, &member), "0.00");

    // Eight from eight threads at once.
    let single: Vec<String> = (0..8).map(|_| deed(&app, &member, &rule, 2)).collect();
    std::thread::scope(|s| {
        for id in &single {
            let (app, approver) = (&app, &approver);
            s.spawn(move || credited(app, approver, id));
        }
    });
    // 12 + 16 credited against 23 owed: 5 left over, nothing owed.
    assert_eq!(owed(&app, &member), "0.00");
    assert_eq!(balance(&app, &member), "5.00");
    let taken: i64 = lines(&app, &member)
        .iter()
        .filter(|l| l["kind"] == "clawback")
        .map(|l| {
            let out = l["amount_out"].as_str().unwrap();
            (out.parse::<f64>().unwrap() * 100.0).round() as i64
        })
        .sum();
    assert_eq!(taken, 2300, "exactly what was owed");
    let (_, _, sum) = app.ledger_snapshot();
    assert_eq!(sum, 0);
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

/// The resident's page and the counter card say what is still owed.
fn the_console_shows_what_is_owed(app: TestApp) {
    let rule = earning_rule(&app);
    let approver = app.user_with_roles("approver", &["admin"], None);
    let member = app.create_member("王阿姨");
    let first = deed(&app, &member, &rule, 6);
    credited(&app, &approver, &first);
    spend(&app, &member, "spent", "6");
    assert_eq!(reverse(&app, &approver, &first, "虚报").status, 200);
    app.user_with_roles("wang", &["resident"], member["id"].as_str());
    let mut resident = Visitor::new(&app);
    resident.login_ok("wang", "password-123");
    let page = resident.get("/me");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("还欠 <strong>6.00</strong> 分"),
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
    assert_eq!(card.status, 200, "{}", card.text);
    assert!(card.text.contains("尚欠 6.00 分"), "{}", card.text);
    // Someone who owes nothing sees no such line.
    let clear = app.create_member("李清白");
    let card = clerk.get(&format!(
        "/counter/members/{}",
        clear["id"].as_str().unwrap()
    ));
    assert!(!card.text.contains("尚欠"), "{}", card.text);
}

both_backends!(
    a_reversal_of_spent_coins_takes_what_is_there_and_the_rest_from_next_credits,
    credits_at_once_repay_exactly_what_is_owed,
    the_console_shows_what_is_owed,
);
