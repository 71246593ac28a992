//! SQLite and PostgreSQL give the same answers. One test runs a server on each, writes the same
//! ledger into both, asks both the same questions — member searches, statements and reports over
//! periods up to the edges of the accepted range — and compares the answers, ignoring only what is
//! meant to differ (ids, times, hashes).

use crate::common::{west_of_greenwich, Backend, ScratchDb, TestApp};
use serde_json::{json, Value};

/// Names whose searches differ when one backend folds case and the other does not, or folds more
/// letters than the other: Latin letters fold (A–Z only), others match as written.
const NAMES: &[&str] = &[
    "Zhang Wei",
    "zhang san",
    "ZHANG Li",
    "张伟",
    "王芳",
    "Élodie Martin",
    "ÉLODIE Roux",
    "élodie Blanc",
    "Ärzte Öztürk",
    "100%纯",
    "a_b",
    "Ali Özdemir",
];

const SEARCHES: &[&str] = &[
    "zhang", "ZHANG", "Zhang", "zHaNg", "zh", "张", "王芳", "élodie", "ÉLODIE", "ärzte", "özdemir",
    "%25", "_", "a_b", "m00000", "M000001", "li", "nobody",
];

/// Periods of statements and summaries, including the edges of the accepted range and just past
/// them (refused on both).
fn periods(today: &str) -> Vec<String> {
    vec![
        String::new(),
        "from=2000-01-01&to=9999-12-31".into(),
        "from=2000-01-01".into(),
        "to=9999-12-31".into(),
        "from=9999-12-31".into(),
        "from=9999-12-31&to=9999-12-31".into(),
        "to=2000-01-01".into(),
        format!("from={today}&to={today}"),
        format!("from={today}&to=9999-12-31"),
        format!("from=2000-01-01&to={today}"),
        "to=10000-01-01".into(),
        "from=1999-12-31".into(),
        "from=-262143-01-01".into(),
        "to=%2B262142-12-31".into(),
    ]
}

struct Seeded {
    account: String,
    today: String,
}

/// The same ledger on either backend: members, opening balances, a credited deed, a redemption.
fn seed(app: &TestApp) -> Seeded {
    let mut members = Vec::new();
    for name in NAMES {
        members.push(app.create_member(name));
    }
    let first = &members[0];
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("open", id, "35.50", "opening_balance", "结转")
            .status,
        201
    );
    let other = members[3]["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("open2", other, "12.00", "opening_balance", "结转")
            .status,
        201
    );
    let rule = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": "VOLUNTEER", "name": "志愿服务", "category": "志愿服务", "points": "10",
                "unit": "hour", "direction": "earn", "per_deed_cap": 2}),
    );
    assert_eq!(rule.status, 201, "{}", rule.text);
    let today = (chrono::Utc::now() - chrono::Duration::hours(5))
        .format("%Y-%m-%d")
        .to_string();
    // A grid worker declares the deed; the admin approves it (nobody approves their own).
    let reviewer = app.user_with_roles("grid1", &["reviewer"], None);
    let deed = app.post(
        "/api/v1/deeds",
        &reviewer,
        &json!({"member_id": id, "rule_id": rule.body["id"], "quantity": 3,
                "occurred_on": today, "description": "打扫卫生"}),
    );
    assert_eq!(deed.status, 201, "{}", deed.text);
    let approved = app.request(
        "POST",
        &format!(
            "/api/v1/deeds/{}/approve",
            deed.body["id"].as_str().unwrap()
        ),
        Some(&app.admin_token),
        &[],
        None,
    );
    assert_eq!(approved.status, 200, "{}", approved.text);
    let goods = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "RICE-5KG", "name": "大米 5kg", "price": "10.00", "stock": 20}),
    );
    assert_eq!(goods.status, 201, "{}", goods.text);
    let clerk = app.user_with_roles("clerk1", &["clerk"], None);
    let redeemed = app.request(
        "POST",
        "/api/v1/redemptions",
        Some(&clerk),
        &[("Idempotency-Key", "till-1")],
        Some(
            &json!({"member_id": id, "lines": [{"goods_id": goods.body["id"], "quantity": 2}]})
                .to_string(),
        ),
    );
    assert_eq!(redeemed.status, 201, "{}", redeemed.text);
    Seeded {
        account: first["account_id"].as_str().unwrap().to_string(),
        today,
    }
}

fn questions(s: &Seeded) -> Vec<String> {
    let mut paths = Vec::new();
    for q in SEARCHES {
        paths.push(format!("/api/v1/members?q={q}"));
    }
    for period in periods(&s.today) {
        paths.push(format!("/api/v1/accounts/{}/statement?{period}", s.account));
        paths.push(format!("/api/v1/reports/summary?{period}"));
        paths.push(format!("/api/v1/deeds?{period}"));
    }
    for at in [
        "2000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T23:59:59Z",
        "1999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",
    ] {
        paths.push(format!("/api/v1/accounts/{}/balance?at={at}", s.account));
    }
    let month = &s.today[..7];
    for m in [month, "2000-01", "9999-12", "1999-12", "10000-01"] {
        paths.push(format!("/api/v1/reports/honor-roll?month={m}"));
    }
    for day in [s.today.as_str(), "2000-01-01", "9999-12-31", "10000-01-01"] {
        paths.push(format!("/api/v1/redemptions?day={day}"));
        paths.push(format!("/api/v1/redemptions/totals?day={day}"));
    }
    paths
}

/// The answer with what may differ between two runs replaced: ids, times and hashes.
fn normalized(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalized(v, k)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| normalized(v, key)).collect()),
        Value::String(text) => {
            if key == "hash" || key == "prev_hash" {
                json!("<hash>")
            } else if uuid::Uuid::parse_str(text).is_ok() {
                json!("<id>")
            } else if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
                json!("<time>")
            } else {
                value.clone()
            }
        }
        other => other.clone(),
    }
}

fn answers(app: &TestApp, paths: &[String]) -> Vec<(u16, Value)> {
    paths
        .iter()
        .map(|path| {
            let resp = app.get(path, &app.admin_token);
            (resp.status, normalized(&resp.body, ""))
        })
        .collect()
}

#[test]
fn sqlite_and_postgresql_answer_the_same_questions_alike() {
    let Some(pg_db) = ScratchDb::new(Backend::Postgres) else {
        return;
    };
    let pg = TestApp::spawn_on_with(Backend::Postgres, pg_db, west_of_greenwich);
    let sqlite = TestApp::spawn_with(Backend::Sqlite, west_of_greenwich).unwrap();
    let seeded_pg = seed(&pg);
    let seeded_sqlite = seed(&sqlite);
    let on_pg = answers(&pg, &questions(&seeded_pg));
    let paths = questions(&seeded_sqlite);
    let on_sqlite = answers(&sqlite, &paths);
    let differences: Vec<String> = paths
        .iter()
        .zip(on_sqlite.iter().zip(on_pg.iter()))
        .filter(|(_, (a, b))| a != b)
        .map(|(path, (a, b))| {
            format!(
                "{path}\n  sqlite:     {} {}\n  postgresql: {} {}",
                a.0, a.1, b.0, b.1
            )
        })
        .collect();
    let server_errors: Vec<&String> = paths
        .iter()
        .zip(on_sqlite.iter().zip(on_pg.iter()))
        .filter(|(_, (a, b))| a.0 >= 500 || b.0 >= 500)
        .map(|(path, _)| path)
        .collect();
    assert!(
        differences.is_empty(),
        "{} of {} answers differ:\n{}",
        differences.len(),
        paths.len(),
        differences.join("\n")
    );
    assert!(server_errors.is_empty(), "server errors: {server_errors:?}");

    // The same, and also right: a search ignores the case of Latin letters only.
    let names = |q: &str| -> Vec<String> {
        let resp = sqlite.get(&format!("/api/v1/members?q={q}"), &sqlite.admin_token);
        resp.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("zhang"), ["Zhang Wei", "zhang san", "ZHANG Li"]);
    assert_eq!(names("ZHANG"), names("zhang"));
    assert_eq!(names("élodie"), ["élodie Blanc"]);
    assert_eq!(names("ÉLODIE"), ["Élodie Martin", "ÉLODIE Roux"]);
    assert_eq!(names("_"), ["a_b"]);
    assert_eq!(names("%25"), ["100%纯"]);
    // The widest period holds every line.
    let whole = sqlite.get(
        &format!(
            "/api/v1/accounts/{}/statement?from=2000-01-01&to=9999-12-31",
            seeded_sqlite.account
        ),
        &sqlite.admin_token,
    );
    assert_eq!(
        whole.body["lines"].as_array().unwrap().len(),
        3,
        "{}",
        whole.text
    );
    assert_eq!(whole.body["closing_balance"], "35.50", "{}", whole.text);
}
