//! Login, tokens, revocation, throttling, and who may do what.

use crate::common::{TestApp, ADMIN_PASSWORD, JWT_SECRET};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

fn claims_for(app: &TestApp, token: &str) -> serde_json::Value {
    let me = app.get("/api/v1/me", token);
    assert_eq!(me.status, 200, "{}", me.text);
    json!({
        "sub": me.body["user"]["id"],
        "com": me.body["user"]["community_id"],
        "roles": me.body["user"]["roles"],
        "tv": 0,
    })
}

fn forge(claims: &serde_json::Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn login_issues_a_bearer_token_and_me_names_the_user(app: TestApp) {
    let resp = app.login("admin", ADMIN_PASSWORD);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body["token_type"], "Bearer");
    assert_eq!(resp.body["expires_in"], 8 * 3600);
    let me = app.get("/api/v1/me", resp.body["access_token"].as_str().unwrap());
    assert_eq!(me.body["user"]["username"], "admin");
    assert_eq!(me.body["user"]["roles"], json!(["admin"]));
    assert!(me.body["member"].is_null());

    let (member, token) = app.resident("刘一", "liuyi");
    let me = app.get("/api/v1/me", &token);
    assert_eq!(me.body["member"]["id"], member["id"]);
    assert_eq!(me.body["member"]["balance"], "0.00");
    assert_eq!(me.body["member"]["name"], "刘一");
}

fn a_wrong_password_and_an_unknown_user_look_the_same(app: TestApp) {
    let wrong = app.login("admin", "not-the-password");
    wrong.assert_problem(401, "invalid_credentials");
    let unknown = app.login("nobody-here", "not-the-password");
    unknown.assert_problem(401, "invalid_credentials");
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
}

fn repeated_failures_are_throttled(app: TestApp) {
    for _ in 0..5 {
        app.login("admin", "guess")
            .assert_problem(401, "invalid_credentials");
    }
    let throttled = app.login("admin", "guess");
    throttled.assert_problem(429, "too_many_attempts");
    let retry: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    // Even the right password waits until the window passes.
    app.login("admin", ADMIN_PASSWORD)
        .assert_problem(429, "too_many_attempts");
}

fn expired_future_foreign_and_malformed_tokens_are_refused(app: TestApp) {
    let mut claims = claims_for(&app, &app.admin_token);
    let now = chrono::Utc::now().timestamp();
    // Sanity: a token we forge correctly is accepted, so the refusals below test what they say.
    claims["iat"] = json!(now);
    claims["nbf"] = json!(now);
    claims["exp"] = json!(now + 600);
    assert_eq!(
        app.get("/api/v1/me", &forge(&claims, JWT_SECRET)).status,
        200
    );

    let mut expired = claims.clone();
    expired["iat"] = json!(now - 7200);
    expired["nbf"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    app.get("/api/v1/me", &forge(&expired, JWT_SECRET))
        .assert_problem(401, "invalid_token");

    let mut not_yet = claims.clone();
    not_yet["nbf"] = json!(now + 3600);
    app.get("/api/v1/me", &forge(&not_yet, JWT_SECRET))
        .assert_problem(401, "invalid_token");

    app.get(
        "/api/v1/me",
        &forge(&claims, "another-secret-another-secret-another"),
    )
    .assert_problem(401, "invalid_token");

    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    app.get("/api/v1/me", &forge(&no_exp, JWT_SECRET))
        .assert_problem(401, "invalid_token");

    // alg: none, with the same claims.
    use base64_like::encode_segment;
    let unsigned = format!(
        "{}.{}.",
        encode_segment(br#"{"alg":"none","typ":"JWT"}"#),
        encode_segment(claims.to_string().as_bytes())
    );
    app.get("/api/v1/me", &unsigned)
        .assert_problem(401, "invalid_token");

    for garbage in ["", "abc", "a.b.c", "Bearer"] {
        app.get("/api/v1/me", garbage)
            .assert_problem(401, "invalid_token");
    }
    app.request("GET", "/api/v1/me", None, &[], None)
        .assert_problem(401, "missing_token");
}

/// Just enough base64url to build an unsigned token without another dependency.
mod base64_like {
    pub fn encode_segment(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    }
}

fn logout_revokes_every_token_of_the_user(app: TestApp) {
    let first = app.login_ok("admin", ADMIN_PASSWORD);
    let second = app.login_ok("admin", ADMIN_PASSWORD);
    // Both are in use (and so remembered by the server) when the user logs out.
    assert_eq!(app.get("/api/v1/me", &first).status, 200);
    assert_eq!(app.get("/api/v1/me", &second).status, 200);
    let resp = app.request("POST", "/api/v1/auth/logout", Some(&first), &[], None);
    assert_eq!(resp.status, 204, "{}", resp.text);
    app.get("/api/v1/me", &first)
        .assert_problem(401, "invalid_token");
    app.get("/api/v1/me", &second)
        .assert_problem(401, "invalid_token");
    let fresh = app.login_ok("admin", ADMIN_PASSWORD);
    assert_eq!(app.get("/api/v1/me", &fresh).status, 200);
}

/// Two instances on one database: a logout through one is honoured by the other once the other's
/// short memory of the user ages out (`MORALBANK_AUTH_CACHE_MS`, one second by default).
fn a_logout_through_another_instance_takes_effect_within_the_cache_time(app: TestApp) {
    let other = TestApp::spawn_on(app.backend, app.db.shared());
    let token = app.login_ok("admin", ADMIN_PASSWORD);
    assert_eq!(other.get("/api/v1/me", &token).status, 200);
    let resp = app.request("POST", "/api/v1/auth/logout", Some(&token), &[], None);
    assert_eq!(resp.status, 204, "{}", resp.text);
    app.get("/api/v1/me", &token)
        .assert_problem(401, "invalid_token");
    let revoked = std::time::Instant::now();
    loop {
        let resp = other.get("/api/v1/me", &token);
        if resp.status == 401 {
            resp.assert_problem(401, "invalid_token");
            break;
        }
        assert_eq!(resp.status, 200, "{}", resp.text);
        assert!(
            revoked.elapsed() < std::time::Duration::from_millis(1_500),
            "the other instance still honours a revoked token after {:?}",
            revoked.elapsed()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn a_password_change_revokes_old_tokens_and_needs_the_current_password(app: TestApp) {
    let token = app.user_with_roles("clerk1", &["clerk"], None);
    app.post(
        "/api/v1/me/password",
        &token,
        &json!({"current_password": "wrong-one", "new_password": "new-password-1"}),
    )
    .assert_problem(403, "wrong_password");
    app.post(
        "/api/v1/me/password",
        &token,
        &json!({"current_password": "password-123", "new_password": "short"}),
    )
    .assert_problem(422, "validation_failed");
    let resp = app.post(
        "/api/v1/me/password",
        &token,
        &json!({"current_password": "password-123", "new_password": "new-password-1"}),
    );
    assert_eq!(resp.status, 204, "{}", resp.text);
    app.get("/api/v1/me", &token)
        .assert_problem(401, "invalid_token");
    app.login("clerk1", "password-123")
        .assert_problem(401, "invalid_credentials");
    app.login_ok("clerk1", "new-password-1");
}

/// Every endpoint of this foundation, for each role and for no token.
fn each_role_reaches_only_what_it_may(app: TestApp) {
    let (member, resident) = app.resident("陈二", "chener");
    let goods = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "SOAP", "name": "肥皂", "price": "1.00", "stock": 1000}),
    );
    assert_eq!(goods.status, 201, "{}", goods.text);
    let goods_id = goods.body["id"].as_str().unwrap().to_string();
    let (other_member, _) = app.resident("林三", "linsan");
    let clerk = app.user_with_roles("clerk", &["clerk"], None);
    let reviewer = app.user_with_roles("reviewer", &["reviewer"], None);
    let auditor = app.user_with_roles("auditor", &["auditor"], None);
    let admin = app.admin_token.clone();
    let code = app.get("/api/v1/me", &app.admin_token).body["community"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let own_member = member["id"].as_str().unwrap();
    let own_account = member["account_id"].as_str().unwrap();
    let other_id = other_member["id"].as_str().unwrap();
    let other_account = other_member["account_id"].as_str().unwrap();

    let new_member = json!({"name": "新居民"}).to_string();
    let new_user = |n: &str| {
        json!({"username": n, "password": "password-123", "roles": ["clerk"]}).to_string()
    };
    let adjustment =
        json!({"member_id": other_id, "amount": "100", "kind": "opening_balance", "reason": "r"})
            .to_string();
    let redemption =
        json!({"member_id": other_id, "lines": [{"goods_id": goods_id, "quantity": 1}]})
            .to_string();
    // Coins for the other resident, and one redemption to read and to void, before the table.
    let made = app.request(
        "POST",
        "/api/v1/adjustments",
        Some(&app.admin_token),
        &[("Idempotency-Key", "setup")],
        Some(&adjustment),
    );
    assert_eq!(made.status, 201, "{}", made.text);
    let other_redemption = app.request(
        "POST",
        "/api/v1/redemptions",
        Some(&app.admin_token),
        &[("Idempotency-Key", "setup-redemption")],
        Some(&redemption),
    );
    assert_eq!(other_redemption.status, 201, "{}", other_redemption.text);
    let other_redemption_id = other_redemption.body["id"].as_str().unwrap().to_string();
    // A grant the only admin proposed: nobody here may decide it (its proposer least of all).
    let grant = app.post(
        "/api/v1/fund/grants",
        &app.admin_token,
        &json!({"member_id": other_id, "amount": "1", "reason": "r"}),
    );
    assert_eq!(grant.status, 201, "{}", grant.text);
    let grant_id = grant.body["id"].as_str().unwrap().to_string();
    // An order the admin placed for the other resident (to read, then cancel at the counter),
    // and a household headed by the resident (who may read it).
    let setup_order = app.request(
        "POST",
        "/api/v1/orders",
        Some(&app.admin_token),
        &[("Idempotency-Key", "setup-order")],
        Some(&redemption),
    );
    assert_eq!(setup_order.status, 201, "{}", setup_order.text);
    let order_id = setup_order.body["id"].as_str().unwrap().to_string();
    let bogus_code = if setup_order.body["pickup_code"] == "000000" {
        "000001"
    } else {
        "000000"
    };
    let setup_household = app.post(
        "/api/v1/households",
        &app.admin_token,
        &json!({"name": "陈家", "head_member_id": own_member}),
    );
    assert_eq!(setup_household.status, 201, "{}", setup_household.text);
    let household_id = setup_household.body["id"].as_str().unwrap().to_string();
    let donation = json!({"member_id": other_id, "amount": "1"}).to_string();
    let proposal = json!({"member_id": other_id, "amount": "1", "reason": "r"}).to_string();
    let rule = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": "HELP", "name": "助人为乐", "category": "好人好事", "points": "5", "unit": "event", "direction": "earn"}),
    );
    assert_eq!(rule.status, 201, "{}", rule.text);
    let rule_id = rule.body["id"].as_str().unwrap().to_string();
    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let deed_for = |member: &str| {
        json!({"member_id": member, "rule_id": rule_id, "quantity": 1, "occurred_on": today, "description": "帮邻居修水管"})
            .to_string()
    };
    // Deeds of the other resident, submitted by the reviewer: one to approve then reverse, one
    // to reject, one to withdraw.
    let deed_ids: Vec<String> = (0..3)
        .map(|_| {
            let made = app.request(
                "POST",
                "/api/v1/deeds",
                Some(&reviewer),
                &[],
                Some(&deed_for(other_id)),
            );
            assert_eq!(made.status, 201, "{}", made.text);
            made.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    let (deed_x, deed_y, deed_z) = (&deed_ids[0], &deed_ids[1], &deed_ids[2]);
    let reason = json!({"reason": "r"}).to_string();
    let target_user = app
        .post(
            "/api/v1/users",
            &app.admin_token,
            &json!({"username": "target", "password": "password-123", "roles": ["clerk"]}),
        )
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();

    let wrong_password =
        json!({"current_password": "not-mine-at-all", "new_password": "new-password-1"})
            .to_string();
    // (spec path, method, path, body, [no token, resident, reviewer, clerk, auditor, admin])
    type Row<'a> = (&'a str, &'a str, String, Option<String>, [u16; 6]);
    let table: Vec<Row> = vec![
        (
            "/api/v1/me",
            "GET",
            "/api/v1/me".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "/api/v1/me/password",
            "POST",
            "/api/v1/me/password".into(),
            Some(wrong_password),
            [401, 403, 403, 403, 403, 403],
        ),
        (
            "/api/v1/auth/login",
            "POST",
            "/api/v1/auth/login".into(),
            Some(json!({"username": "x", "password": "y"}).to_string()),
            [401, 401, 401, 401, 401, 401],
        ),
        (
            "/api/v1/auth/logout",
            "POST",
            "/api/v1/auth/logout".into(),
            None,
            [401, 0, 0, 0, 0, 0],
        ),
        (
            "/api/v1/auth/operator-login",
            "POST",
            "/api/v1/auth/operator-login".into(),
            // No password: refused before it counts as an attempt (the login row above uses
            // up this address's wrong attempts).
            Some(json!({"username": "x"}).to_string()),
            [422, 422, 422, 422, 422, 422],
        ),
        (
            "/api/v1/communities",
            "POST",
            "/api/v1/communities".into(),
            Some(json!({"code": "east", "name": "东区"}).to_string()),
            [401, 403, 403, 403, 403, 403],
        ),
        (
            "/api/v1/communities",
            "GET",
            "/api/v1/communities".into(),
            None,
            [401, 403, 403, 403, 403, 403],
        ),
        (
            "/api/v1/platform/health",
            "GET",
            "/api/v1/platform/health".into(),
            None,
            [401, 403, 403, 403, 403, 403],
        ),
        (
            "/api/v1/members",
            "POST",
            "/api/v1/members".into(),
            Some(new_member.clone()),
            [401, 403, 201, 403, 403, 201],
        ),
        (
            "/api/v1/members",
            "GET",
            "/api/v1/members".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "/api/v1/members/import",
            "POST",
            "/api/v1/members/import?dry_run=true".into(),
            Some("姓名\n新居民\n".into()),
            [401, 403, 200, 403, 403, 200],
        ),
        (
            "/api/v1/members/export",
            "GET",
            "/api/v1/members/export?format=csv".into(),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "/api/v1/members/{id}",
            "GET",
            format!("/api/v1/members/{own_member}"),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "/api/v1/members/{id}",
            "GET",
            format!("/api/v1/members/{other_id}"),
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        (
            "/api/v1/users",
            "POST",
            "/api/v1/users".into(),
            Some(new_user("u1")),
            [401, 403, 403, 403, 403, 201],
        ),
        (
            "/api/v1/users",
            "GET",
            "/api/v1/users".into(),
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "/api/v1/accounts/{id}",
            "GET",
            format!("/api/v1/accounts/{own_account}"),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "/api/v1/accounts/{id}",
            "GET",
            format!("/api/v1/accounts/{other_account}"),
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        (
            "/api/v1/adjustments",
            "POST",
            "/api/v1/adjustments".into(),
            Some(adjustment),
            [401, 403, 403, 403, 403, 201],
        ),
        // The fund: donations at the counter, its figures for staff, grants for admins, and a
        // second admin (there is none here) to decide.
        ("/api/v1/fund/donations", "POST", "/api/v1/fund/donations".into(), Some(donation), [401, 403, 403, 201, 403, 201]),
        ("/api/v1/fund", "GET", "/api/v1/fund".into(), None, [401, 403, 403, 200, 200, 200]),
        ("/api/v1/fund/grants", "GET", "/api/v1/fund/grants".into(), None, [401, 403, 403, 200, 200, 200]),
        ("/api/v1/fund/grants", "POST", "/api/v1/fund/grants".into(), Some(proposal), [401, 403, 403, 403, 403, 201]),
        ("/api/v1/fund/grants/{id}/approve", "POST", format!("/api/v1/fund/grants/{grant_id}/approve"), None, [401, 403, 403, 403, 403, 403]),
        ("/api/v1/fund/grants/{id}/reject", "POST", format!("/api/v1/fund/grants/{grant_id}/reject"), Some(json!({"reason": "r"}).to_string()), [401, 403, 403, 403, 403, 403]),
        // Reserved orders: residents for themselves, the counter for residents.
        ("/api/v1/orders", "POST", "/api/v1/orders".into(), Some(redemption.clone()), [401, 403, 403, 201, 403, 201]),
        ("/api/v1/orders", "GET", "/api/v1/orders".into(), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/orders/{id}", "GET", format!("/api/v1/orders/{order_id}"), None, [401, 404, 404, 200, 200, 200]),
        ("/api/v1/orders/collect", "POST", "/api/v1/orders/collect".into(), Some(json!({"pickup_code": bogus_code}).to_string()), [401, 403, 403, 404, 403, 404]),
        ("/api/v1/orders/{id}/cancel", "POST", format!("/api/v1/orders/{order_id}/cancel"), Some("{}".into()), [401, 404, 404, 200, 403, 409]),
        ("/api/v1/order-settings", "GET", "/api/v1/order-settings".into(), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/order-settings", "PUT", "/api/v1/order-settings".into(), Some(json!({"hold_hours": 48}).to_string()), [401, 403, 403, 403, 403, 200]),
        // Households: registered by reviewers and admins, read by staff and their members.
        ("/api/v1/households", "POST", "/api/v1/households".into(), Some(json!({"name": "林家", "head_member_id": other_id}).to_string()), [401, 403, 201, 403, 403, 409]),
        ("/api/v1/households", "GET", "/api/v1/households".into(), None, [401, 403, 200, 200, 200, 200]),
        ("/api/v1/households/{id}", "GET", format!("/api/v1/households/{household_id}"), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/households/{id}/members", "POST", format!("/api/v1/households/{household_id}/members"), Some(json!({"member_id": other_id}).to_string()), [401, 403, 200, 403, 403, 200]),
        ("/api/v1/household-settings", "GET", "/api/v1/household-settings".into(), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/household-settings", "PUT", "/api/v1/household-settings".into(), Some(json!({"credit_to": "member", "members_redeem": false}).to_string()), [401, 403, 403, 403, 403, 200]),
        (
            "/api/v1/ledger/verify",
            "GET",
            "/api/v1/ledger/verify".into(),
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        // Signing heads is for auditors and admins; the proof of a line for them and the line's
        // own resident (seq 1 is the other member's opening balance above: 404 for the rest).
        ("/api/v1/ledger/heads", "POST", "/api/v1/ledger/heads".into(), Some("{}".into()), [401, 403, 403, 403, 201, 201]),
        ("/api/v1/ledger/heads/export", "GET", "/api/v1/ledger/heads/export".into(), None, [401, 403, 403, 403, 200, 200]),
        ("/api/v1/ledger/transactions/{seq}/proof", "GET", "/api/v1/ledger/transactions/1/proof".into(), None, [401, 404, 404, 404, 200, 200]),
        // Heads and consistency proofs are public.
        ("/public/{code}/heads", "GET", format!("/public/{code}/heads"), None, [200, 200, 200, 200, 200, 200]),
        ("/public/{code}/consistency", "GET", format!("/public/{code}/consistency?from=0&to=1"), None, [200, 200, 200, 200, 200, 200]),
        ("/api/v1/users/{id}", "PATCH", format!("/api/v1/users/{target_user}"), Some(json!({"roles": ["auditor"]}).to_string()), [401, 403, 403, 403, 403, 200]),
        ("/api/v1/users/{id}", "GET", format!("/api/v1/users/{target_user}"), None, [401, 403, 403, 403, 403, 200]),
        ("/api/v1/users/{id}/password-reset", "POST", format!("/api/v1/users/{target_user}/password-reset"), None, [401, 403, 403, 403, 403, 200]),
        ("/api/v1/accounts/{id}/statement", "GET", format!("/api/v1/accounts/{own_account}/statement"), None, [401, 200, 403, 200, 200, 200]),
        ("/api/v1/accounts/{id}/statement", "GET", format!("/api/v1/accounts/{other_account}/statement"), None, [401, 404, 403, 200, 200, 200]),
        ("/api/v1/accounts/{id}/passbook", "GET", format!("/api/v1/accounts/{own_account}/passbook"), None, [401, 200, 403, 200, 200, 200]),
        ("/api/v1/accounts/{id}/balance", "GET", format!("/api/v1/accounts/{other_account}/balance"), None, [401, 404, 403, 200, 200, 200]),
        ("/api/v1/reports/honor-roll", "GET", "/api/v1/reports/honor-roll?month=2026-11".into(), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/reports/summary", "GET", "/api/v1/reports/summary".into(), None, [401, 403, 403, 403, 200, 200]),
        ("/api/v1/journal", "GET", "/api/v1/journal".into(), None, [401, 403, 403, 403, 200, 200]),
        ("/api/v1/rules", "POST", "/api/v1/rules".into(), Some(json!({"code": "NEW", "name": "n", "category": "c", "points": "1", "unit": "event", "direction": "earn"}).to_string()), [401, 403, 403, 403, 403, 201]),
        ("/api/v1/rules", "GET", "/api/v1/rules".into(), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/rules/{id}", "GET", format!("/api/v1/rules/{rule_id}"), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/rules/{id}", "PATCH", format!("/api/v1/rules/{rule_id}"), Some(json!({"name": "助人为乐（新）"}).to_string()), [401, 403, 403, 403, 403, 200]),
        ("/api/v1/settings", "GET", "/api/v1/settings".into(), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/settings", "PUT", "/api/v1/settings".into(), Some(json!({"review_stages": 1, "notice_days": 0, "backdate_days": 30}).to_string()), [401, 403, 403, 403, 403, 200]),
        ("/api/v1/settings/expiry", "GET", "/api/v1/settings/expiry".into(), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/settings/expiry", "PUT", "/api/v1/settings/expiry".into(), Some(json!({"mode": "none"}).to_string()), [401, 403, 403, 403, 403, 200]),
        ("/api/v1/deeds", "POST", "/api/v1/deeds".into(), Some(deed_for(own_member)), [401, 201, 201, 403, 403, 201]),
        ("/api/v1/deeds", "GET", "/api/v1/deeds".into(), None, [401, 200, 200, 200, 200, 200]),
        ("/api/v1/deeds/{id}", "GET", format!("/api/v1/deeds/{deed_x}"), None, [401, 404, 200, 404, 200, 200]),
        ("/api/v1/deeds/{id}/review", "POST", format!("/api/v1/deeds/{deed_x}/review"), Some(json!({"decision": "pass"}).to_string()), [401, 403, 409, 403, 403, 409]),
        ("/api/v1/deeds/{id}/approve", "POST", format!("/api/v1/deeds/{deed_x}/approve"), None, [401, 403, 403, 403, 403, 200]),
        ("/api/v1/deeds/{id}/reverse", "POST", format!("/api/v1/deeds/{deed_x}/reverse"), Some(reason.clone()), [401, 403, 403, 403, 403, 200]),
        ("/api/v1/deeds/approve", "POST", "/api/v1/deeds/approve".into(), Some(json!({"ids": [uuid::Uuid::nil()]}).to_string()), [401, 403, 403, 403, 403, 200]),
        ("/api/v1/deeds/{id}/reject", "POST", format!("/api/v1/deeds/{deed_y}/reject"), Some(reason.clone()), [401, 403, 403, 403, 403, 200]),
        ("/api/v1/deeds/{id}/withdraw", "POST", format!("/api/v1/deeds/{deed_z}/withdraw"), Some("{}".into()), [401, 404, 200, 404, 403, 403]),
        ("/api/v1/deeds/{id}/objections", "POST", format!("/api/v1/deeds/{deed_z}/objections"), Some(reason.clone()), [401, 409, 409, 409, 409, 409]),
        ("/api/v1/deeds/{id}/objections/{objection_id}/ruling", "POST", format!("/api/v1/deeds/{deed_z}/objections/{}/ruling", uuid::Uuid::nil()), Some(json!({"decision": "dismiss", "reason": "核实无误"}).to_string()), [401, 403, 403, 403, 403, 404]),
        ("/api/v1/notices", "GET", "/api/v1/notices".into(), None, [401, 200, 200, 200, 200, 200]),
        (
            "/api/v1/members/{id}",
            "PATCH",
            format!("/api/v1/members/{other_id}"),
            Some(json!({"name": "林三"}).to_string()),
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "/api/v1/goods",
            "POST",
            "/api/v1/goods".into(),
            Some(json!({"sku": "X", "name": "x", "price": "1", "stock": 1}).to_string()),
            [401, 403, 403, 403, 403, 201],
        ),
        (
            "/api/v1/goods",
            "GET",
            "/api/v1/goods".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "/api/v1/goods/{id}",
            "GET",
            format!("/api/v1/goods/{goods_id}"),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "/api/v1/goods/{id}",
            "PATCH",
            format!("/api/v1/goods/{goods_id}"),
            Some(json!({"name": "香皂"}).to_string()),
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "/api/v1/goods/{id}/restock",
            "POST",
            format!("/api/v1/goods/{goods_id}/restock"),
            Some(json!({"quantity": 1, "reason": "r"}).to_string()),
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "/api/v1/goods/{id}/movements",
            "GET",
            format!("/api/v1/goods/{goods_id}/movements"),
            None,
            [401, 403, 403, 200, 200, 200],
        ),
        (
            "/api/v1/redemptions",
            "POST",
            "/api/v1/redemptions".into(),
            Some(redemption),
            [401, 403, 403, 201, 403, 201],
        ),
        (
            "/api/v1/redemptions",
            "GET",
            "/api/v1/redemptions".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "/api/v1/redemptions/{id}",
            "GET",
            format!("/api/v1/redemptions/{other_redemption_id}"),
            None,
            [401, 404, 404, 200, 200, 200],
        ),
        (
            "/api/v1/redemptions/totals",
            "GET",
            "/api/v1/redemptions/totals".into(),
            None,
            [401, 403, 403, 200, 200, 200],
        ),
        (
            "/api/v1/redemptions/{id}/void",
            "POST",
            format!("/api/v1/redemptions/{other_redemption_id}/void"),
            Some(json!({"reason": "r"}).to_string()),
            [401, 403, 403, 200, 403, 409],
        ),
        (
            "/api/v1/openapi.json",
            "GET",
            "/api/v1/openapi.json".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        (
            "/healthz",
            "GET",
            "/healthz".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        (
            "/readyz",
            "GET",
            "/readyz".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
    ];
    // The table must cover every operation of the spec: a new endpoint without a row fails here.
    let spec: serde_json::Value =
        serde_json::from_str(&moralbank::app::openapi::spec_json()).unwrap();
    let in_spec: std::collections::BTreeSet<String> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let in_table: std::collections::BTreeSet<String> = table
        .iter()
        .map(|(spec_path, method, ..)| format!("{method} {spec_path}"))
        .collect();
    assert_eq!(
        in_spec, in_table,
        "every operation of the spec has a row in the role table"
    );
    let tokens: [Option<&str>; 6] = [
        None,
        Some(&resident),
        Some(&reviewer),
        Some(&clerk),
        Some(&auditor),
        Some(&admin),
    ];
    let names = [
        "no token", "resident", "reviewer", "clerk", "auditor", "admin",
    ];
    for (_, method, path, body, expected) in &table {
        for (i, token) in tokens.iter().enumerate() {
            if expected[i] == 0 {
                continue; // logout would revoke the token the rest of the table needs
            }
            let key = format!("matrix-{i}-{method}-{path}");
            let mut body = body.clone();
            if path == "/api/v1/users" && method == &"POST" {
                body = Some(new_user(&format!("user{i}")));
            }
            if path == "/api/v1/auth/login" {
                // One name per attempt, so the table does not trip the login throttle.
                body = Some(json!({"username": format!("nobody{i}"), "password": "y"}).to_string());
            }
            let resp = app.request(
                method,
                path,
                *token,
                &[("Idempotency-Key", &key)],
                body.as_deref(),
            );
            assert_eq!(
                resp.status, expected[i],
                "{method} {path} as {}: {}",
                names[i], resp.text
            );
        }
    }
    // A resident's member list holds only themself.
    let list = app.get("/api/v1/members", &resident);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], member["id"]);
    // System accounts are for admins and auditors.
    let me = app.get("/api/v1/me", &admin);
    assert_eq!(me.status, 200);
}

fn a_role_change_or_disabling_revokes_old_tokens(app: TestApp) {
    let token = app.user_with_roles("shifty", &["clerk"], None);
    let users = app.get("/api/v1/users", &app.admin_token);
    let id = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "shifty")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let changed = app.request(
        "PATCH",
        &format!("/api/v1/users/{id}"),
        Some(&app.admin_token),
        &[],
        Some(&json!({"roles": ["auditor"]}).to_string()),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["roles"], json!(["auditor"]));
    app.get("/api/v1/me", &token)
        .assert_problem(401, "invalid_token");
    let fresh = app.login_ok("shifty", "password-123");
    assert_eq!(
        app.get("/api/v1/me", &fresh).body["user"]["roles"],
        json!(["auditor"])
    );
    let disabled = app.request(
        "PATCH",
        &format!("/api/v1/users/{id}"),
        Some(&app.admin_token),
        &[],
        Some(&json!({"status": "disabled"}).to_string()),
    );
    assert_eq!(disabled.body["status"], "disabled");
    app.get("/api/v1/me", &fresh)
        .assert_problem(401, "invalid_token");
    app.login("shifty", "password-123")
        .assert_problem(401, "invalid_credentials");
    // The only admin cannot lock the community out (the `admins` module has the rest).
    let me = app.get("/api/v1/me", &app.admin_token).body["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.request(
        "PATCH",
        &format!("/api/v1/users/{me}"),
        Some(&app.admin_token),
        &[],
        Some(&json!({"status": "disabled"}).to_string()),
    )
    .assert_problem(409, "last_admin");
}

fn tokens_for_another_algorithm_or_with_a_changed_payload_are_refused(app: TestApp) {
    let mut claims = claims_for(&app, &app.admin_token);
    let now = chrono::Utc::now().timestamp();
    claims["iat"] = json!(now);
    claims["nbf"] = json!(now);
    claims["exp"] = json!(now + 600);
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    app.get("/api/v1/me", &hs512)
        .assert_problem(401, "invalid_token");
    // Swap in a payload with other roles / another community, keeping the real signature.
    let clerk = app.user_with_roles("clerk-x", &["clerk"], None);
    let parts: Vec<&str> = clerk.split('.').collect();
    for (field, value) in [
        ("roles", json!(["admin"])),
        ("com", json!(uuid::Uuid::nil())),
    ] {
        let mut forged = claims_for(&app, &clerk);
        forged["iat"] = json!(now);
        forged["nbf"] = json!(now);
        forged["exp"] = json!(now + 600);
        forged[field] = value;
        let payload = base64_like::encode_segment(forged.to_string().as_bytes());
        let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
        app.get("/api/v1/me", &tampered)
            .assert_problem(401, "invalid_token");
    }
    let body =
        json!({"member_id": uuid::Uuid::nil(), "amount": "1", "kind": "correction", "reason": "r"})
            .to_string();
    app.request(
        "POST",
        "/api/v1/adjustments",
        Some(&clerk),
        &[("Idempotency-Key", "x")],
        Some(&body),
    )
    .assert_problem(403, "forbidden");
}

fn another_communitys_users_cannot_reach_this_one(app: TestApp) {
    let member = app.create_member("本社区居民");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_moralbank"))
        .arg("demo")
        .env("MORALBANK_DATABASE_URL", &app.db.url)
        .env("MORALBANK_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outsider = app.login_in_ok("demo", "demo-admin", "moralbank-demo");
    let id = member["id"].as_str().unwrap();
    let account = member["account_id"].as_str().unwrap();
    app.get(&format!("/api/v1/members/{id}"), &outsider)
        .assert_problem(404, "not_found");
    app.get(&format!("/api/v1/accounts/{account}"), &outsider)
        .assert_problem(404, "not_found");
    app.get(&format!("/api/v1/accounts/{account}/statement"), &outsider)
        .assert_problem(404, "not_found");
    let list = app.get("/api/v1/members?limit=200", &outsider);
    assert!(list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["id"] != id));
    app.request(
        "POST",
        "/api/v1/adjustments",
        Some(&outsider),
        &[("Idempotency-Key", "x")],
        Some(
            &json!({"member_id": id, "amount": "5", "kind": "opening_balance", "reason": "r"})
                .to_string(),
        ),
    )
    .assert_problem(404, "not_found");
    assert_eq!(app.balance_of(account), "0.00");
}

both_backends!(
    a_logout_through_another_instance_takes_effect_within_the_cache_time,
    a_role_change_or_disabling_revokes_old_tokens,
    tokens_for_another_algorithm_or_with_a_changed_payload_are_refused,
    another_communitys_users_cannot_reach_this_one,
    login_issues_a_bearer_token_and_me_names_the_user,
    a_wrong_password_and_an_unknown_user_look_the_same,
    repeated_failures_are_throttled,
    expired_future_foreign_and_malformed_tokens_are_refused,
    logout_revokes_every_token_of_the_user,
    a_password_change_revokes_old_tokens_and_needs_the_current_password,
    each_role_reaches_only_what_it_may,
);
