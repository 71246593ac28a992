//! The read replica (`MORALBANK_READ_DATABASE_URL`): a private primary and a streaming standby of
//! it (`pg_basebackup -R`), the service on both. Reads that may lag (a statement, a report, a
//! list, the notice board) are answered by the standby, and answer what the primary holds once
//! it has replayed; reads right after one's own write (the receipt, the counter card) answer
//! from the primary even while the standby stands still; a standby that goes away costs no
//! request.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{json, Value};

use crate::common::child::ChildApp;
use crate::common::cluster::{unavailable, PrivateCluster};
use crate::common::ADMIN_PASSWORD;

/// How long the standby may take to replay, or its statistics to show a read.
const STANDBY_WAIT_SECONDS: u64 = 30;

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Word {
    #[diesel(sql_type = Text)]
    t: String,
}

fn connect(cluster: &PrivateCluster) -> PgConnection {
    PgConnection::establish(&cluster.url()).unwrap()
}

fn number(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Number>(conn).unwrap().n
}

fn word(conn: &mut PgConnection, sql: &str) -> String {
    diesel::sql_query(sql).get_result::<Word>(conn).unwrap().t
}

/// Waits until the standby has replayed everything the primary has written so far.
fn wait_for_replay(primary: &PrivateCluster, standby: &PrivateCluster) {
    let lsn = word(
        &mut connect(primary),
        "SELECT pg_current_wal_lsn()::text AS t",
    );
    let mut conn = connect(standby);
    let started = Instant::now();
    while number(
        &mut conn,
        &format!("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '{lsn}')::bigint AS n"),
    ) < 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(STANDBY_WAIT_SECONDS),
            "the standby did not replay up to {lsn}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Scans of the postings table the standby has counted (its own queries only: a standby's
/// statistics are its own).
fn postings_scans(conn: &mut PgConnection) -> i64 {
    number(
        conn,
        "SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::bigint AS n \
         FROM pg_stat_user_tables WHERE relname = 'postings'",
    )
}

/// The primary, a standby following it, and the service reading from both; none when a private
/// cluster cannot be made here.
fn clusters() -> Option<(PrivateCluster, PrivateCluster)> {
    let Some(primary) = PrivateCluster::create() else {
        unavailable("a private PostgreSQL cluster (initdb as the postgres user)");
        return None;
    };
    let Some(standby) = PrivateCluster::standby_of(&primary) else {
        unavailable("a streaming standby (pg_basebackup of the private cluster)");
        return None;
    };
    Some((primary, standby))
}

fn serve(primary: &PrivateCluster, standby: &PrivateCluster) -> ChildApp {
    let replica = standby.url();
    ChildApp::start_with(
        &primary.url(),
        &[("MORALBANK_READ_DATABASE_URL", replica.as_str())],
    )
}

struct Ledger<'a> {
    server: &'a ChildApp,
    admin: String,
}

impl Ledger<'_> {
    fn send(&self, method: &str, path: &str, token: &str, key: Option<&str>, body: Value) -> Value {
        let (status, answer, _) = self
            .server
            .call(method, path, Some(token), key, Some(&body))
            .unwrap();
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    fn get(&self, path: &str) -> Value {
        let (status, answer, _) = self
            .server
            .call("GET", path, Some(&self.admin), None, None)
            .unwrap();
        assert_eq!(status, 200, "GET {path}: {answer}");
        answer
    }

    fn member(&self, name: &str, opening: &str) -> Value {
        let member = self.send(
            "POST",
            "/api/v1/members",
            &self.admin,
            None,
            json!({"name": name}),
        );
        self.adjust(&member, opening, "opening_balance");
        member
    }

    fn adjust(&self, member: &Value, amount: &str, kind: &str) -> Value {
        let key = format!("adjust-{}-{amount}-{kind}", member["id"].as_str().unwrap());
        self.send(
            "POST",
            "/api/v1/adjustments",
            &self.admin,
            Some(&key),
            json!({"member_id": member["id"], "amount": amount, "kind": kind, "reason": "replica"}),
        )
    }

    /// A new user's token.
    fn user(&self, username: &str, role: &str, member: Option<&Value>) -> String {
        let mut body = json!({"username": username, "password": "password-123", "roles": [role]});
        if let Some(member) = member {
            body["member_id"] = member["id"].clone();
        }
        self.send("POST", "/api/v1/users", &self.admin, None, body);
        let login = json!({"username": username, "password": "password-123"});
        let (_, body, _) = self
            .server
            .call("POST", "/api/v1/auth/login", None, None, Some(&login))
            .unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// A clerk's token and a goods of 20.00 with 10 in stock.
    fn shop(&self) -> (String, Value) {
        let clerk = self.user("clerk", "clerk", None);
        let rice = self.send(
            "POST",
            "/api/v1/goods",
            &self.admin,
            None,
            json!({"sku": "RICE", "name": "大米", "price": "20.00", "stock": 10}),
        );
        (clerk, rice)
    }

    fn redeem(&self, clerk: &str, member: &Value, goods: &Value, key: &str) -> Value {
        self.send(
            "POST",
            "/api/v1/redemptions",
            clerk,
            Some(key),
            json!({"member_id": member["id"], "lines": [{"goods_id": goods["id"], "quantity": 1}],
                   "expected_total": "20.00"}),
        )
    }

    fn statement(&self, member: &Value) -> Value {
        self.get(&format!(
            "/api/v1/accounts/{}/statement",
            member["account_id"].as_str().unwrap()
        ))
    }
}

fn readiness(server: &ChildApp) -> Value {
    let (status, body, _) = server.call("GET", "/readyz", None, None, None).unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn today() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn reads_that_may_lag_are_served_by_the_standby_and_agree_with_the_primary() {
    let Some((primary, standby)) = clusters() else {
        return;
    };
    let server = serve(&primary, &standby);
    assert_eq!(readiness(&server)["replica"], "answers");
    let ledger = Ledger {
        server: &server,
        admin: server.token(),
    };
    // Writes: two residents with opening balances, a redemption, a deed on the notice board.
    let wang = ledger.member("王芳", "100.00");
    let li = ledger.member("李强", "50.00");
    let (clerk, rice) = ledger.shop();
    let receipt = ledger.redeem(&clerk, &wang, &rice, "rice-1");
    assert_eq!(receipt["balance_after"], "80.00");
    ledger.send(
        "PUT",
        "/api/v1/settings",
        &ledger.admin,
        None,
        json!({"review_stages": 1, "notice_days": 3, "backdate_days": 30}),
    );
    let rule = ledger.send(
        "POST",
        "/api/v1/rules",
        &ledger.admin,
        None,
        json!({"code": "HELP", "name": "助老", "category": "志愿服务", "points": "10",
               "unit": "event", "direction": "earn"}),
    );
    let resident = ledger.user("liqiang", "resident", Some(&li));
    let deed = ledger.send(
        "POST",
        "/api/v1/deeds",
        &resident,
        None,
        json!({"member_id": li["id"], "rule_id": rule["id"], "quantity": 1,
               "occurred_on": today(), "description": "帮独居老人买菜"}),
    );
    let deed_id = deed["id"].as_str().unwrap();
    let (status, approved, _) = server
        .call(
            "POST",
            &format!("/api/v1/deeds/{deed_id}/approve"),
            Some(&ledger.admin),
            None,
            None,
        )
        .unwrap();
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved", "{approved}");

    wait_for_replay(&primary, &standby);
    let mut on_standby = connect(&standby);
    let scans_before = postings_scans(&mut on_standby);

    // The answers are the primary's figures.
    let statement = ledger.statement(&wang);
    assert_eq!(statement["opening_balance"], "0.00");
    assert_eq!(statement["closing_balance"], "80.00");
    assert_eq!(statement["total_out"], "20.00");
    assert_eq!(statement["lines"].as_array().unwrap().len(), 2);
    let summary = ledger.get("/api/v1/reports/summary");
    assert_eq!(summary["adjusted_in"], "150.00", "{summary}");
    assert_eq!(summary["redeemed"], "20.00", "{summary}");
    assert_eq!(summary["outstanding"], "130.00", "{summary}");
    let members = ledger.get("/api/v1/members");
    let mut names: Vec<&str> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["李强", "王芳"]);
    let redemptions = ledger.get("/api/v1/redemptions");
    let items = redemptions["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{redemptions}");
    assert_eq!(items[0]["id"], receipt["id"]);
    assert_eq!(items[0]["total"], "20.00");
    let board = ledger.get("/api/v1/notices");
    let notices = board["items"].as_array().unwrap();
    assert_eq!(notices.len(), 1, "{board}");
    assert_eq!(notices[0]["deed_id"], deed["id"]);
    assert_eq!(notices[0]["rule_name"], "助老");
    assert_eq!(notices[0]["points"], "10.00");

    // ...and the standby read them: its own count of scans of the postings rose (a standby
    // counts only what is asked of it; it flushes its counts within seconds).
    let started = Instant::now();
    while postings_scans(&mut on_standby) <= scans_before {
        assert!(
            started.elapsed() < Duration::from_secs(STANDBY_WAIT_SECONDS),
            "the standby never read the postings: the reads went elsewhere"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(on_standby);

    // The standby goes away: lag-tolerant reads go to the primary, nobody sees a 503.
    assert!(standby.stop(), "stop the standby");
    for _ in 0..3 {
        assert_eq!(ledger.get("/api/v1/notices")["items"], board["items"]);
        assert_eq!(ledger.statement(&wang)["closing_balance"], "80.00");
    }
    assert_eq!(readiness(&server)["replica"], "unreachable");
    // It comes back and is used again, without a restart.
    assert!(standby.start(), "start the standby again");
    let started = Instant::now();
    while readiness(&server)["replica"] != "answers" {
        assert!(
            started.elapsed() < Duration::from_secs(STANDBY_WAIT_SECONDS),
            "the service never saw the standby again"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(ledger.get("/api/v1/members")["items"], members["items"]);
}

#[test]
fn reads_after_ones_own_write_are_current_while_the_standby_stands_still() {
    let Some((primary, standby)) = clusters() else {
        return;
    };
    let server = serve(&primary, &standby);
    let ledger = Ledger {
        server: &server,
        admin: server.token(),
    };
    let wang = ledger.member("王芳", "100.00");
    let (clerk, rice) = ledger.shop();
    wait_for_replay(&primary, &standby);
    assert_eq!(ledger.statement(&wang)["closing_balance"], "100.00");

    // The standby stops replaying: from now on it is behind by whatever is written.
    let mut on_standby = connect(&standby);
    diesel::sql_query("SELECT pg_wal_replay_pause()")
        .execute(&mut on_standby)
        .unwrap();
    let started = Instant::now();
    while word(
        &mut on_standby,
        "SELECT pg_get_wal_replay_pause_state() AS t",
    ) != "paused"
    {
        assert!(started.elapsed() < Duration::from_secs(STANDBY_WAIT_SECONDS));
        std::thread::sleep(Duration::from_millis(50));
    }
    let adjusted = ledger.adjust(&wang, "5.00", "correction");
    assert_eq!(adjusted["balance"], "105.00", "{adjusted}");
    let receipt = ledger.redeem(&clerk, &wang, &rice, "rice-paused");
    assert_eq!(receipt["balance_after"], "85.00");

    // The receipt, read back by id, exists only on the primary.
    let id = receipt["id"].as_str().unwrap();
    let (status, again, _) = server
        .call(
            "GET",
            &format!("/api/v1/redemptions/{id}"),
            Some(&clerk),
            None,
            None,
        )
        .unwrap();
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["total"], "20.00");
    assert_eq!(again["balance_after"], "85.00");
    // The counter card: the account, and the member found by passbook number.
    let account = ledger.get(&format!(
        "/api/v1/accounts/{}",
        wang["account_id"].as_str().unwrap()
    ));
    assert_eq!(account["balance"], "85.00", "{account}");
    let found = ledger.get(&format!(
        "/api/v1/members?member_no={}",
        wang["member_no"].as_str().unwrap()
    ));
    assert_eq!(found["items"][0]["balance"], "85.00", "{found}");
    let member = ledger.get(&format!("/api/v1/members/{}", wang["id"].as_str().unwrap()));
    assert_eq!(member["balance"], "85.00", "{member}");
    // A login after the pause works: sessions and users are the primary's.
    let login = json!({"username": "admin", "password": ADMIN_PASSWORD});
    let (status, ..) = server
        .call("POST", "/api/v1/auth/login", None, None, Some(&login))
        .unwrap();
    assert_eq!(status, 200);

    // The statement may lag, and does: the standby's passbook still ends at 100.00...
    assert_eq!(ledger.statement(&wang)["closing_balance"], "100.00");
    // ...until the standby replays again.
    diesel::sql_query("SELECT pg_wal_replay_resume()")
        .execute(&mut on_standby)
        .unwrap();
    wait_for_replay(&primary, &standby);
    let statement = ledger.statement(&wang);
    assert_eq!(statement["closing_balance"], "85.00");
    assert_eq!(statement["lines"].as_array().unwrap().len(), 3);
}
