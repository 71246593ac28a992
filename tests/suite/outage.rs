//! Storage failures: a PostgreSQL server that goes away and comes back (a private cluster this
//! test creates; the shared one is never stopped), and a SQLite disk that fills up. Requests get
//! 503 problem+json in bounded time, the service recovers without a restart, nothing acknowledged
//! is lost.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::child::{verify_cli, ChildApp};
use crate::common::cluster::{run, unavailable, PrivateCluster};
use serde_json::{json, Value};

type Server = ChildApp;

/// One credit of 1.00, as the load clients send it.
fn credit(server: &Server, token: &str, member: &Value, key: &str) -> (u16, Value, Option<String>) {
    let body = json!({"member_id": member["id"], "amount": "1.00", "kind": "correction", "reason": "load"});
    server
        .call(
            "POST",
            "/api/v1/adjustments",
            Some(token),
            Some(key),
            Some(&body),
        )
        .unwrap_or_else(|e| panic!("credit {key}: {e}"))
}

fn verify_clean(db_url: &str) {
    let (code, out) = verify_cli(db_url);
    assert_eq!(code, 0, "{out}");
}

/// Runs credits from four clients until told to stop; returns (acknowledged keys, statuses).
fn load<'a>(
    server: &'a Server,
    token: &'a str,
    member: &'a Value,
    stop: &'a AtomicBool,
    acknowledged: &'a Mutex<Vec<String>>,
    statuses: &'a Mutex<Vec<(u16, Option<String>, Duration)>>,
    s: &'a std::thread::Scope<'a, '_>,
) {
    for t in 0..4 {
        s.spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let key = format!("load-{t}-{n}");
                let started = Instant::now();
                let (status, _, content_type) = credit(server, token, member, &key);
                statuses
                    .lock()
                    .unwrap()
                    .push((status, content_type, started.elapsed()));
                if status == 201 {
                    acknowledged.lock().unwrap().push(key);
                } else {
                    std::thread::sleep(Duration::from_millis(20));
                }
                n += 1;
            }
        });
    }
}

#[test]
fn a_postgres_outage_answers_503_and_the_service_recovers() {
    let Some(cluster) = PrivateCluster::create() else {
        unavailable("a private PostgreSQL cluster (initdb as the postgres user)");
        return;
    };
    let server = Server::start(&cluster.url());
    let token = server.token();
    let member = server
        .call(
            "POST",
            "/api/v1/members",
            Some(&token),
            None,
            Some(&json!({"name": "停机测试"})),
        )
        .unwrap()
        .1;
    let stop = AtomicBool::new(false);
    let acknowledged = Mutex::new(Vec::new());
    let statuses = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        load(&server, &token, &member, &stop, &acknowledged, &statuses, s);
        std::thread::sleep(Duration::from_millis(400));
        assert!(cluster.stop(), "stop the private cluster");
        std::thread::sleep(Duration::from_millis(1500));
        let (ready, body, content_type) = server.call("GET", "/readyz", None, None, None).unwrap();
        assert_eq!(ready, 503, "{body}");
        assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        std::thread::sleep(Duration::from_millis(1000));
        assert!(cluster.start(), "start the private cluster again");
        // Recovery without a restart: readiness returns and writes succeed.
        let started = Instant::now();
        while server.call("GET", "/readyz", None, None, None).unwrap().0 != 200 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the service did not recover"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::SeqCst);
    });
    let statuses = statuses.into_inner().unwrap();
    let during: Vec<_> = statuses.iter().filter(|(s, ..)| *s != 201).collect();
    assert!(!during.is_empty(), "the outage was seen");
    for (status, content_type, took) in &during {
        assert_eq!(*status, 503, "an outage answers 503, never {status}");
        assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        assert!(
            *took < Duration::from_secs(15),
            "answered in bounded time, not {took:?}"
        );
    }
    assert_eq!(
        statuses.last().unwrap().0,
        201,
        "writes succeed again after recovery"
    );
    let (status, ..) = credit(&server, &token, &member, "after");
    assert_eq!(status, 201);
    // Nothing acknowledged was lost.
    let mut conn = moralbank::db::DatabaseUrl::parse(&cluster.url())
        .unwrap()
        .connect()
        .unwrap();
    use diesel::prelude::*;
    use moralbank::db::schema::idempotency_keys;
    let stored: Vec<String> = idempotency_keys::table
        .select(idempotency_keys::idem_key)
        .load(&mut conn)
        .unwrap();
    for key in acknowledged.into_inner().unwrap() {
        assert!(stored.contains(&key), "acknowledged {key} was lost");
    }
    drop(server);
    verify_clean(&cluster.url());
}

/// A small disk of its own for SQLite.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path()))
        .then_some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        run(Command::new("umount").arg(self.dir.path()));
    }
}

#[test]
fn a_full_disk_answers_503_and_leaves_sqlite_intact() {
    let Some(disk) = SmallDisk::mount(16) else {
        unavailable("mounting a small tmpfs for the full-disk test");
        return;
    };
    let db_url = format!("sqlite://{}", disk.dir.path().join("full.db").display());
    let server = Server::start(&db_url);
    let token = server.token();
    let member = server
        .call(
            "POST",
            "/api/v1/members",
            Some(&token),
            None,
            Some(&json!({"name": "满盘测试"})),
        )
        .unwrap()
        .1;
    for i in 0..20 {
        assert_eq!(
            credit(&server, &token, &member, &format!("before-{i}")).0,
            201
        );
    }
    // Fill the disk to the last byte.
    let filler = disk.dir.path().join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", filler.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let mut refused = 0;
    for i in 0..200 {
        let (status, body, content_type) = credit(&server, &token, &member, &format!("full-{i}"));
        if status == 201 {
            continue; // pages already allocated may take a few more rows
        }
        assert_eq!(status, 503, "{body}");
        assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        refused += 1;
    }
    assert!(refused > 0, "a full disk refused writes");
    let (status, body, _) = server
        .call(
            "POST",
            "/api/v1/members",
            Some(&token),
            None,
            Some(&json!({"name": "新人"})),
        )
        .unwrap();
    assert!(status == 503 || status == 201, "{status}: {body}");
    // Free the disk: writes work again without a restart, and the file is intact.
    std::fs::remove_file(&filler).unwrap();
    let started = Instant::now();
    loop {
        let (status, ..) = credit(
            &server,
            &token,
            &member,
            &format!("after-{}", started.elapsed().as_millis()),
        );
        if status == 201 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no recovery after the disk was freed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);
    verify_clean(&db_url);
}
