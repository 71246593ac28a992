//! The console's reports (报表) and the auditor's pages (账本核验, 流水账) over plain HTTP: the
//! figures on the page are the JSON summary's, the charts are SVG with the seeded months' figures,
//! bad dates are said in Chinese, residents and clerks are refused, and nothing on the auditor's
//! pages writes.

use chrono::{Datelike, Duration, NaiveDate};
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use crate::common::{Backend, TestApp};
use crate::console::{shop, Page, Shop, Visitor, CLERK, CLERK_PASSWORD};

pub const AUDITOR: &str = "auditor1";
/// The password `TestApp::user_with_roles` gives.
pub const AUDITOR_PASSWORD: &str = "password-123";

/// The community's local date now (the test community is UTC+8).
fn local_today(app: &TestApp) -> NaiveDate {
    (app.clock.now() + Duration::hours(8)).date()
}

fn first_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap()
}

fn last_of(first: NaiveDate) -> NaiveDate {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .unwrap();
    next.pred_opt().unwrap()
}

fn rule(app: &TestApp, code: &str, name: &str, category: &str, points: &str) -> Value {
    let resp = app.post(
        "/api/v1/rules",
        &app.admin_token,
        &json!({"code": code, "name": name, "category": category, "points": points,
                "unit": "event", "direction": "earn"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body
}

fn credit(app: &TestApp, resident: &str, member: &Value, rule: &Value) {
    let resp = app.post(
        "/api/v1/deeds",
        resident,
        &json!({"member_id": member["id"], "rule_id": rule["id"], "quantity": 1,
                "occurred_on": local_today(app).to_string(), "description": "打扫楼道"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let id = resp.body["id"].as_str().unwrap();
    let resp = app.request(
        "POST",
        &format!("/api/v1/deeds/{id}/approve"),
        Some(&app.admin_token),
        &[],
        None,
    );
    assert_eq!(resp.body["status"], "credited", "{}", resp.text);
}

fn redeem(app: &TestApp, key: &str, member: &Value, goods: &str, quantity: i64) {
    let clerk = app.login_ok(CLERK, CLERK_PASSWORD);
    let body =
        json!({"member_id": member["id"], "lines": [{"goods_id": goods, "quantity": quantity}]});
    let resp = app.request(
        "POST",
        "/api/v1/redemptions",
        Some(&clerk),
        &[("Idempotency-Key", key)],
        Some(&body.to_string()),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
}

/// Two months of a community: what was seeded in each, and who reads it.
pub struct Seeded {
    pub shop: Shop,
    /// The first month's first day, and the second month's.
    pub first: NaiveDate,
    pub second: NaiveDate,
}

/// The first month: 张秀兰 opens with 120.00 and redeems 食用油 (60.00); 李梅 is credited 20.00
/// for 志愿服务 and 5.00 for 环境卫生. The clock then moves to the 5th of the next month, where
/// 李梅 is credited 20.00 more and 张秀兰 redeems 洗衣粉 (15.50). An auditor is made.
pub fn seed(app: &TestApp) -> Seeded {
    let shop = shop(app);
    let first = first_of(local_today(app));
    let volunteer = rule(app, "VOLUNTEER", "志愿服务", "志愿服务", "20");
    let clean = rule(app, "CLEAN", "清扫楼道", "环境卫生", "5");
    let (limei, resident) = app.resident("李梅", "limei");
    credit(app, &resident, &limei, &volunteer);
    credit(app, &resident, &limei, &clean);
    redeem(app, "first-oil", &shop.member, &shop.oil, 1);
    // To 10:00 local on the 5th of the next month.
    let second = last_of(first).succ_opt().unwrap();
    let now_local = app.clock.now() + Duration::hours(8);
    let target = (second + Duration::days(4)).and_hms_opt(10, 0, 0).unwrap();
    app.clock.advance(target - now_local);
    assert_eq!(first_of(local_today(app)), second);
    let resident = app.login_ok("limei", "password-123");
    credit(app, &resident, &limei, &volunteer);
    redeem(app, "second-soap", &shop.member, &shop.soap, 1);
    app.user_with_roles(AUDITOR, &["auditor"], None);
    Seeded {
        shop,
        first,
        second,
    }
}

/// The text of the element with `id` on the page (its inner text, tags left out).
pub fn by_id(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = page
        .text
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} on the page:\n{}", page.text));
    let rest = &page.text[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</").unwrap();
    rest[start..end].to_string()
}

fn summary_json(app: &TestApp, query: &str) -> Value {
    let resp = app.get(
        &format!("/api/v1/reports/summary?{query}"),
        &app.admin_token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body
}

const FIGURES: [&str; 11] = [
    "issued",
    "deducted",
    "reversed",
    "reversed_deductions",
    "adjusted_in",
    "adjusted_out",
    "redeemed",
    "voided",
    "expired",
    "outstanding",
    "shop_stock_value",
];

fn the_report_shows_the_summarys_figures_and_charts_of_the_months(app: TestApp) {
    let seeded = seed(&app);
    let mut auditor = Visitor::new(&app);
    auditor.login_ok(AUDITOR, AUDITOR_PASSWORD);
    let home = auditor.get("/");
    for entry in ["报表", "账本核验", "流水账"] {
        assert!(home.text.contains(entry), "the menu has {entry}");
    }
    // This month by default: the second month up to today.
    let today = local_today(&app);
    let page = auditor.get("/reports");
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.input("from"), seeded.second.to_string());
    assert_eq!(page.input("to"), today.to_string());
    let json = summary_json(&app, &format!("from={}&to={today}", seeded.second));
    for figure in FIGURES {
        assert_eq!(
            by_id(&page, &format!("fig-{figure}")),
            json[figure].as_str().unwrap(),
            "{figure}"
        );
    }
    assert_eq!(by_id(&page, "fig-issued"), "20.00");
    assert_eq!(by_id(&page, "fig-redeemed"), "15.50");

    // Both months: the figures and the categories agree with the JSON.
    let query = format!("from={}&to={today}", seeded.first);
    let page = auditor.get(&format!("/reports?{query}"));
    assert_eq!(page.status, 200);
    let json = summary_json(&app, &query);
    for figure in FIGURES {
        assert_eq!(
            by_id(&page, &format!("fig-{figure}")),
            json[figure].as_str().unwrap(),
            "{figure}"
        );
    }
    assert_eq!(by_id(&page, "fig-issued"), "45.00");
    assert_eq!(by_id(&page, "fig-adjusted_in"), "120.00");
    assert_eq!(by_id(&page, "fig-outstanding"), "89.50");
    for category in json["by_category"].as_array().unwrap() {
        let row = format!(
            "<td>{}</td><td class=\"num\">{}</td>",
            category["category"].as_str().unwrap(),
            category["issued"].as_str().unwrap()
        );
        assert!(page.text.contains(&row), "{row}");
    }
    // The charts are inline SVG, with no style attribute the CSP would refuse.
    assert_eq!(
        page.text
            .matches("<svg xmlns=\"http://www.w3.org/2000/svg\"")
            .count(),
        3
    );
    assert!(!page.text.contains("style="), "no inline styles");

    // Issuance against redemption, month by month: the two seeded months and ten before.
    let svg = auditor.get(&format!("/reports/charts/issuance.svg?{query}"));
    assert_eq!(svg.status, 200);
    assert!(svg
        .header("content-type")
        .unwrap()
        .starts_with("image/svg+xml"));
    assert!(svg.text.starts_with("<?xml"));
    let bars = |series: &str| -> Vec<String> {
        let marker = format!("data-series=\"{series}\" data-value=\"");
        svg.text
            .match_indices(&marker)
            .map(|(at, m)| {
                let rest = &svg.text[at + m.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .collect()
    };
    let issued = bars("发放");
    let redeemed = bars("兑换（扣除撤销）");
    assert_eq!(issued.len(), 12, "{}", svg.text);
    assert_eq!(&issued[10..], ["25.00", "20.00"]);
    assert!(issued[..10].iter().all(|v| v == "0.00"));
    assert_eq!(&redeemed[10..], ["60.00", "15.50"]);
    let month = |d: NaiveDate| format!(">{}月</text>", d.month());
    assert!(svg.text.contains(&month(seeded.first)) && svg.text.contains(&month(seeded.second)));
    assert!(svg
        .text
        .contains(&format!(">{}年</text>", seeded.second.year())));

    // What residents held at each month's end is the summary's outstanding to that day.
    let svg = auditor.get(&format!("/reports/charts/outstanding.svg?{query}"));
    assert_eq!(svg.status, 200);
    let held = |at: NaiveDate| {
        summary_json(&app, &format!("to={at}"))["outstanding"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first_end = held(last_of(seeded.first));
    assert_eq!(first_end, "85.00");
    for value in [first_end, held(today)] {
        assert!(
            svg.text
                .contains(&format!("data-series=\"月末结存\" data-value=\"{value}\"")),
            "{value}: {}",
            svg.text
        );
    }
    let svg = auditor.get(&format!("/reports/charts/categories.svg?{query}"));
    assert!(svg.text.contains(">志愿服务</text>") && svg.text.contains(">40.00</text>"));
    assert!(svg.text.contains(">环境卫生</text>") && svg.text.contains(">5.00</text>"));
    assert_eq!(auditor.get("/reports/charts/other.svg").status, 404);

    // From the beginning up to now, as the 开始至今 link asks.
    let page = auditor.get("/reports?from=&to=");
    assert_eq!(page.status, 200);
    assert!(by_id(&page, "report-period").contains("开始 至 今天"));
    let json = summary_json(&app, "");
    for figure in FIGURES {
        assert_eq!(
            by_id(&page, &format!("fig-{figure}")),
            json[figure].as_str().unwrap(),
            "{figure}"
        );
    }

    // The A4 print holds the same figures.
    let print = auditor.get(&format!("/reports/print?{query}"));
    assert_eq!(print.status, 200);
    assert_eq!(by_id(&print, "fig-outstanding"), "89.50");
    assert!(print.text.contains("负责人"));
}

fn bad_dates_are_said_in_chinese_beside_the_field(app: TestApp) {
    seed(&app);
    let mut auditor = Visitor::new(&app);
    auditor.login_ok(AUDITOR, AUDITOR_PASSWORD);
    for (query, field) in [
        ("from=2026-13-01&to=", "from"),
        ("from=&to=yesterday", "to"),
        ("from=1999-12-31&to=", "from"),
    ] {
        let page = auditor.get(&format!("/reports?{query}"));
        assert_eq!(page.status, 400, "{query}: {}", page.text);
        assert!(
            by_id(&page, &format!("{field}-problem")).contains("日期应写成 2026-12-01"),
            "{query}: {}",
            page.text
        );
        assert!(
            !page.text.contains("id=\"fig-issued\""),
            "no figures for bad dates"
        );
    }
    let page = auditor.get("/reports?from=2026-12-02&to=2026-12-01");
    assert_eq!(page.status, 400);
    assert!(by_id(&page, "from-problem").contains("开始日期晚于结束日期"));
    // The typed text stays in the form.
    assert_eq!(page.input("to"), "2026-12-01");
    let svg = auditor.get("/reports/charts/issuance.svg?from=2026-02-30");
    assert_eq!(svg.status, 400);
    assert!(svg.text.contains("日期应写成"), "{}", svg.text);
    // The journal's position must be a number.
    for after in ["abc", "-1", "1.5"] {
        let page = auditor.get(&format!("/audit/journal?after={after}"));
        assert_eq!(page.status, 400, "{after}");
        assert!(by_id(&page, "after-problem").contains("请填写 0 或正整数"));
    }
}

fn residents_and_clerks_are_refused(app: TestApp) {
    seed(&app);
    for (username, password) in [("limei", "password-123"), (CLERK, CLERK_PASSWORD)] {
        let mut visitor = Visitor::new(&app);
        visitor.login_ok(username, password);
        for path in [
            "/reports",
            "/reports/print",
            "/reports/charts/issuance.svg",
            "/audit/verify?run=1",
            "/audit/journal",
        ] {
            let page = visitor.get(path);
            assert_eq!(page.status, 403, "{username} {path}: {}", page.text);
            assert!(
                page.text.contains("您的角色不能使用此页面"),
                "{}",
                page.text
            );
            assert!(!page.text.contains("<svg"), "{username} {path}");
        }
        let menu = visitor.get("/password");
        for entry in [
            "href=\"/reports\"",
            "href=\"/audit/verify\"",
            "href=\"/audit/journal\"",
        ] {
            assert!(!menu.text.contains(entry), "{username} sees {entry}");
        }
    }
    // Without a session: to the login page.
    let page = Visitor::new(&app).get("/reports");
    assert_eq!((page.status, page.location.as_str()), (303, "/login"));
}

/// Every `<form …>` opening tag on a page.
pub fn forms(page: &Page) -> Vec<String> {
    page.text
        .match_indices("<form")
        .map(|(at, _)| {
            let rest = &page.text[at..];
            rest[..rest.find('>').unwrap() + 1].to_string()
        })
        .collect()
}

fn the_auditors_pages_write_nothing_and_verify_reads_the_ledger(app: TestApp) {
    let seeded = seed(&app);
    let mut auditor = Visitor::new(&app);
    auditor.login_ok(AUDITOR, AUDITOR_PASSWORD);
    let before = app.ledger_snapshot();
    let page = auditor.get("/audit/verify");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("开始核验"));
    assert!(
        !page.text.contains("id=\"verify-result\""),
        "nothing runs until asked"
    );
    let checked = auditor.get("/audit/verify?run=1");
    assert_eq!(checked.status, 200);
    let json = app.verify();
    assert!(
        by_id(&checked, "verify-result").contains("账本完好"),
        "{}",
        checked.text
    );
    assert_eq!(
        by_id(&checked, "verify-transactions"),
        json["checked_transactions"].to_string()
    );
    assert_eq!(
        by_id(&checked, "verify-postings"),
        json["checked_postings"].to_string()
    );
    let query = format!("from={}&to={}", seeded.first, local_today(&app));
    for path in [
        "/".to_string(),
        format!("/reports?{query}"),
        format!("/reports/print?{query}"),
        "/audit/verify".into(),
        "/audit/verify?run=1".into(),
        "/audit/journal".into(),
    ] {
        let page = auditor.get(&path);
        assert_eq!(page.status, 200, "{path}");
        for form in forms(&page) {
            let posts = form.contains("method=\"post\"");
            assert!(
                !posts || form.contains("action=\"/logout\""),
                "{path} has a form that writes: {form}"
            );
        }
    }
    // The console routes of these pages take no POST.
    let token = auditor.form_token();
    for path in ["/reports", "/audit/verify", "/audit/journal"] {
        let page = auditor.post(path, &[("form_token", &token), ("run", "1")]);
        assert!(
            page.status == 404 || page.status == 405,
            "{path}: {}",
            page.status
        );
    }
    assert_eq!(app.ledger_snapshot(), before, "reading changed nothing");

    // An edit behind the service's back is named in Chinese.
    let account = seeded.shop.member["account_id"].as_str().unwrap();
    let mut conn = app.db.connect();
    let disable = match app.backend {
        Backend::Sqlite => "DROP TRIGGER postings_no_update",
        Backend::Postgres => "ALTER TABLE postings DISABLE TRIGGER postings_append_only",
    };
    conn.batch_execute(disable).unwrap();
    conn.batch_execute(&format!(
        "UPDATE postings SET amount = amount + 100 WHERE account_id = '{account}' AND account_seq = 1"
    ))
    .unwrap();
    drop(conn);
    let checked = auditor.get("/audit/verify?run=1");
    assert_eq!(checked.status, 200);
    assert!(by_id(&checked, "verify-result").contains("发现问题"));
    let problems = &checked.text[checked.text.find("id=\"verify-problems\"").unwrap()..];
    assert!(problems.contains("哈希值不符"), "{problems}");
    assert!(problems.contains("借贷不平"), "{problems}");
    assert!(
        problems.contains("张秀兰"),
        "the account is named: {problems}"
    );
}

fn the_journal_goes_page_by_page_with_names_and_hashes(app: TestApp) {
    let seeded = seed(&app);
    let member = seeded.shop.member["id"].as_str().unwrap();
    // Enough transactions for two pages of fifty.
    for n in 0..45 {
        let resp = app.adjust(&format!("more-{n}"), member, "1.00", "correction", "补录");
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    let feed = app.get("/api/v1/journal?limit=500", &app.admin_token);
    let items = feed.body["items"].as_array().unwrap().clone();
    assert!(items.len() > 50, "{}", items.len());
    let mut auditor = Visitor::new(&app);
    auditor.login_ok(AUDITOR, AUDITOR_PASSWORD);
    let page = auditor.get("/audit/journal");
    assert_eq!(page.status, 200);
    assert_eq!(page.text.matches("<td class=\"num seq\">").count(), 50);
    let first = &items[0];
    let hash = first["hash"].as_str().unwrap();
    assert!(page
        .text
        .contains(&format!("title=\"{hash}\">{}</code>", &hash[..12])));
    assert!(page.text.contains("期初结转") || page.text.contains("更正"));
    assert!(page.text.contains("积分入账") && page.text.contains("兑换"));
    assert!(page.text.contains("张秀兰（"), "accounts are named");
    assert!(page.text.contains("积分超市账户") && page.text.contains("积分发放账户"));
    assert!(page.text.contains("<td>admin</td>"), "the actor is named");
    assert!(page.text.contains(&format!("<td>{CLERK}</td>")));
    assert!(
        !page.text.contains("id=\"journal-previous\""),
        "the first page has no previous"
    );
    let next = by_id(&page, "journal-next");
    assert_eq!(next, "下一页");
    assert!(page.text.contains("href=\"/audit/journal?after=50\""));
    let second = auditor.get("/audit/journal?after=50");
    assert_eq!(second.status, 200);
    assert_eq!(
        second.text.matches("<td class=\"num seq\">").count(),
        items.len() - 50
    );
    assert!(second.text.contains("<td class=\"num seq\">51</td>"));
    assert!(
        second.text.contains("href=\"/audit/journal?after=0\""),
        "previous goes back"
    );
    assert!(
        !second.text.contains("id=\"journal-next\""),
        "the last page has no next"
    );
    let past = auditor.get("/audit/journal?after=100000");
    assert!(past.text.contains("这之后没有记录"));
}

/// What on the page could change anything: each form that posts (its action), and each button
/// that neither sends a GET form, nor prints, nor belongs to the logout form.
const WRITABLE_SCRIPT: &str = r#"
  const posts = [...document.querySelectorAll("form")]
    .filter(f => f.method.toLowerCase() !== "get")
    .map(f => new URL(f.action).pathname);
  const buttons = [...document.querySelectorAll("button, input[type=submit], input[type=button]")]
    .filter(b => {
      const form = b.form;
      if (b.hasAttribute("data-print")) return false;
      if (form && form.method.toLowerCase() === "get") return false;
      if (form && new URL(form.action).pathname === "/logout") return false;
      return true;
    })
    .map(b => b.outerHTML);
  return [posts, buttons];
"#;

fn an_auditor_reads_reports_and_the_ledger_and_can_change_nothing(app: TestApp) {
    use crate::common::browser::{pdf_pages, Browser};
    let seeded = seed(&app);
    let Some(browser) = Browser::start(1366, 768) else {
        return;
    };
    browser.goto(&app.url("/login"));
    browser.fill("#username", AUDITOR);
    browser.fill("#password", AUDITOR_PASSWORD);
    browser.click("#login-form button[type=submit]");
    browser.wait_for_path("/");
    let before = app.ledger_snapshot();
    let nothing_writable = |page: &str| {
        let found = browser.execute(WRITABLE_SCRIPT, vec![]);
        assert_eq!(
            found,
            json!([["/logout"], []]),
            "{page}: only the logout form posts, and no button changes anything"
        );
    };
    nothing_writable("home");

    let query = format!("from={}&to={}", seeded.first, local_today(&app));
    browser.goto(&app.url(&format!("/reports?{query}")));
    assert_eq!(browser.text("#fig-outstanding"), "89.50");
    assert_eq!(browser.text("#fig-issued"), "45.00");
    // The charts' Chinese text is laid out in the page's font: it has a width.
    let width = browser.execute(
        "return document.querySelector('#chart-issuance text').getComputedTextLength();",
        vec![],
    );
    assert!(width.as_f64().unwrap() > 20.0, "{width}");
    nothing_writable("reports");
    browser.screenshot("reports-page");
    browser.execute(
        "document.querySelector('#chart-issuance').scrollIntoView();",
        vec![],
    );
    browser.screenshot("reports-charts");
    // On a phone: one column, nothing wider than the screen.
    browser.set_window_size(390, 844);
    browser.goto(&app.url(&format!("/reports?{query}")));
    let overflow = browser.execute(
        "return document.documentElement.scrollWidth > window.innerWidth;",
        vec![],
    );
    assert_eq!(overflow, json!(false), "the report fits a phone's width");
    browser.screenshot("reports-phone");
    browser.set_window_size(1366, 768);

    browser.click("#print-link");
    browser.wait_for_path(&format!("/reports/print?{query}"));
    assert_eq!(browser.text("#fig-outstanding"), "89.50");
    let pdf = browser.print_pdf("reports-a4", 21.0, 29.7);
    assert!(
        (1..=2).contains(&pdf_pages(&pdf)),
        "the report prints on one or two A4 pages"
    );

    browser.goto(&app.url("/audit/verify"));
    nothing_writable("verify");
    browser.click("#run-verify");
    browser.wait_for_path("/audit/verify?run=1");
    assert!(browser.text("#verify-result").contains("账本完好"));
    nothing_writable("verify result");
    browser.screenshot("audit-verify");

    browser.goto(&app.url("/audit/journal"));
    assert!(browser.text("#journal").contains("积分入账"));
    nothing_writable("journal");
    browser.screenshot("audit-journal");
    assert_eq!(app.ledger_snapshot(), before, "the auditor changed nothing");

    // A posting edited behind the service's back: the check names it, in Chinese.
    let mut conn = app.db.connect();
    conn.batch_execute("DROP TRIGGER postings_no_update")
        .unwrap();
    conn.batch_execute("UPDATE postings SET amount = amount + 100 WHERE id IN (SELECT id FROM postings ORDER BY posted_at LIMIT 1)")
        .unwrap();
    drop(conn);
    browser.goto(&app.url("/audit/verify?run=1"));
    assert!(browser.text("#verify-result").contains("发现问题"));
    assert!(browser.text("#verify-problems").contains("哈希值不符"));
    browser.screenshot("audit-verify-problems");
}

#[test]
fn an_auditor_reads_reports_and_the_ledger_and_can_change_nothing_sqlite() {
    if let Some(app) = TestApp::spawn(Backend::Sqlite) {
        an_auditor_reads_reports_and_the_ledger_and_can_change_nothing(app);
    }
}

/// The series' bars of one series in a chart, in order.
fn bar_values(svg: &str, series: &str) -> Vec<String> {
    let marker = format!("data-series=\"{series}\" data-value=\"");
    svg.match_indices(&marker)
        .map(|(at, m)| {
            let rest = &svg[at + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

fn a_credit_just_after_local_midnight_counts_in_the_new_local_month(app: TestApp) {
    let volunteer = rule(&app, "VOLUNTEER", "志愿服务", "志愿服务", "20");
    let (limei, _) = app.resident("李梅", "limei");
    app.user_with_roles(AUDITOR, &["auditor"], None);
    // 00:30 on the 1st in the community (UTC+8) is still the last day of the month in UTC.
    let first = first_of(local_today(&app));
    let next = last_of(first).succ_opt().unwrap();
    let now_local = app.clock.now() + Duration::hours(8);
    app.clock
        .advance(next.and_hms_opt(0, 30, 0).unwrap() - now_local);
    assert_eq!(
        app.clock.now().date(),
        last_of(first),
        "UTC is a day behind"
    );
    let resident = app.login_ok("limei", "password-123");
    credit(&app, &resident, &limei, &volunteer);
    let mut auditor = Visitor::new(&app);
    auditor.login_ok(AUDITOR, AUDITOR_PASSWORD);
    let svg = auditor.get(&format!(
        "/reports/charts/issuance.svg?from={next}&to={next}"
    ));
    assert_eq!(svg.status, 200);
    let issued = bar_values(&svg.text, "发放");
    assert_eq!(&issued[10..], ["0.00", "20.00"], "{}", svg.text);
    let held = bar_values(
        &auditor
            .get(&format!(
                "/reports/charts/outstanding.svg?from={next}&to={next}"
            ))
            .text,
        "月末结存",
    );
    assert_eq!(&held[10..], ["0.00", "20.00"]);
    let json = summary_json(&app, &format!("from={first}&to={}", last_of(first)));
    assert_eq!(json["issued"], "0.00");
}

both_backends!(
    a_credit_just_after_local_midnight_counts_in_the_new_local_month,
    the_report_shows_the_summarys_figures_and_charts_of_the_months,
    bad_dates_are_said_in_chinese_beside_the_field,
    residents_and_clerks_are_refused,
    the_auditors_pages_write_nothing_and_verify_reads_the_ledger,
    the_journal_goes_page_by_page_with_names_and_hashes,
);
