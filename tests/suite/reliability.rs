//! Break the service on purpose: kill -9 it mid-load, stop it with SIGTERM, run two of it on one
//! database, copy it while it writes. Nothing acknowledged is ever lost; nothing unacknowledged
//! half-happens.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::child::{verify_cli, ChildApp, BIN};
use crate::common::{Backend, ScratchDb};
use diesel::prelude::*;
use serde_json::{json, Value};

type Server = ChildApp;

fn shop_fixture(server: &Server, token: &str, members: usize) -> (Vec<Value>, Value) {
    let goods = server
        .call(
            "POST",
            "/api/v1/goods",
            Some(token),
            None,
            Some(&json!({"sku": "SOAP", "name": "肥皂", "price": "1.00", "stock": 1_000_000})),
        )
        .unwrap()
        .1;
    let members = (0..members)
        .map(|i| {
            let m = server.call("POST", "/api/v1/members", Some(token), None, Some(&json!({"name": format!("居民{i}")}))).unwrap().1;
            let (s, _, _) = server
                .call("POST", "/api/v1/adjustments", Some(token), Some(&format!("open-{i}")),
                    Some(&json!({"member_id": m["id"], "amount": "1000000", "kind": "opening_balance", "reason": "r"})))
                .unwrap();
            assert_eq!(s, 201);
            m
        })
        .collect();
    (members, goods)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Credit { key: String, member: usize },
    Redeem { key: String, member: usize },
}

impl Op {
    fn key(&self) -> &str {
        match self {
            Op::Credit { key, .. } | Op::Redeem { key, .. } => key,
        }
    }

    fn send(
        &self,
        server: &Server,
        token: &str,
        members: &[Value],
        goods: &Value,
    ) -> Result<(u16, Value), String> {
        let answer = match self {
            Op::Credit { key, member } => server.call("POST", "/api/v1/adjustments", Some(token), Some(key),
                Some(&json!({"member_id": members[*member]["id"], "amount": "1.00", "kind": "correction", "reason": "load"}))),
            Op::Redeem { key, member } => server.call("POST", "/api/v1/redemptions", Some(token), Some(key),
                Some(&json!({"member_id": members[*member]["id"], "lines": [{"goods_id": goods["id"], "quantity": 1}]}))),
        };
        answer.map(|(status, body, _)| (status, body))
    }
}

struct Dice(u64);
impl Dice {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn idempotency_keys(db: &ScratchDb) -> BTreeSet<String> {
    use moralbank::db::schema::idempotency_keys;
    let mut conn = db.connect();
    idempotency_keys::table
        .select(idempotency_keys::idem_key)
        .load::<String>(&mut conn)
        .unwrap()
        .into_iter()
        .collect()
}

/// Drives credits and redemptions from 8 clients, kills the server with SIGKILL at seeded moments,
/// restarts it, and checks every acknowledged request and every retry.
fn acknowledged_writes_survive_kill_9(backend: Backend, kills: usize, seed: u64) {
    let Some(db) = ScratchDb::new(backend) else {
        return;
    };
    let mut server = Server::start(&db.url);
    let token = server.token();
    let (members, goods) = shop_fixture(&server, &token, 4);
    let mut dice = Dice(seed);
    let sent: Mutex<Vec<Op>> = Mutex::new(Vec::new());
    let acknowledged: Mutex<Vec<Op>> = Mutex::new(Vec::new());
    for round in 0..kills {
        let token = server.token();
        let stop = AtomicBool::new(false);
        let delay = Duration::from_millis(150 + dice.next(500));
        std::thread::scope(|s| {
            for t in 0..8 {
                let (server, token, members, goods, sent, acknowledged, stop) = (
                    &server,
                    &token,
                    &members,
                    &goods,
                    &sent,
                    &acknowledged,
                    &stop,
                );
                s.spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let key = format!("r{round}-t{t}-n{n}");
                        let op = if t % 2 == 0 {
                            Op::Redeem { key, member: t % 4 }
                        } else {
                            Op::Credit { key, member: t % 4 }
                        };
                        sent.lock().unwrap().push(op.clone());
                        match op.send(server, token, members, goods) {
                            Ok((201, _)) => acknowledged.lock().unwrap().push(op),
                            Ok((status, body)) => {
                                assert!(status < 500 || status == 503, "{status}: {body}");
                            }
                            Err(_) => break, // the server is gone
                        }
                        n += 1;
                    }
                });
            }
            std::thread::sleep(delay);
            server.kill9().unwrap();
            stop.store(true, Ordering::SeqCst);
        });
        server.wait().unwrap();
        // Every acknowledged request is in the database after the crash.
        let stored = idempotency_keys(&db);
        for op in acknowledged.lock().unwrap().iter() {
            assert!(
                stored.contains(op.key()),
                "acknowledged {} was lost",
                op.key()
            );
        }
        let (code, out) = verify_cli(&db.url);
        assert_eq!(code, 0, "after kill {round}: {out}");
        server = Server::start(&db.url);
    }
    // Retry everything that was sent: the acknowledged replay, the rest apply at most once.
    let token = server.token();
    let sent = sent.into_inner().unwrap();
    for op in &sent {
        let (status, body) = op.send(&server, &token, &members, &goods).unwrap();
        assert_eq!(status, 201, "retry of {}: {body}", op.key());
    }
    let stored = idempotency_keys(&db);
    for op in &sent {
        assert!(stored.contains(op.key()));
    }
    let credits = sent
        .iter()
        .filter(|o| matches!(o, Op::Credit { .. }))
        .count() as i64;
    let redeems = sent.len() as i64 - credits;
    // Exactly one effect per key: balances and stock add up to what was sent.
    let mut total = 0;
    for m in &members {
        let (_, a, _) = server
            .call(
                "GET",
                &format!("/api/v1/accounts/{}", m["account_id"].as_str().unwrap()),
                Some(&token),
                None,
                None,
            )
            .unwrap();
        let text = a["balance"].as_str().unwrap().to_string();
        total += (text.parse::<f64>().unwrap() * 100.0).round() as i64;
    }
    assert_eq!(total, 4 * 100_000_000 + 100 * credits - 100 * redeems);
    let (_, g, _) = server
        .call(
            "GET",
            &format!("/api/v1/goods/{}", goods["id"].as_str().unwrap()),
            Some(&token),
            None,
            None,
        )
        .unwrap();
    assert_eq!(g["stock"].as_i64().unwrap(), 1_000_000 - redeems);
    drop(server);
    let (code, out) = verify_cli(&db.url);
    assert_eq!(code, 0, "{out}");
    assert!(
        sent.len() > kills * 8,
        "the load ran: {} requests",
        sent.len()
    );
}

#[test]
fn acknowledged_writes_survive_kill_9_sqlite() {
    acknowledged_writes_survive_kill_9(Backend::Sqlite, 3, 7);
}

#[test]
fn acknowledged_writes_survive_kill_9_postgres() {
    acknowledged_writes_survive_kill_9(Backend::Postgres, 3, 11);
}

/// The long variant: `cargo test --test suite reliability:: -- --ignored`.
#[test]
#[ignore]
fn acknowledged_writes_survive_fifty_kills() {
    acknowledged_writes_survive_kill_9(Backend::Sqlite, 50, 1);
    acknowledged_writes_survive_kill_9(Backend::Postgres, 50, 2);
}

/// SIGTERM: stop accepting, answer what is in flight, exit 0.
fn sigterm_finishes_what_is_queued(backend: Backend) {
    let Some(db) = ScratchDb::new(backend) else {
        return;
    };
    let mut server = Server::start(&db.url);
    let token = server.token();
    let (members, goods) = shop_fixture(&server, &token, 2);
    type Answer = (String, Result<(u16, Value), String>);
    let answers: Mutex<Vec<Answer>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..16 {
            let (server, token, members, goods, answers) =
                (&server, &token, &members, &goods, &answers);
            s.spawn(move || {
                for n in 0..20 {
                    let op = Op::Redeem {
                        key: format!("t{t}-{n}"),
                        member: t % 2,
                    };
                    let result = op.send(server, token, members, goods);
                    let gone = result.is_err();
                    answers.lock().unwrap().push((op.key().to_string(), result));
                    if gone {
                        break;
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(100));
        server.signal("TERM").unwrap();
    });
    let started = Instant::now();
    let exit = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(0), "a graceful stop exits 0");
    let stored = idempotency_keys(&db);
    let answers = answers.into_inner().unwrap();
    let mut ok = 0;
    for (key, result) in &answers {
        if let Ok((status, body)) = result {
            assert!(*status == 201, "{key}: {status} {body}");
            assert!(stored.contains(key), "answered {key} is not stored");
            ok += 1;
        }
    }
    assert!(ok > 0, "some requests were answered before the stop");
    let (code, out) = verify_cli(&db.url);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn sigterm_finishes_what_is_queued_sqlite() {
    sigterm_finishes_what_is_queued(Backend::Sqlite);
}

#[test]
fn sigterm_finishes_what_is_queued_postgres() {
    sigterm_finishes_what_is_queued(Backend::Postgres);
}

/// Two instances on one database, racing for the same members and goods.
fn two_instances_share_one_ledger(backend: Backend) {
    let Some(db) = ScratchDb::new(backend) else {
        return;
    };
    let first = Server::start(&db.url);
    let token = first.token();
    let goods = first
        .call(
            "POST",
            "/api/v1/goods",
            Some(&token),
            None,
            Some(&json!({"sku": "RARE", "name": "稀缺", "price": "1.00", "stock": 60})),
        )
        .unwrap()
        .1;
    let members: Vec<Value> = (0..2)
        .map(|i| {
            let m = first.call("POST", "/api/v1/members", Some(&token), None, Some(&json!({"name": format!("双实例{i}")}))).unwrap().1;
            first.call("POST", "/api/v1/adjustments", Some(&token), Some(&format!("o{i}")),
                Some(&json!({"member_id": m["id"], "amount": "40", "kind": "opening_balance", "reason": "r"}))).unwrap();
            m
        })
        .collect();
    let second = Server::start(&db.url);
    let token2 = second.token();
    let results: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..16 {
            let server = if t % 2 == 0 { &first } else { &second };
            let token = if t % 2 == 0 { &token } else { &token2 };
            let (members, goods, results) = (&members, &goods, &results);
            s.spawn(move || {
                for n in 0..10 {
                    let op = Op::Redeem {
                        key: format!("x{t}-{n}"),
                        member: (t / 2) % 2,
                    };
                    // A busy ledger may answer 503 with Retry-After; a client retries the same key.
                    let mut attempts = 0;
                    let (status, body) = loop {
                        let (status, body) = op.send(server, token, members, goods).unwrap();
                        attempts += 1;
                        if status != 503 || attempts == 20 {
                            break (status, body);
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    };
                    assert!(
                        status == 201 || status == 422 || status == 409,
                        "{status}: {body}"
                    );
                    results.lock().unwrap().push(status);
                }
            });
        }
    });
    let ok = results
        .lock()
        .unwrap()
        .iter()
        .filter(|s| **s == 201)
        .count() as i64;
    // 80 coins between the two members, 60 items: exactly 60 redemptions can succeed.
    assert_eq!(ok, 60, "every item sold once, never more");
    let (_, g, _) = first
        .call(
            "GET",
            &format!("/api/v1/goods/{}", goods["id"].as_str().unwrap()),
            Some(&token),
            None,
            None,
        )
        .unwrap();
    assert_eq!(g["stock"], 0);
    let mut total = 0.0;
    for m in &members {
        let (_, a, _) = first
            .call(
                "GET",
                &format!("/api/v1/accounts/{}", m["account_id"].as_str().unwrap()),
                Some(&token),
                None,
                None,
            )
            .unwrap();
        let balance: f64 = a["balance"].as_str().unwrap().parse().unwrap();
        assert!(balance >= 0.0);
        total += balance;
    }
    assert_eq!(total, 20.0);
    drop(first);
    drop(second);
    let (code, out) = verify_cli(&db.url);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn two_instances_share_one_ledger_postgres() {
    two_instances_share_one_ledger(Backend::Postgres);
}

#[test]
fn two_instances_share_one_ledger_sqlite() {
    two_instances_share_one_ledger(Backend::Sqlite);
}

#[test]
fn an_online_backup_of_sqlite_verifies() {
    let Some(db) = ScratchDb::new(Backend::Sqlite) else {
        return;
    };
    let server = Server::start(&db.url);
    let token = server.token();
    let (members, goods) = shop_fixture(&server, &token, 2);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                Op::Credit {
                    key: format!("b{n}"),
                    member: n % 2,
                }
                .send(&server, &token, &members, &goods)
                .unwrap();
                n += 1;
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        let out = Command::new(BIN)
            .args(["backup", copy.to_str().unwrap()])
            .env("MORALBANK_DATABASE_URL", &db.url)
            .output()
            .unwrap();
        stop.store(true, Ordering::SeqCst);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    let (code, out) = verify_cli(&format!("sqlite://{}", copy.display()));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK: checked"), "{out}");
    let again = Command::new(BIN)
        .args(["backup", copy.to_str().unwrap()])
        .env("MORALBANK_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );
}
