//! Bad input gets a clear 4xx problem+json and changes nothing.

use crate::common::TestApp;
use serde_json::json;

fn member_count(app: &TestApp) -> usize {
    app.get("/api/v1/members?limit=200", &app.admin_token).body["items"]
        .as_array()
        .unwrap()
        .len()
}

fn bad_adjustments_are_refused_and_write_nothing(app: TestApp) {
    let member = app.create_member("钱十二");
    let id = member["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("seed", id, "10", "opening_balance", "seed")
            .status,
        201
    );
    let before = app.ledger_snapshot();
    let counts = app.ledger_counts();
    let post = |key: &str, body: &str| {
        app.request(
            "POST",
            "/api/v1/adjustments",
            Some(&app.admin_token),
            &[("Idempotency-Key", key)],
            Some(body),
        )
    };
    let valid = |amount: &str| {
        json!({"member_id": id, "amount": amount, "kind": "correction", "reason": "r"}).to_string()
    };
    post("m1", "{not json").assert_problem(400, "malformed_json");
    post("m2", &valid("1")[..20]).assert_problem(400, "malformed_json");
    post(
        "m3",
        &json!({"member_id": id, "amount": "1", "kind": "correction", "reason": "r", "extra": 1})
            .to_string(),
    )
    .assert_problem(422, "validation_failed");
    post(
        "m4",
        &json!({"member_id": id, "amount": 1, "kind": "correction", "reason": "r"}).to_string(),
    )
    .assert_problem(422, "validation_failed");
    post(
        "m5",
        &json!({"member_id": "not-a-uuid", "amount": "1", "kind": "correction", "reason": "r"})
            .to_string(),
    )
    .assert_problem(422, "validation_failed");
    for amount in [
        "1.005",
        "0",
        "0.00",
        "-0",
        "1e3",
        "99999999999999999999",
        "100000000.01",
        "",
        "abc",
        "1,5",
    ] {
        post(&format!("a-{amount}"), &valid(amount)).assert_problem(422, "validation_failed");
    }
    post(
        "k1",
        &json!({"member_id": id, "amount": "1", "kind": "gift", "reason": "r"}).to_string(),
    )
    .assert_problem(422, "validation_failed");
    post(
        "r1",
        &json!({"member_id": id, "amount": "1", "kind": "correction", "reason": "   "}).to_string(),
    )
    .assert_problem(422, "validation_failed");
    post(
        "r2",
        &json!({"member_id": id, "amount": "1", "kind": "correction", "reason": "长".repeat(501)})
            .to_string(),
    )
    .assert_problem(422, "validation_failed");
    post("u1", &json!({"member_id": uuid::Uuid::nil(), "amount": "1", "kind": "correction", "reason": "r"}).to_string())
        .assert_problem(404, "not_found");
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    post("n1", &nested).assert_problem(422, "validation_failed");
    let huge =
        json!({"member_id": id, "amount": "1", "kind": "correction", "reason": "x".repeat(70_000)})
            .to_string();
    post("h1", &huge).assert_problem(413, "payload_too_large");
    app.request(
        "POST",
        "/api/v1/adjustments",
        Some(&app.admin_token),
        &[("Idempotency-Key", "ct"), ("Content-Type", "text/plain")],
        Some(&valid("1")),
    )
    .assert_problem(415, "unsupported_media_type");
    assert_eq!(app.ledger_snapshot(), before);
    assert_eq!(app.ledger_counts(), counts);
}

fn bad_members_and_users_are_refused_and_write_nothing(app: TestApp) {
    let before = member_count(&app);
    let post = |path: &str, body: serde_json::Value| app.post(path, &app.admin_token, &body);
    post("/api/v1/members", json!({"name": ""})).assert_problem(422, "validation_failed");
    post("/api/v1/members", json!({"name": "长".repeat(65)}))
        .assert_problem(422, "validation_failed");
    post(
        "/api/v1/members",
        json!({"name": "张", "member_no": "has space"}),
    )
    .assert_problem(422, "validation_failed");
    post("/api/v1/members", json!({"name": "张", "age": 3}))
        .assert_problem(422, "validation_failed");
    post("/api/v1/members", json!({"name": 5})).assert_problem(422, "validation_failed");
    assert_eq!(member_count(&app), before);

    let created = post("/api/v1/members", json!({"name": "张", "member_no": "b-7"}));
    assert_eq!(created.status, 201);
    assert_eq!(created.body["member_no"], "B-7");
    post("/api/v1/members", json!({"name": "李", "member_no": "B-7"}))
        .assert_problem(409, "member_no_taken");
    assert_eq!(member_count(&app), before + 1);

    let users_before = app.get("/api/v1/users", &app.admin_token).body["items"]
        .as_array()
        .unwrap()
        .len();
    post(
        "/api/v1/users",
        json!({"username": "x".repeat(65), "password": "password-1", "roles": ["clerk"]}),
    )
    .assert_problem(422, "validation_failed");
    post(
        "/api/v1/users",
        json!({"username": "ok", "password": "short", "roles": ["clerk"]}),
    )
    .assert_problem(422, "validation_failed");
    post(
        "/api/v1/users",
        json!({"username": "ok", "password": "password-1", "roles": ["king"]}),
    )
    .assert_problem(422, "validation_failed");
    post(
        "/api/v1/users",
        json!({"username": "ok", "password": "password-1", "roles": []}),
    )
    .assert_problem(422, "validation_failed");
    post(
        "/api/v1/users",
        json!({"username": "ok", "password": "password-1", "roles": ["resident"]}),
    )
    .assert_problem(422, "validation_failed");
    post("/api/v1/users", json!({"username": "ok", "password": "password-1", "roles": ["resident"], "member_id": uuid::Uuid::nil()}))
        .assert_problem(422, "validation_failed");
    post(
        "/api/v1/users",
        json!({"username": "admin", "password": "password-1", "roles": ["clerk"]}),
    )
    .assert_problem(409, "username_taken");
    let users_after = app.get("/api/v1/users", &app.admin_token).body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(users_after, users_before);
}

fn bad_paths_and_queries_get_problems(app: TestApp) {
    app.get("/api/v1/nowhere", &app.admin_token)
        .assert_problem(404, "route_not_found");
    app.get("/api/v1/members/not-a-uuid", &app.admin_token)
        .assert_problem(404, "not_found");
    app.get(
        &format!("/api/v1/accounts/{}", uuid::Uuid::nil()),
        &app.admin_token,
    )
    .assert_problem(404, "not_found");
    app.get("/api/v1/members?limit=0", &app.admin_token)
        .assert_problem(400, "invalid_limit");
    app.get("/api/v1/members?limit=201", &app.admin_token)
        .assert_problem(400, "invalid_limit");
    app.get("/api/v1/members?limit=abc", &app.admin_token)
        .assert_problem(400, "invalid_query");
    app.get("/api/v1/members?color=red", &app.admin_token)
        .assert_problem(400, "invalid_query");
    app.get("/api/v1/members?cursor=zzz", &app.admin_token)
        .assert_problem(400, "invalid_cursor");
    app.get(
        &format!("/api/v1/members?q={}", "x".repeat(65)),
        &app.admin_token,
    )
    .assert_problem(400, "invalid_query");
    let resp = app.request(
        "DELETE",
        "/api/v1/members",
        Some(&app.admin_token),
        &[],
        None,
    );
    assert!(resp.status == 404 || resp.status == 405, "{}", resp.status);
    assert_eq!(
        resp.header("content-type"),
        Some("application/problem+json")
    );
}

fn member_search_and_pages_work(app: TestApp) {
    for name in ["张三", "张四", "李五", "100%纯"] {
        app.create_member(name);
    }
    let found = app.get("/api/v1/members?q=%E5%BC%A0", &app.admin_token); // 张
    let names: Vec<&str> = found.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["张三", "张四"]);
    let pct = app.get("/api/v1/members?q=100%25", &app.admin_token);
    assert_eq!(
        pct.body["items"].as_array().unwrap().len(),
        1,
        "% is searched literally"
    );
    let by_no = app.get("/api/v1/members?member_no=m000003", &app.admin_token);
    assert_eq!(by_no.body["items"][0]["name"], "李五");
    let first = app.get("/api/v1/members?limit=3", &app.admin_token);
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app.get(
        &format!("/api/v1/members?limit=3&cursor={cursor}"),
        &app.admin_token,
    );
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert!(second.body["next_cursor"].is_null());
    assert_eq!(second.body["items"][0]["name"], "100%纯");
}

fn responses_carry_security_headers(app: TestApp) {
    let resp = app.get("/api/v1/me", &app.admin_token);
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(resp.header("x-frame-options"), Some("DENY"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
}

both_backends!(
    bad_adjustments_are_refused_and_write_nothing,
    bad_members_and_users_are_refused_and_write_nothing,
    bad_paths_and_queries_get_problems,
    member_search_and_pages_work,
    responses_carry_security_headers,
);
