//! The review desk (审核台) over plain HTTP: the queues and their filters, a deed's page with the
//! decisions offered only to whom the policy allows (and the reason said otherwise), a forged
//! decision still refused by the concept, the bulk approval answered per deed, objections ruled
//! on from the deed's page, bad input, and residents kept out.

use serde_json::{json, Value};

use crate::common::{TestApp, ADMIN_PASSWORD};
use crate::console::Visitor;

const REVIEWER: &str = "reviewer1";

fn today() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
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

/// A rule worth 10.00 an event, a resident, and the reviewer's API token.
pub struct Desk {
    pub rule: Value,
    pub member: Value,
    pub reviewer: String,
}

pub fn desk(app: &TestApp) -> Desk {
    let resp = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": "HELP", "name": "帮扶孤寡老人", "category": "邻里互助", "points": "10", "unit": "event", "direction": "earn"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let rule = resp.body;
    let member = app.create_member("王秀英");
    let reviewer = app.user_with_roles(REVIEWER, &["reviewer"], None);
    Desk {
        rule,
        member,
        reviewer,
    }
}

/// A deed recorded through the JSON API by `token`.
pub fn record(app: &TestApp, token: &str, d: &Desk) -> String {
    let resp = app.post(
        "/api/v1/deeds",
        token,
        &json!({"member_id": d.member["id"], "rule_id": d.rule["id"], "quantity": 1,
                "occurred_on": today(), "description": "陪老人看病"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body["id"].as_str().unwrap().to_string()
}

fn status(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/deeds/{id}"), &app.admin_token)
        .body["status"]
        .clone()
}

fn signed_in<'a>(app: &'a TestApp, username: &str, password: &str) -> Visitor<'a> {
    let mut v = Visitor::new(app);
    v.login_ok(username, password);
    v
}

fn queues_list_deeds_with_who_recorded_them_and_filter(app: TestApp) {
    settings(&app, 2, 0);
    let d = desk(&app);
    let id = record(&app, &d.reviewer, &d);
    let mut admin = signed_in(&app, "admin", ADMIN_PASSWORD);
    let page = admin.get("/desk?queue=first");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("待初审") && page.text.contains("待审批"));
    assert!(page.text.contains("王秀英") && page.text.contains("帮扶孤寡老人"));
    assert!(page.text.contains(REVIEWER), "who recorded it");
    assert!(page.text.contains("10.00") && page.text.contains("刚才"));
    assert!(page.text.contains(&format!("/desk/deeds/{id}")));
    // Filters: another recorder, a later day.
    let page = admin.get("/desk?queue=first&submitter=nobody");
    assert!(!page.text.contains(&format!("/desk/deeds/{id}")));
    let page = admin.get("/desk?queue=first&from=2999-01-01");
    assert!(!page.text.contains(&format!("/desk/deeds/{id}")));
    let page = admin.get(&format!(
        "/desk?queue=first&rule={}",
        d.rule["id"].as_str().unwrap()
    ));
    assert!(page.text.contains(&format!("/desk/deeds/{id}")));
    // A bad date is said beside the filter, 4xx.
    let page = admin.get("/desk?queue=first&from=2026-13-45");
    assert_eq!(page.status, 422);
    assert!(page.text.contains("日期格式应为"));
}

fn the_first_check_is_offered_to_another_reviewer_and_refused_on_a_forged_post(app: TestApp) {
    settings(&app, 2, 0);
    let d = desk(&app);
    let id = record(&app, &d.reviewer, &d);
    let deed_page = format!("/desk/deeds/{id}");
    // The reviewer recorded it: no button, and why.
    let mut reviewer = signed_in(&app, REVIEWER, "password-123");
    let page = reviewer.get(&deed_page);
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(!page.text.contains("id=\"pass\""));
    assert!(page.text.contains("这条善行是您登记的"));
    // A forged POST is still refused by the concept, nothing changed.
    let token = reviewer.form_token();
    let page = reviewer.post(
        &format!("{deed_page}/decide"),
        &[("form_token", &token), ("action", "pass"), ("reason", "")],
    );
    assert_eq!(page.status, 403, "{}", page.text);
    assert!(page.text.contains("请另一位审核人员办理"));
    assert_eq!(status(&app, &id), "submitted");
    // The admin may check it first; then the admin may not also decide it.
    let mut admin = signed_in(&app, "admin", ADMIN_PASSWORD);
    let page = admin.get(&deed_page);
    assert!(page.text.contains("id=\"pass\""));
    let token = admin.form_token();
    let page = admin.post(
        &format!("{deed_page}/decide"),
        &[("form_token", &token), ("action", "return"), ("reason", "")],
    );
    assert_eq!(page.status, 422, "a return says why");
    assert!(page.text.contains("请填写原因"));
    assert_eq!(status(&app, &id), "submitted");
    let page = admin.post(
        &format!("{deed_page}/decide"),
        &[("form_token", &token), ("action", "pass"), ("reason", "")],
    );
    assert_eq!(page.status, 303, "{}", page.text);
    assert_eq!(status(&app, &id), "reviewed");
    let page = admin.get(&deed_page);
    assert!(!page.text.contains("id=\"approve\""));
    assert!(page.text.contains("这条善行由您初审"));
    assert!(page.text.contains("初审通过") && page.text.contains("admin"));
    let page = admin.post(
        &format!("{deed_page}/decide"),
        &[("form_token", &token), ("action", "approve")],
    );
    assert_eq!(page.status, 403);
    assert_eq!(status(&app, &id), "reviewed");
    // The reviewer cannot approve at all.
    let token = reviewer.form_token();
    let page = reviewer.post(
        &format!("{deed_page}/decide"),
        &[("form_token", &token), ("action", "approve")],
    );
    assert_eq!(page.status, 403);
    // A bad action or id is a clear 4xx.
    let token = admin.form_token();
    let page = admin.post(
        &format!("{deed_page}/decide"),
        &[("form_token", &token), ("action", "explode")],
    );
    assert_eq!(page.status, 400);
    assert_eq!(admin.get("/desk/deeds/not-a-uuid").status, 404);
}

fn a_bulk_approval_credits_the_ticked_and_names_each_refusal(app: TestApp) {
    settings(&app, 1, 0);
    let d = desk(&app);
    let ids: Vec<String> = (0..3).map(|_| record(&app, &d.reviewer, &d)).collect();
    // One the admin recorded themself: refused with the reason.
    let own = record(&app, &app.admin_token.clone(), &d);
    let mut admin = signed_in(&app, "admin", ADMIN_PASSWORD);
    let page = admin.get("/desk?queue=decision");
    assert!(page.text.contains("id=\"bulk-approve\""));
    let token = admin.form_token();
    let mut fields: Vec<(&str, &str)> = vec![("form_token", &token)];
    for id in ids.iter().chain([&own]) {
        fields.push(("deed", id));
    }
    let page = admin.post("/desk/approve", &fields);
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("id=\"approved-count\">3<"),
        "{}",
        page.text
    );
    assert!(page.text.contains("id=\"refused-count\">1<"));
    assert!(page.text.contains("这条善行是您登记的"));
    for id in &ids {
        assert_eq!(status(&app, id), "credited");
    }
    assert_eq!(status(&app, &own), "submitted");
    assert_eq!(
        app.balance_of(d.member["account_id"].as_str().unwrap()),
        "30.00"
    );
    // Nothing ticked: said, nothing changed.
    let page = admin.post("/desk/approve", &[("form_token", &token)]);
    assert_eq!(page.status, 422);
    assert!(page.text.contains("请至少勾选"));
    // A reviewer sees no bulk approval, and is told why; a forged one is refused.
    let mut reviewer = signed_in(&app, REVIEWER, "password-123");
    let page = reviewer.get("/desk?queue=decision");
    assert!(!page.text.contains("id=\"bulk-approve\""));
    assert!(page.text.contains("由管理员办理"));
    let token = reviewer.form_token();
    let page = reviewer.post("/desk/approve", &[("form_token", &token), ("deed", &own)]);
    assert_eq!(page.status, 403);
    assert_eq!(status(&app, &own), "submitted");
}

fn objections_are_ruled_on_from_the_deeds_page(app: TestApp) {
    settings(&app, 1, 3);
    let d = desk(&app);
    let upheld = record(&app, &d.reviewer, &d);
    let dismissed = record(&app, &d.reviewer, &d);
    let (_, neighbour) = app.resident("孙八", "sunba");
    let mut objections = Vec::new();
    for id in [&upheld, &dismissed] {
        let r = app.post(
            &format!("/api/v1/deeds/{id}/approve"),
            &app.admin_token,
            &json!({}),
        );
        assert_eq!(r.body["status"], "approved", "{}", r.text);
        let r = app.post(
            &format!("/api/v1/deeds/{id}/objections"),
            &neighbour,
            &json!({"reason": "那天没见到她"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        objections.push(r.body["id"].as_str().unwrap().to_string());
    }
    // The reviewer sees the objections but is offered no ruling, and told why.
    let mut reviewer = signed_in(&app, REVIEWER, "password-123");
    let page = reviewer.get(&format!("/desk/deeds/{upheld}"));
    assert!(page.text.contains("那天没见到她"));
    assert!(!page.text.contains("class=\"uphold\""));
    assert!(page.text.contains("由管理员办理"));
    let mut admin = signed_in(&app, "admin", ADMIN_PASSWORD);
    let page = admin.get("/desk?queue=notice");
    assert!(page.text.contains(&format!("/desk/deeds/{upheld}")));
    assert_eq!(page.text.matches("异议待裁决").count(), 2);
    let page = admin.get(&format!("/desk/deeds/{upheld}"));
    assert!(page.text.contains("那天没见到她") && page.text.contains("sunba"));
    assert!(page.text.contains("待裁决") && page.text.contains("异议成立，退回重审"));
    let token = admin.form_token();
    let page = admin.post(
        &format!("/desk/deeds/{upheld}/objections/{}", objections[0]),
        &[
            ("form_token", &token),
            ("decision", "uphold"),
            ("reason", ""),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.text);
    assert_eq!(status(&app, &upheld), "submitted");
    // A dismissal says why.
    let path = format!("/desk/deeds/{dismissed}/objections/{}", objections[1]);
    let page = admin.post(
        &path,
        &[
            ("form_token", &token),
            ("decision", "dismiss"),
            ("reason", " "),
        ],
    );
    assert_eq!(page.status, 422);
    assert!(page.text.contains("请填写原因"));
    let page = admin.post(
        &path,
        &[
            ("form_token", &token),
            ("decision", "dismiss"),
            ("reason", "有照片为证"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.text);
    assert_eq!(status(&app, &dismissed), "approved");
    let page = admin.get(&format!("/desk/deeds/{dismissed}"));
    assert!(page.text.contains("异议驳回") && page.text.contains("有照片为证"));
    assert!(!page.text.contains("class=\"dismiss\""), "ruled once");
    // Ruled twice (a stale page): refused, said in Chinese.
    let page = admin.post(
        &path,
        &[
            ("form_token", &token),
            ("decision", "uphold"),
            ("reason", ""),
        ],
    );
    assert_eq!(page.status, 409);
    assert!(page.text.contains("已经裁决过了"));
    // The notice ends: the dismissed one credits, once.
    app.clock.advance(chrono::Duration::days(4));
    for _ in 0..200 {
        if status(&app, &dismissed) == "credited" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(status(&app, &dismissed), "credited");
    assert_eq!(
        app.balance_of(d.member["account_id"].as_str().unwrap()),
        "10.00"
    );
}

fn residents_cannot_reach_the_desk(app: TestApp) {
    let d = desk(&app);
    let id = record(&app, &d.reviewer, &d);
    let (_, _) = app.resident("孙八", "sunba");
    let mut resident = signed_in(&app, "sunba", "password-123");
    for path in ["/desk".to_string(), format!("/desk/deeds/{id}")] {
        let page = resident.get(&path);
        assert_eq!(page.status, 403, "{path}");
    }
    let token = resident.form_token();
    let page = resident.post(
        &format!("/desk/deeds/{id}/decide"),
        &[("form_token", &token), ("action", "approve")],
    );
    assert_eq!(page.status, 403);
    let page = resident.post("/desk/approve", &[("form_token", &token), ("deed", &id)]);
    assert_eq!(page.status, 403);
    assert_eq!(status(&app, &id), "submitted");
    // Without a form token, nothing is decided.
    let mut admin = signed_in(&app, "admin", ADMIN_PASSWORD);
    let page = admin.post(
        &format!("/desk/deeds/{id}/decide"),
        &[("form_token", "x"), ("action", "approve")],
    );
    assert_eq!(page.status, 403);
    assert_eq!(status(&app, &id), "submitted");
}

fn a_reviewer_records_a_deed_with_its_points_shown_first(app: TestApp) {
    let d = desk(&app);
    let member = d.member["id"].as_str().unwrap().to_string();
    let rule = d.rule["id"].as_str().unwrap().to_string();
    let mut reviewer = signed_in(&app, REVIEWER, "password-123");
    let page = reviewer.get("/desk/record?q=王秀英");
    assert!(page.text.contains(&format!("/desk/record?member={member}")));
    let page = reviewer.get(&format!("/desk/record?member={member}"));
    assert!(page.text.contains("<optgroup label=\"邻里互助\">"));
    assert!(page.text.contains("帮扶孤寡老人（每次 10.00 分）"));
    let token = reviewer.form_token();
    let form = |quantity: &'static str, step: &'static str| {
        vec![
            ("form_token", token.clone()),
            ("member", member.clone()),
            ("rule", rule.clone()),
            ("quantity", quantity.to_string()),
            ("occurred_on", today()),
            ("description", "陪老人看病".to_string()),
            ("evidence", String::new()),
            ("step", step.to_string()),
        ]
    };
    let send = |v: &mut Visitor<'_>, fields: Vec<(&str, String)>| {
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        v.post("/desk/record", &refs)
    };
    let page = send(&mut reviewer, form("3", "preview"));
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("id=\"record-points\">30.00<"));
    // Events count whole: said beside the field, nothing recorded.
    let page = send(&mut reviewer, form("1.5", "submit"));
    assert_eq!(page.status, 422);
    assert!(page.text.contains("按次的填整数"));
    let listed = app.get("/api/v1/deeds", &app.admin_token);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);
    let page = send(&mut reviewer, form("3", "submit"));
    assert_eq!(page.status, 303, "{}", page.text);
    let listed = app.get("/api/v1/deeds", &app.admin_token);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["points"], "30.00");
    assert!(page.location.ends_with(items[0]["id"].as_str().unwrap()));
    // A date in the future is refused beside the date.
    let mut late = form("1", "submit");
    late[4].1 = "2999-01-01".into();
    let page = send(&mut reviewer, late);
    assert_eq!(page.status, 422, "{}", page.text);
    assert!(page.text.contains("填写的内容有误"));
    // A resident cannot reach it.
    let (_, _) = app.resident("孙八", "sunba");
    let mut resident = signed_in(&app, "sunba", "password-123");
    assert_eq!(resident.get("/desk/record").status, 403);
}

both_backends!(
    a_reviewer_records_a_deed_with_its_points_shown_first,
    queues_list_deeds_with_who_recorded_them_and_filter,
    the_first_check_is_offered_to_another_reviewer_and_refused_on_a_forged_post,
    a_bulk_approval_credits_the_ticked_and_names_each_refusal,
    objections_are_ruled_on_from_the_deeds_page,
    residents_cannot_reach_the_desk,
);

/// The desk in headless Chromium: what a reviewer and an admin do at a meeting. Screenshots of
/// what was checked go to `target/screenshots/desk-*.png`.
mod in_a_browser {
    use super::*;
    use crate::common::browser::Browser;
    use crate::common::Backend;

    /// Waits until `css` shows `text`: a form posted back to the same path changes no URL.
    fn wait_for_text(browser: &Browser, css: &str, text: &str) {
        for _ in 0..200 {
            if browser.exists(css) && browser.text(css).contains(text) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("{css} never showed {text}");
    }

    /// Waits until an element matching `css` is on the page.
    fn wait_for(browser: &Browser, css: &str) {
        for _ in 0..200 {
            if browser.exists(css) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("{css} never appeared");
    }

    fn sign_in(browser: &Browser, app: &TestApp, username: &str, password: &str) {
        browser.goto(&app.url("/login"));
        browser.fill("#username", username);
        browser.fill("#password", password);
        browser.click("#login-form button[type=submit]");
        wait_for(browser, ".topbar .user");
    }

    fn a_reviewer_passes_the_first_check_and_an_admin_approves_forty_at_once(app: TestApp) {
        settings(&app, 2, 0);
        let d = desk(&app);
        let ids: Vec<String> = (0..40).map(|_| record(&app, &d.reviewer, &d)).collect();
        let Some(browser) = Browser::start(1366, 768) else {
            return;
        };
        // The reviewer records a deed for the resident, with the points shown first.
        sign_in(&browser, &app, REVIEWER, "password-123");
        browser.goto(&app.url("/desk/record"));
        browser.scan("#q", "王秀英");
        wait_for(&browser, "a[href^='/desk/record?member=']");
        browser.click("a[href^='/desk/record?member=']");
        wait_for(&browser, "#rule");
        browser.execute(
            "var s = document.querySelector('#rule'); s.value = arguments[0]; return s.value;",
            vec![json!(d.rule["id"])],
        );
        browser.fill("#quantity", "2");
        browser.fill("#description", "陪张奶奶去医院复查");
        browser.click("#record-preview");
        wait_for_text(&browser, "#record-points", "20.00");
        browser.screenshot("desk-record-preview");
        browser.click("#record-submit");
        let path = browser.wait_for_path_prefix("/desk/deeds/");
        let first = path.trim_start_matches("/desk/deeds/").to_string();
        assert_eq!(status(&app, &first), "submitted");
        // Their own deed: no first check for them, and why.
        assert!(!browser.exists("#pass"));
        assert!(browser.text("#no-first-check").contains("您登记的"));
        browser.screenshot("desk-deed-own");
        browser.click(".topbar form[action='/logout'] button");
        browser.wait_for_path_prefix("/login");
        // The admin passes the first check.
        sign_in(&browser, &app, "admin", ADMIN_PASSWORD);
        browser.goto(&app.url("/desk?queue=first"));
        browser.screenshot("desk-queue-first");
        browser.click(&format!("a[href='/desk/deeds/{first}']"));
        browser.wait_for_path(&format!("/desk/deeds/{first}"));
        browser.screenshot("desk-deed-first-check");
        browser.click("#pass");
        wait_for_text(&browser, "#deed-status", "已初审");
        assert_eq!(status(&app, &first), "reviewed");
        // The forty are first-checked by the admin through the API, then approved at once.
        for id in &ids {
            let r = app.post(
                &format!("/api/v1/deeds/{id}/review"),
                &app.admin_token,
                &json!({"decision": "pass"}),
            );
            assert_eq!(r.status, 200, "{}", r.text);
        }
        // Another admin decides: the one who checked the forty may not.
        app.user_with_roles("admin2", &["admin"], None);
        browser.click(".topbar form[action='/logout'] button");
        browser.wait_for_path_prefix("/login");
        let browser2 = browser;
        sign_in(&browser2, &app, "admin2", "password-123");
        browser2.goto(&app.url("/desk?queue=decision"));
        browser2.click("[data-check-all=deed]");
        browser2.screenshot("desk-queue-decision-ticked");
        browser2.click("#bulk-approve");
        browser2.wait_for_path("/desk/approve");
        assert_eq!(browser2.text("#approved-count"), "41");
        let first = first.as_str();
        assert_eq!(browser2.text("#refused-count"), "0");
        browser2.screenshot("desk-bulk-approved");
        // Signing out of the console ended the admin's API token too: read with a new one.
        let token = app.login_ok("admin2", "password-123");
        for id in ids.iter().map(String::as_str).chain([first]) {
            let deed = app.get(&format!("/api/v1/deeds/{id}"), &token);
            assert_eq!(deed.body["status"], "credited", "{}", deed.text);
        }
        let account = d.member["account_id"].as_str().unwrap();
        let balance = app.get(&format!("/api/v1/accounts/{account}"), &token);
        assert_eq!(balance.body["balance"], "420.00");
    }

    fn an_objection_is_upheld_and_another_dismissed(app: TestApp) {
        settings(&app, 1, 3);
        let d = desk(&app);
        let (_, neighbour) = app.resident("孙八", "sunba");
        let mut pairs = Vec::new();
        for _ in 0..2 {
            let id = record(&app, &d.reviewer, &d);
            let r = app.post(
                &format!("/api/v1/deeds/{id}/approve"),
                &app.admin_token,
                &json!({}),
            );
            assert_eq!(r.body["status"], "approved", "{}", r.text);
            let r = app.post(
                &format!("/api/v1/deeds/{id}/objections"),
                &neighbour,
                &json!({"reason": "那天没见到她来"}),
            );
            assert_eq!(r.status, 201, "{}", r.text);
            pairs.push((id, r.body["id"].as_str().unwrap().to_string()));
        }
        let Some(browser) = Browser::start(1366, 768) else {
            return;
        };
        sign_in(&browser, &app, "admin", ADMIN_PASSWORD);
        browser.goto(&app.url("/desk?queue=notice"));
        browser.screenshot("desk-queue-notice");
        let (upheld, _) = &pairs[0];
        browser.goto(&app.url(&format!("/desk/deeds/{upheld}")));
        browser.screenshot("desk-deed-objection");
        browser.click("button.uphold");
        wait_for_text(&browser, "#deed-status", "待审核");
        let (dismissed, objection) = &pairs[1];
        browser.goto(&app.url(&format!("/desk/deeds/{dismissed}")));
        browser.fill(&format!("#ruling-{objection}"), "有照片为证，确有其事");
        browser.click("button.dismiss");
        wait_for_text(&browser, ".objection-ruling", "有照片为证");
        assert_eq!(browser.text("#deed-status"), "公示中");
        browser.screenshot("desk-deed-dismissed");
        browser.set_window_size(390, 844);
        browser.screenshot("desk-deed-dismissed-phone");
        browser.goto(&app.url("/desk?queue=decision"));
        browser.screenshot("desk-queue-phone");
        assert_eq!(status(&app, upheld), "submitted");
        assert_eq!(status(&app, dismissed), "approved");
    }

    #[test]
    fn a_reviewer_passes_the_first_check_and_an_admin_approves_forty_at_once_sqlite() {
        if let Some(app) = TestApp::spawn(Backend::Sqlite) {
            a_reviewer_passes_the_first_check_and_an_admin_approves_forty_at_once(app);
        }
    }

    #[test]
    fn an_objection_is_upheld_and_another_dismissed_postgres() {
        if let Some(app) = TestApp::spawn(Backend::Postgres) {
            an_objection_is_upheld_and_another_dismissed(app);
        }
    }
}
