//! Passwords, tokens and secrets never reach the log.
//!
//! A tracing subscriber is process-wide. Installed in the test process, it would capture every
//! other test's servers too (the text searched for secrets would hold their requests, and debug
//! logging would slow them all down), so the test runs its body in a child process of the test
//! binary, alone.

use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::common::{Backend, TestApp, ADMIN_PASSWORD, JWT_SECRET};
use serde_json::json;

/// Set in the child process that runs the test's body.
const IN_CHILD: &str = "MORALBANK_TEST_LOGS_IN_CHILD";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every log line of this process, from now on, to the returned buffer.
fn capture_logs() -> Captured {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    logs
}

#[test]
fn secrets_never_appear_in_the_logs() {
    if std::env::var_os(IN_CHILD).is_some() {
        secrets_never_appear_in_the_logs_of_this_process();
        return;
    }
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let name = format!("{module}::secrets_never_appear_in_the_logs");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([&name, "--exact", "--test-threads=1"])
        .env(IN_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name} in a child process: {}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn secrets_never_appear_in_the_logs_of_this_process() {
    let logs = capture_logs();
    let Some(app) = TestApp::spawn(Backend::Sqlite) else {
        return;
    };
    let secret_password = "hunter2-very-secret";
    let user = app.post(
        "/api/v1/users",
        &app.admin_token,
        &json!({"username": "logged", "password": secret_password, "roles": ["clerk"]}),
    );
    assert_eq!(user.status, 201);
    let token = app.login_ok("logged", secret_password);
    app.login("logged", "wrong-password-xyz")
        .assert_problem(401, "invalid_credentials");
    app.get("/api/v1/me", &token);
    app.get("/api/v1/me", "forged.token.value");
    app.post(
        "/api/v1/me/password",
        &token,
        &json!({"current_password": secret_password, "new_password": "another-secret-pw"}),
    );
    let user_id = user.body["id"].as_str().unwrap();
    let reset = app.post(
        &format!("/api/v1/users/{user_id}/password-reset"),
        &app.admin_token,
        &json!({}),
    );
    assert_eq!(reset.status, 200, "{}", reset.text);
    let temporary = reset.body["temporary_password"]
        .as_str()
        .unwrap()
        .to_string();
    let temporary_token = app.login_ok("logged", &temporary);
    app.get("/api/v1/members", &temporary_token)
        .assert_problem(403, "password_change_required");
    drop(app);
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(
        text.contains("/api/v1/auth/login"),
        "requests are logged: {text}"
    );
    assert!(text.contains("failed login"), "failed logins are logged");
    assert!(
        text.contains("password reset"),
        "password resets are logged"
    );
    for secret in [
        secret_password,
        "wrong-password-xyz",
        "another-secret-pw",
        ADMIN_PASSWORD,
        JWT_SECRET,
        &token,
        "forged.token.value",
        &temporary,
        &temporary_token,
    ] {
        assert!(
            !text.contains(secret),
            "the log contains a secret: {secret}"
        );
    }
}
