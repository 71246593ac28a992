//! Black-box test harness: a real server on port 0 with its own fresh database (a temporary
//! SQLite file, or a new PostgreSQL database created and dropped per test), and one helper per
//! endpoint.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use moralbank::app::config::{Config, RawSettings};
use moralbank::db::{DatabaseUrl, DbConn};
use serde_json::{json, Value};

pub mod browser;
pub mod child;
pub mod cluster;

/// The environment variable that names the PostgreSQL server tests create databases on.
pub const POSTGRES_URL_VAR: &str = "MORALBANK_TEST_POSTGRES_URL";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$test(app)` once per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[test]
                fn sqlite() {
                    if let Some(app) = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite) {
                        super::$test(app);
                    }
                }
                #[test]
                fn postgres() {
                    if let Some(app) = $crate::common::TestApp::spawn($crate::common::Backend::Postgres) {
                        super::$test(app);
                    }
                }
            }
        )*
    };
}

/// Like `both_backends!`, with the server's configuration changed first by `$configure`, a
/// function in scope where the macro is used.
#[macro_export]
macro_rules! both_backends_with {
    ($configure:ident; $($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[test]
                fn sqlite() {
                    if let Some(app) = $crate::common::TestApp::spawn_with($crate::common::Backend::Sqlite, super::$configure) {
                        super::$test(app);
                    }
                }
                #[test]
                fn postgres() {
                    if let Some(app) = $crate::common::TestApp::spawn_with($crate::common::Backend::Postgres, super::$configure) {
                        super::$test(app);
                    }
                }
            }
        )*
    };
}

/// A community west of Greenwich: the end of its last local day, 9999-12-31, falls in the year
/// 10000 in UTC, which is where text-compared timestamps used to go wrong.
pub fn west_of_greenwich(config: &mut Config) {
    config.community_utc_offset_minutes = -5 * 60;
}

/// The base URL of the PostgreSQL server for tests. In CI its absence is a failure, never a skip.
pub fn postgres_base_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
                panic!("{POSTGRES_URL_VAR} must be set in CI: PostgreSQL tests may not be skipped");
            }
            // Written to stderr directly: the test harness captures eprintln!, and a skip must be
            // seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "NOTICE: skipping a PostgreSQL test: set {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test to run it"
            );
            None
        }
    }
}

/// A database of its own for one test.
pub struct ScratchDb {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl ScratchDb {
    pub fn new(backend: Backend) -> Option<ScratchDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("moralbank.db").display());
                Some(ScratchDb {
                    url,
                    pg: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let base = postgres_base_url()?;
                let name = format!("mbtest_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::establish(&base)
                    .unwrap_or_else(|e| panic!("PostgreSQL at {base} is unreachable: {e}"));
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let url = match base.rfind('/') {
                    Some(i) if base[..i].ends_with(|c: char| c != '/') => {
                        format!("{}/{}", &base[..i], name)
                    }
                    _ => format!("{base}/{name}"),
                };
                Some(ScratchDb {
                    url,
                    pg: Some((base, name)),
                    _dir: None,
                })
            }
        }
    }

    /// The same database for a second server (another instance); the first owns and drops it.
    pub fn shared(&self) -> ScratchDb {
        ScratchDb {
            url: self.url.clone(),
            pg: None,
            _dir: None,
        }
    }

    pub fn connect(&self) -> DbConn {
        DatabaseUrl::parse(&self.url)
            .expect("url")
            .connect()
            .expect("connect to test database")
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.pg {
            if let Ok(mut admin) = PgConnection::establish(base) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts an error answer: the status, the problem+json shape, and the code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type; body: {}",
            self.text
        );
        assert_eq!(self.body["status"], status, "{}", self.text);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        assert_eq!(self.code(), code, "code; body: {}", self.text);
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub db: ScratchDb,
    pub addr: SocketAddr,
    pub base: String,
    pub admin_token: String,
    /// The server's business clock: tests move it instead of sleeping.
    pub clock: moralbank::kernel::Clock,
    handle: Option<actix_web::dev::ServerHandle>,
    thread: Option<JoinHandle<()>>,
    agent: ureq::Agent,
}

pub fn config_for(db_url: &str) -> Config {
    Config::from_raw(RawSettings {
        database_url: Some(db_url.to_string()),
        bind: Some("127.0.0.1:0".into()),
        jwt_secret: Some(JWT_SECRET.into()),
        admin_password: Some(ADMIN_PASSWORD.into()),
        workers: Some("2".into()),
        ..RawSettings::default()
    })
    .map(|mut config| {
        config.sweep_interval_ms = 50;
        config
    })
    .expect("test config")
}

fn config_with_clock(db_url: &str, clock: &moralbank::kernel::Clock) -> Config {
    let mut config = config_for(db_url);
    config.clock = clock.clone();
    config
}

fn start_server(config: Config) -> (SocketAddr, actix_web::dev::ServerHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = match moralbank::app::start(config) {
                Ok(app) => app,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = tx.send(Ok((app.addr, app.server.handle())));
            let _ = app.server.await;
        })
    });
    let (addr, handle) = rx
        .recv()
        .expect("server thread")
        .unwrap_or_else(|e| panic!("server failed to start: {e}"));
    (addr, handle, thread)
}

impl TestApp {
    /// A server on a fresh database, or `None` when PostgreSQL is not configured (outside CI).
    pub fn spawn(backend: Backend) -> Option<TestApp> {
        let db = ScratchDb::new(backend)?;
        Some(TestApp::spawn_on(backend, db))
    }

    pub fn spawn_on(backend: Backend, db: ScratchDb) -> TestApp {
        TestApp::spawn_on_with(backend, db, |_| {})
    }

    /// A server on a fresh database whose configuration `configure` changes first.
    pub fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let db = ScratchDb::new(backend)?;
        Some(TestApp::spawn_on_with(backend, db, configure))
    }

    pub fn spawn_on_with(
        backend: Backend,
        db: ScratchDb,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let clock = moralbank::kernel::Clock::default();
        let mut config = config_with_clock(&db.url, &clock);
        configure(&mut config);
        let (addr, handle, thread) = start_server(config);
        let agent = ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(60))
            .max_idle_connections_per_host(64)
            .build();
        let mut app = TestApp {
            backend,
            db,
            addr,
            base: format!("http://{addr}"),
            admin_token: String::new(),
            clock,
            handle: Some(handle),
            thread: Some(thread),
            agent,
        };
        app.admin_token = app.login_ok("admin", ADMIN_PASSWORD);
        app
    }

    /// Stops the server (letting queued work finish) and starts a new one on the same database.
    pub fn restart(&mut self) {
        self.stop();
        let (addr, handle, thread) = start_server(config_with_clock(&self.db.url, &self.clock));
        self.addr = addr;
        self.base = format!("http://{addr}");
        self.handle = Some(handle);
        self.thread = Some(thread);
    }

    pub fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop(true));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // The writer thread exits once the server's state is dropped; give it a moment to close
        // its connection so the database can be dropped or reopened.
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        self.request_bytes(method, path, token, headers, body.map(str::as_bytes))
    }

    /// A request whose body may be any bytes (a CSV or a spreadsheet); JSON unless `headers`
    /// give a Content-Type.
    pub fn request_bytes(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        let mut req = self.agent.request(method, &self.url(path));
        if let Some(token) = token {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        let mut has_content_type = false;
        for (k, v) in headers {
            has_content_type |= k.eq_ignore_ascii_case("content-type");
            req = req.set(k, v);
        }
        let result = match body {
            Some(body) => {
                if !has_content_type {
                    req = req.set("Content-Type", "application/json");
                }
                req.send_bytes(body)
            }
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: transport error {e}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_string())))
            .collect();
        let text = response.into_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.request("GET", path, Some(token), &[], None)
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.request("POST", path, Some(token), &[], Some(&body.to_string()))
    }

    pub fn login(&self, username: &str, password: &str) -> Resp {
        self.request(
            "POST",
            "/api/v1/auth/login",
            None,
            &[],
            Some(&json!({"username": username, "password": password}).to_string()),
        )
    }

    /// Logs in to the community with this code (needed once the database holds several).
    pub fn login_in(&self, community: &str, username: &str, password: &str) -> Resp {
        self.request(
            "POST",
            "/api/v1/auth/login",
            None,
            &[],
            Some(
                &json!({"community": community, "username": username, "password": password})
                    .to_string(),
            ),
        )
    }

    pub fn login_in_ok(&self, community: &str, username: &str, password: &str) -> String {
        let resp = self.login_in(community, username, password);
        assert_eq!(
            resp.status, 200,
            "login {community}/{username}: {}",
            resp.text
        );
        resp.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub fn login_ok(&self, username: &str, password: &str) -> String {
        let resp = self.login(username, password);
        assert_eq!(resp.status, 200, "login {username}: {}", resp.text);
        resp.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub fn create_member(&self, name: &str) -> Value {
        let resp = self.post(
            "/api/v1/members",
            &self.admin_token,
            &json!({ "name": name }),
        );
        assert_eq!(resp.status, 201, "create member: {}", resp.text);
        resp.body
    }

    /// Creates a user with the given roles (and member, for a resident) and logs them in.
    pub fn user_with_roles(
        &self,
        username: &str,
        roles: &[&str],
        member_id: Option<&str>,
    ) -> String {
        let mut body = json!({"username": username, "password": "password-123", "roles": roles});
        if let Some(member) = member_id {
            body["member_id"] = json!(member);
        }
        let resp = self.post("/api/v1/users", &self.admin_token, &body);
        assert_eq!(resp.status, 201, "create user: {}", resp.text);
        self.login_ok(username, "password-123")
    }

    /// A resident with a member record, logged in: (member, token).
    pub fn resident(&self, name: &str, username: &str) -> (Value, String) {
        let member = self.create_member(name);
        let token = self.user_with_roles(username, &["resident"], member["id"].as_str());
        (member, token)
    }

    pub fn adjust(
        &self,
        key: &str,
        member_id: &str,
        amount: &str,
        kind: &str,
        reason: &str,
    ) -> Resp {
        self.request(
            "POST",
            "/api/v1/adjustments",
            Some(&self.admin_token),
            &[("Idempotency-Key", key)],
            Some(
                &json!({"member_id": member_id, "amount": amount, "kind": kind, "reason": reason})
                    .to_string(),
            ),
        )
    }

    pub fn balance_of(&self, account_id: &str) -> String {
        let resp = self.get(&format!("/api/v1/accounts/{account_id}"), &self.admin_token);
        assert_eq!(resp.status, 200, "{}", resp.text);
        resp.body["balance"].as_str().expect("balance").to_string()
    }

    pub fn verify(&self) -> Value {
        let resp = self.get("/api/v1/ledger/verify", &self.admin_token);
        assert_eq!(resp.status, 200, "{}", resp.text);
        resp.body
    }

    /// Cuts the newest transaction off the journal behind the service's back, the way a careful
    /// forger would: its postings, its idempotency key and its tree nodes go, and every cached
    /// balance and the chain head are rewound, so the database alone looks like an honest
    /// shorter ledger.
    pub fn cut_the_tail(&self) {
        let app = self;
        let mut conn = app.db.connect();
        let size = {
            let n: i64 = moralbank::db::schema::journal::table
                .count()
                .get_result(&mut conn)
                .unwrap();
            n
        } as u64;
        let last: moralbank::db::models::JournalRow = moralbank::db::schema::journal::table
            .order(moralbank::db::schema::journal::seq.desc())
            .select(moralbank::db::models::JournalRow::as_select())
            .first(&mut conn)
            .unwrap();
        let id = last.id.0;
        let leaf = size - 1;
        let nodes: Vec<String> = (0..63)
            .map(|h| format!("(height = {h} AND idx = {})", leaf >> h))
            .collect();
        let disable = match app.backend {
            Backend::Sqlite => "DROP TRIGGER postings_no_delete; DROP TRIGGER journal_no_delete; DROP TRIGGER ledger_tree_no_delete;",
            Backend::Postgres => "ALTER TABLE postings DISABLE TRIGGER postings_append_only; ALTER TABLE journal DISABLE TRIGGER journal_append_only; ALTER TABLE ledger_tree DISABLE TRIGGER ledger_tree_append_only;",
        };
        let script = format!(
            "{disable}
             DELETE FROM idempotency_keys WHERE journal_id = '{id}';
             DELETE FROM postings WHERE journal_id = '{id}';
             DELETE FROM journal WHERE id = '{id}';
             DELETE FROM ledger_tree WHERE {};
             UPDATE accounts SET
               balance = COALESCE((SELECT p.balance_after FROM postings p WHERE p.account_id = accounts.id ORDER BY p.account_seq DESC LIMIT 1), 0),
               credits_total = COALESCE((SELECT p.credits_after FROM postings p WHERE p.account_id = accounts.id ORDER BY p.account_seq DESC LIMIT 1), 0),
               last_seq = COALESCE((SELECT max(p.account_seq) FROM postings p WHERE p.account_id = accounts.id), 0);
             UPDATE communities SET chain_seq = chain_seq - 1,
               chain_hash = (SELECT j.hash FROM journal j WHERE j.community_id = communities.id ORDER BY j.seq DESC LIMIT 1);",
            nodes.join(" OR ")
        );
        conn.batch_execute(&script).unwrap();
    }

    /// Row counts of every ledger table, straight from the database.
    pub fn ledger_counts(&self) -> (i64, i64, i64) {
        use moralbank::db::schema::{idempotency_keys, journal, postings};
        let mut conn = self.db.connect();
        let j: i64 = journal::table.count().get_result(&mut conn).expect("count");
        let p: i64 = postings::table
            .count()
            .get_result(&mut conn)
            .expect("count");
        let k: i64 = idempotency_keys::table
            .count()
            .get_result(&mut conn)
            .expect("count");
        (j, p, k)
    }

    /// Every balance and every posting, for "nothing changed" comparisons.
    pub fn ledger_snapshot(&self) -> (Vec<(String, i64, i64)>, i64, i64) {
        use moralbank::db::schema::{accounts, postings};
        let mut conn = self.db.connect();
        let mut balances: Vec<(String, i64, i64)> = accounts::table
            .select((accounts::id, accounts::balance, accounts::last_seq))
            .load::<(moralbank::db::DbUuid, i64, i64)>(&mut conn)
            .expect("accounts")
            .into_iter()
            .map(|(id, b, s)| (id.0.to_string(), b, s))
            .collect();
        balances.sort();
        let amounts: Vec<i64> = postings::table
            .select(postings::amount)
            .load(&mut conn)
            .expect("postings");
        let count = amounts.len() as i64;
        let sum: i64 = amounts.iter().sum();
        (balances, count, sum)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}
