//! The points schedule and the deed workflow that mints 道德币.

use crate::common::{Resp, TestApp, ADMIN_PASSWORD};
use serde_json::{json, Value};

fn today() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

fn rule(app: &TestApp, code: &str, body: Value) -> Value {
    let mut body = body;
    body["code"] = json!(code);
    let resp = app.post("/api/v1/rules", &app.admin_token, &body);
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body
}

fn volunteer_rule(app: &TestApp) -> Value {
    rule(
        app,
        "VOLUNTEER",
        json!({"name": "志愿服务（每小时）", "category": "志愿服务", "points": "10", "unit": "hour", "direction": "earn", "per_deed_cap": 2}),
    )
}

fn settings(app: &TestApp, stages: i32, notice: i32) {
    let resp = app.request(
        "PUT",
        "/api/v1/settings",
        Some(&app.admin_token),
        &[],
        Some(
            &json!({"review_stages": stages, "notice_days": notice, "backdate_days": 30})
                .to_string(),
        ),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
}

fn submit(app: &TestApp, token: &str, member: &Value, rule: &Value, quantity: f64) -> Resp {
    app.post(
        "/api/v1/deeds",
        token,
        &json!({
            "member_id": member["id"], "rule_id": rule["id"], "quantity": quantity,
            "occurred_on": today(), "description": "帮助独居老人打扫卫生",
        }),
    )
}

fn submitted(app: &TestApp, token: &str, member: &Value, rule: &Value, quantity: f64) -> String {
    let resp = submit(app, token, member, rule, quantity);
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body["id"].as_str().unwrap().to_string()
}

fn act(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Resp {
    app.post(&format!("/api/v1/deeds/{id}/{action}"), token, &body)
}

fn approve(app: &TestApp, token: &str, id: &str) -> Resp {
    app.request(
        "POST",
        &format!("/api/v1/deeds/{id}/approve"),
        Some(token),
        &[],
        None,
    )
}

fn deed(app: &TestApp, id: &str) -> Value {
    let resp = app.get(&format!("/api/v1/deeds/{id}"), &app.admin_token);
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body
}

fn a_deed_goes_from_submission_to_a_credited_passbook_line(app: TestApp) {
    let rule = volunteer_rule(&app);
    assert_eq!(
        rule["name"], "志愿服务（每小时）",
        "Chinese text round-trips"
    );
    assert_eq!(rule["version"], 1);
    let (member, resident) = app.resident("李梅", "limei");
    // 3 hours declared, the rule counts at most 2 per deed: 20 points, computed by the server.
    let resp = submit(&app, &resident, &member, &rule, 3.0);
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["points"], "20.00");
    assert_eq!(resp.body["counted_quantity"], 2.0);
    assert_eq!(resp.body["status"], "submitted");
    let id = resp.body["id"].as_str().unwrap();
    let approved = approve(&app, &app.admin_token, id);
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.body["status"], "credited");
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "20.00"
    );
    let full = deed(&app, id);
    let actions: Vec<&str> = full["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["submit", "approve", "credit"]);
    assert!(full["credit_journal_id"].is_string());
    // Approving again is an invalid transition and credits nothing more.
    approve(&app, &app.admin_token, id).assert_problem(409, "invalid_transition");
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "20.00"
    );
    assert_eq!(app.verify()["ok"], true);
}

fn the_two_stage_workflow_allows_and_refuses_each_transition(app: TestApp) {
    settings(&app, 2, 0);
    let rule = volunteer_rule(&app);
    let (member, resident) = app.resident("王强", "wangqiang");
    let reviewer = app.user_with_roles("reviewer", &["reviewer"], None);

    // submitted: approve is refused in two stages; review pass → reviewed.
    let a = submitted(&app, &resident, &member, &rule, 1.0);
    approve(&app, &app.admin_token, &a).assert_problem(409, "invalid_transition");
    act(&app, &reviewer, &a, "review", json!({"decision": "return"}))
        .assert_problem(422, "validation_failed");
    let r = act(&app, &reviewer, &a, "review", json!({"decision": "pass"}));
    assert_eq!(r.body["status"], "reviewed", "{}", r.text);
    act(&app, &reviewer, &a, "review", json!({"decision": "pass"}))
        .assert_problem(409, "invalid_transition");
    act(&app, &reviewer, &a, "approve", json!({})).assert_problem(403, "forbidden");
    let r = approve(&app, &app.admin_token, &a);
    assert_eq!(r.body["status"], "credited", "{}", r.text);
    // credited: reject, withdraw, review refused; reverse needs a reason; reverse → reversed.
    act(&app, &app.admin_token, &a, "reject", json!({"reason": "x"}))
        .assert_problem(409, "invalid_transition");
    act(&app, &resident, &a, "withdraw", json!({})).assert_problem(409, "invalid_transition");
    act(&app, &app.admin_token, &a, "reverse", json!({"reason": ""}))
        .assert_problem(422, "validation_failed");
    let r = act(
        &app,
        &app.admin_token,
        &a,
        "reverse",
        json!({"reason": "重复登记"}),
    );
    assert_eq!(r.body["status"], "reversed", "{}", r.text);
    act(
        &app,
        &app.admin_token,
        &a,
        "reverse",
        json!({"reason": "again"}),
    )
    .assert_problem(409, "invalid_transition");
    approve(&app, &app.admin_token, &a).assert_problem(409, "invalid_transition");

    // returned, then withdrawn by the submitter (not by someone else).
    let b = submitted(&app, &resident, &member, &rule, 1.0);
    let r = act(
        &app,
        &reviewer,
        &b,
        "review",
        json!({"decision": "return", "reason": "缺少照片"}),
    );
    assert_eq!(r.body["status"], "returned");
    approve(&app, &app.admin_token, &b).assert_problem(409, "invalid_transition");
    act(&app, &reviewer, &b, "withdraw", json!({})).assert_problem(403, "forbidden");
    act(&app, &app.admin_token, &b, "withdraw", json!({})).assert_problem(403, "forbidden");
    let r = act(
        &app,
        &resident,
        &b,
        "withdraw",
        json!({"reason": "补充后重报"}),
    );
    assert_eq!(r.body["status"], "withdrawn", "{}", r.text);
    act(&app, &reviewer, &b, "review", json!({"decision": "pass"}))
        .assert_problem(409, "invalid_transition");

    // rejected from submitted and from reviewed; nothing after.
    let c = submitted(&app, &resident, &member, &rule, 1.0);
    act(&app, &app.admin_token, &c, "reject", json!({})).assert_problem(422, "validation_failed");
    let r = act(
        &app,
        &app.admin_token,
        &c,
        "reject",
        json!({"reason": "不符合细则"}),
    );
    assert_eq!(r.body["status"], "rejected");
    act(&app, &resident, &c, "withdraw", json!({})).assert_problem(409, "invalid_transition");
    let d = submitted(&app, &resident, &member, &rule, 1.0);
    act(&app, &reviewer, &d, "review", json!({"decision": "pass"}));
    let r = act(
        &app,
        &app.admin_token,
        &d,
        "reject",
        json!({"reason": "no"}),
    );
    assert_eq!(r.body["status"], "rejected");
    approve(&app, &app.admin_token, &d).assert_problem(409, "invalid_transition");

    // Only the reversal and the one credit moved coins; the ledger is whole.
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "0.00"
    );
    let verify = app.verify();
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["checked_transactions"], 2);
    let history = deed(&app, &a)["history"].clone();
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["submit", "review_pass", "approve", "credit", "reverse"]
    );
    assert_eq!(history[4]["reason"], "重复登记");
}

fn one_stage_communities_skip_the_first_check(app: TestApp) {
    let rule = volunteer_rule(&app);
    let (member, resident) = app.resident("赵敏", "zhaomin");
    let reviewer = app.user_with_roles("reviewer", &["reviewer"], None);
    let a = submitted(&app, &resident, &member, &rule, 1.0);
    act(&app, &reviewer, &a, "review", json!({"decision": "pass"}))
        .assert_problem(409, "invalid_transition");
    assert_eq!(
        approve(&app, &app.admin_token, &a).body["status"],
        "credited"
    );
}

fn nobody_approves_their_own_deed(app: TestApp) {
    settings(&app, 2, 0);
    let rule = volunteer_rule(&app);
    let admin_member = app.create_member("管理员甲");
    let admin2 = app.user_with_roles(
        "admin2",
        &["admin", "reviewer", "resident"],
        admin_member["id"].as_str(),
    );
    let other = app.create_member("居民乙");
    // Submitted by admin2 for someone else: admin2 may not check or approve it.
    let a = submitted(&app, &admin2, &other, &rule, 1.0);
    act(&app, &admin2, &a, "review", json!({"decision": "pass"}))
        .assert_problem(403, "forbidden_self_approval");
    let reviewer = app.user_with_roles("reviewer", &["reviewer"], None);
    act(&app, &reviewer, &a, "review", json!({"decision": "pass"}));
    approve(&app, &admin2, &a).assert_problem(403, "forbidden_self_approval");
    // A deed that credits admin2, submitted by the first admin: admin2 still may not approve it.
    let b = submitted(&app, &app.admin_token, &admin_member, &rule, 1.0);
    act(&app, &reviewer, &b, "review", json!({"decision": "pass"}));
    approve(&app, &admin2, &b).assert_problem(403, "forbidden_self_approval");
    assert_eq!(app.ledger_counts().0, 0);
    // Someone else may.
    assert_eq!(
        approve(&app, &app.admin_token, &a).body["status"],
        "credited"
    );
}

fn a_monthly_cap_refuses_with_what_remains(app: TestApp) {
    let rule = rule(
        &app,
        "CLEANUP",
        json!({"name": "环境整治", "category": "环保", "points": "10", "unit": "event", "direction": "earn", "monthly_cap": "25"}),
    );
    let member = app.create_member("周六");
    let a = submitted(&app, &app.admin_token, &member, &rule, 2.0);
    let b = submitted(&app, &app.admin_token, &member, &rule, 1.0);
    let c = submitted(&app, &app.admin_token, &member, &rule, 1.0);
    let approver = app.user_with_roles("approver", &["admin"], None);
    assert_eq!(approve(&app, &approver, &a).body["status"], "credited");
    let refused = approve(&app, &approver, &b);
    refused.assert_problem(422, "monthly_cap_exceeded");
    assert_eq!(refused.body["remaining"], "5.00");
    assert_eq!(
        deed(&app, &b)["status"],
        "submitted",
        "a refusal changes nothing"
    );
    // Reversing frees the cap.
    act(&app, &approver, &a, "reverse", json!({"reason": "错报"}));
    assert_eq!(approve(&app, &approver, &c).body["status"], "credited");
}

fn notice_then_objection_returns_the_deed_to_review(app: TestApp) {
    settings(&app, 1, 3);
    let rule = volunteer_rule(&app);
    let (member, resident) = app.resident("钱七", "qianqi");
    let (_, neighbour) = app.resident("孙八", "sunba");
    let id = submitted(&app, &resident, &member, &rule, 1.0);
    let r = approve(&app, &app.admin_token, &id);
    assert_eq!(r.body["status"], "approved", "{}", r.text);
    assert!(r.body["notice_ends_at"].is_string());
    let account = member["account_id"].as_str().unwrap().to_string();
    assert_eq!(app.balance_of(&account), "0.00");
    // The board shows it to everyone, with the name masked for residents.
    let board = app.get("/api/v1/notices", &neighbour);
    assert_eq!(board.body["items"][0]["member_name"], "钱*");
    assert_eq!(board.body["items"][0]["points"], "10.00");
    assert_eq!(
        app.get("/api/v1/notices", &app.admin_token).body["items"][0]["member_name"],
        "钱七"
    );
    act(&app, &neighbour, &id, "objections", json!({"reason": ""}))
        .assert_problem(422, "validation_failed");
    let r = act(
        &app,
        &neighbour,
        &id,
        "objections",
        json!({"reason": "当天他不在社区"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["status"], "open");
    assert_eq!(r.body["reason"], "当天他不在社区");
    let objection = r.body["id"].as_str().unwrap().to_string();
    // The objection is recorded; the deed stays on notice.
    assert_eq!(deed(&app, &id)["status"], "approved");
    assert_eq!(deed(&app, &id)["objections"][0]["status"], "open");
    // Even after the notice ended, an undecided objection holds the crediting.
    app.clock.advance(chrono::Duration::days(4));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(app.balance_of(&account), "0.00");
    assert_eq!(deed(&app, &id)["status"], "approved");
    // Nobody objects once the notice is over.
    act(
        &app,
        &neighbour,
        &id,
        "objections",
        json!({"reason": "again"}),
    )
    .assert_problem(409, "invalid_transition");
    let ruling = format!("objections/{objection}/ruling");
    // Only an admin rules, and a dismissal says why.
    act(
        &app,
        &neighbour,
        &id,
        &ruling,
        json!({"decision": "uphold"}),
    )
    .assert_problem(403, "forbidden");
    act(
        &app,
        &app.admin_token,
        &id,
        &ruling,
        json!({"decision": "dismiss"}),
    )
    .assert_problem(422, "validation_failed");
    act(
        &app,
        &app.admin_token,
        &id,
        &ruling,
        json!({"decision": "maybe"}),
    )
    .assert_problem(422, "validation_failed");
    let r = act(
        &app,
        &app.admin_token,
        &id,
        &ruling,
        json!({"decision": "uphold", "reason": "核实当天不在社区"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "submitted");
    assert_eq!(r.body["objections"][0]["status"], "upheld");
    assert_eq!(r.body["objections"][0]["ruling_reason"], "核实当天不在社区");
    assert!(r.body["objections"][0]["ruled_by"].is_string());
    assert!(app.get("/api/v1/notices", &neighbour).body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // A ruling is made once.
    act(
        &app,
        &app.admin_token,
        &id,
        &ruling,
        json!({"decision": "dismiss", "reason": "x"}),
    )
    .assert_problem(409, "objection_ruled");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(app.balance_of(&account), "0.00");
    let history = deed(&app, &id)["history"].clone();
    assert_eq!(history[2]["action"], "object");
    assert_eq!(history[2]["reason"], "当天他不在社区");
    assert_eq!(history[2]["to_status"], "approved");
    assert_eq!(history[3]["action"], "uphold_objection");
    assert_eq!(history[3]["to_status"], "submitted");
}

fn a_dismissed_objection_lets_the_deed_credit_once_after_the_notice(app: TestApp) {
    settings(&app, 1, 3);
    let rule = volunteer_rule(&app);
    let (member, resident) = app.resident("钱七", "qianqi");
    let (_, neighbour) = app.resident("孙八", "sunba");
    let id = submitted(&app, &resident, &member, &rule, 1.0);
    assert_eq!(
        approve(&app, &app.admin_token, &id).body["status"],
        "approved"
    );
    let account = member["account_id"].as_str().unwrap().to_string();
    let first = act(
        &app,
        &neighbour,
        &id,
        "objections",
        json!({"reason": "不实"}),
    );
    let second = act(
        &app,
        &resident,
        &id,
        "objections",
        json!({"reason": "再看看"}),
    );
    assert_eq!((first.status, second.status), (201, 201), "{}", second.text);
    let ruling = |o: &Resp| format!("objections/{}/ruling", o.body["id"].as_str().unwrap());
    let r = act(
        &app,
        &app.admin_token,
        &id,
        &ruling(&first),
        json!({"decision": "dismiss", "reason": "有照片为证"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "approved");
    app.clock.advance(chrono::Duration::days(4));
    std::thread::sleep(std::time::Duration::from_millis(300));
    // One objection is still undecided: no credit.
    assert_eq!(app.balance_of(&account), "0.00");
    let r = act(
        &app,
        &app.admin_token,
        &id,
        &ruling(&second),
        json!({"decision": "dismiss", "reason": "本人撤回"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let credited = wait_for_status(&app, &id, "credited");
    assert_eq!(credited["objections"][1]["status"], "dismissed");
    assert_eq!(credited["objections"][1]["ruling_reason"], "本人撤回");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(app.balance_of(&account), "10.00", "credited exactly once");
}

fn wait_for_status(app: &TestApp, id: &str, status: &str) -> Value {
    for _ in 0..200 {
        let d = deed(app, id);
        if d["status"] == status {
            return d;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("deed {id} never reached {status}: {}", deed(app, id));
}

fn the_sweeper_credits_when_the_notice_ends_also_after_restart(app: TestApp) {
    let mut app = app;
    settings(&app, 1, 3);
    let rule = volunteer_rule(&app);
    let member = app.create_member("吴九");
    let first = submitted(&app, &app.admin_token, &member, &rule, 1.0);
    let second = submitted(&app, &app.admin_token, &member, &rule, 2.0);
    let approver = app.user_with_roles("approver", &["admin"], None);
    assert_eq!(approve(&app, &approver, &first).body["status"], "approved");
    // Two days in: still on notice.
    app.clock.advance(chrono::Duration::days(2));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(deed(&app, &first)["status"], "approved");
    app.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    let credited = wait_for_status(&app, &first, "credited");
    assert_eq!(
        credited["history"].as_array().unwrap().last().unwrap()["action"],
        "credit"
    );
    assert!(credited["history"].as_array().unwrap().last().unwrap()["actor_id"].is_null());
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "10.00"
    );

    // A notice that ends while the service is down is credited when it starts again.
    assert_eq!(approve(&app, &approver, &second).body["status"], "approved");
    app.stop();
    app.clock.advance(chrono::Duration::days(5));
    app.restart();
    app.admin_token = app.login_ok("admin", ADMIN_PASSWORD);
    wait_for_status(&app, &second, "credited");
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "30.00"
    );
    assert_eq!(app.verify()["ok"], true);
}

fn concurrent_approvals_credit_once(app: TestApp) {
    let rule = volunteer_rule(&app);
    let member = app.create_member("郑十");
    let admins: Vec<String> = (0..4)
        .map(|i| app.user_with_roles(&format!("admin{i}"), &["admin"], None))
        .collect();
    for round in 0..5 {
        let id = submitted(&app, &app.admin_token, &member, &rule, 1.0);
        let answers: Vec<Resp> = std::thread::scope(|s| {
            let handles: Vec<_> = admins
                .iter()
                .map(|t| s.spawn(|| approve(&app, t, &id)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            answers.iter().filter(|a| a.status == 200).count(),
            1,
            "round {round}"
        );
        for a in answers.iter().filter(|a| a.status != 200) {
            a.assert_problem(409, "invalid_transition");
        }
    }
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "50.00"
    );
    assert_eq!(app.ledger_counts().0, 5);
}

fn bulk_approval_answers_per_id(app: TestApp) {
    let rule = volunteer_rule(&app);
    let members: Vec<Value> = (0..10)
        .map(|i| app.create_member(&format!("居民{i}")))
        .collect();
    let mut ids: Vec<String> = (0..196)
        .map(|i| submitted(&app, &app.admin_token, &members[i % 10], &rule, 1.0))
        .collect();
    let approver = app.user_with_roles("approver", &["admin"], None);
    // Two already credited, one withdrawn-free unknown id, one from nowhere.
    approve(&app, &approver, &ids[0]);
    approve(&app, &approver, &ids[1]);
    ids.push(uuid::Uuid::now_v7().to_string());
    ids.push(uuid::Uuid::nil().to_string());
    let rejected = submitted(&app, &app.admin_token, &members[0], &rule, 1.0);
    act(
        &app,
        &approver,
        &rejected,
        "reject",
        json!({"reason": "no"}),
    );
    ids.push(rejected);
    let own_deed = submitted(&app, &approver, &members[1], &rule, 1.0);
    ids.push(own_deed);
    assert_eq!(ids.len(), 200);
    let resp = app.post("/api/v1/deeds/approve", &approver, &json!({ "ids": ids }));
    assert_eq!(resp.status, 200, "{}", resp.text);
    let results = resp.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 200);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["id"], ids[i].as_str(), "answers keep the order asked");
    }
    let codes: Vec<&str> = results
        .iter()
        .map(|r| r["error"]["code"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(&codes[0..2], &["invalid_transition", "invalid_transition"]);
    assert!(codes[2..196].iter().all(|c| *c == "ok"), "{codes:?}");
    assert_eq!(
        &codes[196..],
        &[
            "not_found",
            "not_found",
            "invalid_transition",
            "forbidden_self_approval"
        ]
    );
    assert!(results[2..196].iter().all(|r| r["status"] == "credited"));
    let total: f64 = members
        .iter()
        .map(|m| {
            app.balance_of(m["account_id"].as_str().unwrap())
                .parse::<f64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 1960.0);
    app.post("/api/v1/deeds/approve", &approver, &json!({"ids": []}))
        .assert_problem(422, "validation_failed");
    let dup = uuid::Uuid::now_v7().to_string();
    app.post(
        "/api/v1/deeds/approve",
        &approver,
        &json!({"ids": [dup, dup]}),
    )
    .assert_problem(422, "validation_failed");
    assert_eq!(app.verify()["ok"], true);
}

fn deductions_never_overdraw_and_reversal_restores(app: TestApp) {
    let earn = volunteer_rule(&app);
    let deduct = rule(
        &app,
        "LITTER",
        json!({"name": "乱扔垃圾", "category": "扣分", "points": "15", "unit": "event", "direction": "deduct"}),
    );
    let (member, resident) = app.resident("冯十一", "feng");
    // A resident does not report deductions.
    submit(&app, &resident, &member, &deduct, 1.0).assert_problem(403, "forbidden");
    let e = submitted(&app, &app.admin_token, &member, &earn, 1.0);
    let approver = app.user_with_roles("approver", &["admin"], None);
    approve(&app, &approver, &e);
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "10.00"
    );
    let d = submitted(&app, &app.admin_token, &member, &deduct, 1.0);
    let r = approve(&app, &approver, &d);
    assert_eq!(r.body["status"], "credited", "{}", r.text);
    assert_eq!(r.body["points"], "15.00");
    assert_eq!(
        r.body["applied_points"], "10.00",
        "only what the balance held"
    );
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "0.00"
    );
    // The earning deed's coins are gone: its reversal takes nothing now and records all ten as
    // owed, never driving the balance below zero.
    let r = act(&app, &approver, &e, "reverse", json!({"reason": "x"}));
    assert_eq!(r.body["status"], "reversed", "{}", r.text);
    let owed = |app: &TestApp| {
        let id = member["id"].as_str().unwrap();
        app.get(&format!("/api/v1/members/{id}"), &app.admin_token)
            .body["owed"]
            .clone()
    };
    assert_eq!(owed(&app), "10.00");
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "0.00"
    );
    // Reversing the deduction gives back what was taken, and what is owed is taken from it first.
    let r = act(&app, &approver, &d, "reverse", json!({"reason": "误扣"}));
    assert_eq!(r.body["status"], "reversed", "{}", r.text);
    assert_eq!(owed(&app), "0.00");
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "0.00"
    );
    let (_, postings, sum) = app.ledger_snapshot();
    assert_eq!((postings, sum), (8, 0));
    assert_eq!(app.verify()["ok"], true);
}

fn rules_are_versioned_and_deeds_keep_theirs(app: TestApp) {
    let rule = volunteer_rule(&app);
    let member = app.create_member("陈十二");
    let old = submitted(&app, &app.admin_token, &member, &rule, 1.0);
    let id = rule["id"].as_str().unwrap();
    let changed = app.request(
        "PATCH",
        &format!("/api/v1/rules/{id}"),
        Some(&app.admin_token),
        &[],
        Some(&json!({"points": "12"}).to_string()),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["version"], 2);
    assert_eq!(changed.body["points"], "12.00");
    let new = submitted(&app, &app.admin_token, &member, &rule, 1.0);
    assert_eq!(deed(&app, &old)["points"], "10.00");
    assert_eq!(deed(&app, &new)["points"], "12.00");
    let full = app.get(&format!("/api/v1/rules/{id}"), &app.admin_token);
    assert_eq!(full.body["versions"].as_array().unwrap().len(), 2);
    // Deactivated, never deleted: new deeds are refused, old ones still count.
    let off = app.request(
        "PATCH",
        &format!("/api/v1/rules/{id}"),
        Some(&app.admin_token),
        &[],
        Some(&json!({"status": "inactive"}).to_string()),
    );
    assert_eq!(off.body["status"], "inactive");
    submit(&app, &app.admin_token, &member, &rule, 1.0).assert_problem(409, "rule_inactive");
    let approver = app.user_with_roles("approver", &["admin"], None);
    assert_eq!(approve(&app, &approver, &old).body["status"], "credited");
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "10.00"
    );
}

fn bad_deeds_are_refused(app: TestApp) {
    let event_rule = rule(
        &app,
        "LOST",
        json!({"name": "拾金不昧", "category": "诚信", "points": "5", "unit": "event", "direction": "earn"}),
    );
    let rule = volunteer_rule(&app);
    let member = app.create_member("褚十三");
    let post = |body: Value| app.post("/api/v1/deeds", &app.admin_token, &body);
    let base = json!({"member_id": member["id"], "rule_id": rule["id"], "quantity": 1, "occurred_on": today(), "description": "x"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    post(with("quantity", json!(0))).assert_problem(422, "validation_failed");
    post(with("quantity", json!(1.25))).assert_problem(422, "validation_failed");
    post(with("quantity", json!(1001))).assert_problem(422, "validation_failed");
    assert_eq!(post(with("quantity", json!(1.5))).status, 201);
    let mut e = with("rule_id", event_rule["id"].clone());
    e["quantity"] = json!(1.5);
    post(e).assert_problem(422, "validation_failed");
    post(with("occurred_on", json!("2999-01-01"))).assert_problem(422, "validation_failed");
    post(with("occurred_on", json!("2000-01-01"))).assert_problem(422, "validation_failed");
    post(with("occurred_on", json!("yesterday"))).assert_problem(422, "validation_failed");
    post(with("description", json!(""))).assert_problem(422, "validation_failed");
    post(with("evidence", json!(["ftp://x"]))).assert_problem(422, "validation_failed");
    post(with(
        "evidence",
        json!([
            "https://a",
            "https://b",
            "https://c",
            "https://d",
            "https://e",
            "https://f"
        ]),
    ))
    .assert_problem(422, "validation_failed");
    post(with("points", json!("100"))).assert_problem(422, "validation_failed");
    post(with("rule_id", json!(uuid::Uuid::nil()))).assert_problem(404, "not_found");
    post(with("member_id", json!(uuid::Uuid::nil()))).assert_problem(404, "not_found");
    app.post("/api/v1/rules", &app.admin_token, &json!({"code": "X", "name": "x", "category": "c", "points": "1.001", "unit": "event", "direction": "earn"}))
        .assert_problem(422, "validation_failed");
    app.post("/api/v1/rules", &app.admin_token, &json!({"code": "X", "name": "x", "category": "c", "points": "1", "unit": "day", "direction": "earn"}))
        .assert_problem(422, "validation_failed");
    app.post("/api/v1/rules", &app.admin_token, &json!({"code": "volunteer", "name": "x", "category": "c", "points": "1", "unit": "event", "direction": "earn"}))
        .assert_problem(409, "rule_code_taken");
    assert_eq!(
        app.get("/api/v1/deeds", &app.admin_token).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn residents_see_and_act_only_on_their_own_deeds(app: TestApp) {
    settings(&app, 1, 0);
    let rule = volunteer_rule(&app);
    let (me, mine) = app.resident("卫十四", "wei");
    let (them, theirs) = app.resident("蒋十五", "jiang");
    submit(&app, &mine, &them, &rule, 1.0).assert_problem(403, "forbidden");
    let my_deed = submitted(&app, &mine, &me, &rule, 1.0);
    let their_deed = submitted(&app, &theirs, &them, &rule, 1.0);
    app.get(&format!("/api/v1/deeds/{their_deed}"), &mine)
        .assert_problem(404, "not_found");
    act(&app, &mine, &their_deed, "withdraw", json!({})).assert_problem(404, "not_found");
    approve(&app, &mine, &their_deed).assert_problem(403, "forbidden");
    let list = app.get("/api/v1/deeds", &mine);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], my_deed.as_str());
    let filtered = app.get(
        &format!("/api/v1/deeds?member_id={}", them["id"].as_str().unwrap()),
        &mine,
    );
    assert!(filtered.body["items"].as_array().unwrap().is_empty());
    let queue = app.get("/api/v1/deeds?status=submitted", &app.admin_token);
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 2);
}

both_backends!(
    a_deed_goes_from_submission_to_a_credited_passbook_line,
    the_two_stage_workflow_allows_and_refuses_each_transition,
    one_stage_communities_skip_the_first_check,
    nobody_approves_their_own_deed,
    a_monthly_cap_refuses_with_what_remains,
    notice_then_objection_returns_the_deed_to_review,
    a_dismissed_objection_lets_the_deed_credit_once_after_the_notice,
    the_sweeper_credits_when_the_notice_ends_also_after_restart,
    concurrent_approvals_credit_once,
    bulk_approval_answers_per_id,
    deductions_never_overdraw_and_reversal_restores,
    rules_are_versioned_and_deeds_keep_theirs,
    bad_deeds_are_refused,
    residents_see_and_act_only_on_their_own_deeds,
);
