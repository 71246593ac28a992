//! Password reset by an admin, the forced change that follows, and a new login for a member whose
//! login was disabled.

use crate::common::{Resp, TestApp};
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "my-own-new-password";

fn user_id_of(app: &TestApp, token: &str) -> String {
    let me = app.get("/api/v1/me", token);
    assert_eq!(me.status, 200, "{}", me.text);
    me.body["user"]["id"].as_str().unwrap().to_string()
}

fn reset(app: &TestApp, token: &str, user_id: &str) -> Resp {
    app.post(
        &format!("/api/v1/users/{user_id}/password-reset"),
        token,
        &json!({}),
    )
}

/// Resets the password as the first admin and returns the temporary password.
fn reset_ok(app: &TestApp, user_id: &str) -> String {
    let resp = reset(app, &app.admin_token, user_id);
    assert_eq!(resp.status, 200, "reset: {}", resp.text);
    resp.body["temporary_password"]
        .as_str()
        .expect("temporary_password")
        .to_string()
}

fn change_password(app: &TestApp, token: &str, current: &str, new: &str) -> Resp {
    app.post(
        "/api/v1/me/password",
        token,
        &json!({"current_password": current, "new_password": new}),
    )
}

fn patch_user(app: &TestApp, user_id: &str, body: &Value) -> Resp {
    app.request(
        "PATCH",
        &format!("/api/v1/users/{user_id}"),
        Some(&app.admin_token),
        &[],
        Some(&body.to_string()),
    )
}

fn a_reset_revokes_every_token_and_the_next_login_must_set_a_new_password(app: TestApp) {
    let (member, old_token) = app.resident("王芳", "wangfang");
    let account = member["account_id"].as_str().unwrap();
    let user = user_id_of(&app, &old_token);
    assert_eq!(
        app.get(&format!("/api/v1/accounts/{account}"), &old_token)
            .status,
        200
    );

    let resp = reset(&app, &app.admin_token, &user);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["user_id"], user.as_str());
    assert_eq!(resp.body["username"], "wangfang");
    assert_eq!(resp.body["password_change_required"], true);
    assert!(resp.body["expires_at"].is_string());
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let temporary = resp.body["temporary_password"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(temporary.chars().count(), 20, "{temporary}");

    // The old token and the old password are gone.
    app.get("/api/v1/me", &old_token)
        .assert_problem(401, "invalid_token");
    app.login("wangfang", "password-123")
        .assert_problem(401, "invalid_credentials");

    // The temporary password logs in, and the answer says what must happen next.
    let login = app.login("wangfang", &temporary);
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["password_change_required"], true);
    let temp_token = login.body["access_token"].as_str().unwrap().to_string();

    let me = app.get("/api/v1/me", &temp_token);
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["password_change_required"], true);
    assert_eq!(me.body["member"]["id"], member["id"]);
    // What the resident may otherwise do is closed: reading their passbook, objecting, a deed.
    app.get(&format!("/api/v1/accounts/{account}"), &temp_token)
        .assert_problem(403, "password_change_required");
    app.get(
        &format!("/api/v1/accounts/{account}/statement"),
        &temp_token,
    )
    .assert_problem(403, "password_change_required");
    app.get("/api/v1/notices", &temp_token)
        .assert_problem(403, "password_change_required");
    app.post("/api/v1/deeds", &temp_token, &json!({}))
        .assert_problem(403, "password_change_required");

    // The temporary password must be replaced by another one, with itself as the current one.
    change_password(&app, &temp_token, "not-the-temporary-one", NEW_PASSWORD)
        .assert_problem(403, "wrong_password");
    change_password(&app, &temp_token, &temporary, &temporary)
        .assert_problem(422, "validation_failed");
    let changed = change_password(&app, &temp_token, &temporary, NEW_PASSWORD);
    assert_eq!(changed.status, 204, "{}", changed.text);

    // The change revokes the temporary token; the temporary password works no more.
    app.get("/api/v1/me", &temp_token)
        .assert_problem(401, "invalid_token");
    app.login("wangfang", &temporary)
        .assert_problem(401, "invalid_credentials");
    let login = app.login("wangfang", NEW_PASSWORD);
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["password_change_required"], false);
    let token = login.body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/accounts/{account}"), token)
            .status,
        200
    );
    let me = app.get("/api/v1/me", token);
    assert_eq!(me.body["password_change_required"], false);
    let detail = app.get(&format!("/api/v1/users/{user}"), &app.admin_token);
    assert_eq!(
        detail.body["password_change_required"], false,
        "{}",
        detail.text
    );
}

fn a_user_who_must_change_the_password_can_still_log_out(app: TestApp) {
    let (_, token) = app.resident("李明", "liming");
    let temporary = reset_ok(&app, &user_id_of(&app, &token));
    let first = app.login_ok("liming", &temporary);
    let second = app.login_ok("liming", &temporary);
    let out = app.post("/api/v1/auth/logout", &first, &json!({}));
    assert_eq!(out.status, 204, "{}", out.text);
    app.get("/api/v1/me", &second)
        .assert_problem(401, "invalid_token");
}

/// Every route that takes a token, as the served OpenAPI document lists them, except the three a
/// user must reach to change the password.
fn token_routes(app: &TestApp) -> Vec<(String, String, String)> {
    let spec = app.request("GET", "/api/v1/openapi.json", None, &[], None);
    assert_eq!(spec.status, 200);
    let mut routes = Vec::new();
    for (path, operations) in spec.body["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            // Operators' routes take no community user's token at all.
            let platform = operation["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|t| t == "platform"));
            if operation.get("security").is_none() || platform {
                continue;
            }
            let id = operation["operationId"].as_str().unwrap().to_string();
            if ["get_me", "update_password", "delete_tokens"].contains(&id.as_str()) {
                continue;
            }
            routes.push((method.to_uppercase(), path.clone(), id));
        }
    }
    routes
}

fn every_other_route_answers_password_change_required_until_the_change(app: TestApp) {
    // An admin may do nearly everything, so every refusal below is the reset's doing.
    let token = app.user_with_roles("admin2", &["admin"], None);
    let temporary = reset_ok(&app, &user_id_of(&app, &token));
    let token = app.login_ok("admin2", &temporary);

    let routes = token_routes(&app);
    assert!(routes.len() > 40, "{} routes", routes.len());
    let unknown = uuid::Uuid::now_v7().to_string();
    for (method, path, id) in &routes {
        let path: String = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    unknown.as_str()
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let body = (method != "GET").then_some("{}");
        let resp = app.request(
            method,
            &path,
            Some(&token),
            &[("Idempotency-Key", "after-reset")],
            body,
        );
        assert_eq!(
            resp.code(),
            "password_change_required",
            "{id}: {method} {path}: {}",
            resp.text
        );
        resp.assert_problem(403, "password_change_required");
    }

    // The same calls of several kinds work once the password is changed.
    let checks = |token: &str, expect_ok: bool| {
        let member = app.post("/api/v1/members", token, &json!({"name": "赵六"}));
        let goods = app.post(
            "/api/v1/goods",
            token,
            &json!({"sku": format!("SOAP-{expect_ok}"), "name": "肥皂", "price": "2.00", "stock": 5}),
        );
        let reads = [
            app.get("/api/v1/members", token),
            app.get("/api/v1/users", token),
            app.get("/api/v1/goods", token),
            app.get("/api/v1/ledger/verify", token),
        ];
        for resp in [&member, &goods].into_iter().chain(reads.iter()) {
            if expect_ok {
                assert!((200..300).contains(&resp.status), "{}", resp.text);
            } else {
                resp.assert_problem(403, "password_change_required");
            }
        }
    };
    checks(&token, false);
    let me = app.get("/api/v1/me", &token);
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["password_change_required"], true);
    let changed = change_password(&app, &token, &temporary, NEW_PASSWORD);
    assert_eq!(changed.status, 204, "{}", changed.text);
    checks(&app.login_ok("admin2", NEW_PASSWORD), true);
}

fn a_reset_is_recorded_with_who_made_it_and_when(app: TestApp) {
    let (_, token) = app.resident("孙丽", "sunli");
    let user = user_id_of(&app, &token);
    let detail = app.get(&format!("/api/v1/users/{user}"), &app.admin_token);
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert_eq!(detail.body["username"], "sunli");
    assert_eq!(detail.body["password_change_required"], false);
    assert!(
        detail.body["last_password_reset"].is_null(),
        "{}",
        detail.text
    );

    let admin2 = app.user_with_roles("admin2", &["admin"], None);
    let admin2_id = user_id_of(&app, &admin2);
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let resp = reset(&app, &admin2, &user);
    assert_eq!(resp.status, 200, "{}", resp.text);
    let after = chrono::Utc::now() + chrono::Duration::seconds(1);

    let detail = app.get(&format!("/api/v1/users/{user}"), &app.admin_token);
    assert_eq!(detail.body["password_change_required"], true);
    let last = &detail.body["last_password_reset"];
    assert_eq!(
        last["reset_by"]["id"],
        admin2_id.as_str(),
        "{}",
        detail.text
    );
    assert_eq!(last["reset_by"]["username"], "admin2");
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(last[field].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    assert!(
        before <= at("reset_at") && at("reset_at") <= after,
        "{}",
        detail.text
    );
    assert_eq!(
        at("expires_at") - at("reset_at"),
        chrono::Duration::hours(72)
    );
    assert_eq!(last["expires_at"], resp.body["expires_at"]);
    // The list shows who must change the password too.
    let list = app.get("/api/v1/users", &app.admin_token);
    let listed = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == user.as_str())
        .unwrap();
    assert_eq!(listed["password_change_required"], true);

    // A later reset by another admin is the one shown.
    reset_ok(&app, &user);
    let detail = app.get(&format!("/api/v1/users/{user}"), &admin2);
    assert_eq!(
        detail.body["last_password_reset"]["reset_by"]["username"],
        "admin"
    );
    // Nothing in the record, the list or the detail shows a password or a hash.
    for text in [&detail.text, &list.text] {
        assert!(
            !text.contains("argon2") && !text.contains("password_hash"),
            "{text}"
        );
    }
}

fn resets_are_throttled_per_admin(app: TestApp) {
    let mut users = Vec::new();
    for i in 0..6 {
        let (_, token) = app.resident(&format!("居民{i}"), &format!("resident{i}"));
        users.push(user_id_of(&app, &token));
    }
    for user in &users[..5] {
        reset_ok(&app, user);
    }
    let throttled = reset(&app, &app.admin_token, &users[5]);
    throttled.assert_problem(429, "too_many_password_resets");
    let retry: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((2..=300).contains(&retry), "{retry}");
    // The refused reset did nothing: the user's password still works.
    app.login_ok("resident5", "password-123");
    // Another admin is not held back, nor is the throttled admin's own login.
    let admin2 = app.user_with_roles("admin2", &["admin"], None);
    assert_eq!(reset(&app, &admin2, &users[5]).status, 200);
    app.login_ok("admin", crate::common::ADMIN_PASSWORD);
}

fn only_an_admin_resets_and_only_another_user_of_the_community(app: TestApp) {
    let (_, resident) = app.resident("周七", "zhouqi");
    let target = user_id_of(&app, &resident);
    let clerk = app.user_with_roles("clerk1", &["clerk", "reviewer", "auditor"], None);
    reset(&app, &clerk, &target).assert_problem(403, "forbidden");
    reset(&app, &resident, &target).assert_problem(403, "forbidden");
    app.login_ok("zhouqi", "password-123");

    let admin = user_id_of(&app, &app.admin_token);
    reset(&app, &app.admin_token, &admin).assert_problem(403, "forbidden_self_password_reset");
    app.login_ok("admin", crate::common::ADMIN_PASSWORD);

    // A user of another community answers exactly like an id that names nobody.
    let stranger = user_of_another_community(&app);
    let unknown = reset(&app, &app.admin_token, &uuid::Uuid::now_v7().to_string());
    unknown.assert_problem(404, "not_found");
    let foreign = reset(&app, &app.admin_token, &stranger);
    foreign.assert_problem(404, "not_found");
    assert_eq!(foreign.body, unknown.body);
    let foreign = app.get(&format!("/api/v1/users/{stranger}"), &app.admin_token);
    foreign.assert_problem(404, "not_found");
}

/// A user in a second community, written straight to the database.
fn user_of_another_community(app: &TestApp) -> String {
    use moralbank::communities::store::{create_community, NewCommunity};
    use moralbank::kernel::{CommunityId, Role, RoleSet};
    use moralbank::users::store::{insert_user, NewUser};
    let mut conn = app.db.connect();
    let community = create_community(
        &mut conn,
        &NewCommunity {
            code: "west",
            name: "西村",
            utc_offset_minutes: 480,
        },
    )
    .unwrap();
    let mut roles = RoleSet::default();
    roles.insert(Role::Clerk);
    let user = insert_user(
        &mut conn,
        &NewUser {
            community: CommunityId(community.id.0),
            username: "west-clerk",
            password_hash: "not-a-hash",
            roles,
            member: None,
            display_name: None,
        },
    )
    .unwrap();
    user.id.0.to_string()
}

fn a_member_whose_login_was_disabled_can_be_given_a_new_one(app: TestApp) {
    let (member, token) = app.resident("吴八", "wuba");
    let member_id = member["id"].as_str().unwrap();
    let account = member["account_id"].as_str().unwrap();
    let old_user = user_id_of(&app, &token);
    let new_login = json!({"username": "wuba2", "password": "password-456", "roles": ["resident"], "member_id": member_id});

    // While the old login is active the member has a user.
    app.post("/api/v1/users", &app.admin_token, &new_login)
        .assert_problem(409, "member_has_user");

    let disabled = patch_user(&app, &old_user, &json!({"status": "disabled"}));
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let created = app.post("/api/v1/users", &app.admin_token, &new_login);
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["member_id"], member_id);
    let token = app.login_ok("wuba2", "password-456");
    let me = app.get("/api/v1/me", &token);
    assert_eq!(me.body["member"]["id"], member_id, "{}", me.text);
    assert_eq!(
        app.get(&format!("/api/v1/accounts/{account}"), &token)
            .status,
        200
    );

    // The old login cannot come back while the new one is active: a clean conflict, no change.
    patch_user(&app, &old_user, &json!({"status": "active"}))
        .assert_problem(409, "member_has_user");
    app.login("wuba", "password-123")
        .assert_problem(401, "invalid_credentials");
    let old = app.get(&format!("/api/v1/users/{old_user}"), &app.admin_token);
    assert_eq!(old.body["status"], "disabled", "{}", old.text);
    // Nor may a second active login be created.
    app.post(
        "/api/v1/users",
        &app.admin_token,
        &json!({"username": "wuba3", "password": "password-789", "roles": ["resident"], "member_id": member_id}),
    )
    .assert_problem(409, "member_has_user");

    // Once the new one is disabled in turn, the old one may be enabled again.
    let new_user = created.body["id"].as_str().unwrap();
    assert_eq!(
        patch_user(&app, new_user, &json!({"status": "disabled"})).status,
        200
    );
    let back = patch_user(&app, &old_user, &json!({"status": "active"}));
    assert_eq!(back.status, 200, "{}", back.text);
    let token = app.login_ok("wuba", "password-123");
    assert_eq!(
        app.get(&format!("/api/v1/accounts/{account}"), &token)
            .status,
        200
    );
}

fn a_temporary_password_expires_after_72_hours(app: TestApp) {
    let (_, token) = app.resident("郑九", "zhengjiu");
    let user = user_id_of(&app, &token);
    let temporary = reset_ok(&app, &user);
    app.clock
        .advance(chrono::Duration::hours(72) - chrono::Duration::minutes(1));
    let late_token = app.login_ok("zhengjiu", &temporary);

    app.clock.advance(chrono::Duration::minutes(2));
    let expired = app.login("zhengjiu", &temporary);
    expired.assert_problem(401, "temporary_password_expired");
    // A wrong password still says only that it is wrong.
    app.login("zhengjiu", "not-the-temporary-one")
        .assert_problem(401, "invalid_credentials");
    // A token from just before the expiry cannot set a password with it either.
    change_password(&app, &late_token, &temporary, NEW_PASSWORD)
        .assert_problem(403, "temporary_password_expired");

    // A new reset starts a new period.
    let temporary = reset_ok(&app, &user);
    let token = app.login_ok("zhengjiu", &temporary);
    let changed = change_password(&app, &token, &temporary, NEW_PASSWORD);
    assert_eq!(changed.status, 204, "{}", changed.text);
    // A password the user chose does not expire.
    app.clock.advance(chrono::Duration::days(365));
    app.login_ok("zhengjiu", NEW_PASSWORD);
}

both_backends!(
    a_reset_revokes_every_token_and_the_next_login_must_set_a_new_password,
    a_user_who_must_change_the_password_can_still_log_out,
    every_other_route_answers_password_change_required_until_the_change,
    a_reset_is_recorded_with_who_made_it_and_when,
    resets_are_throttled_per_admin,
    only_an_admin_resets_and_only_another_user_of_the_community,
    a_member_whose_login_was_disabled_can_be_given_a_new_one,
    a_temporary_password_expires_after_72_hours,
);
