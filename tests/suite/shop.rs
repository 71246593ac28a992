//! The points shop and the counter: goods, stock, redemptions exactly once, voids exactly once.

use crate::common::{Resp, TestApp, ADMIN_PASSWORD};
use serde_json::{json, Value};

struct Counter {
    clerk: String,
    member: Value,
    goods: Vec<Value>,
}

fn goods(app: &TestApp, sku: &str, name: &str, price: &str, stock: i64) -> Value {
    let resp = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": sku, "name": name, "price": price, "stock": stock}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body
}

/// A clerk, a member holding `balance` points, and two goods (10.00 × 5 and 2.50 × 100).
fn counter(app: &TestApp, balance: &str) -> Counter {
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    let member = app.create_member("兑换居民");
    if balance != "0" {
        let resp = app.adjust(
            "opening",
            member["id"].as_str().unwrap(),
            balance,
            "opening_balance",
            "carried over",
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    let goods = vec![
        goods(app, "RICE-5KG", "大米 5kg", "10.00", 5),
        goods(app, "SOAP", "肥皂", "2.50", 100),
    ];
    Counter {
        clerk,
        member,
        goods,
    }
}

fn redeem(app: &TestApp, token: &str, key: &str, body: &Value) -> Resp {
    app.request(
        "POST",
        "/api/v1/redemptions",
        Some(token),
        &[("Idempotency-Key", key)],
        Some(&body.to_string()),
    )
}

fn basket(c: &Counter, lines: &[(usize, i64)]) -> Value {
    json!({
        "member_id": c.member["id"],
        "lines": lines.iter().map(|(g, q)| json!({"goods_id": c.goods[*g]["id"], "quantity": q})).collect::<Vec<_>>(),
    })
}

fn stock_of(app: &TestApp, goods: &Value) -> i64 {
    let resp = app.get(
        &format!("/api/v1/goods/{}", goods["id"].as_str().unwrap()),
        &app.admin_token,
    );
    resp.body["stock"].as_i64().unwrap()
}

fn a_redemption_debits_the_member_credits_the_shop_and_takes_stock(app: TestApp) {
    let c = counter(&app, "50");
    let resp = redeem(&app, &c.clerk, "r1", &basket(&c, &[(0, 2), (1, 4)]));
    assert_eq!(resp.status, 201, "{}", resp.text);
    let r = &resp.body;
    assert_eq!(r["total"], "30.00");
    assert_eq!(r["balance_after"], "20.00");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["clerk_username"], "clerk");
    assert_eq!(r["member_no"], c.member["member_no"]);
    assert_eq!(r["lines"][0]["sku"], "RICE-5KG");
    assert_eq!(r["lines"][0]["unit_price"], "10.00");
    assert_eq!(r["lines"][0]["line_total"], "20.00");
    assert_eq!(r["lines"][1]["line_total"], "10.00");
    assert!(r["void"].is_null());
    assert_eq!(
        app.balance_of(c.member["account_id"].as_str().unwrap()),
        "20.00"
    );
    assert_eq!(stock_of(&app, &c.goods[0]), 3);
    assert_eq!(stock_of(&app, &c.goods[1]), 96);

    let receipt = app.get(
        &format!("/api/v1/redemptions/{}", r["id"].as_str().unwrap()),
        &c.clerk,
    );
    assert_eq!(
        receipt.text, resp.text,
        "the receipt is what the counter was told"
    );
    let register = app.get("/api/v1/redemptions", &c.clerk);
    assert_eq!(register.body["items"].as_array().unwrap().len(), 1);
    let day = r["local_day"].as_str().unwrap();
    let totals = app.get(&format!("/api/v1/redemptions/totals?day={day}"), &c.clerk);
    assert_eq!(totals.status, 200, "{}", totals.text);
    assert_eq!(totals.body["coins_taken"], "30.00");
    assert_eq!(totals.body["redemptions"], 1);
    assert_eq!(totals.body["items"][0]["sku"], "RICE-5KG");
    assert_eq!(totals.body["items"][0]["quantity"], 2);
    assert_eq!(totals.body["items"][1]["quantity"], 4);
    // Default day is today in the community's time.
    let today = app.get("/api/v1/redemptions/totals", &c.clerk);
    assert_eq!(today.body["day"], day);

    let movements = app.get(
        &format!(
            "/api/v1/goods/{}/movements",
            c.goods[0]["id"].as_str().unwrap()
        ),
        &c.clerk,
    );
    let kinds: Vec<(&str, i64, i64)> = movements.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap(),
                m["quantity"].as_i64().unwrap(),
                m["stock_after"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, vec![("initial", 5, 5), ("redemption", -2, 3)]);
    let verify = app.verify();
    assert_eq!(verify["ok"], true, "{verify}");
}

fn each_refusal_changes_nothing(app: TestApp) {
    let c = counter(&app, "25");
    let inactive = goods(&app, "OLD", "旧货", "1.00", 10);
    let resp = app.request(
        "PATCH",
        &format!("/api/v1/goods/{}", inactive["id"].as_str().unwrap()),
        Some(&app.admin_token),
        &[],
        Some(&json!({"status": "inactive"}).to_string()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let before = app.ledger_snapshot();
    let counts = app.ledger_counts();
    let stocks = (stock_of(&app, &c.goods[0]), stock_of(&app, &c.goods[1]));

    let r = redeem(&app, &c.clerk, "a", &basket(&c, &[(0, 3)]));
    r.assert_problem(422, "insufficient_balance");
    assert_eq!(r.body["balance"], "25.00");
    assert_eq!(r.body["required"], "30.00");

    let r = redeem(&app, &c.clerk, "b", &basket(&c, &[(0, 6), (1, 1)]));
    r.assert_problem(409, "out_of_stock");
    assert_eq!(r.body["items"][0]["sku"], "RICE-5KG");
    assert_eq!(r.body["items"][0]["available"], 5);
    assert_eq!(r.body["items"][0]["requested"], 6);

    let r = redeem(
        &app,
        &c.clerk,
        "c",
        &json!({"member_id": c.member["id"], "lines": [{"goods_id": inactive["id"], "quantity": 1}]}),
    );
    r.assert_problem(409, "goods_inactive");

    let mut priced = basket(&c, &[(1, 2)]);
    priced["expected_total"] = json!("4.00");
    let r = redeem(&app, &c.clerk, "d", &priced);
    r.assert_problem(409, "price_changed");
    assert_eq!(r.body["total"], "5.00");

    let r = redeem(&app, &c.clerk, "e", &basket(&c, &[(1, 1), (1, 1)]));
    r.assert_problem(422, "validation_failed");
    let r = redeem(&app, &c.clerk, "f", &basket(&c, &[(1, 101)]));
    r.assert_problem(422, "validation_failed");
    let r = redeem(
        &app,
        &c.clerk,
        "g",
        &json!({"member_id": c.member["id"], "lines": []}),
    );
    r.assert_problem(422, "validation_failed");
    let r = redeem(
        &app,
        &c.clerk,
        "h",
        &json!({"member_id": c.member["id"], "lines": [{"goods_id": uuid::Uuid::nil(), "quantity": 1}]}),
    );
    r.assert_problem(422, "goods_not_found");
    let r = app.request(
        "POST",
        "/api/v1/redemptions",
        Some(&c.clerk),
        &[],
        Some(&basket(&c, &[(1, 1)]).to_string()),
    );
    r.assert_problem(400, "idempotency_key_missing");

    // An inactive member cannot redeem.
    let resp = app.request(
        "PATCH",
        &format!("/api/v1/members/{}", c.member["id"].as_str().unwrap()),
        Some(&app.admin_token),
        &[],
        Some(&json!({"status": "inactive"}).to_string()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let r = redeem(&app, &c.clerk, "i", &basket(&c, &[(1, 1)]));
    r.assert_problem(409, "member_inactive");

    assert_eq!(app.ledger_snapshot(), before);
    // No journal row, no posting; each refusal the ledger gave (six of them) is kept as the
    // answer to its idempotency key, the malformed baskets were never the ledger's.
    let after = app.ledger_counts();
    assert_eq!(
        (after.0, after.1, after.2),
        (counts.0, counts.1, counts.2 + 6)
    );
    assert_eq!(
        (stock_of(&app, &c.goods[0]), stock_of(&app, &c.goods[1])),
        stocks
    );
    let register = app.get("/api/v1/redemptions", &c.clerk);
    assert_eq!(register.body["items"].as_array().unwrap().len(), 0);
}

fn a_price_change_applies_to_new_baskets_only(app: TestApp) {
    let c = counter(&app, "100");
    let first = redeem(&app, &c.clerk, "before", &basket(&c, &[(1, 2)]));
    assert_eq!(first.body["total"], "5.00");
    let resp = app.request(
        "PATCH",
        &format!("/api/v1/goods/{}", c.goods[1]["id"].as_str().unwrap()),
        Some(&app.admin_token),
        &[],
        Some(&json!({"price": "3.00"}).to_string()),
    );
    assert_eq!(resp.body["price"], "3.00");
    let mut stale = basket(&c, &[(1, 2)]);
    stale["expected_total"] = json!("5.00");
    redeem(&app, &c.clerk, "stale", &stale).assert_problem(409, "price_changed");
    let second = redeem(&app, &c.clerk, "after", &basket(&c, &[(1, 2)]));
    assert_eq!(second.body["total"], "6.00");
    let old = app.get(
        &format!("/api/v1/redemptions/{}", first.body["id"].as_str().unwrap()),
        &c.clerk,
    );
    assert_eq!(
        old.body["lines"][0]["unit_price"], "2.50",
        "past redemptions keep their price"
    );
    assert_eq!(old.body["total"], "5.00");
}

fn a_replay_returns_the_first_answer_also_after_restart(app: TestApp) {
    let mut app = app;
    let c = counter(&app, "100");
    let body = basket(&c, &[(0, 1)]);
    let first = redeem(&app, &c.clerk, "same", &body);
    assert_eq!(first.status, 201);
    let again = redeem(&app, &c.clerk, "same", &body);
    assert_eq!((again.status, &again.text), (201, &first.text));
    app.restart();
    let clerk = app.login_ok("clerk", "password-123");
    let after = redeem(&app, &clerk, "same", &body);
    assert_eq!((after.status, &after.text), (201, &first.text));
    // Another body under the same key is refused.
    redeem(&app, &clerk, "same", &basket(&c, &[(0, 2)]))
        .assert_problem(422, "idempotency_key_reused");
    // Even after a void, the replay is the first answer.
    let id = first.body["id"].as_str().unwrap();
    let voided = app.post(
        &format!("/api/v1/redemptions/{id}/void"),
        &clerk,
        &json!({"reason": "扫错"}),
    );
    assert_eq!(voided.status, 200, "{}", voided.text);
    let replay = redeem(&app, &clerk, "same", &body);
    assert_eq!(replay.text, first.text);
    assert_eq!(stock_of(&app, &c.goods[0]), 5);
    assert_eq!(
        app.balance_of(c.member["account_id"].as_str().unwrap()),
        "100.00"
    );
}

fn sixteen_concurrent_requests_with_one_key_redeem_once(app: TestApp) {
    let c = counter(&app, "100");
    let body = basket(&c, &[(1, 1)]);
    let answers: Vec<Resp> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| s.spawn(|| redeem(&app, &c.clerk, "one-key", &body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .filter(|a| a.status == 201)
        .map(|a| a.body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one redemption, whatever each caller heard");
    for a in &answers {
        assert!(
            a.status == 201 || (a.status == 409 && a.code() == "idempotency_key_in_use"),
            "{}",
            a.text
        );
    }
    assert_eq!(stock_of(&app, &c.goods[1]), 99);
    assert_eq!(
        app.balance_of(c.member["account_id"].as_str().unwrap()),
        "97.50"
    );
    assert_eq!(
        app.get("/api/v1/redemptions", &c.clerk).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn two_clerks_race_for_the_last_item(app: TestApp) {
    let clerk_a = app.user_with_roles("clerk-a", &["clerk"], None);
    let clerk_b = app.user_with_roles("clerk-b", &["clerk"], None);
    let last = goods(&app, "LAST", "最后一件", "1.00", 1);
    let members: Vec<Value> = (0..2)
        .map(|i| {
            let m = app.create_member(&format!("顾客{i}"));
            app.adjust(
                &format!("o{i}"),
                m["id"].as_str().unwrap(),
                "10",
                "opening_balance",
                "r",
            );
            m
        })
        .collect();
    for round in 0..5 {
        if round > 0 {
            let resp = app.post(
                &format!("/api/v1/goods/{}/restock", last["id"].as_str().unwrap()),
                &app.admin_token,
                &json!({"quantity": 1, "reason": "再来一件"}),
            );
            assert_eq!(resp.body["stock"], 1, "{}", resp.text);
        }
        let answers: Vec<Resp> = std::thread::scope(|s| {
            let a = s.spawn(|| {
                redeem(&app, &clerk_a, &format!("a{round}"), &json!({"member_id": members[0]["id"], "lines": [{"goods_id": last["id"], "quantity": 1}]}))
            });
            let b = s.spawn(|| {
                redeem(&app, &clerk_b, &format!("b{round}"), &json!({"member_id": members[1]["id"], "lines": [{"goods_id": last["id"], "quantity": 1}]}))
            });
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        let won = answers.iter().filter(|a| a.status == 201).count();
        assert_eq!(won, 1, "exactly one clerk gets the last item");
        let lost = answers.iter().find(|a| a.status != 201).unwrap();
        lost.assert_problem(409, "out_of_stock");
        assert_eq!(lost.body["items"][0]["available"], 0);
        assert_eq!(stock_of(&app, &last), 0);
    }
    assert_eq!(app.verify()["ok"], true);
}

fn sixty_four_redemptions_on_a_balance_for_ten(app: TestApp) {
    let c = counter(&app, "25");
    let answers: Vec<Resp> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let app = &app;
                let c = &c;
                s.spawn(move || redeem(app, &c.clerk, &format!("k{i}"), &basket(c, &[(1, 1)])))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(ok, 10);
    for a in answers.iter().filter(|a| a.status != 201) {
        a.assert_problem(422, "insufficient_balance");
    }
    assert_eq!(
        app.balance_of(c.member["account_id"].as_str().unwrap()),
        "0.00"
    );
    assert_eq!(stock_of(&app, &c.goods[1]), 90);
    let (_, postings, sum) = app.ledger_snapshot();
    assert_eq!(postings, 2 + 2 * 10);
    assert_eq!(sum, 0);
    assert_eq!(app.verify()["ok"], true);
}

fn a_void_restores_coins_and_stock_once(app: TestApp) {
    let c = counter(&app, "50");
    let r = redeem(&app, &c.clerk, "v", &basket(&c, &[(0, 2), (1, 2)]));
    assert_eq!(r.status, 201);
    let id = r.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/redemptions/{id}/void"),
        &c.clerk,
        &json!({"reason": " "}),
    )
    .assert_problem(422, "validation_failed");
    let voided = app.post(
        &format!("/api/v1/redemptions/{id}/void"),
        &c.clerk,
        &json!({"reason": "扫错商品"}),
    );
    assert_eq!(voided.status, 200, "{}", voided.text);
    assert_eq!(voided.body["status"], "voided");
    assert_eq!(voided.body["void"]["reason"], "扫错商品");
    assert_eq!(
        app.balance_of(c.member["account_id"].as_str().unwrap()),
        "50.00"
    );
    assert_eq!(stock_of(&app, &c.goods[0]), 5);
    assert_eq!(stock_of(&app, &c.goods[1]), 100);
    let counts = app.ledger_counts();
    let again = app.post(
        &format!("/api/v1/redemptions/{id}/void"),
        &app.admin_token,
        &json!({"reason": "again"}),
    );
    again.assert_problem(409, "already_voided");
    assert_eq!(app.ledger_counts(), counts);
    // Two voids at once: one wins, the other hears already_voided.
    let r = redeem(&app, &c.clerk, "v2", &basket(&c, &[(1, 1)]));
    let id = r.body["id"].as_str().unwrap().to_string();
    let answers: Vec<Resp> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    app.post(
                        &format!("/api/v1/redemptions/{id}/void"),
                        &c.clerk,
                        &json!({"reason": "x"}),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 1);
    assert_eq!(stock_of(&app, &c.goods[1]), 100);
    assert_eq!(
        app.balance_of(c.member["account_id"].as_str().unwrap()),
        "50.00"
    );
    let totals = app.get("/api/v1/redemptions/totals", &c.clerk);
    assert_eq!(totals.body["voided"], 2);
    assert_eq!(totals.body["coins_taken"], "0.00");
    assert_eq!(app.verify()["ok"], true);
}

fn residents_cannot_redeem_and_see_only_their_own_receipts(app: TestApp) {
    let c = counter(&app, "50");
    let (other, resident) = app.resident("旁人", "pangren");
    app.adjust(
        "o",
        other["id"].as_str().unwrap(),
        "20",
        "opening_balance",
        "r",
    );
    let r = redeem(
        &app,
        &resident,
        "self",
        &json!({"member_id": other["id"], "lines": [{"goods_id": c.goods[1]["id"], "quantity": 1}]}),
    );
    r.assert_problem(403, "forbidden");
    let mine = redeem(
        &app,
        &c.clerk,
        "m",
        &json!({"member_id": other["id"], "lines": [{"goods_id": c.goods[1]["id"], "quantity": 1}]}),
    );
    let theirs = redeem(&app, &c.clerk, "t", &basket(&c, &[(1, 1)]));
    assert_eq!(
        app.get(
            &format!("/api/v1/redemptions/{}", mine.body["id"].as_str().unwrap()),
            &resident
        )
        .status,
        200
    );
    app.get(
        &format!(
            "/api/v1/redemptions/{}",
            theirs.body["id"].as_str().unwrap()
        ),
        &resident,
    )
    .assert_problem(404, "not_found");
    let list = app.get("/api/v1/redemptions", &resident);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["member_id"], other["id"]);
    let others = app.get(
        &format!(
            "/api/v1/redemptions?member_id={}",
            c.member["id"].as_str().unwrap()
        ),
        &resident,
    );
    assert_eq!(others.body["items"].as_array().unwrap().len(), 0);
    // A clerk who is also a resident cannot serve themself.
    let clerk_member = app.create_member("店员本人");
    let clerk2 = app.user_with_roles(
        "clerk2",
        &["clerk", "resident"],
        clerk_member["id"].as_str(),
    );
    app.adjust(
        "cm",
        clerk_member["id"].as_str().unwrap(),
        "20",
        "opening_balance",
        "r",
    );
    redeem(&app, &clerk2, "mine", &json!({"member_id": clerk_member["id"], "lines": [{"goods_id": c.goods[1]["id"], "quantity": 1}]}))
        .assert_problem(403, "forbidden_self_redemption");
}

fn a_monthly_limit_is_enforced_and_freed_by_a_void(app: TestApp) {
    let c = counter(&app, "100");
    let oil = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "OIL", "name": "食用油", "price": "5.00", "stock": 50, "monthly_limit": 2}),
    );
    assert_eq!(oil.status, 201, "{}", oil.text);
    let line = |q: i64| json!({"member_id": c.member["id"], "lines": [{"goods_id": oil.body["id"], "quantity": q}]});
    assert_eq!(redeem(&app, &c.clerk, "o1", &line(1)).status, 201);
    let r = redeem(&app, &c.clerk, "o2", &line(2));
    r.assert_problem(422, "monthly_limit");
    assert_eq!(r.body["remaining"], 1);
    let second = redeem(&app, &c.clerk, "o3", &line(1));
    assert_eq!(second.status, 201);
    redeem(&app, &c.clerk, "o4", &line(1)).assert_problem(422, "monthly_limit");
    let id = second.body["id"].as_str().unwrap();
    assert_eq!(
        app.post(
            &format!("/api/v1/redemptions/{id}/void"),
            &c.clerk,
            &json!({"reason": "退回"})
        )
        .status,
        200
    );
    assert_eq!(redeem(&app, &c.clerk, "o5", &line(1)).status, 201);
}

fn goods_input_is_checked(app: TestApp) {
    let post = |body: Value| app.post("/api/v1/goods", &app.admin_token, &body);
    post(json!({"sku": "A", "name": "x", "price": "0", "stock": 1}))
        .assert_problem(422, "validation_failed");
    post(json!({"sku": "A", "name": "x", "price": "1.001", "stock": 1}))
        .assert_problem(422, "validation_failed");
    post(json!({"sku": "A", "name": "x", "price": "1", "stock": -1}))
        .assert_problem(422, "validation_failed");
    post(json!({"sku": "a b", "name": "x", "price": "1", "stock": 1}))
        .assert_problem(422, "validation_failed");
    post(json!({"sku": "A", "name": "", "price": "1", "stock": 1}))
        .assert_problem(422, "validation_failed");
    post(json!({"sku": "A", "name": "x", "price": "1", "stock": 1, "monthly_limit": 0}))
        .assert_problem(422, "validation_failed");
    assert_eq!(
        post(json!({"sku": "a", "name": "x", "price": "1", "stock": 1})).status,
        201
    );
    post(json!({"sku": "A", "name": "y", "price": "1", "stock": 1}))
        .assert_problem(409, "sku_taken");
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    app.post(
        "/api/v1/goods",
        &clerk,
        &json!({"sku": "B", "name": "x", "price": "1", "stock": 1}),
    )
    .assert_problem(403, "forbidden");
    let list = app.get("/api/v1/goods", &clerk);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let id = list.body["items"][0]["id"].as_str().unwrap();
    let restock = |q: i64| {
        app.post(
            &format!("/api/v1/goods/{id}/restock"),
            &app.admin_token,
            &json!({"quantity": q, "reason": "r"}),
        )
    };
    restock(0).assert_problem(422, "validation_failed");
    restock(1_000_001).assert_problem(422, "validation_failed");
    assert_eq!(restock(4).body["stock"], 5);
    app.post(
        &format!("/api/v1/goods/{id}/restock"),
        &clerk,
        &json!({"quantity": 1, "reason": "r"}),
    )
    .assert_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/goods/{}/restock", uuid::Uuid::nil()),
        &app.admin_token,
        &json!({"quantity": 1, "reason": "r"}),
    )
    .assert_problem(422, "goods_not_found");
}

fn a_clerk_voids_only_on_the_day_an_admin_any_day(app: TestApp) {
    let mut app = app;
    let c = counter(&app, "50");
    let r = redeem(&app, &c.clerk, "yesterday", &basket(&c, &[(1, 2)]));
    let id = r.body["id"].as_str().unwrap().to_string();
    // Move the redemption to yesterday behind the service's back, then start afresh.
    {
        use diesel::connection::SimpleConnection;
        let mut conn = app.db.connect();
        conn.batch_execute(&format!(
            "UPDATE redemptions SET local_day = '2000-01-01' WHERE id = '{id}'"
        ))
        .unwrap();
    }
    app.restart();
    let clerk = app.login_ok("clerk", "password-123");
    let admin = app.login_ok("admin", ADMIN_PASSWORD);
    app.post(
        &format!("/api/v1/redemptions/{id}/void"),
        &clerk,
        &json!({"reason": "late"}),
    )
    .assert_problem(403, "void_window_closed");
    let voided = app.post(
        &format!("/api/v1/redemptions/{id}/void"),
        &admin,
        &json!({"reason": "late"}),
    );
    assert_eq!(voided.status, 200, "{}", voided.text);
    assert_eq!(
        app.balance_of(c.member["account_id"].as_str().unwrap()),
        "50.00"
    );
}

/// "Today" at the counter is the community's day by the service's clock, the one the receipts
/// are stamped with: three days on, the day's totals hold the redemption just made.
fn the_days_totals_are_for_the_day_the_receipts_are_stamped_with(app: TestApp) {
    app.clock.advance(chrono::Duration::days(3));
    let c = counter(&app, "50");
    let r = redeem(&app, &c.clerk, "three-days-on", &basket(&c, &[(1, 2)]));
    assert_eq!(r.status, 201, "{}", r.text);
    let totals = app.get("/api/v1/redemptions/totals", &c.clerk);
    assert_eq!(totals.status, 200, "{}", totals.text);
    assert_eq!(totals.body["day"], r.body["local_day"], "{}", totals.text);
    assert_eq!(totals.body["redemptions"], 1, "{}", totals.text);
    assert_eq!(totals.body["coins_taken"], "5.00", "{}", totals.text);
}

both_backends!(
    a_clerk_voids_only_on_the_day_an_admin_any_day,
    the_days_totals_are_for_the_day_the_receipts_are_stamped_with,
    a_redemption_debits_the_member_credits_the_shop_and_takes_stock,
    each_refusal_changes_nothing,
    a_price_change_applies_to_new_baskets_only,
    a_replay_returns_the_first_answer_also_after_restart,
    sixteen_concurrent_requests_with_one_key_redeem_once,
    two_clerks_race_for_the_last_item,
    sixty_four_redemptions_on_a_balance_for_ten,
    a_void_restores_coins_and_stock_once,
    residents_cannot_redeem_and_see_only_their_own_receipts,
    a_monthly_limit_is_enforced_and_freed_by_a_void,
    goods_input_is_checked,
);
