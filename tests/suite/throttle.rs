//! The password-guessing limits hold however many attempts arrive at once: an attempt takes its
//! slot before its password is checked, so a burst of concurrent guesses is checked no more often
//! than the same guesses one after another.

use std::sync::Barrier;

use crate::common::{Resp, TestApp, ADMIN_PASSWORD};
use moralbank::auth::throttle::{LOGIN_FAILURES_PER_ADDRESS_MAX, LOGIN_FAILURES_PER_USER_MAX};
use serde_json::json;

/// Runs `attempt(i)` for every `i` in `0..count` on threads of its own, all released at once.
fn all_at_once<F>(count: usize, attempt: F) -> Vec<Resp>
where
    F: Fn(usize) -> Resp + Sync,
{
    let start = Barrier::new(count);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..count)
            .map(|i| {
                let start = &start;
                let attempt = &attempt;
                s.spawn(move || {
                    start.wait();
                    attempt(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("attempt thread"))
            .collect()
    })
}

/// How many answers had each status; anything but `checked` or 429 fails the test.
fn count_checked(answers: &[Resp], checked: u16, checked_code: &str) -> usize {
    let mut seen = 0;
    for answer in answers {
        if answer.status == 429 {
            answer.assert_problem(429, "too_many_attempts");
            let retry: u64 = answer
                .header("retry-after")
                .expect("Retry-After on 429")
                .parse()
                .expect("Retry-After is whole seconds");
            assert!(retry >= 1, "{retry}");
        } else {
            answer.assert_problem(checked, checked_code);
            seen += 1;
        }
    }
    seen
}

fn password_change(app: &TestApp, token: &str, current: &str) -> Resp {
    app.post(
        "/api/v1/me/password",
        token,
        &json!({"current_password": current, "new_password": "a-new-password-1"}),
    )
}

fn concurrent_wrong_logins_for_one_user_check_at_most_the_per_user_limit(app: TestApp) {
    let answers = all_at_once(40, |i| app.login("admin", &format!("guess-{i}")));
    let checked = count_checked(&answers, 401, "invalid_credentials");
    assert!(
        checked <= LOGIN_FAILURES_PER_USER_MAX as usize,
        "{checked} of 40 concurrent guesses were checked; the limit is {LOGIN_FAILURES_PER_USER_MAX}"
    );
    assert!(checked >= 1, "no guess was checked at all");
    // The window is used up: even the right password now waits.
    app.login("admin", ADMIN_PASSWORD)
        .assert_problem(429, "too_many_attempts");
}

fn concurrent_wrong_logins_from_one_address_check_at_most_the_per_address_limit(app: TestApp) {
    // Every username differs, so only the per-address limit stands in the way.
    let answers = all_at_once(60, |i| app.login(&format!("nobody-{i}"), "guess"));
    let checked = count_checked(&answers, 401, "invalid_credentials");
    assert!(
        checked <= LOGIN_FAILURES_PER_ADDRESS_MAX as usize,
        "{checked} of 60 concurrent guesses were checked; the limit is {LOGIN_FAILURES_PER_ADDRESS_MAX}"
    );
    assert!(checked >= 1, "no guess was checked at all");
    app.login("someone-else", "guess")
        .assert_problem(429, "too_many_attempts");
}

fn wrong_current_passwords_are_throttled_like_logins(app: TestApp) {
    let token = app.user_with_roles("guesser", &["clerk"], None);
    let answers = all_at_once(25, |i| {
        password_change(&app, &token, &format!("not-my-password-{i}"))
    });
    let checked = count_checked(&answers, 403, "wrong_password");
    assert!(
        checked <= LOGIN_FAILURES_PER_USER_MAX as usize,
        "{checked} of 25 concurrent wrong current passwords were checked; the limit is {LOGIN_FAILURES_PER_USER_MAX}"
    );
    assert!(checked >= 1, "no current password was checked at all");
    // One after another is no better, and the right password waits too: the limit is per user,
    // whichever door the guesses come through.
    password_change(&app, &token, "not-my-password").assert_problem(429, "too_many_attempts");
    password_change(&app, &token, "password-123").assert_problem(429, "too_many_attempts");
    app.login("guesser", "password-123")
        .assert_problem(429, "too_many_attempts");
    // Nothing changed: the old password is still the password (checked on a fresh server, whose
    // throttle is empty).
    let mut app = app;
    app.restart();
    app.login_ok("guesser", "password-123");
}

fn wrong_current_passwords_from_one_address_are_limited_across_users(app: TestApp) {
    let users = 25;
    // Successful logins do not count against the address, so all of these get in.
    let tokens: Vec<String> = (0..users)
        .map(|i| app.user_with_roles(&format!("user-{i}"), &["clerk"], None))
        .collect();
    let answers = all_at_once(users, |i| {
        password_change(&app, &tokens[i], "wrong-password")
    });
    let checked = count_checked(&answers, 403, "wrong_password");
    assert!(
        checked <= LOGIN_FAILURES_PER_ADDRESS_MAX as usize,
        "{checked} of {users} concurrent wrong current passwords were checked; the limit is {LOGIN_FAILURES_PER_ADDRESS_MAX}"
    );
    assert!(checked >= 1, "no current password was checked at all");
}

fn a_right_password_change_is_not_held_back_by_its_own_attempt(app: TestApp) {
    let token = app.user_with_roles("changer", &["clerk"], None);
    for _ in 0..(LOGIN_FAILURES_PER_USER_MAX - 1) {
        password_change(&app, &token, "wrong-password").assert_problem(403, "wrong_password");
    }
    let changed = password_change(&app, &token, "password-123");
    assert_eq!(changed.status, 204, "{}", changed.text);
    // The success cleared the user's failures, so logging in with the new password works.
    app.login_ok("changer", "a-new-password-1");
}

both_backends!(
    concurrent_wrong_logins_for_one_user_check_at_most_the_per_user_limit,
    concurrent_wrong_logins_from_one_address_check_at_most_the_per_address_limit,
    wrong_current_passwords_are_throttled_like_logins,
    wrong_current_passwords_from_one_address_are_limited_across_users,
    a_right_password_change_is_not_held_back_by_its_own_attempt,
);
