//! First start, restart, the CLI, and configuration errors.

use std::io::Write;
use std::process::Stdio;

use crate::common::child::moralbank;
use crate::common::{config_for, Backend, ScratchDb, TestApp, ADMIN_PASSWORD};
use diesel::prelude::*;
use moralbank::db::schema::{accounts, communities, users};

fn counts(db: &ScratchDb) -> (i64, Vec<String>, i64) {
    let mut conn = db.connect();
    let c: i64 = communities::table.count().get_result(&mut conn).unwrap();
    let mut kinds: Vec<String> = accounts::table
        .select(accounts::kind)
        .load(&mut conn)
        .unwrap();
    kinds.sort();
    let u: i64 = users::table.count().get_result(&mut conn).unwrap();
    (c, kinds, u)
}

fn first_start_creates_the_community_and_a_restart_creates_nothing(app: TestApp) {
    let first = counts(&app.db);
    assert_eq!(
        first,
        (
            1,
            vec![
                "deductions".into(),
                "expired".into(),
                "fund".into(),
                "holds".into(),
                "issuance".into(),
                "shop".into()
            ],
            1
        )
    );
    let mut app = app;
    app.restart();
    assert_eq!(counts(&app.db), first);
    // A community from before expiry lacks its `expired` account: a start creates it, once.
    let mut conn = app.db.connect();
    let gone = diesel::delete(accounts::table.filter(accounts::kind.eq("expired")))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(gone, 1);
    drop(conn);
    app.restart();
    assert_eq!(counts(&app.db), first);
    app.restart();
    assert_eq!(counts(&app.db), first);
    // The same admin password still works, and the JWT secret survived.
    app.login_ok("admin", ADMIN_PASSWORD);
    assert_eq!(app.get("/api/v1/me", &app.admin_token).status, 200);
}

fn a_generated_admin_password_is_given_once(backend: Backend) {
    let Some(db) = ScratchDb::new(backend) else {
        return;
    };
    let mut config = config_for(&db.url);
    config.admin_password = None;
    config.jwt_secret = None;
    let pool = moralbank::db::build_pool(&config.database_url).unwrap();
    let first = moralbank::app::bootstrap::bootstrap(&config, &pool).unwrap();
    let password = first
        .generated_admin_password
        .expect("a generated password");
    assert_eq!(password.len(), 20);
    assert!(first.created_community);
    let second = moralbank::app::bootstrap::bootstrap(&config, &pool).unwrap();
    assert!(second.generated_admin_password.is_none());
    assert!(!second.created_community);
    assert_eq!(
        second.jwt_secret, first.jwt_secret,
        "the generated secret is kept"
    );
    assert_eq!(second.community_id, first.community_id);
    // The printed password is the one that logs in.
    let mut conn = db.connect();
    let stored: String = users::table
        .filter(users::username.eq("admin"))
        .select(users::password_hash)
        .first(&mut conn)
        .unwrap();
    assert!(moralbank::auth::password::verify_password(
        &password, &stored
    ));
}

#[test]
fn a_generated_admin_password_is_given_once_sqlite() {
    a_generated_admin_password_is_given_once(Backend::Sqlite);
}

#[test]
fn a_generated_admin_password_is_given_once_postgres() {
    a_generated_admin_password_is_given_once(Backend::Postgres);
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    for (var, value) in [
        ("MORALBANK_BIND", "not-an-address"),
        ("MORALBANK_DATABASE_URL", "mysql://nope"),
        ("MORALBANK_TOKEN_TTL_SECONDS", "-1"),
        ("MORALBANK_BATCH_MAX", "0"),
        ("MORALBANK_COMMUNITY_UTC_OFFSET", "8"),
        // A read replica beside the default SQLite primary, and one that is not PostgreSQL.
        ("MORALBANK_READ_DATABASE_URL", "postgres://x@standby/mb"),
        ("MORALBANK_READ_DATABASE_URL", "sqlite://./replica.db"),
    ] {
        let output = moralbank().arg("migrate").env(var, value).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{var}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
}

#[test]
fn the_openapi_command_prints_the_checked_in_spec() {
    let output = moralbank().arg("openapi").output().unwrap();
    assert!(output.status.success());
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), checked_in);
}

fn the_cli_migrates_and_adds_a_user_who_can_log_in(app: TestApp) {
    let output = moralbank()
        .arg("migrate")
        .env("MORALBANK_DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let member = app.create_member("何十一");
    let mut child = moralbank()
        .args([
            "user",
            "add",
            "--username",
            "hesy",
            "--roles",
            "resident",
            "--password-stdin",
        ])
        .args(["--member-no", member["member_no"].as_str().unwrap()])
        .env("MORALBANK_DATABASE_URL", &app.db.url)
        .env("MORALBANK_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"cli-password-1\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{:?} {} {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let token = app.login_ok("hesy", "cli-password-1");
    let me = app.get("/api/v1/me", &token);
    assert_eq!(me.body["member"]["id"], member["id"]);
    // The password came from stdin, never from the command line.
    assert!(!String::from_utf8_lossy(&output.stdout).contains("cli-password-1"));
    // A resident needs a member.
    let output = moralbank()
        .args([
            "user",
            "add",
            "--username",
            "nomember",
            "--roles",
            "resident",
            "--password-stdin",
        ])
        .env("MORALBANK_DATABASE_URL", &app.db.url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
}

both_backends!(
    first_start_creates_the_community_and_a_restart_creates_nothing,
    the_cli_migrates_and_adds_a_user_who_can_log_in,
);
