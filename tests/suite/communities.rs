//! Many communities on one database: operators create them, each has its own `admin` and
//! `clerk1`, its own chain and calendar, and nothing of one is visible or reachable from another.

use crate::common::{Resp, TestApp, ADMIN_PASSWORD};
use serde_json::{json, Value};

const OPERATOR_PASSWORD: &str = "operator-pass-1";
const WEST_PASSWORD: &str = "west-admin-pass";

/// An operator made as `moralbank operator add` makes one, logged in.
fn operator_token(app: &TestApp) -> String {
    let hash = moralbank::auth::password::hash_password(OPERATOR_PASSWORD).unwrap();
    moralbank::communities::store::insert_operator(&mut app.db.connect(), "op", &hash).unwrap();
    let resp = app.request(
        "POST",
        "/api/v1/auth/operator-login",
        None,
        &[],
        Some(&json!({"username": "op", "password": OPERATOR_PASSWORD}).to_string()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["access_token"].as_str().unwrap().to_string()
}

fn add_west(app: &TestApp, operator: &str) -> Resp {
    app.post(
        "/api/v1/communities",
        operator,
        &json!({"code": "West", "name": "西区社区", "utc_offset": "-05:00", "admin_password": WEST_PASSWORD}),
    )
}

fn a_second_community_has_its_own_admin_clerk1_chain_and_calendar(app: TestApp) {
    let operator = operator_token(&app);
    let created = add_west(&app, &operator);
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["community"]["code"], "west");
    assert_eq!(created.body["community"]["utc_offset"], "-05:00");
    assert_eq!(created.body["admin_username"], "admin");
    assert!(
        created.body["admin_password"].is_null(),
        "a given password is not echoed"
    );
    add_west(&app, &operator).assert_problem(409, "community_code_taken");
    let bad = app.post(
        "/api/v1/communities",
        &operator,
        &json!({"code": "东 区", "name": "东区"}),
    );
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.body["field"], "code");
    // Without a password the first admin's is generated and answered once.
    let north = app.post(
        "/api/v1/communities",
        &operator,
        &json!({"code": "north", "name": "北区", "admin_username": "主任"}),
    );
    assert_eq!(north.status, 201, "{}", north.text);
    let north_password = north.body["admin_password"].as_str().unwrap().to_string();
    app.login_in_ok("north", "主任", &north_password);

    // Several communities: a login names one; one answer for an unknown community or a wrong
    // password, so neither communities nor usernames can be probed.
    let unnamed = app.login("admin", ADMIN_PASSWORD);
    unnamed.assert_problem(422, "community_required");
    assert_eq!(unnamed.body["field"], "community");
    let home = app.login_in_ok("community", "admin", ADMIN_PASSWORD);
    let west = app.login_in_ok("WEST", "admin", WEST_PASSWORD);
    app.login_in("west", "admin", ADMIN_PASSWORD)
        .assert_problem(401, "invalid_credentials");
    app.login_in("nowhere", "admin", ADMIN_PASSWORD)
        .assert_problem(401, "invalid_credentials");

    // Both have a clerk1; a username is taken only within its own community.
    let clerk = json!({"username": "clerk1", "password": "password-123", "roles": ["clerk"]});
    for token in [&home, &west] {
        let resp = app.post("/api/v1/users", token, &clerk);
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    app.post("/api/v1/users", &west, &clerk)
        .assert_problem(409, "username_taken");
    let home_clerk = app.login_in_ok("community", "clerk1", "password-123");
    let west_clerk = app.login_in_ok("west", "clerk1", "password-123");
    let home_me = app.get("/api/v1/me", &home_clerk);
    let west_me = app.get("/api/v1/me", &west_clerk);
    assert_ne!(home_me.body["user"]["id"], west_me.body["user"]["id"]);
    assert_eq!(home_me.body["community"]["code"], "community");
    assert_eq!(west_me.body["community"]["code"], "west");
    assert_eq!(west_me.body["community"]["name"], "西区社区");
    assert_eq!(west_me.body["community"]["utc_offset"], "-05:00");
    assert_ne!(
        home_me.body["user"]["community_id"],
        west_me.body["user"]["community_id"]
    );

    // Each community keeps its own chain: west's first transaction is its seq 1.
    for (token, key) in [(&home, "h1"), (&home, "h2"), (&west, "w1")] {
        let member = app.post("/api/v1/members", token, &json!({"name": "王芳"}));
        assert_eq!(member.status, 201, "{}", member.text);
        let resp = app.request(
            "POST",
            "/api/v1/adjustments",
            Some(token),
            &[("Idempotency-Key", key)],
            Some(
                &json!({"member_id": member.body["id"], "amount": "10", "kind": "opening_balance", "reason": "结转"})
                    .to_string(),
            ),
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
        if key == "w1" {
            assert_eq!(resp.body["seq"], 1, "west's chain starts at 1");
        }
        // Both communities number their passbooks from M000001.
        if key != "h2" {
            assert_eq!(member.body["member_no"], "M000001");
        }
    }
    for token in [&home, &west] {
        let report = app.get("/api/v1/ledger/verify", token);
        assert_eq!(report.status, 200, "{}", report.text);
        assert_eq!(report.body["ok"], true, "{}", report.text);
    }

    // The operator sees communities and their sizes, and no resident.
    let list = app.get("/api/v1/communities", &operator);
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    let codes: Vec<&str> = items.iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["community", "west", "north"]);
    assert_eq!(items[0]["members"], 2);
    assert_eq!(items[0]["transactions"], 2);
    assert_eq!(items[1]["members"], 1);
    assert_eq!(items[1]["users"], 2);
    assert!(!list.text.contains("王芳"), "{}", list.text);
    let health = app.get("/api/v1/platform/health", &operator);
    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(health.body["status"], "ready");
    assert_eq!(health.body["communities"], 3);
    assert_eq!(health.body["members"], 3);
    app.get("/api/v1/members", &operator)
        .assert_problem(403, "operator_token");
    app.get("/api/v1/communities", &home)
        .assert_problem(403, "forbidden");
    app.post(
        "/api/v1/communities",
        &home,
        &json!({"code": "east", "name": "东区"}),
    )
    .assert_problem(403, "forbidden");
}

/// What community A holds, each thing by id, and the names only A's residents have.
struct Holdings {
    ids: Vec<(&'static str, String)>,
}

impl Holdings {
    fn id(&self, resource: &str) -> &str {
        &self
            .ids
            .iter()
            .find(|(r, _)| *r == resource)
            .unwrap_or_else(|| panic!("community A holds no {resource}"))
            .1
    }
}

fn created_id(resp: Resp) -> String {
    assert!(resp.status == 201 || resp.status == 200, "{}", resp.text);
    resp.body["id"].as_str().unwrap().to_string()
}

/// Community A (the first one) with one of everything: a resident with coins and a login, a
/// rule, a deed, goods and a redemption.
fn fill_community_a(app: &TestApp) -> Holdings {
    let (member, _) = app.resident("甲社区居民", "jia-resident");
    let member_id = member["id"].as_str().unwrap().to_string();
    let account_id = member["account_id"].as_str().unwrap().to_string();
    assert_eq!(
        app.adjust("a-open", &member_id, "50", "opening_balance", "结转")
            .status,
        201
    );
    let rule = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": "HELP", "name": "甲社区助人", "category": "好人好事", "points": "5", "unit": "event", "direction": "earn"}),
    );
    let rule_id = created_id(rule);
    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let reviewer = app.user_with_roles("jia-grid", &["reviewer"], None);
    let deed = app.post(
        "/api/v1/deeds",
        &reviewer,
        &json!({"member_id": member_id, "rule_id": rule_id, "quantity": 1, "occurred_on": today, "description": "甲社区修水管"}),
    );
    let deed_id = created_id(deed);
    let goods = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "SOAP", "name": "甲社区肥皂", "price": "1.00", "stock": 100}),
    );
    let goods_id = created_id(goods);
    let redemption = app.request(
        "POST",
        "/api/v1/redemptions",
        Some(&app.admin_token),
        &[("Idempotency-Key", "a-redeem")],
        Some(
            &json!({"member_id": member_id, "lines": [{"goods_id": goods_id, "quantity": 1}]})
                .to_string(),
        ),
    );
    let redemption_id = created_id(redemption);
    let user = app.post(
        "/api/v1/users",
        &app.admin_token,
        &json!({"username": "jia-clerk", "password": "password-123", "roles": ["clerk"]}),
    );
    let user_id = created_id(user);
    let donation = app.request(
        "POST",
        "/api/v1/fund/donations",
        Some(&app.admin_token),
        &[("Idempotency-Key", "a-donate")],
        Some(&json!({"member_id": member_id, "amount": "2.00"}).to_string()),
    );
    assert_eq!(donation.status, 201, "{}", donation.text);
    let grant = app.post(
        "/api/v1/fund/grants",
        &app.admin_token,
        &json!({"member_id": member_id, "amount": "1.00", "reason": "甲社区救助"}),
    );
    let grant_id = created_id(grant);
    let order = app.request(
        "POST",
        "/api/v1/orders",
        Some(&app.admin_token),
        &[("Idempotency-Key", "a-order")],
        Some(
            &json!({"member_id": member_id, "lines": [{"goods_id": goods_id, "quantity": 1}]})
                .to_string(),
        ),
    );
    let order_id = created_id(order);
    let household = app.post(
        "/api/v1/households",
        &app.admin_token,
        &json!({"name": "甲社区王家", "head_member_id": member_id}),
    );
    let household_id = created_id(household);
    Holdings {
        ids: vec![
            ("members", member_id),
            ("accounts", account_id),
            ("rules", rule_id),
            ("deeds", deed_id),
            ("goods", goods_id),
            ("redemptions", redemption_id),
            ("users", user_id),
            ("fund", grant_id),
            ("orders", order_id),
            ("households", household_id),
        ],
    }
}

/// A body each by-id operation accepts, so that only the community decides the answer.
fn body_for(method: &str, path: &str) -> Option<Value> {
    Some(match (method, path) {
        ("GET", _) => return None,
        ("PATCH", "/api/v1/goods/{id}") => json!({"name": "改名"}),
        ("PATCH", "/api/v1/members/{id}") => json!({"name": "改名"}),
        ("PATCH", "/api/v1/rules/{id}") => json!({"name": "改名"}),
        ("PATCH", "/api/v1/users/{id}") => json!({"status": "disabled"}),
        ("POST", "/api/v1/goods/{id}/restock") => json!({"quantity": 5, "reason": "进货"}),
        ("POST", "/api/v1/deeds/{id}/review") => json!({"decision": "pass"}),
        ("POST", "/api/v1/deeds/{id}/approve") => json!({}),
        ("POST", "/api/v1/deeds/{id}/withdraw") => json!({}),
        _ => json!({"reason": "理由"}),
    })
}

fn nothing_of_one_community_is_visible_or_reachable_from_another(app: TestApp) {
    let a = fill_community_a(&app);
    let operator = operator_token(&app);
    assert_eq!(add_west(&app, &operator).status, 201);
    let b_admin = app.login_in_ok("west", "admin", WEST_PASSWORD);
    // B's staff of every role, as a resident of B too.
    let b_member = app.post("/api/v1/members", &b_admin, &json!({"name": "乙社区居民"}));
    let mut b_tokens = vec![("admin", b_admin.clone())];
    for (name, roles) in [
        ("b-clerk", json!(["clerk"])),
        ("b-grid", json!(["reviewer"])),
        ("b-auditor", json!(["auditor"])),
    ] {
        let resp = app.post(
            "/api/v1/users",
            &b_admin,
            &json!({"username": name, "password": "password-123", "roles": roles}),
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
        b_tokens.push((name, app.login_in_ok("west", name, "password-123")));
    }
    let resp = app.post(
        "/api/v1/users",
        &b_admin,
        &json!({"username": "b-resident", "password": "password-123", "roles": ["resident"], "member_id": b_member.body["id"]}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    b_tokens.push((
        "resident",
        app.login_in_ok("west", "b-resident", "password-123"),
    ));
    let before = app.ledger_snapshot();
    let secrets: Vec<&str> = a
        .ids
        .iter()
        .map(|(_, id)| id.as_str())
        .chain(["甲社区居民", "甲社区助人", "甲社区肥皂", "jia-clerk"])
        .collect();

    let spec = app.get("/api/v1/openapi.json", &b_admin).body;
    let mut by_id = 0;
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            if path.contains("{id}") {
                // Every operation on one of A's things, by each of B's users, answers exactly
                // as for an id that exists nowhere.
                let resource = path
                    .trim_start_matches("/api/v1/")
                    .split('/')
                    .next()
                    .unwrap();
                let real = a.id(resource);
                let body = body_for(&method, path).map(|b| b.to_string());
                for (who, token) in &b_tokens {
                    let call = |id: &str| {
                        let resp = app.request(
                            &method,
                            &path.replace("{id}", id),
                            Some(token),
                            &[("Idempotency-Key", &format!("b-probe-{id}"))],
                            body.as_deref(),
                        );
                        (resp.status, resp.text.replace(id, "ID"))
                    };
                    let nowhere = uuid::Uuid::now_v7().to_string();
                    let (status, text) = call(real);
                    assert!(
                        (400..500).contains(&status),
                        "{who}: {method} {path} on community A's {resource}: {status} {text}"
                    );
                    assert_eq!(
                        (status, text),
                        call(&nowhere),
                        "{who}: {method} {path} tells A's {resource} from an unknown id"
                    );
                }
                by_id += 1;
            } else if method == "GET" && !path.contains("openapi") {
                // Every list, report and export of B's: none of A's ids or names.
                for (who, token) in &b_tokens {
                    let resp = app.get(path, token);
                    for secret in &secrets {
                        assert!(
                            !resp.text.contains(secret),
                            "{who}: GET {path} shows community A's {secret}: {}",
                            resp.text
                        );
                    }
                }
            }
        }
    }
    assert!(by_id >= 20, "only {by_id} by-id operations in the spec");

    // Writes that name A's things from B.
    let member = a.id("members");
    let goods = a.id("goods");
    let writes = [
        (
            "/api/v1/adjustments",
            json!({"member_id": member, "amount": "5", "kind": "opening_balance", "reason": "r"}),
        ),
        (
            "/api/v1/redemptions",
            json!({"member_id": member, "lines": [{"goods_id": goods, "quantity": 1}]}),
        ),
        (
            "/api/v1/redemptions",
            json!({"member_id": b_member.body["id"], "lines": [{"goods_id": goods, "quantity": 1}]}),
        ),
        (
            "/api/v1/deeds",
            json!({"member_id": member, "rule_id": a.id("rules"), "quantity": 1, "occurred_on": "2026-12-01", "description": "x"}),
        ),
        (
            "/api/v1/users",
            json!({"username": "intruder", "password": "password-123", "roles": ["resident"], "member_id": member}),
        ),
        (
            "/api/v1/deeds/approve",
            json!({"deed_ids": [a.id("deeds")]}),
        ),
    ];
    for (path, body) in writes {
        let resp = app.request(
            "POST",
            path,
            Some(&b_admin),
            &[("Idempotency-Key", "b-write")],
            Some(&body.to_string()),
        );
        let refused_per_deed = path == "/api/v1/deeds/approve"
            && resp.status == 200
            && resp.body["results"][0]["status"] != "credited";
        assert!(
            resp.status == 404 || resp.status == 422 || refused_per_deed,
            "POST {path} with community A's ids answered {} {}",
            resp.status,
            resp.text
        );
    }
    assert_eq!(app.ledger_snapshot(), before, "nothing of A moved");
    let deed = app.get(
        &format!("/api/v1/deeds/{}", a.id("deeds")),
        &app.admin_token,
    );
    assert_eq!(deed.body["status"], "submitted", "{}", deed.text);
    let users = app.get("/api/v1/users", &app.admin_token);
    assert!(users.text.contains("jia-clerk") && !users.text.contains("intruder"));
    assert!(users.text.contains("\"active\""));
}

/// `moralbank ARGS` on the app's database, with `stdin` as standard input: (exit code, stdout,
/// stderr).
fn cli(app: &TestApp, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = crate::common::child::moralbank()
        .args(args)
        .env("MORALBANK_DATABASE_URL", &app.db.url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The settings shape the first start only: a restart with another community code (the cause of
/// "username is taken" before) starts, creates nothing, and today's clients keep logging in.
fn a_restart_with_other_first_start_settings_creates_nothing(app: TestApp) {
    let member = app.create_member("李四");
    let db = app.db.shared();
    let backend = app.backend;
    let mut first = app;
    first.stop();
    let again = TestApp::spawn_on_with(backend, db, |config| {
        config.community_code = "west".into();
        config.community_name = "西区".into();
        config.admin_password = Some("another-password".into());
    });
    let mut conn = again.db.connect();
    let rows = moralbank::communities::store::communities_all(&mut conn).unwrap();
    assert_eq!(rows.len(), 1, "no second community");
    assert_eq!(rows[0].code, "community");
    // The admin kept its password (spawn logged in with it) and the roster is there.
    let found = again.get(
        &format!("/api/v1/members/{}", member["id"].as_str().unwrap()),
        &again.admin_token,
    );
    assert_eq!(found.status, 200, "{}", found.text);
    again
        .login("admin", "another-password")
        .assert_problem(401, "invalid_credentials");
}

/// `moralbank community add|list`, `operator add` and `user add --community`, as a township's
/// technician runs them on the server.
fn the_command_line_adds_communities_operators_and_users_to_the_right_community(app: TestApp) {
    let (code, out, err) = cli(
        &app,
        &[
            "community",
            "add",
            "--code",
            "West",
            "--name",
            "西区社区",
            "--utc-offset",
            "+07:00",
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("The admin's password is "))
        .unwrap_or_else(|| panic!("no generated password in: {out}"))
        .trim()
        .to_string();
    app.login_in_ok("west", "admin", &password);
    let (code, out, err) = cli(
        &app,
        &[
            "community",
            "add",
            "--code",
            "east",
            "--name",
            "东区",
            "--admin-username",
            "主任",
            "--admin-password-stdin",
        ],
        "east-admin-pass\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !out.contains("east-admin-pass"),
        "a given password is not printed: {out}"
    );
    app.login_in_ok("east", "主任", "east-admin-pass");
    let (code, _, err) = cli(
        &app,
        &["community", "add", "--code", "west", "--name", "x"],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("exists already"), "{err}");
    let (code, _, err) = cli(
        &app,
        &["community", "add", "--code", "西", "--name", "x"],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("--code"), "{err}");

    let (code, out, err) = cli(&app, &["community", "list"], "");
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[2].starts_with("west")
            && lines[2].contains("+07:00")
            && lines[2].contains("西区社区"),
        "{out}"
    );

    // With several communities a user is added to the one named, and only there.
    let (code, _, err) = cli(
        &app,
        &[
            "user",
            "add",
            "--username",
            "clerk1",
            "--roles",
            "clerk",
            "--password-stdin",
        ],
        "password-123\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("--community"), "{err}");
    let (code, out, err) = cli(
        &app,
        &[
            "user",
            "add",
            "--community",
            "west",
            "--username",
            "clerk1",
            "--roles",
            "clerk",
            "--password-stdin",
        ],
        "password-123\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    app.login_in_ok("west", "clerk1", "password-123");
    app.login_in("community", "clerk1", "password-123")
        .assert_problem(401, "invalid_credentials");

    // West's only admin forgot the password: the server's command line resets it.
    let west_admin = app.login_in_ok("west", "admin", &password);
    let (code, out, err) = cli(
        &app,
        &[
            "user",
            "reset-password",
            "--community",
            "west",
            "--username",
            "admin",
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    let temporary = out
        .lines()
        .find_map(|l| l.strip_prefix("Temporary password for admin: "))
        .unwrap_or_else(|| panic!("no temporary password in: {out}"))
        .to_string();
    app.get("/api/v1/me", &west_admin)
        .assert_problem(401, "invalid_token");
    app.login_in("west", "admin", &password)
        .assert_problem(401, "invalid_credentials");
    let resp = app.login_in("west", "admin", &temporary);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["password_change_required"], true);
    let forced = resp.body["access_token"].as_str().unwrap().to_string();
    app.get("/api/v1/members", &forced)
        .assert_problem(403, "password_change_required");
    let changed = app.post(
        "/api/v1/me/password",
        &forced,
        &json!({"current_password": temporary, "new_password": "west-admin-new-1"}),
    );
    assert_eq!(changed.status, 204, "{}", changed.text);
    let west_admin = app.login_in_ok("west", "admin", "west-admin-new-1");
    let users = app.get("/api/v1/users", &west_admin);
    let admin_id = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let detail = app.get(&format!("/api/v1/users/{admin_id}"), &west_admin);
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert!(
        detail.body["last_password_reset"]["reset_at"].is_string()
            && detail.body["last_password_reset"]["reset_by"].is_null(),
        "a reset on the command line is recorded with no admin: {}",
        detail.text
    );
    let (code, _, err) = cli(
        &app,
        &[
            "user",
            "reset-password",
            "--community",
            "west",
            "--username",
            "nobody",
        ],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("no user nobody"), "{err}");

    let (code, out, err) = cli(
        &app,
        &["operator", "add", "--username", "op", "--password-stdin"],
        "operator-pass-1\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = cli(
        &app,
        &["operator", "add", "--username", "op", "--password-stdin"],
        "operator-pass-1\n",
    );
    assert_eq!(code, 2, "a second operator of the name is refused");
    assert!(err.contains("exists already"), "{err}");
    let resp = app.request(
        "POST",
        "/api/v1/auth/operator-login",
        None,
        &[],
        Some(&json!({"username": "op", "password": "operator-pass-1"}).to_string()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    // An operator is no user of any community, and a user is no operator.
    app.login_in("west", "op", "operator-pass-1")
        .assert_problem(401, "invalid_credentials");
    app.request(
        "POST",
        "/api/v1/auth/operator-login",
        None,
        &[],
        Some(&json!({"username": "clerk1", "password": "password-123"}).to_string()),
    )
    .assert_problem(401, "invalid_credentials");
}

/// On an empty database the demo is the first community: no default one beside it, so its
/// logins need no community code and a later `serve` creates nothing.
fn the_demo_on_an_empty_database_is_the_only_community(backend: crate::common::Backend) {
    let Some(db) = crate::common::ScratchDb::new(backend) else {
        return;
    };
    let out = crate::common::child::moralbank()
        .arg("demo")
        .env("MORALBANK_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(!printed.contains("log in with"), "{printed}");
    let mut conn = db.connect();
    let rows = moralbank::communities::store::communities_all(&mut conn).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
        ["demo"]
    );
    drop(conn);
    let server = crate::common::child::ChildApp::start(&db.url);
    let (status, body, _) = server
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            None,
            Some(&json!({"username": "demo-clerk", "password": "moralbank-demo"})),
        )
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

mod the_demo_on_an_empty_database {
    use crate::common::Backend;

    #[test]
    fn sqlite() {
        super::the_demo_on_an_empty_database_is_the_only_community(Backend::Sqlite);
    }

    #[test]
    fn postgres() {
        super::the_demo_on_an_empty_database_is_the_only_community(Backend::Postgres);
    }
}

/// Wrong passwords are counted per community and username: five for west's admin lock west's
/// admin out for a while, not the admin of the first community.
fn failed_logins_are_counted_per_community(app: TestApp) {
    let operator = operator_token(&app);
    assert_eq!(add_west(&app, &operator).status, 201);
    for _ in 0..5 {
        app.login_in("west", "admin", "wrong-password")
            .assert_problem(401, "invalid_credentials");
    }
    app.login_in("west", "admin", WEST_PASSWORD)
        .assert_problem(429, "too_many_attempts");
    app.login_in_ok("community", "admin", ADMIN_PASSWORD);
}

/// The migration that gave usernames a per-community key rebuilt `users` on SQLite; taking it
/// back and applying it again on a database in use keeps every user and every reference to one,
/// and foreign keys are enforced afterwards.
fn the_users_rebuild_keeps_every_reference(app: TestApp) {
    use diesel::migration::MigrationSource;
    use diesel_migrations::MigrationHarness;
    use moralbank::db::DbConn;
    let member = app.create_member("赵六");
    let id = member["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("k1", id, "5", "opening_balance", "结转").status,
        201
    );
    app.user_with_roles("clerk1", &["clerk"], None);
    // Reverting the migrations on the way takes the community's empty system accounts that came
    // after the rebuild (fund, holds, expired) with it, and the way back gives it new ones under
    // new ids: those are compared by kind and balance, the rest by id.
    let without_recreated = |app: &TestApp| {
        use diesel::prelude::*;
        use moralbank::db::schema::accounts;
        use moralbank::kernel::AccountKind;
        let mut conn = app.db.connect();
        let recreated: Vec<(moralbank::db::DbUuid, AccountKind, i64)> = accounts::table
            .filter(accounts::kind.eq_any([
                AccountKind::Fund,
                AccountKind::Holds,
                AccountKind::Expired,
            ]))
            .select((accounts::id, accounts::kind, accounts::balance))
            .load(&mut conn)
            .unwrap();
        let (mut balances, count, sum) = app.ledger_snapshot();
        balances.retain(|(id, _, _)| !recreated.iter().any(|(r, _, _)| r.0.to_string() == *id));
        let mut kinds: Vec<(String, i64)> = recreated
            .iter()
            .map(|(_, k, b)| (k.as_str().to_string(), *b))
            .collect();
        kinds.sort();
        assert_eq!(kinds.len(), 3, "fund, holds and expired: {kinds:?}");
        ((balances, count, sum), kinds)
    };
    let before = without_recreated(&app);
    let users_before = app.get("/api/v1/users", &app.admin_token).body;
    let mut conn = app.db.connect();
    // Diesel names a migration by the digits of its folder name.
    const REBUILD: &str = "20261202000006";
    fn revert_through<S: MigrationSource<B>, B: diesel::backend::Backend>(
        c: &mut impl MigrationHarness<B>,
        source: impl Fn() -> S,
    ) {
        loop {
            let applied = c.applied_migrations().unwrap();
            let last = applied.iter().map(|v| v.to_string()).max().unwrap();
            c.revert_last_migration(source()).unwrap();
            assert!(
                last.as_str() >= REBUILD,
                "reverted past the rebuild: {last}"
            );
            if last == REBUILD {
                break;
            }
        }
        c.run_pending_migrations(source()).unwrap();
    }
    match &mut conn {
        DbConn::Sqlite(c) => revert_through(c, || moralbank::db::SQLITE_MIGRATIONS),
        DbConn::Pg(c) => revert_through(c, || moralbank::db::POSTGRES_MIGRATIONS),
    }
    // As every start does after the migrations: the ledger tree, dropped with its table, is
    // rebuilt from the journal.
    moralbank::ledger::tree::catch_up_at_start(&mut conn).unwrap();
    // And the system accounts a community lacks are created.
    moralbank::db::write_transaction(
        &mut conn,
        moralbank::communities::store::ensure_system_accounts,
    )
    .unwrap();
    use diesel::connection::SimpleConnection;
    if let DbConn::Sqlite(c) = &mut conn {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let broken: Count = diesel::sql_query("SELECT count(*) AS n FROM pragma_foreign_key_check")
            .get_result(c)
            .unwrap();
        assert_eq!(broken.n, 0);
    }
    // A table whose reference to users is enforced on both backends (on PostgreSQL the writer's
    // own rows, idempotency keys among them, are checked by `verify` instead: migration 000035).
    let orphan = conn.batch_execute(
        "INSERT INTO roster_imports (id, community_id, user_id, idem_key, request_hash, rows_created, summary, created_at) \
         SELECT id, id, '00000000-0000-0000-0000-000000000000', 'k', 'h', 0, '{}', created_at FROM communities",
    );
    assert!(orphan.is_err(), "a reference to no user is refused");
    drop(conn);
    assert_eq!(without_recreated(&app), before);
    assert_eq!(
        app.get("/api/v1/users", &app.admin_token).body,
        users_before
    );
    app.login_ok("clerk1", "password-123");
    assert_eq!(app.verify()["ok"], true);
}

both_backends!(
    failed_logins_are_counted_per_community,
    the_users_rebuild_keeps_every_reference,
    a_second_community_has_its_own_admin_clerk1_chain_and_calendar,
    nothing_of_one_community_is_visible_or_reachable_from_another,
    a_restart_with_other_first_start_settings_creates_nothing,
    the_command_line_adds_communities_operators_and_users_to_the_right_community,
);
