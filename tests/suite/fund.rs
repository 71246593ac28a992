//! The community fund (爱心基金): donations from passbooks, grants proposed by one admin and
//! approved by a second, and the fund's public statement.

use crate::common::{Resp, TestApp};
use serde_json::{json, Value};

fn donate(app: &TestApp, token: &str, key: &str, body: Value) -> Resp {
    app.request(
        "POST",
        "/api/v1/fund/donations",
        Some(token),
        &[("Idempotency-Key", key)],
        Some(&body.to_string()),
    )
}

/// A resident with `coins` on their passbook: (member, token).
fn resident_with(app: &TestApp, name: &str, username: &str, coins: &str) -> (Value, String) {
    let (member, token) = app.resident(name, username);
    if coins == "0" {
        return (member, token);
    }
    let r = app.adjust(
        &format!("open-{username}"),
        member["id"].as_str().unwrap(),
        coins,
        "opening_balance",
        "纸质存折结转",
    );
    assert_eq!(r.status, 201, "{}", r.text);
    (member, token)
}

fn fund(app: &TestApp) -> Value {
    let r = app.get("/api/v1/fund", &app.admin_token);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn balance(app: &TestApp, member: &Value) -> String {
    app.balance_of(member["account_id"].as_str().unwrap())
}

fn second_admin(app: &TestApp) -> String {
    app.user_with_roles("admin2", &["admin"], None)
}

fn propose(app: &TestApp, token: &str, member: &Value, amount: &str) -> Resp {
    app.post(
        "/api/v1/fund/grants",
        token,
        &json!({"member_id": member["id"], "amount": amount, "reason": "家中老人住院，生活困难"}),
    )
}

fn proposed(app: &TestApp, member: &Value, amount: &str) -> String {
    let r = propose(app, &app.admin_token, member, amount);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["status"], "proposed");
    r.body["id"].as_str().unwrap().to_string()
}

fn decide(app: &TestApp, token: &str, id: &str, decision: &str) -> Resp {
    let body = if decision == "reject" {
        Some(json!({"reason": "情况不符"}).to_string())
    } else {
        None
    };
    app.request(
        "POST",
        &format!("/api/v1/fund/grants/{id}/{decision}"),
        Some(token),
        &[],
        body.as_deref(),
    )
}

fn a_donation_moves_coins_once_per_key_and_refuses_more_than_the_balance(app: TestApp) {
    let (member, token) = resident_with(&app, "王小明", "wang", "30.00");
    let r = donate(
        &app,
        &token,
        "d-1",
        json!({"amount": "12.50", "memo": "一点心意"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["balance"], "17.50");
    assert_eq!(r.body["fund_balance"], "12.50");
    // The same key and body answer the first answer and post nothing more.
    let again = donate(
        &app,
        &token,
        "d-1",
        json!({"amount": "12.50", "memo": "一点心意"}),
    );
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body["journal_id"], r.body["journal_id"]);
    assert_eq!(again.body["balance"], "17.50");
    // The same key with another body is refused.
    donate(&app, &token, "d-1", json!({"amount": "1.00"}))
        .assert_problem(422, "idempotency_key_reused");
    assert_eq!(balance(&app, &member), "17.50");
    assert_eq!(fund(&app)["balance"], "12.50");

    // More than the passbook holds: refused with the true figures, nothing changes.
    let before = app.ledger_snapshot();
    let refused = donate(&app, &token, "d-2", json!({"amount": "17.51"}));
    refused.assert_problem(422, "insufficient_balance");
    assert_eq!(refused.body["balance"], "17.50");
    assert_eq!(refused.body["required"], "17.51");
    assert_eq!(app.ledger_snapshot(), before);
    // The refusal is the key's answer for good.
    donate(&app, &token, "d-2", json!({"amount": "17.51"}))
        .assert_problem(422, "insufficient_balance");
    assert_eq!(balance(&app, &member), "17.50");
    assert_eq!(fund(&app)["balance"], "12.50");

    // Bad amounts are 422 and change nothing; a missing key is 400.
    for bad in ["0", "-1", "1.234", "abc"] {
        donate(&app, &token, &format!("bad-{bad}"), json!({"amount": bad}))
            .assert_problem(422, "validation_failed");
    }
    let no_key = app.post("/api/v1/fund/donations", &token, &json!({"amount": "1"}));
    no_key.assert_problem(400, "idempotency_key_missing");

    // The passbook names the line.
    let statement = app.get(
        &format!(
            "/api/v1/accounts/{}/statement",
            member["account_id"].as_str().unwrap()
        ),
        &token,
    );
    assert_eq!(statement.status, 200, "{}", statement.text);
    let kinds: Vec<&str> = statement.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"fund_donation"), "{kinds:?}");
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

fn a_clerk_records_a_donation_for_a_resident_but_never_their_own(app: TestApp) {
    let (member, _) = resident_with(&app, "李大妈", "li", "20.00");
    let clerk_member = app.create_member("柜员张");
    let r = app.adjust(
        "open-clerk",
        clerk_member["id"].as_str().unwrap(),
        "5",
        "opening_balance",
        "结转",
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let clerk = app.user_with_roles("clerk", &["clerk"], clerk_member["id"].as_str());
    let r = donate(
        &app,
        &clerk,
        "c-1",
        json!({"amount": "5.00", "member_id": member["id"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(balance(&app, &member), "15.00");
    donate(
        &app,
        &clerk,
        "c-2",
        json!({"amount": "1.00", "member_id": clerk_member["id"]}),
    )
    .assert_problem(403, "forbidden_self_donation");
    assert_eq!(balance(&app, &clerk_member), "5.00");
    // A resident does not record donations for another.
    let (_, other) = resident_with(&app, "赵六", "zhao", "3");
    donate(
        &app,
        &other,
        "o-1",
        json!({"amount": "1.00", "member_id": member["id"]}),
    )
    .assert_problem(403, "forbidden");
    assert_eq!(fund(&app)["balance"], "5.00");
    assert_eq!(app.verify()["ok"], true);
}

fn a_grant_proposed_by_one_admin_is_paid_once_when_a_second_approves(app: TestApp) {
    let (_, donor_token) = resident_with(&app, "王小明", "wang", "100");
    let (needy, _) = resident_with(&app, "陈阿婆", "chen", "1");
    let r = donate(&app, &donor_token, "d", json!({"amount": "60"}));
    assert_eq!(r.status, 201, "{}", r.text);
    let admin2 = second_admin(&app);
    let id = proposed(&app, &needy, "40.00");
    // Nothing moves on a proposal.
    assert_eq!(balance(&app, &needy), "1.00");
    assert_eq!(fund(&app)["proposed_grants"], 1);
    // The proposer may not decide their own proposal.
    decide(&app, &app.admin_token, &id, "approve").assert_problem(403, "forbidden_own_proposal");
    decide(&app, &app.admin_token, &id, "reject").assert_problem(403, "forbidden_own_proposal");
    assert_eq!(balance(&app, &needy), "1.00");
    let ok = decide(&app, &admin2, &id, "approve");
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["status"], "approved");
    assert!(ok.body["journal_id"].is_string());
    assert_eq!(balance(&app, &needy), "41.00");
    let f = fund(&app);
    assert_eq!(f["balance"], "20.00");
    assert_eq!(f["donated_total"], "60.00");
    assert_eq!(f["granted_total"], "40.00");
    // Decided once.
    decide(&app, &admin2, &id, "approve").assert_problem(409, "grant_decided");
    decide(&app, &admin2, &id, "reject").assert_problem(409, "grant_decided");
    assert_eq!(balance(&app, &needy), "41.00");
    let listed = app.get("/api/v1/fund/grants?status=approved", &app.admin_token);
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    app.get("/api/v1/fund/grants?status=bogus", &app.admin_token)
        .assert_problem(400, "invalid_status");
    // A resident reads no fund figures and proposes nothing.
    app.get("/api/v1/fund", &donor_token)
        .assert_problem(403, "forbidden");
    propose(&app, &donor_token, &needy, "1").assert_problem(403, "forbidden");
    // A reason is required.
    let no_reason = app.post(
        "/api/v1/fund/grants",
        &app.admin_token,
        &json!({"member_id": needy["id"], "amount": "1", "reason": "  "}),
    );
    no_reason.assert_problem(422, "validation_failed");
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

fn nobody_proposes_or_decides_a_grant_to_their_own_passbook(app: TestApp) {
    let (_, donor_token) = resident_with(&app, "王小明", "wang", "10");
    assert_eq!(
        donate(&app, &donor_token, "d", json!({"amount": "10"})).status,
        201
    );
    let admin_member = app.create_member("管理员乙");
    let admin2 = app.user_with_roles("admin2", &["admin"], admin_member["id"].as_str());
    propose(&app, &admin2, &admin_member, "5").assert_problem(403, "forbidden_self_grant");
    let id = proposed(&app, &admin_member, "5");
    decide(&app, &admin2, &id, "approve").assert_problem(403, "forbidden_self_grant");
    assert_eq!(balance(&app, &admin_member), "0.00");
    assert_eq!(fund(&app)["balance"], "10.00");
    assert_eq!(app.verify()["ok"], true);
}

fn a_grant_larger_than_the_fund_is_refused_and_stays_proposed(app: TestApp) {
    let (_, donor_token) = resident_with(&app, "王小明", "wang", "10");
    let (needy, _) = resident_with(&app, "陈阿婆", "chen", "0.5");
    assert_eq!(
        donate(&app, &donor_token, "d", json!({"amount": "9.99"})).status,
        201
    );
    let admin2 = second_admin(&app);
    let id = proposed(&app, &needy, "10.00");
    let before = app.ledger_snapshot();
    let r = decide(&app, &admin2, &id, "approve");
    r.assert_problem(422, "fund_insufficient");
    assert_eq!(r.body["balance"], "9.99");
    assert_eq!(r.body["required"], "10.00");
    assert_eq!(app.ledger_snapshot(), before);
    assert_eq!(balance(&app, &needy), "0.50");
    assert_eq!(fund(&app)["balance"], "9.99");
    let listed = app.get("/api/v1/fund/grants?status=proposed", &app.admin_token);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    // Once the fund holds enough, the same grant is paid.
    assert_eq!(
        donate(&app, &donor_token, "d2", json!({"amount": "0.01"})).status,
        201
    );
    let ok = decide(&app, &admin2, &id, "approve");
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(fund(&app)["balance"], "0.00");
    assert_eq!(balance(&app, &needy), "10.50");
    assert_eq!(app.verify()["ok"], true);
}

fn a_rejected_grant_cannot_be_approved(app: TestApp) {
    let (_, donor_token) = resident_with(&app, "王小明", "wang", "10");
    let (needy, _) = resident_with(&app, "陈阿婆", "chen", "0");
    assert_eq!(
        donate(&app, &donor_token, "d", json!({"amount": "10"})).status,
        201
    );
    let admin2 = second_admin(&app);
    let id = proposed(&app, &needy, "5");
    let r = decide(&app, &admin2, &id, "reject");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "rejected");
    assert_eq!(r.body["decision_reason"], "情况不符");
    decide(&app, &admin2, &id, "approve").assert_problem(409, "grant_decided");
    let admin3 = app.user_with_roles("admin3", &["admin"], None);
    decide(&app, &admin3, &id, "approve").assert_problem(409, "grant_decided");
    decide(&app, &admin3, &id, "reject").assert_problem(409, "grant_decided");
    assert_eq!(balance(&app, &needy), "0.00");
    assert_eq!(fund(&app)["balance"], "10.00");
    let unknown = decide(&app, &admin2, &uuid::Uuid::now_v7().to_string(), "approve");
    unknown.assert_problem(404, "not_found");
    assert_eq!(app.verify()["ok"], true);
}

fn two_admins_approving_one_grant_at_once_pay_it_once(app: TestApp) {
    let (_, donor_token) = resident_with(&app, "王小明", "wang", "100");
    let (needy, _) = resident_with(&app, "陈阿婆", "chen", "0");
    assert_eq!(
        donate(&app, &donor_token, "d", json!({"amount": "100"})).status,
        201
    );
    let admin2 = second_admin(&app);
    let admin3 = app.user_with_roles("admin3", &["admin"], None);
    for round in 0..5 {
        let id = proposed(&app, &needy, "7");
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = [&admin2, &admin3, &admin2, &admin3]
                .into_iter()
                .map(|token| {
                    let (app, id) = (&app, &id);
                    s.spawn(move || decide(app, token, id, "approve").status)
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "{statuses:?}"
        );
        assert_eq!(balance(&app, &needy), format!("{}.00", 7 * (round + 1)));
    }
    assert_eq!(fund(&app)["balance"], "65.00");
    assert_eq!(app.verify()["ok"], true, "{}", app.verify());
}

fn the_public_statement_needs_no_login_and_masks_names(app: TestApp) {
    let (_, donor_token) = resident_with(&app, "王小明", "wang", "50");
    let (needy, _) = resident_with(&app, "陈阿婆", "chen", "0");
    assert_eq!(
        donate(
            &app,
            &donor_token,
            "d",
            json!({"amount": "30", "memo": "私人留言"})
        )
        .status,
        201
    );
    let admin2 = second_admin(&app);
    let id = proposed(&app, &needy, "12.00");
    assert_eq!(decide(&app, &admin2, &id, "approve").status, 200);

    let page = app.request("GET", "/public/community/fund", None, &[], None);
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("爱心基金"), "{}", page.text);
    assert!(page.text.contains("18.00"), "the balance: {}", page.text);
    assert!(page.text.contains("王*"), "masked donor: {}", page.text);
    assert!(page.text.contains("陈**"), "masked grantee: {}", page.text);
    assert!(
        page.text.contains("家中老人住院"),
        "the grant's reason: {}",
        page.text
    );
    for full in ["王小明", "陈阿婆", "私人留言"] {
        assert!(!page.text.contains(full), "{full} on the public page");
    }

    let json = app.request("GET", "/public/community/fund.json", None, &[], None);
    assert_eq!(json.status, 200, "{}", json.text);
    assert_eq!(json.body["balance"], "18.00");
    let lines = json.body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["kind"], "fund_grant");
    assert_eq!(lines[0]["amount"], "-12.00");
    assert_eq!(lines[0]["member_name"], "陈**");
    assert_eq!(lines[1]["kind"], "fund_donation");
    assert_eq!(lines[1]["member_name"], "王**");
    assert!(!json.text.contains("王小明") && !json.text.contains("私人留言"));

    let unknown = app.request("GET", "/public/nowhere/fund", None, &[], None);
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(app.verify()["ok"], true);
}

both_backends!(
    a_donation_moves_coins_once_per_key_and_refuses_more_than_the_balance,
    a_clerk_records_a_donation_for_a_resident_but_never_their_own,
    a_grant_proposed_by_one_admin_is_paid_once_when_a_second_approves,
    nobody_proposes_or_decides_a_grant_to_their_own_passbook,
    a_grant_larger_than_the_fund_is_refused_and_stays_proposed,
    a_rejected_grant_cannot_be_approved,
    two_admins_approving_one_grant_at_once_pay_it_once,
    the_public_statement_needs_no_login_and_masks_names,
);

/// The fund's pages in a real browser: an admin proposes (a wrong amount is answered beside its
/// field), a second admin approves, a resident donates on their own page, and anyone reads the
/// public statement. Screenshots under `target/screenshots/fund-*`.
fn the_fund_pages_work_in_a_browser(app: TestApp) {
    use crate::common::browser::Browser;
    let (_, _) = resident_with(&app, "王小明", "wang", "80");
    let (needy, _) = resident_with(&app, "陈阿婆", "chen", "0");
    app.user_with_roles("admin2", &["admin"], None);
    let sign_in = |browser: &Browser, username: &str, password: &str| {
        browser.goto(&app.url("/login"));
        browser.fill("#username", username);
        browser.fill("#password", password);
        browser.click("#login-form button[type=submit]");
        browser.wait_for_path_prefix("/");
    };
    // The resident donates from their own passbook.
    {
        let Some(browser) = Browser::start(390, 844) else {
            return;
        };
        sign_in(&browser, "wang", "password-123");
        browser.wait_for_path("/me");
        browser.click("#me-donate");
        browser.wait_for_path("/fund/donate");
        browser.fill("#amount", "100");
        browser.click("form[action='/fund/donate'] button[type=submit]");
        assert!(
            browser.text(".field-problem").contains("余额只有 80.00"),
            "{}",
            browser.text("main")
        );
        browser.screenshot("fund-donate-refused");
        browser.fill("#amount", "50");
        browser.fill("#memo", "一点心意");
        browser.click("form[action='/fund/donate'] button[type=submit]");
        browser.wait_for_path_prefix("/fund/donate?");
        assert!(browser.text("#donate-done").contains("存折余额 30.00"));
        browser.screenshot("fund-donate-done");
    }
    assert_eq!(fund(&app)["balance"], "50.00");
    // A clerk records a donation for a resident at the counter, by passbook number.
    {
        let (giver, _) = resident_with(&app, "刘叔", "liu", "8");
        app.user_with_roles("clerk", &["clerk"], None);
        let Some(browser) = Browser::start(1366, 768) else {
            return;
        };
        sign_in(&browser, "clerk", "password-123");
        browser.goto(&app.url("/fund"));
        browser.click("#fund-counter-donate");
        browser.wait_for_path("/fund/donate");
        browser.fill("#member_no", "M999999");
        browser.fill("#amount", "5");
        browser.click("form[action='/fund/donate'] button[type=submit]");
        assert!(browser.text(".field-problem").contains("没有这个存折号"));
        browser.fill("#member_no", giver["member_no"].as_str().unwrap());
        browser.screenshot("fund-counter-donate");
        browser.click("form[action='/fund/donate'] button[type=submit]");
        browser.wait_for_path_prefix("/fund/donate?");
        assert!(browser.text("#donate-done").contains("存折余额 3.00"));
        assert_eq!(balance(&app, &giver), "3.00");
    }
    assert_eq!(fund(&app)["balance"], "55.00");
    // The first admin proposes.
    {
        let Some(browser) = Browser::start(1366, 768) else {
            return;
        };
        sign_in(&browser, "admin", crate::common::ADMIN_PASSWORD);
        browser.goto(&app.url("/fund"));
        assert_eq!(browser.text("#fund-balance"), "55.00");
        browser.fill("#member_no", needy["member_no"].as_str().unwrap());
        browser.fill("#amount", "1.234");
        browser.fill("#reason", "家中老人住院，生活困难");
        browser.click("form[action='/fund'] button[type=submit]");
        assert!(browser.text(".field-problem").contains("最多两位小数"));
        let kept = browser.execute("return document.querySelector('#reason').value;", vec![]);
        assert_eq!(
            kept,
            json!("家中老人住院，生活困难"),
            "the form keeps what was typed"
        );
        browser.execute(
            "document.querySelector('form[action=\"/fund\"]').scrollIntoView();",
            vec![],
        );
        browser.screenshot("fund-propose-refused");
        browser.fill("#amount", "20");
        browser.click("form[action='/fund'] button[type=submit]");
        browser.wait_for_path_prefix("/fund?done=proposed");
        assert!(browser.text("#fund-waiting").contains("等待另一位管理员"));
        browser.execute(
            "document.querySelector('#fund-waiting').scrollIntoView();",
            vec![],
        );
        browser.screenshot("fund-proposed");
    }
    // The second admin approves.
    {
        let Some(browser) = Browser::start(1366, 768) else {
            return;
        };
        sign_in(&browser, "admin2", "password-123");
        browser.goto(&app.url("/fund"));
        browser.screenshot("fund-page");
        browser.execute(
            "document.querySelector('#fund-waiting').scrollIntoView();",
            vec![],
        );
        browser.screenshot("fund-waiting");
        browser.click("#fund-waiting form[action$='/approve'] button[type=submit]");
        browser.wait_for_path_prefix("/fund?done=approved");
        assert_eq!(browser.text("#fund-balance"), "35.00");
        assert!(browser.text("#fund-decided").contains("已批准"));
        browser.screenshot("fund-approved");
        // Anyone, no login, reads the statement, linked from the public notice board.
        browser.goto(&app.url("/public/community/board"));
        browser.click("#board-fund");
        browser.wait_for_path("/public/community/fund");
        assert!(browser.text("#fund-lines").contains("陈**"));
        assert!(!browser.text("main").contains("陈阿婆"));
        browser.screenshot("fund-public");
    }
    assert_eq!(balance(&app, &needy), "20.00");
    assert_eq!(app.verify()["ok"], true);
}

#[test]
fn the_fund_pages_work_in_a_browser_sqlite() {
    if let Some(app) = TestApp::spawn(crate::common::Backend::Sqlite) {
        the_fund_pages_work_in_a_browser(app);
    }
}
