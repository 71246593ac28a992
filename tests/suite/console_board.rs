//! The notice board (公示栏) and the honor roll (光荣榜) in the console: the public board opens
//! without a login and never shows a full name, an unknown community is a Chinese 404, residents
//! read the honor roll with shared ranks, a month that is not one is a Chinese message; and in
//! Chromium, both print on A4.

use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Value};

use crate::common::browser::{pdf_pages, Browser};
use crate::common::{Backend, TestApp};
use crate::console::Visitor;

const RESIDENT: &str = "qianqi";
const RESIDENT_PASSWORD: &str = "password-123";

/// A community with three residents credited this month (孙八 20.00, 李四 and 周五 10.00 each,
/// tied) and a deed of 钱七's approved and on notice for three days.
struct Fixture {
    code: String,
    community: String,
    offset_minutes: i32,
    /// When 钱七's notice ends, community-local, as the pages write it.
    notice_ends: String,
}

fn settings(app: &TestApp, notice_days: i32) {
    let resp = app.request(
        "PUT",
        "/api/v1/settings",
        Some(&app.admin_token),
        &[],
        Some(
            &json!({"review_stages": 1, "notice_days": notice_days, "backdate_days": 30})
                .to_string(),
        ),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
}

fn approved(
    app: &TestApp,
    approver: &str,
    member: &Value,
    rule: &Value,
    what: &str,
    day: &str,
) -> Value {
    let deed = app.post(
        "/api/v1/deeds",
        &app.admin_token,
        &json!({"member_id": member["id"], "rule_id": rule["id"], "quantity": 1, "occurred_on": day, "description": what}),
    );
    assert_eq!(deed.status, 201, "{}", deed.text);
    let id = deed.body["id"].as_str().unwrap();
    let resp = app.request(
        "POST",
        &format!("/api/v1/deeds/{id}/approve"),
        Some(approver),
        &[],
        None,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body
}

fn fixture(app: &TestApp) -> Fixture {
    let me = app.get("/api/v1/me", &app.admin_token);
    assert_eq!(me.status, 200, "{}", me.text);
    let offset_minutes = moralbank::communities::model::parse_utc_offset(
        me.body["community"]["utc_offset"].as_str().unwrap(),
    )
    .unwrap();
    let today = (chrono::Utc::now() + Duration::minutes(offset_minutes as i64))
        .format("%Y-%m-%d")
        .to_string();
    let rule = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": "HELP", "name": "助人为乐", "category": "好人好事", "points": "10", "unit": "event", "direction": "earn"}),
    );
    assert_eq!(rule.status, 201, "{}", rule.text);
    let approver = app.user_with_roles("approver", &["admin"], None);
    let sun = app.create_member("孙八");
    let li = app.create_member("李四");
    let zhou = app.create_member("周五");
    for (member, deeds) in [(&sun, 2), (&li, 1), (&zhou, 1)] {
        for _ in 0..deeds {
            let deed = approved(app, &approver, member, &rule.body, "打扫楼道", &today);
            assert_eq!(deed["status"], "credited");
        }
    }
    settings(app, 3);
    let (qian, _) = app.resident("钱七", RESIDENT);
    let on_notice = approved(app, &approver, &qian, &rule.body, "扶老人过马路", &today);
    assert_eq!(on_notice["status"], "approved", "on notice, not credited");
    let ends = chrono::DateTime::parse_from_rfc3339(on_notice["notice_ends_at"].as_str().unwrap())
        .unwrap()
        .naive_utc();
    Fixture {
        code: me.body["community"]["code"].as_str().unwrap().to_string(),
        community: me.body["community"]["name"].as_str().unwrap().to_string(),
        offset_minutes,
        notice_ends: local_minute(ends, offset_minutes),
    }
}

fn local_minute(utc: NaiveDateTime, offset_minutes: i32) -> String {
    (utc + Duration::minutes(offset_minutes as i64))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn this_month(offset_minutes: i32) -> String {
    (chrono::Utc::now() + Duration::minutes(offset_minutes as i64))
        .format("%Y-%m")
        .to_string()
}

/// The rows of a page's `<tbody>`, each cell's text joined with `|`.
fn rows(html: &str) -> Vec<String> {
    let Some(start) = html.find("<tbody>") else {
        return Vec::new();
    };
    let body = &html[start
        ..html[start..]
            .find("</tbody>")
            .map_or(html.len(), |e| start + e)];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let mut cells = Vec::new();
            for cell in row.split("<td").skip(1) {
                let inner = &cell[cell.find('>').unwrap() + 1..];
                let inner = &inner[..inner.find("</td>").unwrap_or(inner.len())];
                let mut text = String::new();
                let mut in_tag = false;
                for c in inner.chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        c if !in_tag => text.push(c),
                        _ => {}
                    }
                }
                cells.push(text.trim().to_string());
            }
            cells.join("|")
        })
        .collect()
}

fn the_public_board_opens_without_a_cookie_and_masks_every_name(app: TestApp) {
    let f = fixture(&app);
    let mut anyone = Visitor::new(&app);
    let page = anyone.get(&format!("/public/{}/board", f.code));
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(anyone.cookie.is_none(), "the public page starts no session");
    assert!(page
        .header("content-security-policy")
        .is_some_and(|csp| csp.contains("default-src 'self'")));
    assert!(page.text.contains(&f.community), "{}", page.text);
    assert_eq!(
        rows(&page.text),
        [format!(
            "钱*|助人为乐|扶老人过马路|{}|+10.00|{}",
            today_of(&f),
            f.notice_ends
        )]
    );
    assert!(
        !page.text.contains("钱七"),
        "no full name on the public page"
    );
    assert!(page.text.contains("有异议"));
    for print in [
        format!("/public/{}/board/print", f.code),
        "/board/print".to_string(),
    ] {
        let mut visitor = Visitor::new(&app);
        if print == "/board/print" {
            // The admin sees full names on screen, but the print for the wall masks them.
            visitor.login_ok("admin", crate::common::ADMIN_PASSWORD);
        }
        let sheet = visitor.get(&print);
        assert_eq!(sheet.status, 200, "{print}: {}", sheet.text);
        assert!(
            sheet.text.contains("钱*") && !sheet.text.contains("钱七"),
            "{print}"
        );
        assert!(sheet.text.contains("打印日期") && sheet.text.contains(&f.community));
        assert!(
            sheet.text.contains("公示期</strong>：3 天"),
            "{}",
            sheet.text
        );
        if print == "/board/print" {
            // Staff's print signs a head when there is none and shows it.
            shows_the_latest_head(&app, &f.code, &sheet.text);
        } else {
            // Anyone's print reads only: before any head is signed, it shows none.
            assert!(!sheet.text.contains("board-head"), "no head signed yet");
        }
    }
    let public = Visitor::new(&app).get(&format!("/public/{}/board/print", f.code));
    shows_the_latest_head(&app, &f.code, &public.text);
    // Signed in, names are masked as the JSON board masks them for the reader's roles.
    let mut admin = Visitor::new(&app);
    admin.login_ok("admin", crate::common::ADMIN_PASSWORD);
    let staff = admin.get("/board");
    assert_eq!(staff.status, 200, "{}", staff.text);
    assert!(rows(&staff.text)[0].starts_with("钱七|"), "{}", staff.text);
    let mut resident = Visitor::new(&app);
    resident.login_ok(RESIDENT, RESIDENT_PASSWORD);
    let own = resident.get("/board");
    assert_eq!(own.status, 200, "{}", own.text);
    assert!(rows(&own.text)[0].starts_with("钱*|"));
    assert!(!own.text.contains("钱七"));
    assert!(own.text.contains("href=\"/board\"") && own.text.contains("公示栏"));
    // The public page changes nothing: only GET answers.
    let post = anyone.post(&format!("/public/{}/board", f.code), &[("x", "1")]);
    assert_eq!(post.status, 405);
}

fn today_of(f: &Fixture) -> String {
    (chrono::Utc::now() + Duration::minutes(f.offset_minutes as i64))
        .format("%Y-%m-%d")
        .to_string()
}

/// A second community, 西村 (code `west`), created by a platform operator.
fn west(app: &TestApp) {
    let hash = moralbank::auth::password::hash_password("operator-password").unwrap();
    moralbank::communities::store::insert_operator(&mut app.db.connect(), "op1", &hash).unwrap();
    let resp = app.request(
        "POST",
        "/api/v1/auth/operator-login",
        None,
        &[],
        Some(&json!({"username": "op1", "password": "operator-password"}).to_string()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let operator = resp.body["access_token"].as_str().unwrap().to_string();
    let resp = app.post(
        "/api/v1/communities",
        &operator,
        &json!({"code": "west", "name": "西村", "admin_password": "west-admin-password"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
}

fn a_board_shows_its_own_community_only_and_an_unknown_one_is_a_chinese_404(app: TestApp) {
    let f = fixture(&app);
    west(&app);
    let mut anyone = Visitor::new(&app);
    let other = anyone.get("/public/west/board");
    assert_eq!(other.status, 200, "{}", other.text);
    assert!(other.text.contains("西村 · 公示栏"), "{}", other.text);
    assert!(other.text.contains("目前没有正在公示的事项"));
    assert!(!other.text.contains("钱*") && !other.text.contains(&f.community));
    let own = anyone.get(&format!("/public/{}/board", f.code));
    assert_eq!(rows(&own.text).len(), 1);
    let long = "x".repeat(300);
    for path in [
        "/public/no-such-place/board".to_string(),
        "/public/no-such-place/board/print".to_string(),
        format!("/public/{long}/board"),
    ] {
        let page = anyone.get(&path);
        assert_eq!(page.status, 404, "{path}");
        assert!(page.text.contains("找不到"), "{path}: {}", page.text);
        assert!(page.text.contains("不存在"), "{}", page.text);
    }
}

fn a_resident_reads_the_honor_roll_with_shared_ranks(app: TestApp) {
    let f = fixture(&app);
    let month = this_month(f.offset_minutes);
    let mut resident = Visitor::new(&app);
    resident.login_ok(RESIDENT, RESIDENT_PASSWORD);
    // A resident lands on their passbook, whose menu holds the roll.
    let home = resident.get("/");
    assert_eq!((home.status, home.location.as_str()), (303, "/me"));
    let home = resident.get("/me");
    assert!(home.text.contains("href=\"/honor-roll\""), "{}", home.text);
    let page = resident.get("/honor-roll");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains(&format!("value=\"{month}\"")),
        "this month by default"
    );
    assert_eq!(
        rows(&page.text),
        [
            "第 1 名|孙八|20.00",
            "第 2 名|李四|10.00",
            "第 2 名|周五|10.00"
        ],
        "ties share a rank; 钱七's deed on notice has earned nothing yet"
    );
    assert!(
        !page.text.contains("存折号"),
        "residents see no passbook numbers"
    );
    let other = resident.get("/honor-roll?month=2000-01");
    assert_eq!(other.status, 200);
    assert!(rows(&other.text).is_empty());
    assert!(other.text.contains("2000年1月还没有人获得积分"));
    let print = resident.get(&format!("/honor-roll/print?month={month}"));
    assert_eq!(print.status, 200, "{}", print.text);
    assert!(print.text.contains("光 荣 榜") && print.text.contains(&f.community));
    shows_the_latest_head(&app, &f.code, &print.text);
    assert_eq!(
        rows(&print.text),
        [
            "第 1 名|孙八|20.00",
            "第 2 名|李四|10.00",
            "第 2 名|周五|10.00"
        ]
    );
    // Staff who read the roster also see the passbook numbers.
    let mut admin = Visitor::new(&app);
    admin.login_ok("admin", crate::common::ADMIN_PASSWORD);
    let staff = admin.get("/honor-roll");
    assert!(staff.text.contains("存折号"));
    assert_eq!(rows(&staff.text).len(), 3);
}

fn a_month_that_is_not_one_is_a_chinese_message(app: TestApp) {
    fixture(&app);
    let mut resident = Visitor::new(&app);
    resident.login_ok(RESIDENT, RESIDENT_PASSWORD);
    for bad in ["2026-13", "abc", "1999-12"] {
        let page = resident.get(&format!("/honor-roll?month={bad}"));
        assert_eq!(page.status, 422, "{bad}");
        assert!(
            page.text.contains("月份格式应为 2026-12"),
            "{bad}: {}",
            page.text
        );
        assert!(
            page.text.contains(&format!("value=\"{bad}\"")),
            "keeps what was typed"
        );
        assert_eq!(rows(&page.text).len(), 3, "this month's roll instead");
        let print = resident.get(&format!("/honor-roll/print?month={bad}"));
        assert_eq!(print.status, 400, "{bad}");
        assert!(
            print.text.contains("月份格式应为 2026-12"),
            "{}",
            print.text
        );
    }
}

/// A board's print shows the community's latest signed head, its short code and time, and a QR
/// code to the published heads, with no resident's name beside them.
fn shows_the_latest_head(app: &TestApp, code: &str, html: &str) {
    let heads = app.request("GET", &format!("/public/{code}/heads"), None, &[], None);
    let latest = &heads.body["latest"];
    assert!(!latest.is_null(), "a head is published");
    let short = format!(
        "#{}·{}",
        latest["tree_size"],
        &latest["root_hash"].as_str().unwrap()[..8]
    );
    let at = html
        .find("<div class=\"paper-check board-head\">")
        .expect("the head block");
    let block = &html[at..];
    let block = &block[..block.find("</div>\n</div>").unwrap()];
    assert!(block.contains("<svg class=\"check-qr\""), "a QR code");
    assert!(block.contains(&short), "{short}");
    assert!(block.contains(&format!("/public/{code}/heads")));
    assert!(block.contains("本栏所依据的账本状态，可在网上核对"));
    for name in ["钱七", "钱*", "孙八", "李四", "周五"] {
        assert!(!block.contains(name), "no name beside the head");
    }
    assert!(!block.contains("style="));
}

both_backends!(
    the_public_board_opens_without_a_cookie_and_masks_every_name,
    a_board_shows_its_own_community_only_and_an_unknown_one_is_a_chinese_404,
    a_resident_reads_the_honor_roll_with_shared_ranks,
    a_month_that_is_not_one_is_a_chinese_message,
);

/// In Chromium: a resident without a login opens the board, which prints on one A4 page with
/// masked names; signed in, they read the honor roll and print it on A4.
fn the_board_and_the_honor_roll_print_on_a4(app: TestApp) {
    let f = fixture(&app);
    let Some(browser) = Browser::start(1366, 768) else {
        return;
    };
    browser.goto(&app.url(&format!("/public/{}/board", f.code)));
    assert_eq!(browser.text("table.notices td.who"), "钱*");
    assert!(!browser.text("main").contains("钱七"));
    browser.screenshot("board-public");
    // On a phone, from the notice wall's link.
    browser.set_window_size(390, 844);
    browser.goto(&app.url(&format!("/public/{}/board", f.code)));
    browser.screenshot("board-public-phone");
    browser.set_window_size(1366, 768);
    browser.goto(&app.url(&format!("/public/{}/board/print", f.code)));
    assert!(browser.text(".wall-sheet").contains("钱*"));
    let pdf = browser.print_pdf("board-a4", 21.0, 29.7);
    assert_eq!(pdf_pages(&pdf), 1);
    // A long board runs onto a second sheet, its column heads repeated, no row split.
    let rule = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": "WATCH", "name": "夜间巡逻", "category": "志愿服务", "points": "5", "unit": "event", "direction": "earn"}),
    );
    let approver = app.user_with_roles("approver2", &["admin"], None);
    let zhao = app.create_member("赵六");
    for _ in 0..30 {
        approved(
            &app,
            &approver,
            &zhao,
            &rule.body,
            "夜间巡逻两小时，检查楼道消防通道",
            &today_of(&f),
        );
    }
    browser.goto(&app.url(&format!("/public/{}/board/print", f.code)));
    let pdf = browser.print_pdf("board-a4-long", 21.0, 29.7);
    assert_eq!(pdf_pages(&pdf), 3);

    browser.goto(&app.url("/login"));
    browser.fill("#username", RESIDENT);
    browser.fill("#password", RESIDENT_PASSWORD);
    browser.click("#login-form button[type=submit]");
    browser.wait_for_path("/me");
    browser.click(".menu a[href='/board']");
    browser.wait_for_path("/board");
    assert_eq!(browser.text("table.notices td.who"), "钱*");
    browser.screenshot("board-resident");
    browser.click(".menu a[href='/honor-roll']");
    browser.wait_for_path("/honor-roll");
    assert_eq!(browser.text("table.honor-roll tbody tr td.who"), "孙八");
    browser.screenshot("honor-roll");
    browser.goto(&app.url("/honor-roll?month=2026-13"));
    assert!(browser.text("#month-problem").contains("月份格式应为"));
    browser.screenshot("honor-roll-bad-month");
    browser.goto(&app.url(&format!(
        "/honor-roll/print?month={}",
        this_month(f.offset_minutes)
    )));
    let pdf = browser.print_pdf("honor-roll-a4", 21.0, 29.7);
    assert_eq!(pdf_pages(&pdf), 1);
}

#[test]
fn the_board_and_the_honor_roll_print_on_a4_sqlite() {
    if let Some(app) = TestApp::spawn(Backend::Sqlite) {
        the_board_and_the_honor_roll_print_on_a4(app);
    }
}
