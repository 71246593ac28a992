//! A community always keeps an active admin: the last one can neither be disabled nor lose the
//! role, not even by two admins removing each other at the same moment.

use std::sync::Barrier;

use crate::common::{Resp, TestApp, ADMIN_PASSWORD};
use serde_json::{json, Value};

/// Rounds of the mutual-removal race; each round is a fresh chance for both to slip through.
const RACE_ROUNDS: usize = 12;

fn user_id(app: &TestApp, username: &str) -> String {
    let users = app.get("/api/v1/users?limit=200", &app.admin_token);
    assert_eq!(users.status, 200, "{}", users.text);
    users.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("no user {username}"))["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn patch_user(app: &TestApp, token: &str, id: &str, body: &Value) -> Resp {
    app.request(
        "PATCH",
        &format!("/api/v1/users/{id}"),
        Some(token),
        &[],
        Some(&body.to_string()),
    )
}

/// Active admins of the community, straight from the database.
fn active_admins(app: &TestApp) -> Vec<String> {
    use diesel::prelude::*;
    use moralbank::db::schema::users;
    let mut conn = app.db.connect();
    let rows: Vec<(String, String)> = users::table
        .filter(users::status.eq("active"))
        .select((users::username, users::roles))
        .load(&mut conn)
        .expect("users");
    rows.into_iter()
        .filter(|(_, roles)| roles.split(',').any(|r| r == "admin"))
        .map(|(name, _)| name)
        .collect()
}

/// The loser of a race either reached the check and was refused, or was already locked out
/// when its token was checked.
fn assert_lost(answer: &Resp) {
    if answer.status == 401 {
        answer.assert_problem(401, "invalid_token");
    } else {
        answer.assert_problem(409, "last_admin");
    }
}

fn two_admins_removing_each_other_at_once_leave_one_active(app: TestApp) {
    let mut second = app.user_with_roles("admin2", &["admin"], None);
    let first_id = user_id(&app, "admin");
    let second_id = user_id(&app, "admin2");
    let mut first = app.admin_token.clone();
    let mut refused = 0;
    for round in 0..RACE_ROUNDS {
        // Alternate the two ways of removing an admin: disabling, and taking the role away.
        let body = if round % 2 == 0 {
            json!({"status": "disabled"})
        } else {
            json!({"roles": ["clerk"]})
        };
        let start = Barrier::new(2);
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                start.wait();
                patch_user(&app, &first, &second_id, &body)
            });
            let b = s.spawn(|| {
                start.wait();
                patch_user(&app, &second, &first_id, &body)
            });
            (
                a.join().expect("first admin"),
                b.join().expect("second admin"),
            )
        });
        let admins = active_admins(&app);
        assert_eq!(
            admins.len(),
            1,
            "round {round}: active admins {admins:?}; answers {} / {}",
            a.text,
            b.text
        );
        // Exactly one won; put the loser's victim back as an admin for the next round.
        let (winner_token, victim_id, victim_name) = match (a.status, b.status) {
            (200, _) => {
                assert_lost(&b);
                (first.clone(), second_id.clone(), "admin2")
            }
            (_, 200) => {
                assert_lost(&a);
                (second.clone(), first_id.clone(), "admin")
            }
            _ => panic!("round {round}: nobody won: {} / {}", a.text, b.text),
        };
        refused += usize::from(a.status == 409 || b.status == 409);
        let restored = patch_user(
            &app,
            &winner_token,
            &victim_id,
            &json!({"status": "active", "roles": ["admin"]}),
        );
        assert_eq!(restored.status, 200, "{}", restored.text);
        let fresh = app.login_ok(victim_name, password_of(victim_name));
        if victim_name == "admin" {
            first = fresh;
        } else {
            second = fresh;
        }
    }
    assert!(
        refused > 0,
        "in no round did both requests reach the check; the race was never run"
    );
}

fn password_of(username: &str) -> &'static str {
    if username == "admin" {
        ADMIN_PASSWORD
    } else {
        "password-123"
    }
}

fn a_lone_admin_can_neither_disable_themself_nor_drop_the_admin_role(app: TestApp) {
    let me = user_id(&app, "admin");
    patch_user(&app, &app.admin_token, &me, &json!({"status": "disabled"}))
        .assert_problem(409, "last_admin");
    patch_user(&app, &app.admin_token, &me, &json!({"roles": ["clerk"]}))
        .assert_problem(409, "last_admin");
    assert_eq!(active_admins(&app), vec!["admin".to_string()]);
    // Adding a role beside admin is no removal.
    let kept = patch_user(
        &app,
        &app.admin_token,
        &me,
        &json!({"roles": ["admin", "auditor"]}),
    );
    assert_eq!(kept.status, 200, "{}", kept.text);
}

fn a_disabled_admin_does_not_count_as_the_one_that_remains(app: TestApp) {
    app.user_with_roles("admin2", &["admin"], None);
    let second = user_id(&app, "admin2");
    let disabled = patch_user(
        &app,
        &app.admin_token,
        &second,
        &json!({"status": "disabled"}),
    );
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let me = user_id(&app, "admin");
    patch_user(&app, &app.admin_token, &me, &json!({"roles": ["auditor"]}))
        .assert_problem(409, "last_admin");
    // Taking the role from an admin who is disabled already removes no active admin.
    let demoted = patch_user(
        &app,
        &app.admin_token,
        &second,
        &json!({"roles": ["clerk"]}),
    );
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    assert_eq!(active_admins(&app), vec!["admin".to_string()]);
}

fn with_another_admin_active_an_admin_still_cannot_remove_themself(app: TestApp) {
    let second_token = app.user_with_roles("admin2", &["admin"], None);
    let me = user_id(&app, "admin");
    patch_user(&app, &app.admin_token, &me, &json!({"status": "disabled"}))
        .assert_problem(422, "validation_failed");
    // Another admin may do it, and then the one left is the last.
    let second = user_id(&app, "admin2");
    let removed = patch_user(&app, &second_token, &me, &json!({"status": "disabled"}));
    assert_eq!(removed.status, 200, "{}", removed.text);
    patch_user(&app, &second_token, &second, &json!({"roles": ["clerk"]}))
        .assert_problem(409, "last_admin");
    assert_eq!(active_admins(&app), vec!["admin2".to_string()]);
}

/// An instance remembers a user for a moment (`MORALBANK_AUTH_CACHE_MS`); an admin removed
/// through another instance must not change users in that moment.
fn an_admin_removed_through_another_instance_cannot_change_users_meanwhile(app: TestApp) {
    let other = TestApp::spawn_on(app.backend, app.db.shared());
    let second = app.user_with_roles("admin2", &["admin"], None);
    app.user_with_roles("clerk1", &["clerk"], None);
    let second_id = user_id(&app, "admin2");
    let clerk_id = user_id(&app, "clerk1");
    // The other instance now remembers admin2 as an active admin.
    assert_eq!(other.get("/api/v1/me", &second).status, 200);
    let removed = patch_user(
        &app,
        &app.admin_token,
        &second_id,
        &json!({"status": "disabled"}),
    );
    assert_eq!(removed.status, 200, "{}", removed.text);
    patch_user(&other, &second, &clerk_id, &json!({"status": "disabled"}))
        .assert_problem(401, "invalid_token");
    let clerk = app.get("/api/v1/users?limit=200", &app.admin_token).body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|u| u["username"] == "clerk1")
        .expect("clerk1")["status"]
        .clone();
    assert_eq!(clerk, "active");
}

both_backends!(
    two_admins_removing_each_other_at_once_leave_one_active,
    a_lone_admin_can_neither_disable_themself_nor_drop_the_admin_role,
    a_disabled_admin_does_not_count_as_the_one_that_remains,
    with_another_admin_active_an_admin_still_cannot_remove_themself,
    an_admin_removed_through_another_instance_cannot_change_users_meanwhile,
);
