//! Whatever a client sends, the server answers 4xx problem+json or success, never 5xx, and junk
//! never moves the ledger.

use crate::common::TestApp;
use proptest::prelude::*;
use serde_json::{json, Value};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("12.345")),
        Just(json!("-0.01")),
        Just(json!("99999999999999999999")),
        Just(json!(uuid::Uuid::nil())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("member_id".to_string()),
                    Just("amount".to_string()),
                    Just("kind".to_string()),
                    Just("reason".to_string()),
                    Just("lines".to_string()),
                    Just("name".to_string()),
                    Just("quantity".to_string()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn junk_never_breaks_the_server_or_moves_the_ledger(app: TestApp) {
    let member = app.create_member("目标");
    let goods = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "G", "name": "g", "price": "1", "stock": 5}),
    );
    let rule = app.post("/api/v1/rules", &app.admin_token, &json!({"code": "R", "name": "r", "category": "c", "points": "1", "unit": "event", "direction": "earn"}));
    assert_eq!(
        app.adjust(
            "seed",
            member["id"].as_str().unwrap(),
            "10",
            "opening_balance",
            "seed"
        )
        .status,
        201
    );
    let id = member["id"].as_str().unwrap();
    let gid = goods.body["id"].as_str().unwrap();
    let rid = rule.body["id"].as_str().unwrap();
    let nil = uuid::Uuid::nil();
    let endpoints: Vec<(&str, String)> = vec![
        ("POST", "/api/v1/auth/login".into()),
        ("POST", "/api/v1/adjustments".into()),
        ("POST", "/api/v1/members".into()),
        ("PATCH", format!("/api/v1/members/{id}")),
        ("POST", "/api/v1/users".into()),
        ("PATCH", format!("/api/v1/users/{nil}")),
        ("POST", "/api/v1/goods".into()),
        ("PATCH", format!("/api/v1/goods/{gid}")),
        ("POST", format!("/api/v1/goods/{gid}/restock")),
        ("POST", "/api/v1/redemptions".into()),
        ("POST", format!("/api/v1/redemptions/{nil}/void")),
        ("POST", "/api/v1/rules".into()),
        ("PATCH", format!("/api/v1/rules/{rid}")),
        ("PUT", "/api/v1/settings".into()),
        ("POST", "/api/v1/deeds".into()),
        ("POST", "/api/v1/deeds/approve".into()),
        ("POST", format!("/api/v1/deeds/{nil}/review")),
        ("POST", format!("/api/v1/deeds/{nil}/reject")),
        ("POST", format!("/api/v1/deeds/{nil}/reverse")),
        ("POST", format!("/api/v1/deeds/{nil}/objections")),
        ("POST", "/api/v1/me/password".into()),
    ];
    let before = app.ledger_snapshot();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 40,
        ..ProptestConfig::default()
    });
    runner
        .run(&(0..endpoints.len(), arbitrary_json()), |(index, body)| {
            let (method, path) = &endpoints[index];
            let resp = app.request(
                method,
                path,
                Some(&app.admin_token),
                &[("Idempotency-Key", "junk")],
                Some(&body.to_string()),
            );
            prop_assert!(
                resp.status < 500,
                "{method} {path} with {body} → {}",
                resp.text
            );
            if resp.status >= 400 {
                prop_assert_eq!(
                    resp.header("content-type"),
                    Some("application/problem+json")
                );
            }
            Ok(())
        })
        .unwrap();
    // Raw junk too: not JSON at all, wrong types of body, huge bodies.
    for (method, path) in &endpoints {
        for raw in ["", "{", "[]", "null", "\"x\"", "{\"a\":", "\u{0}\u{1}"] {
            let resp = app.request(
                method,
                path,
                Some(&app.admin_token),
                &[("Idempotency-Key", "raw")],
                Some(raw),
            );
            assert!(
                resp.status >= 400 && resp.status < 500,
                "{method} {path} with {raw:?} → {}",
                resp.text
            );
        }
    }
    // No coin moved: the same postings, every account as it was. A generated body can by chance
    // be a valid new member ({"name": …}); such a member's passbook opens at zero and stays so.
    let after = app.ledger_snapshot();
    assert_eq!((after.1, after.2), (before.1, before.2), "junk posted");
    for account in &before.0 {
        assert!(after.0.contains(account), "junk moved {account:?}");
    }
    for account in after.0.iter().filter(|a| !before.0.contains(a)) {
        assert_eq!((account.1, account.2), (0, 0), "junk opened {account:?}");
    }
    assert_eq!(app.verify()["ok"], true);
}

both_backends!(junk_never_breaks_the_server_or_moves_the_ledger);
