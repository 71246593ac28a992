//! Passwords, tokens and secrets never reach the log.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::{Backend, TestApp};
use serde_json::json;

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

fn captured() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
}

#[test]
fn secrets_never_appear_in_the_logs() {
    let logs = captured();
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
    drop(app);
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(
        text.contains("/api/v1/auth/login"),
        "requests are logged: {text}"
    );
    assert!(text.contains("failed login"), "failed logins are logged");
    for secret in [
        secret_password,
        "wrong-password-xyz",
        "another-secret-pw",
        common::ADMIN_PASSWORD,
        common::JWT_SECRET,
        &token,
        "forged.token.value",
    ] {
        assert!(
            !text.contains(secret),
            "the log contains a secret: {secret}"
        );
    }
}
