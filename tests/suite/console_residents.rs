//! The residents' own pages in the console: 我的存折 month by month, 我的申报 and one deed's
//! history, 申报好事 (points shown first, a double submit makes one deed), 提出异议 from the
//! notice board, 商品; and that nothing of another resident is reachable from any of them. In
//! Chromium on a phone-sized window, a resident does it all.

use chrono::Duration;
use serde_json::{json, Value};

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};
use crate::console::Visitor;

const RESIDENT: &str = "qianqi";
const NEIGHBOUR: &str = "sunba";
const PASSWORD: &str = "password-123";
const PHONE: (u32, u32) = (390, 844);
const LAPTOP: (u32, u32) = (1366, 768);

/// Two residents of one community: 钱七 (`qianqi`, 50.00 points, a deed of 2 × 助人为乐 waiting
/// for approval) and 孙八 (`sunba`, 30.00 points, a deed approved and on notice for three days);
/// a points schedule with an earning rule per event, one per hour and a deduction.
struct Fixture {
    me: Value,
    neighbour: Value,
    /// 钱七's user id, 孙八's deed on notice, 钱七's waiting deed.
    my_user_id: String,
    notice_deed: String,
    my_deed: String,
    help_rule: String,
    deduction_rule: String,
    today: String,
}

fn fixture(app: &TestApp) -> Fixture {
    let resp = app.request(
        "PUT",
        "/api/v1/settings",
        Some(&app.admin_token),
        &[],
        Some(&json!({"review_stages": 1, "notice_days": 3, "backdate_days": 30}).to_string()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let me = app.get("/api/v1/me", &app.admin_token);
    let offset = moralbank::communities::model::parse_utc_offset(
        me.body["community"]["utc_offset"].as_str().unwrap(),
    )
    .unwrap();
    let today = (app.clock.now() + Duration::minutes(offset as i64))
        .format("%Y-%m-%d")
        .to_string();
    let rule = |body: Value| {
        let resp = app.post("/api/v1/rules", &app.admin_token, &body);
        assert_eq!(resp.status, 201, "{}", resp.text);
        resp.body["id"].as_str().unwrap().to_string()
    };
    let help_rule = rule(
        json!({"code": "HELP", "name": "助人为乐", "category": "好人好事", "points": "10", "unit": "event", "direction": "earn"}),
    );
    rule(
        json!({"code": "VOLUNTEER", "name": "志愿服务", "category": "志愿服务", "points": "10", "unit": "hour", "direction": "earn"}),
    );
    let deduction_rule = rule(
        json!({"code": "LITTER", "name": "乱扔垃圾", "category": "扣分", "points": "5", "unit": "event", "direction": "deduct"}),
    );
    let (me, my_token) = app.resident("钱七", RESIDENT);
    let (neighbour, neighbour_token) = app.resident("孙八", NEIGHBOUR);
    for (key, member, amount) in [("open-me", &me, "50.00"), ("open-nb", &neighbour, "30.00")] {
        let resp = app.adjust(
            key,
            member["id"].as_str().unwrap(),
            amount,
            "opening_balance",
            "期初结转",
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    let declare = |token: &str, member: &Value, what: &str| {
        let resp = app.post(
            "/api/v1/deeds",
            token,
            &json!({"member_id": member["id"], "rule_id": help_rule, "quantity": 2, "occurred_on": today, "description": what}),
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
        resp.body["id"].as_str().unwrap().to_string()
    };
    let my_deed = declare(&my_token, &me, "帮王奶奶买菜");
    let notice_deed = declare(&neighbour_token, &neighbour, "打扫楼道");
    let resp = app.request(
        "POST",
        &format!("/api/v1/deeds/{notice_deed}/approve"),
        Some(&app.admin_token),
        &[],
        None,
    );
    assert_eq!(resp.body["status"], "approved", "{}", resp.text);
    let my_user_id = app.get("/api/v1/me", &my_token).body["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    Fixture {
        me,
        neighbour,
        my_user_id,
        notice_deed,
        my_deed,
        help_rule,
        deduction_rule,
        today,
    }
}

fn signed_in<'a>(app: &'a TestApp, username: &str) -> Visitor<'a> {
    let mut visitor = Visitor::new(app);
    visitor.login_ok(username, PASSWORD);
    visitor
}

fn deeds_of(app: &TestApp, member: &Value) -> Vec<Value> {
    let resp = app.get(
        &format!("/api/v1/deeds?member_id={}", member["id"].as_str().unwrap()),
        &app.admin_token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["items"].as_array().unwrap().clone()
}

/// The text between the first `<li class="me-line">` and the end of the list: the month's lines.
fn lines_of(page: &str) -> &str {
    match page.find("<ol class=\"me-lines\">") {
        Some(at) => &page[at..at + page[at..].find("</ol>").unwrap()],
        None => "",
    }
}

fn a_resident_lands_on_their_passbook_and_sees_only_their_own_lines(app: TestApp) {
    let f = fixture(&app);
    let mut me = signed_in(&app, RESIDENT);
    let page = me.get("/");
    assert_eq!((page.status, page.location.as_str()), (303, "/me"));
    let page = me.get("/me");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("id=\"me-balance\">50.00"),
        "{}",
        page.text
    );
    assert!(page.text.contains("钱七") && !page.text.contains("孙八"));
    let lines = lines_of(&page.text);
    assert_eq!(lines.matches("class=\"me-line\"").count(), 1, "{lines}");
    assert!(
        lines.contains("期初结转") && lines.contains("+50.00"),
        "{lines}"
    );
    assert!(!lines.contains("30.00"), "the neighbour's line: {lines}");
    assert!(lines.contains("余额 <strong>50.00</strong>") && lines.contains("经办：admin"));
    assert!(page.text.contains("id=\"month-in\">50.00"));
    assert!(page.text.contains("id=\"month-out\">0.00"));
    // The menu of a passbook holder: their own pages, the board, the roll, the password.
    let menu = &page.text
        [page.text.find("aria-label=\"菜单\"").unwrap()..page.text.find("</nav>").unwrap()];
    for entry in [
        "我的存折",
        "我的申报",
        "申报好事",
        "商品",
        "公示栏",
        "光荣榜",
        "修改密码",
    ] {
        assert!(menu.contains(entry), "{entry} missing from {menu}");
    }
    for staff in ["柜台兑换", "审核台", "居民名册", "报表", "用户账号"] {
        assert!(!menu.contains(staff), "{staff} in a resident's menu");
    }
    // The prints and downloads of the month shown, for their own account.
    let account = f.me["account_id"].as_str().unwrap();
    let month = &f.today[..7];
    let first = format!("{month}-01");
    for link in [
        format!("/passbook/{account}/print?from={first}"),
        format!("/passbook/{account}/statement.csv?from={first}"),
        format!("/passbook/{account}/statement.xlsx?from={first}"),
    ] {
        assert!(page.text.contains(&link), "{link} missing");
    }
    assert!(page.text.contains("size=large"));
    assert!(!page
        .text
        .contains(f.neighbour["account_id"].as_str().unwrap()));
    // The month before holds nothing; a month that is not one is said beside the picker.
    let previous = page.input("month");
    assert_eq!(previous, month);
    let at = page
        .text
        .find("id=\"month-previous\"")
        .expect("a link to last month");
    let href_at = page.text[..at].rfind("href=\"/me?month=").unwrap();
    let before = &page.text[href_at + 16..href_at + 23];
    let page = me.get(&format!("/me?month={before}"));
    assert_eq!(page.status, 200);
    assert!(page.text.contains("id=\"month-empty\""), "{}", page.text);
    assert!(
        page.text.contains("id=\"month-next\""),
        "a way back to this month"
    );
    assert!(
        page.text.contains("id=\"me-balance\">50.00"),
        "the balance is today's"
    );
    let page = me.get("/me?month=2026-13");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("月份格式应为"), "{}", page.text);
    assert!(page.text.contains("+50.00"), "this month instead");
    let page = me.get("/me?month=2999-01");
    assert!(page.text.contains("这个月还没到"), "{}", page.text);
    // Staff without a passbook keep their menu and are told /me is not theirs.
    let mut admin = Visitor::new(&app);
    admin.login_ok("admin", crate::common::ADMIN_PASSWORD);
    let page = admin.get("/board");
    assert!(!page.text.contains("我的存折") && page.text.contains("审核台"));
    assert_eq!(admin.get("/me").status, 403);
}

fn a_resident_declares_with_the_points_shown_first_and_a_double_submit_makes_one_deed(
    app: TestApp,
) {
    let f = fixture(&app);
    let mut me = signed_in(&app, RESIDENT);
    let page = me.get("/me/declare");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("助人为乐（每次 10.00 分）"),
        "{}",
        page.text
    );
    assert!(page.text.contains("志愿服务（每小时 10.00 分）"));
    assert!(
        !page.text.contains(&f.deduction_rule),
        "no deductions offered"
    );
    assert_eq!(page.input("occurred_on"), f.today, "today by default");
    let token = page.input("form_token");
    let key = page.input("key");
    let form = |step: &'static str, quantity: &'static str, day: String| {
        vec![
            ("form_token", token.clone()),
            ("key", key.clone()),
            ("rule", f.help_rule.clone()),
            ("quantity", quantity.to_string()),
            ("occurred_on", day),
            ("description", "陪李爷爷去医院".to_string()),
            ("step", step.to_string()),
        ]
    };
    let post = |me: &mut Visitor<'_>, fields: &[(&str, String)]| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        me.post("/me/declare", &fields)
    };
    let before = deeds_of(&app, &f.me).len();
    // The points first; nothing is recorded by a preview.
    let page = post(&mut me, &form("preview", "3", f.today.clone()));
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("id=\"declare-points\">30.00"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("陪李爷爷去医院"),
        "the form keeps what was typed"
    );
    assert_eq!(page.input("key"), key, "the same form, the same key");
    // Half an event, and a day in the future: said beside the field, nothing recorded.
    let page = post(&mut me, &form("submit", "1.5", f.today.clone()));
    assert_eq!(page.status, 422);
    assert!(page.text.contains("数量有误"), "{}", page.text);
    let tomorrow = (chrono::NaiveDate::parse_from_str(&f.today, "%Y-%m-%d").unwrap()
        + Duration::days(1))
    .to_string();
    let page = post(&mut me, &form("submit", "3", tomorrow));
    assert_eq!(page.status, 422, "{}", page.text);
    assert!(page.text.contains("日期不能晚于今天"), "{}", page.text);
    assert_eq!(
        deeds_of(&app, &f.me).len(),
        before,
        "refusals record nothing"
    );
    // Submitted twice (a double click): one deed, the same answer.
    let first = post(&mut me, &form("submit", "3", f.today.clone()));
    assert_eq!(first.status, 303, "{}", first.text);
    let second = post(&mut me, &form("submit", "3", f.today.clone()));
    assert_eq!(second.location, first.location);
    let deeds = deeds_of(&app, &f.me);
    assert_eq!(deeds.len(), before + 1);
    let new = deeds
        .iter()
        .find(|d| d["description"] == "陪李爷爷去医院")
        .unwrap();
    assert_eq!(new["points"], "30.00");
    assert_eq!(new["status"], "submitted");
    assert_eq!(
        first.location,
        format!("/me/deeds/{}?declared=1", new["id"].as_str().unwrap())
    );
    // The same form with other words is not taken for the first.
    let page = post(&mut me, &form("submit", "4", f.today.clone()));
    assert_eq!(page.status, 422, "{}", page.text);
    assert!(page.text.contains("已经提交过了"));
    let page = me.get(&first.location);
    assert_eq!(page.status, 200);
    assert!(page.text.contains("已提交申报，等待审核"), "{}", page.text);
    assert!(page.text.contains("待审批") && page.text.contains("+30.00 分"));
    // A form key that this server did not make is a bad form, and records nothing.
    let mut forged = form("submit", "3", f.today.clone());
    forged[1].1 = "00000000-0000-4000-8000-000000000000".into();
    assert_eq!(post(&mut me, &forged).status, 400);
    assert_eq!(deeds_of(&app, &f.me).len(), before + 1);
}

fn my_deeds_say_where_each_stands_and_another_residents_deed_is_not_found(app: TestApp) {
    let f = fixture(&app);
    let mut me = signed_in(&app, RESIDENT);
    let page = me.get("/me/deeds");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains(&format!("/me/deeds/{}", f.my_deed)));
    assert!(page.text.contains("待审批") && page.text.contains("+20.00 分"));
    assert!(
        !page.text.contains(&f.notice_deed),
        "the neighbour's deed is not listed"
    );
    // Rejected with a reason: said in the list and on the deed's page, with who did it.
    let resp = app.post(
        &format!("/api/v1/deeds/{}/reject", f.my_deed),
        &app.admin_token,
        &json!({"reason": "当天没有人看到"}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let page = me.get("/me/deeds");
    assert!(
        page.text.contains("已驳回：当天没有人看到"),
        "{}",
        page.text
    );
    let page = me.get(&format!("/me/deeds/{}", f.my_deed));
    assert_eq!(page.status, 200);
    assert!(page
        .text
        .contains("id=\"deed-standing\">已驳回：当天没有人看到"));
    let history = &page.text[page.text.find("id=\"deed-history\"").unwrap()..];
    assert!(
        history.contains("<strong>qianqi</strong> 登记"),
        "{history}"
    );
    assert!(history.contains("<strong>admin</strong> 驳回"), "{history}");
    assert!(!history.contains(&f.my_user_id), "names, not ids");
    // The neighbour's deed on notice, as the neighbour reads it: 公示中 until the end.
    let mut neighbour = signed_in(&app, NEIGHBOUR);
    let page = neighbour.get(&format!("/me/deeds/{}", f.notice_deed));
    assert!(page.text.contains("公示中，至 "), "{}", page.text);
    // Another resident's deed, a deed that does not exist, an id that is not one: 找不到.
    for path in [
        format!("/me/deeds/{}", f.notice_deed),
        "/me/deeds/0191d2a4-0000-7000-8000-000000000000".to_string(),
        "/me/deeds/not-an-id".to_string(),
    ] {
        let page = me.get(&path);
        assert_eq!(page.status, 404, "{path}");
        assert!(page.text.contains("找不到"), "{path}");
        assert!(!page.text.contains("打扫楼道"));
    }
    // Once the notice is over and the deed credited, the points are said.
    app.clock.advance(Duration::days(4));
    for _ in 0..200 {
        if neighbour.get("/me/deeds").text.contains("已入账 20.00 分") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("the credited deed never said 已入账 20.00 分");
}

fn a_resident_objects_to_a_notice_from_the_board(app: TestApp) {
    let f = fixture(&app);
    let mut me = signed_in(&app, RESIDENT);
    let page = me.get("/board");
    let link = format!("/board/{}/object", f.notice_deed);
    assert!(page.text.contains(&link), "{}", page.text);
    assert!(page.text.contains("提出异议"));
    let page = me.get(&link);
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("打扫楼道") && page.text.contains("孙*"));
    let token = page.input("form_token");
    // A reason is required; nothing is recorded without one.
    let page = me.post(&link, &[("form_token", &token), ("reason", "  ")]);
    assert_eq!(page.status, 422);
    assert!(page.text.contains("请写明理由"), "{}", page.text);
    let deed = |app: &TestApp| {
        app.get(
            &format!("/api/v1/deeds/{}", f.notice_deed),
            &app.admin_token,
        )
        .body
    };
    assert!(deed(&app)["objections"].as_array().unwrap().is_empty());
    // Without the session's form token, nothing either.
    let page = me.post(&link, &[("form_token", "forged"), ("reason", "不实")]);
    assert_eq!(page.status, 403);
    let page = me.post(
        &link,
        &[("form_token", &token), ("reason", "那天楼道是物业打扫的")],
    );
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/board?objected=1")
    );
    let page = me.get(&page.location);
    assert!(
        page.text.contains("已提出异议，等待管理员裁定"),
        "{}",
        page.text
    );
    // Recorded in the objector's own name, and the deed stays on notice.
    let now = deed(&app);
    assert_eq!(now["status"], "approved");
    assert_eq!(now["objections"][0]["raised_by"], f.my_user_id.as_str());
    assert_eq!(now["objections"][0]["reason"], "那天楼道是物业打扫的");
    // Saying it again while it is undecided adds nothing, on the page or through the API.
    let page = me.post(&link, &[("form_token", &token), ("reason", "再说一遍")]);
    assert_eq!(page.status, 409, "{}", page.text);
    assert!(
        page.text.contains("您已对这一项提出过异议"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("再说一遍"),
        "the form keeps what was typed"
    );
    let my_token = app.login_ok(RESIDENT, PASSWORD);
    app.post(
        &format!("/api/v1/deeds/{}/objections", f.notice_deed),
        &my_token,
        &json!({"reason": "第三遍"}),
    )
    .assert_problem(409, "already_objected");
    assert_eq!(deed(&app)["objections"].as_array().unwrap().len(), 1);
    // The neighbour reads it on their deed's page, waiting for the ruling.
    let mut neighbour = signed_in(&app, NEIGHBOUR);
    let page = neighbour.get(&format!("/me/deeds/{}", f.notice_deed));
    assert!(page.text.contains("那天楼道是物业打扫的"));
    assert!(page.text.contains("等待管理员裁定"));
    // Once the notice is over, the concept refuses, in Chinese, and nothing is added.
    app.clock.advance(Duration::days(4));
    let page = me.post(&link, &[("form_token", &token), ("reason", "再说一次")]);
    assert_eq!(page.status, 409, "{}", page.text);
    assert!(page.text.contains("已不在公示期"), "{}", page.text);
    assert_eq!(deed(&app)["objections"].as_array().unwrap().len(), 1);
    // A deed that is not on the board is not found.
    assert_eq!(me.get(&format!("/board/{}/object", f.my_deed)).status, 404);
    assert_eq!(me.get("/board/nothing/object").status, 404);
}

fn the_shop_lists_goods_with_price_and_stock_and_sends_residents_to_the_counter(app: TestApp) {
    fixture(&app);
    for (sku, name, price, stock) in [
        ("G1", "食用油 5L", "60.00", 10),
        ("G2", "鸡蛋一盒", "12.00", 0),
    ] {
        let resp = app.post(
            "/api/v1/goods",
            &app.admin_token,
            &json!({"sku": sku, "name": name, "price": price, "stock": stock}),
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    let mut me = signed_in(&app, RESIDENT);
    let page = me.get("/shop");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("食用油 5L") && page.text.contains("60.00 分"));
    assert!(page.text.contains("还有 10 件"));
    assert!(page.text.contains("鸡蛋一盒") && page.text.contains("已售罄"));
    assert!(page.text.contains("id=\"shop-balance\">50.00"));
    assert!(page.text.contains("柜台"), "redeem at the counter");
    assert!(
        !page
            .text
            .contains("<form method=\"post\" action=\"/counter"),
        "no redeeming from home"
    );
}

fn staff_pages_are_forbidden_to_a_resident(app: TestApp) {
    let f = fixture(&app);
    let mut me = signed_in(&app, RESIDENT);
    let member = f.neighbour["id"].as_str().unwrap();
    for path in [
        "/counter".to_string(),
        "/counter/register".to_string(),
        format!("/counter/members/{member}"),
        "/desk".to_string(),
        "/desk/record".to_string(),
        format!("/desk/deeds/{}", f.notice_deed),
        "/members".to_string(),
        "/goods".to_string(),
        "/rules".to_string(),
        "/users".to_string(),
        "/reports".to_string(),
        "/audit/verify".to_string(),
        "/audit/journal".to_string(),
    ] {
        let page = me.get(&path);
        assert_eq!(page.status, 403, "{path}: {}", page.text);
        assert!(page.text.contains("您的角色不能使用此页面"), "{path}");
        assert!(!page.text.contains("孙八"), "{path}");
    }
    // Nor can a resident record a deed for the neighbour through the desk's form.
    let token = me.form_token();
    let page = me.post(
        "/desk/record",
        &[
            ("form_token", &token),
            ("member", member),
            ("rule", &f.help_rule),
            ("quantity", "1"),
            ("occurred_on", &f.today),
            ("description", "x"),
            ("step", "submit"),
        ],
    );
    assert_eq!(page.status, 403);
    assert_eq!(deeds_of(&app, &f.neighbour).len(), 1);
}

fn a_resident_whose_password_was_reset_is_sent_to_the_password_page_first(app: TestApp) {
    fixture(&app);
    let users = app.get("/api/v1/users", &app.admin_token);
    let id = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == RESIDENT)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = app.post(
        &format!("/api/v1/users/{id}/password-reset"),
        &app.admin_token,
        &json!({}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let temporary = resp.body["temporary_password"].as_str().unwrap();
    let mut me = Visitor::new(&app);
    let page = me.login(RESIDENT, temporary);
    assert_eq!((page.status, page.location.as_str()), (303, "/password"));
    for path in ["/", "/me", "/me/deeds", "/me/declare", "/shop", "/board"] {
        let page = me.get(path);
        assert_eq!(
            (page.status, page.location.as_str()),
            (303, "/password"),
            "{path}"
        );
    }
}

both_backends!(
    a_resident_lands_on_their_passbook_and_sees_only_their_own_lines,
    a_resident_declares_with_the_points_shown_first_and_a_double_submit_makes_one_deed,
    my_deeds_say_where_each_stands_and_another_residents_deed_is_not_found,
    a_resident_objects_to_a_notice_from_the_board,
    the_shop_lists_goods_with_price_and_stock_and_sends_residents_to_the_counter,
    staff_pages_are_forbidden_to_a_resident,
    a_resident_whose_password_was_reset_is_sent_to_the_password_page_first,
);

/// On a phone: log in, the passbook, declaring (points first), objecting, and another
/// resident's deed not found; each page pictured, and none wider than the screen.
fn a_resident_on_a_phone_declares_objects_and_reaches_nothing_of_anothers(app: TestApp) {
    let f = fixture(&app);
    let Some(browser) = Browser::start(PHONE.0, PHONE.1) else {
        return;
    };
    let fits = |name: &str| {
        let wide = browser.execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        );
        assert!(
            wide.as_i64().unwrap_or(1) <= 0,
            "{name} is wider than the phone: {wide}"
        );
        browser.screenshot(name);
    };
    // The part of a long page below the first screen, pictured too.
    let below = |css: &str, name: &str| {
        browser.execute(
            "document.querySelector(arguments[0]).scrollIntoView();",
            vec![json!(css)],
        );
        browser.screenshot(name);
    };
    browser.goto(&app.url("/login"));
    browser.fill("#username", RESIDENT);
    browser.fill("#password", PASSWORD);
    browser.click("#login-form button[type=submit]");
    browser.wait_for_path("/me");
    assert_eq!(browser.text("#me-balance"), "50.00 分");
    assert!(browser.text(".me-lines").contains("期初结转"));
    fits("residents-me-phone");
    below(".me-month", "residents-me-lines-phone");
    below(".me-prints", "residents-me-prints-phone");
    browser.goto(&app.url("/me/declare"));
    browser.execute(
        "document.querySelector('#rule').value = arguments[0];",
        vec![json!(f.help_rule)],
    );
    browser.fill("#quantity", "2");
    browser.fill("#description", "帮邻居搬家");
    browser.click("#declare-preview");
    browser.wait_for_path("/me/declare");
    assert_eq!(browser.text("#declare-points"), "20.00");
    fits("residents-declare-phone");
    below(".me-preview", "residents-declare-preview-phone");
    browser.click("#declare-submit");
    let path = browser.wait_for_path_prefix("/me/deeds/");
    assert!(browser.text("#declared").contains("已提交申报"));
    assert!(browser.text("#deed-standing").contains("待审批"));
    fits("residents-deed-phone");
    below("#deed-history", "residents-deed-history-phone");
    assert!(path.contains("declared=1"));
    browser.goto(&app.url("/me/deeds"));
    fits("residents-deeds-phone");
    browser.goto(&app.url("/board"));
    fits("residents-board-phone");
    browser.click(&format!("a[href='/board/{}/object']", f.notice_deed));
    browser.wait_for_path(&format!("/board/{}/object", f.notice_deed));
    browser.fill("#reason", "那天我在，楼道没有人打扫");
    fits("residents-object-phone");
    browser.click("#object-submit");
    browser.wait_for_path_prefix("/board?objected=1");
    assert!(browser.text("#objected").contains("等待管理员裁定"));
    for (sku, name, price, stock) in [
        ("G1", "食用油 5L", "60.00", 10),
        ("G2", "洗衣粉", "15.50", 4),
        ("G3", "鸡蛋一盒", "12.00", 0),
    ] {
        let resp = app.post(
            "/api/v1/goods",
            &app.admin_token,
            &json!({"sku": sku, "name": name, "price": price, "stock": stock, "monthly_limit": 2}),
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    browser.goto(&app.url("/shop"));
    assert!(browser.text(".shop-goods").contains("已售罄"));
    fits("residents-shop-phone");
    browser.goto(&app.url(&format!("/me/deeds/{}", f.notice_deed)));
    assert!(browser.text("main").contains("找不到"));
    assert!(!browser.source().contains("打扫楼道"));
    browser.screenshot("residents-other-deed-phone");
    browser.set_window_size(LAPTOP.0, LAPTOP.1);
    browser.goto(&app.url("/me"));
    fits("residents-me-laptop");
    below(".me-month", "residents-me-lines-laptop");
}

mod in_chromium {
    use super::*;

    #[test]
    fn a_resident_on_a_phone_declares_objects_and_reaches_nothing_of_anothers_sqlite() {
        if let Some(app) = TestApp::spawn(Backend::Sqlite) {
            a_resident_on_a_phone_declares_objects_and_reaches_nothing_of_anothers(app);
        }
    }
}
