//! The real binary as a child process (the library's `harness`), with the requests the crash and
//! outage tests send it, and the binary's one-shot commands.

use std::time::Duration;

use moralbank::harness::ChildServer;
use serde_json::{json, Value};

use super::{ADMIN_PASSWORD, JWT_SECRET};

pub const BIN: &str = env!("CARGO_BIN_EXE_moralbank");

/// The binary as a command that inherits no `MORALBANK_` setting and no `RUST_LOG` from the
/// environment the tests run in.
pub fn moralbank() -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("MORALBANK_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
}

/// `moralbank verify` on the database: (exit code, what it printed).
pub fn verify_cli(db_url: &str) -> (i32, String) {
    let out = std::process::Command::new(BIN)
        .arg("verify")
        .env("MORALBANK_DATABASE_URL", db_url)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

pub struct ChildApp {
    pub server: ChildServer,
    agent: ureq::Agent,
}

impl std::ops::Deref for ChildApp {
    type Target = ChildServer;
    fn deref(&self) -> &ChildServer {
        &self.server
    }
}

impl std::ops::DerefMut for ChildApp {
    fn deref_mut(&mut self) -> &mut ChildServer {
        &mut self.server
    }
}

impl ChildApp {
    /// The binary on `db_url`, with the tests' admin password and signing secret.
    pub fn start(db_url: &str) -> ChildApp {
        ChildApp::start_with(db_url, &[])
    }

    /// The same, with more settings (`MORALBANK_…` names and values).
    pub fn start_with(db_url: &str, settings: &[(&str, &str)]) -> ChildApp {
        let mut all = vec![
            ("MORALBANK_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("MORALBANK_JWT_SECRET", JWT_SECRET),
        ];
        all.extend_from_slice(settings);
        let server = ChildServer::start(std::path::Path::new(BIN), db_url, &all)
            .unwrap_or_else(|e| panic!("{e}"));
        ChildApp {
            server,
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
        }
    }

    /// A request; a transport error (the server is gone) is an `Err`.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value, Option<String>), String> {
        let url = format!("{}{path}", self.server.base_url());
        let mut req = self.agent.request(method, &url);
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        if let Some(k) = key {
            req = req.set("Idempotency-Key", k);
        }
        let result = match body {
            Some(b) => req.send_json(b.clone()),
            None => req.call(),
        };
        match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => {
                let status = r.status();
                let content_type = r.header("content-type").map(str::to_string);
                Ok((status, r.into_json().unwrap_or(Value::Null), content_type))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// A token of the first admin.
    pub fn token(&self) -> String {
        let login = json!({"username": "admin", "password": ADMIN_PASSWORD});
        let (status, body, _) = self
            .call("POST", "/api/v1/auth/login", None, None, Some(&login))
            .unwrap_or_else(|e| panic!("login: {e}"));
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_string()
    }
}
