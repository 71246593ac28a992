//! Amounts are exact or refused: a value that is not a whole number of hundredths is a 422 on
//! every endpoint that takes one, however many digits it carries. rust_decimal rounds when it
//! parses more digits than it can hold, so "1.99999999999999999999999999999" once became 2.00.

use crate::common::TestApp;
use serde_json::json;

/// Not whole hundredths. Each has more digits than a 96-bit decimal holds, so a parser that
/// rounds sees 2.00, 1.00, 0.00 or 20.00 — all of which would be accepted.
const NOT_HUNDREDTHS: &[&str] = &[
    "1.99999999999999999999999999999",
    "1.00000000000000000000000000001",
    "-1.99999999999999999999999999999",
    "0.000000000000000000000000000001",
    "1.995",
    "1.001",
];

fn amounts_that_are_not_whole_hundredths_are_refused_everywhere(app: TestApp) {
    let member = app.create_member("精确金额");
    let id = member["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("seed", id, "100", "opening_balance", "seed")
            .status,
        201
    );
    let rice = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "RICE", "name": "大米", "price": "20.00", "stock": 10}),
    );
    assert_eq!(rice.status, 201, "{}", rice.text);
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    let before = app.ledger_snapshot();
    let goods_before = app.get("/api/v1/goods", &app.admin_token).body["items"]
        .as_array()
        .unwrap()
        .len();

    for (i, amount) in NOT_HUNDREDTHS.iter().enumerate() {
        let resp = app.adjust(&format!("a{i}"), id, amount, "correction", "r");
        resp.assert_problem(422, "validation_failed");
        assert_eq!(resp.body["field"], "amount", "{amount}: {}", resp.text);

        let price = amount.trim_start_matches('-');
        let resp = app.post(
            "/api/v1/goods",
            &app.admin_token,
            &json!({"sku": format!("G{i}"), "name": "商品", "price": price, "stock": 1}),
        );
        resp.assert_problem(422, "validation_failed");
        assert_eq!(resp.body["field"], "price", "{price}: {}", resp.text);

        let resp = app.post(
            "/api/v1/rules",
            &app.admin_token,
            &json!({"code": format!("R{i}"), "name": "规则", "category": "c", "points": price,
                    "unit": "event", "direction": "earn"}),
        );
        resp.assert_problem(422, "validation_failed");
    }
    for (i, total) in [
        "20.00000000000000000000000000001",
        "19.99999999999999999999999999999",
        "20.001",
    ]
    .iter()
    .enumerate()
    {
        let resp = app.request(
            "POST",
            "/api/v1/redemptions",
            Some(&clerk),
            &[("Idempotency-Key", &format!("r{i}"))],
            Some(
                &json!({"member_id": id, "lines": [{"goods_id": rice.body["id"], "quantity": 1}],
                        "expected_total": total})
                .to_string(),
            ),
        );
        resp.assert_problem(422, "validation_failed");
        assert_eq!(
            resp.body["field"], "expected_total",
            "{total}: {}",
            resp.text
        );
    }
    assert_eq!(app.ledger_snapshot(), before, "no amount moved");
    let goods_after = app.get("/api/v1/goods", &app.admin_token).body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(goods_after, goods_before, "no goods were created");

    // Trailing zeros are exact: "1.500" is 1.50.
    let resp = app.adjust("exact", id, "1.500", "correction", "r");
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["balance"], "101.50");
    let resp = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "SOAP", "name": "肥皂", "price": "2.5000000000", "stock": 1}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["price"], "2.50");
}

both_backends!(amounts_that_are_not_whole_hundredths_are_refused_everywhere);
