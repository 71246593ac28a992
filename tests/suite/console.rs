//! The web console over plain HTTP: sessions and their cookie, the CSRF defence, the API's
//! refusal of the cookie, and the counter's pages end to end (find, card, basket, redeem once,
//! receipt and prints, void, register). The browser tests (`console_browser`) drive the same
//! pages in Chromium.

use serde_json::{json, Value};

use crate::common::{TestApp, ADMIN_PASSWORD};

pub const CLERK: &str = "clerk1";
pub const CLERK_PASSWORD: &str = "clerk-password-1";

/// A shop with a clerk, a resident with 120.00 points, and three goods: 食用油 (60.00, 10 in
/// stock), 洗衣粉 (15.50, 20 in stock, at most 2 a month) and 鸡蛋 (12.00, sold out).
pub struct Shop {
    pub member: Value,
    pub oil: String,
    pub soap: String,
    /// Sold out: shown greyed, without a quantity.
    pub eggs: String,
}

pub fn shop(app: &TestApp) -> Shop {
    let resp = app.post(
        "/api/v1/users",
        &app.admin_token,
        &json!({"username": CLERK, "password": CLERK_PASSWORD, "roles": ["clerk"]}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let resp = app.post(
        "/api/v1/members",
        &app.admin_token,
        &json!({"name": "张秀兰", "phone": "13812345678", "building": "3", "unit": "2", "room": "501"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let member = resp.body;
    // A namesake-like neighbour, so a name search lists two.
    app.post(
        "/api/v1/members",
        &app.admin_token,
        &json!({"name": "张秀英", "phone": "13900001111"}),
    );
    let resp = app.adjust(
        "opening-120",
        member["id"].as_str().unwrap(),
        "120.00",
        "correction",
        "期初结转",
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let goods = |sku: &str, name: &str, price: &str, stock: i64, limit: Option<i64>| {
        let mut body = json!({"sku": sku, "name": name, "price": price, "stock": stock});
        if let Some(limit) = limit {
            body["monthly_limit"] = json!(limit);
        }
        let resp = app.post("/api/v1/goods", &app.admin_token, &body);
        assert_eq!(resp.status, 201, "{}", resp.text);
        resp.body["id"].as_str().unwrap().to_string()
    };
    Shop {
        oil: goods("G001", "食用油 5L", "60.00", 10, None),
        soap: goods("G002", "洗衣粉", "15.50", 20, Some(2)),
        eggs: goods("G003", "鸡蛋一盒", "12.00", 0, None),
        member,
    }
}

/// One answer of the console, redirects not followed.
pub struct Page {
    pub status: u16,
    pub location: String,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of the hidden or text input `name` on the page.
    pub fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self
            .text
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name} on the page:\n{}", self.text));
        let rest = &self.text[at + marker.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

/// A person at the console: a cookie jar of one cookie, and this server's origin on every POST
/// unless told otherwise.
pub struct Visitor<'a> {
    app: &'a TestApp,
    agent: ureq::Agent,
    pub cookie: Option<String>,
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Visitor<'a> {
        Visitor {
            app,
            agent: ureq::AgentBuilder::new().redirects(0).build(),
            cookie: None,
        }
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Page {
        let mut req = self.agent.request(method, &self.app.url(path));
        if let Some(cookie) = &self.cookie {
            req = req.set("Cookie", &format!("moralbank_session={cookie}"));
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match form {
            Some(fields) => req.send_form(fields),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let headers: Vec<(String, String)> = response
            .headers_names()
            .into_iter()
            .flat_map(|n| {
                response
                    .all(&n)
                    .into_iter()
                    .map(|v| (n.clone(), v.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (name, value) in &headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                if let Some(rest) = value.strip_prefix("moralbank_session=") {
                    let token = rest.split(';').next().unwrap_or("").to_string();
                    self.cookie = (!token.is_empty()).then_some(token);
                }
            }
        }
        Page {
            status: response.status(),
            location: response.header("location").unwrap_or("").to_string(),
            text: response.into_string().unwrap_or_default(),
            headers,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, &[], None)
    }

    /// A form POST from the console's own pages.
    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.app.base.clone();
        self.send("POST", path, &[("Origin", &origin)], Some(fields))
    }

    /// A form POST with the headers given instead of the console's origin.
    pub fn post_with(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        fields: &[(&str, &str)],
    ) -> Page {
        self.send("POST", path, headers, Some(fields))
    }

    pub fn login(&mut self, username: &str, password: &str) -> Page {
        self.post("/login", &[("username", username), ("password", password)])
    }

    pub fn login_ok(&mut self, username: &str, password: &str) {
        let page = self.login(username, password);
        assert_eq!(page.status, 303, "login {username}: {}", page.text);
        assert!(self.cookie.is_some(), "the login set no session cookie");
    }

    /// The session's form token, read from a page that has one.
    pub fn form_token(&mut self) -> String {
        self.get("/password").input("form_token")
    }
}

/// The password form, sent from the console.
fn change_password(
    visitor: &mut Visitor<'_>,
    token: &str,
    current: &str,
    new: &str,
    confirm: &str,
) -> Page {
    visitor.post(
        "/password",
        &[
            ("form_token", token),
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", confirm),
        ],
    )
}

/// An admin's PATCH through the JSON API.
fn patch(app: &TestApp, path: &str, body: Value) -> crate::common::Resp {
    app.request(
        "PATCH",
        path,
        Some(&app.admin_token),
        &[],
        Some(&body.to_string()),
    )
}

/// The id of the clerk the shop made.
fn clerk_id(app: &TestApp) -> String {
    let users = app.get("/api/v1/users", &app.admin_token);
    users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == CLERK)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ledger_rows(app: &TestApp) -> (i64, i64, i64) {
    app.ledger_counts()
}

/// The basket page for `lines` (goods id, quantity), with its key and fields.
pub fn basket(visitor: &mut Visitor<'_>, member_id: &str, lines: &[(&str, i64)]) -> Page {
    let query: Vec<String> = lines.iter().map(|(g, q)| format!("q.{g}={q}")).collect();
    visitor.get(&format!(
        "/counter/members/{member_id}/basket?{}",
        query.join("&")
    ))
}

fn confirm(visitor: &mut Visitor<'_>, member_id: &str, basket: &Page, token: &str) -> Page {
    let key = basket.input("key");
    let lines = basket.input("basket");
    let total = basket.input("expected_total");
    visitor.post(
        &format!("/counter/members/{member_id}/redeem"),
        &[
            ("form_token", token),
            ("key", &key),
            ("basket", &lines),
            ("expected_total", &total),
        ],
    )
}

pub fn redemptions_of(app: &TestApp, member_id: &str) -> Vec<Value> {
    let resp = app.get(
        &format!("/api/v1/redemptions?member_id={member_id}"),
        &app.admin_token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["items"].as_array().unwrap().clone()
}

fn the_session_cookie_is_http_only_strict_and_ends_with_logout(app: TestApp) {
    shop(&app);
    let mut clerk = Visitor::new(&app);
    // Not signed in: every page sends to the login page.
    let page = clerk.get("/counter");
    assert_eq!((page.status, page.location.as_str()), (303, "/login"));
    let page = clerk.get("/login");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("用户名") && page.text.contains("密码"));
    assert!(
        !page.text.contains("社区代码"),
        "one community asks for no code"
    );
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    let page = clerk.login(CLERK, CLERK_PASSWORD);
    assert_eq!((page.status, page.location.as_str()), (303, "/"));
    let set = page.header("set-cookie").unwrap().to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(
        !set.contains("Secure"),
        "Secure only when configured: {set}"
    );
    assert!(set.contains("Path=/"), "{set}");
    let page = clerk.get("/");
    assert_eq!((page.status, page.location.as_str()), (303, "/counter"));
    let page = clerk.get("/counter");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("柜台兑换") && page.text.contains(CLERK));
    assert!(page.text.contains("兑换员"), "the role in the top bar");

    // Logout ends the session at once: the same cookie opens nothing afterwards.
    let kept = clerk.cookie.clone();
    let token = clerk.form_token();
    let page = clerk.post("/logout", &[("form_token", &token)]);
    assert_eq!((page.status, page.location.as_str()), (303, "/login?bye=1"));
    assert!(clerk.cookie.is_none(), "the cookie is removed");
    clerk.cookie = kept;
    let page = clerk.get("/counter");
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/login?expired=1")
    );
}

fn a_wrong_password_is_said_in_chinese_and_logins_are_throttled(app: TestApp) {
    shop(&app);
    let mut clerk = Visitor::new(&app);
    let page = clerk.login(CLERK, "not-the-password");
    assert_eq!(page.status, 401);
    assert!(page.text.contains("用户名或密码不对"), "{}", page.text);
    assert!(clerk.cookie.is_none());
    // The API's limits hold at the console: after enough wrong passwords, 429 with the wait.
    let mut last = page.status;
    for _ in 0..20 {
        last = clerk.login(CLERK, "still-wrong").status;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429, "the console's logins are throttled");
    let page = clerk.login(CLERK, CLERK_PASSWORD);
    assert_eq!(page.status, 429, "{}", page.text);
    assert!(page.text.contains("秒后再试"), "{}", page.text);
}

fn the_api_never_takes_the_cookie(app: TestApp) {
    shop(&app);
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    let cookie = clerk.cookie.clone().unwrap();
    let resp = app.request(
        "GET",
        "/api/v1/me",
        None,
        &[("Cookie", &format!("moralbank_session={cookie}"))],
        None,
    );
    resp.assert_problem(401, "missing_token");
    // The session's token copied into an Authorization header opens nothing either.
    let resp = app.get("/api/v1/me", &cookie);
    resp.assert_problem(401, "invalid_token");
    // And an API token is no console session.
    let api = app.login_ok(CLERK, CLERK_PASSWORD);
    let mut forged = Visitor::new(&app);
    forged.cookie = Some(api);
    let page = forged.get("/counter");
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/login?expired=1")
    );
}

fn a_cross_site_post_is_refused_and_changes_nothing(app: TestApp) {
    let shop = shop(&app);
    let member_id = shop.member["id"].as_str().unwrap().to_string();
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    let token = clerk.form_token();
    let page = basket(&mut clerk, &member_id, &[(&shop.oil, 1)]);
    assert_eq!(page.status, 200, "{}", page.text);
    let key = page.input("key");
    let lines = page.input("basket");
    let before = ledger_rows(&app);
    let fields = [
        ("form_token", token.as_str()),
        ("key", key.as_str()),
        ("basket", lines.as_str()),
        ("expected_total", "60.00"),
    ];
    let path = format!("/counter/members/{member_id}/redeem");
    // Another site's form: the browser says cross-site, or names the other origin.
    for headers in [
        vec![
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "http://evil.example"),
        ],
        vec![("Origin", "http://evil.example")],
        vec![],
    ] {
        let page = clerk.post_with(&path, &headers, &fields);
        assert_eq!(page.status, 403, "{headers:?}: {}", page.text);
        assert!(page.text.contains("已拒绝"), "{}", page.text);
    }
    // The right origin without the session's form token.
    let page = clerk.post(
        &path,
        &[
            ("form_token", "0000"),
            ("key", &key),
            ("basket", &lines),
            ("expected_total", "60.00"),
        ],
    );
    assert_eq!(page.status, 403, "{}", page.text);
    assert_eq!(ledger_rows(&app), before, "nothing changed");
    assert!(redemptions_of(&app, &member_id).is_empty());
    // The same form from the console itself goes through.
    let page = clerk.post(&path, &fields);
    assert_eq!(page.status, 303, "{}", page.text);
    assert_eq!(redemptions_of(&app, &member_id).len(), 1);
}

fn the_counter_finds_redeems_once_and_shows_the_receipt(app: TestApp) {
    let shop = shop(&app);
    let member_id = shop.member["id"].as_str().unwrap().to_string();
    let member_no = shop.member["member_no"].as_str().unwrap().to_string();
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    // A scanned passbook number goes straight to the card, in any case.
    let page = clerk.get(&format!("/counter?q={}", member_no.to_lowercase()));
    assert_eq!(page.status, 303, "{}", page.text);
    assert_eq!(page.location, format!("/counter/members/{member_id}"));
    // A name two residents share lists both, with what tells them apart.
    let page = clerk.get("/counter?q=%E5%BC%A0%E7%A7%80");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("找到 2 位"), "{}", page.text);
    assert!(page.text.contains("尾号 5678") && page.text.contains("尾号 1111"));
    // By phone.
    let page = clerk.get("/counter?q=13812345678");
    assert_eq!(page.location, format!("/counter/members/{member_id}"));
    let page = clerk.get("/counter?q=nobody-here");
    assert!(page.text.contains("没有找到"), "{}", page.text);

    let card = clerk.get(&format!("/counter/members/{member_id}"));
    assert_eq!(card.status, 200);
    for expected in [
        "张秀兰",
        &member_no,
        "120.00",
        "食用油 5L",
        "60.00",
        "已售罄",
        "已兑 0 / 限 2",
        "更正",
    ] {
        assert!(
            card.text.contains(expected),
            "the card shows {expected}:\n{}",
            card.text
        );
    }
    assert!(card.text.contains(&format!("name=\"q.{}\"", shop.oil)));
    assert!(
        !card.text.contains(&format!("name=\"q.{}\"", shop.eggs)),
        "sold-out goods take no quantity"
    );

    let token = clerk.form_token();
    let basket_page = basket(&mut clerk, &member_id, &[(&shop.oil, 1), (&shop.soap, 2)]);
    assert_eq!(basket_page.status, 200, "{}", basket_page.text);
    assert!(
        basket_page.text.contains("91.00"),
        "total: {}",
        basket_page.text
    );
    assert!(basket_page.text.contains("29.00"), "balance after");
    let first = confirm(&mut clerk, &member_id, &basket_page, &token);
    assert_eq!(first.status, 303, "{}", first.text);
    assert!(first.location.starts_with("/counter/receipts/"));
    // The same confirm again (a double click, a retried POST) redeems nothing more and shows
    // the same receipt.
    let again = confirm(&mut clerk, &member_id, &basket_page, &token);
    assert_eq!(
        (again.status, again.location.as_str()),
        (303, first.location.as_str())
    );
    assert_eq!(redemptions_of(&app, &member_id).len(), 1);
    assert_eq!(
        app.balance_of(shop.member["account_id"].as_str().unwrap()),
        "29.00"
    );

    let code = app.get("/api/v1/me", &app.admin_token).body["community"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let heads =
        |app: &TestApp| app.request("GET", &format!("/public/{code}/heads"), None, &[], None);
    assert!(
        heads(&app).body["latest"].is_null(),
        "no head before the receipt"
    );
    let receipt = clerk.get(&first.location);
    assert_eq!(receipt.status, 200);
    receipt_carries_a_head_covering_its_line(&app, &receipt.text, &heads(&app).body, 2);
    for expected in [
        "食用油 5L",
        "洗衣粉",
        "91.00",
        "29.00",
        CLERK,
        &member_no,
        "已兑换",
        "第 2 笔",
    ] {
        assert!(
            receipt.text.contains(expected),
            "the receipt shows {expected}:\n{}",
            receipt.text
        );
    }
    for paper in ["58", "80", "a5"] {
        let print = clerk.get(&format!("{}/print?paper={paper}", first.location));
        assert_eq!(print.status, 200);
        assert!(print.text.contains("兑换小票") && print.text.contains("91.00"));
        receipt_carries_a_head_covering_its_line(&app, &print.text, &heads(&app).body, 2);
    }
    assert_eq!(
        heads(&app).body["heads"].as_array().unwrap().len(),
        1,
        "later prints find the head the first signed"
    );
    assert_eq!(
        clerk
            .get(&format!("{}/print?paper=a4", first.location))
            .status,
        404
    );

    // The card now counts the month against the limit, and a third 洗衣粉 is refused with the
    // true figures, before and by the ledger.
    let card = clerk.get(&format!("/counter/members/{member_id}"));
    assert!(card.text.contains("已兑 2 / 限 2") && card.text.contains("29.00"));
    let refused = basket(&mut clerk, &member_id, &[(&shop.soap, 1)]);
    assert!(refused.text.contains("本月已兑 2 件"), "{}", refused.text);
    assert!(
        !refused.text.contains("确认兑换"),
        "no confirm button for a refused basket"
    );
    let too_much = basket(&mut clerk, &member_id, &[(&shop.oil, 1)]);
    assert!(
        too_much.text.contains("这位居民有 29.00 分") && too_much.text.contains("需要 60.00 分"),
        "{}",
        too_much.text
    );
    // Bad quantities are said beside the goods, not a 500.
    let bad = basket(&mut clerk, &member_id, &[(&shop.oil, 1000)]);
    assert_eq!(bad.status, 422);
    assert!(bad.text.contains("数量须为"), "{}", bad.text);
    let empty = basket(&mut clerk, &member_id, &[(&shop.oil, 0)]);
    assert_eq!(empty.status, 422);
    assert!(empty.text.contains("至少选择一件"));
    assert_eq!(app.verify()["ok"], true);

    // An id that names nothing, or no id at all, is the console's 404 page.
    for path in [
        "/counter/members/not-an-id",
        "/counter/receipts/01a23707-0000-7000-8000-000000000000",
    ] {
        let page = clerk.get(path);
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.text.contains("要找的内容不存在"),
            "{path}: {}",
            page.text
        );
    }

    // An inactive member is shown as such and cannot redeem.
    let resp = patch(
        &app,
        &format!("/api/v1/members/{member_id}"),
        json!({"status": "inactive"}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let card = clerk.get(&format!("/counter/members/{member_id}"));
    assert!(card.text.contains("已停用") && card.text.contains("不能兑换"));
    assert!(!card.text.contains("下一步"), "no way to a basket");
    let page = basket(&mut clerk, &member_id, &[(&shop.eggs, 1)]);
    assert!(page.text.contains("存折已停用"), "{}", page.text);
    assert!(!page.text.contains("确认兑换"));
}

fn a_refusal_by_the_ledger_redraws_the_basket_with_the_figures(app: TestApp) {
    let shop = shop(&app);
    let member_id = shop.member["id"].as_str().unwrap().to_string();
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    let token = clerk.form_token();
    let page = basket(&mut clerk, &member_id, &[(&shop.oil, 2)]);
    assert!(page.text.contains("确认兑换"));
    // Between drawing and confirming, the balance drops.
    let resp = app.adjust("drop", &member_id, "-100.00", "correction", "更正");
    assert_eq!(resp.status, 201, "{}", resp.text);
    let refused = confirm(&mut clerk, &member_id, &page, &token);
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.text.contains("这位居民有 20.00 分") && refused.text.contains("需要 120.00 分"),
        "{}",
        refused.text
    );
    assert!(redemptions_of(&app, &member_id).is_empty());
}

fn a_clerk_voids_with_a_reason_and_the_card_shows_it(app: TestApp) {
    let shop = shop(&app);
    let member_id = shop.member["id"].as_str().unwrap().to_string();
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    let token = clerk.form_token();
    let page = basket(&mut clerk, &member_id, &[(&shop.oil, 1)]);
    let receipt = confirm(&mut clerk, &member_id, &page, &token).location;
    let void_path = format!("{receipt}/void");
    let page = clerk.post(&void_path, &[("form_token", &token), ("reason", "  ")]);
    assert_eq!(page.status, 422);
    assert!(page.text.contains("请填写撤销原因"), "{}", page.text);
    let page = clerk.post(
        &void_path,
        &[("form_token", &token), ("reason", "拿错商品")],
    );
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, receipt.as_str())
    );
    let page = clerk.get(&receipt);
    assert!(
        page.text.contains("已撤销") && page.text.contains("拿错商品"),
        "{}",
        page.text
    );
    assert!(
        !page.text.contains("name=\"reason\""),
        "no second void offered"
    );
    let card = clerk.get(&format!("/counter/members/{member_id}"));
    assert!(card.text.contains("已撤销") && card.text.contains("120.00"));
    // Voiding again is refused in words.
    let page = clerk.post(
        &void_path,
        &[("form_token", &token), ("reason", "再撤一次")],
    );
    assert_eq!(page.status, 409);
    assert!(page.text.contains("已经撤销过了"), "{}", page.text);
    // The register shows the day: one voided, nothing taken.
    let register = clerk.get("/counter/register");
    assert_eq!(register.status, 200);
    assert!(
        register.text.contains("id=\"register-voided\">1<"),
        "{}",
        register.text
    );
    assert!(register.text.contains("id=\"register-coins\">0.00<"));
    let bad_day = clerk.get("/counter/register?day=2026-13-40");
    assert_eq!(bad_day.status, 422);
    assert!(bad_day.text.contains("日期格式"));
    assert_eq!(app.verify()["ok"], true);
}

fn revoking_a_user_ends_their_console_session(app: TestApp) {
    shop(&app);
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    assert_eq!(clerk.get("/counter").status, 200);
    // An admin takes the clerk role away: the next page is the login page.
    let id = clerk_id(&app);
    let resp = patch(
        &app,
        &format!("/api/v1/users/{id}"),
        json!({"roles": ["auditor"]}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let page = clerk.get("/counter");
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/login?expired=1")
    );
    // Signed in again as an auditor, the counter is not theirs.
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    let page = clerk.get("/counter");
    assert_eq!(page.status, 403);
    assert!(page.text.contains("您的角色不能使用此页面"));
    assert_eq!(
        clerk.get("/counter/register").status,
        200,
        "an auditor reads the register"
    );
    let resp = patch(
        &app,
        &format!("/api/v1/users/{id}"),
        json!({"status": "disabled"}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(clerk.get("/counter/register").location, "/login?expired=1");
}

fn a_password_changed_in_the_console_ends_every_session(app: TestApp) {
    shop(&app);
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    let api = app.login_ok(CLERK, CLERK_PASSWORD);
    let token = clerk.form_token();
    let page = change_password(
        &mut clerk,
        &token,
        CLERK_PASSWORD,
        "a-new-password",
        "another",
    );
    assert_eq!(page.status, 422);
    assert!(page.text.contains("两次输入的新密码不一致"));
    let page = change_password(
        &mut clerk,
        &token,
        "wrong-one",
        "a-new-password",
        "a-new-password",
    );
    assert_eq!(page.status, 403);
    assert!(page.text.contains("当前密码不对"), "{}", page.text);
    let page = change_password(&mut clerk, &token, CLERK_PASSWORD, "short", "short");
    assert_eq!(page.status, 422);
    assert!(page.text.contains("新密码须为"), "{}", page.text);
    let page = change_password(
        &mut clerk,
        &token,
        CLERK_PASSWORD,
        "a-new-password",
        "a-new-password",
    );
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/login?changed=1")
    );
    app.get("/api/v1/me", &api)
        .assert_problem(401, "invalid_token");
    clerk.login_ok(CLERK, "a-new-password");
}

fn a_reset_password_must_be_replaced_before_anything_else(app: TestApp) {
    shop(&app);
    let id = clerk_id(&app);
    let resp = app.post(
        &format!("/api/v1/users/{id}/password-reset"),
        &app.admin_token,
        &json!({}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let temporary = resp.body["temporary_password"]
        .as_str()
        .unwrap()
        .to_string();
    let mut clerk = Visitor::new(&app);
    let page = clerk.login(CLERK, &temporary);
    assert_eq!((page.status, page.location.as_str()), (303, "/password"));
    let page = clerk.get("/counter");
    assert_eq!((page.status, page.location.as_str()), (303, "/password"));
    let page = clerk.get("/password");
    assert!(page.text.contains("管理员已重置您的密码"), "{}", page.text);
    let token = page.input("form_token");
    let page = change_password(
        &mut clerk,
        &token,
        &temporary,
        "my-own-password",
        "my-own-password",
    );
    assert_eq!(page.status, 303, "{}", page.text);
    clerk.login_ok(CLERK, "my-own-password");
    assert_eq!(clerk.get("/counter").status, 200);
}

/// A session slides with use and lasts the documented idle time: the cookie's token expires
/// `console_idle_seconds` after it was issued.
fn the_session_expires_after_the_idle_time(app: TestApp) {
    shop(&app);
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    let token = clerk.cookie.clone().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&base64_url(payload)).unwrap();
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(
        lifetime,
        30 * 60,
        "the default idle time is 30 minutes: {claims}"
    );
    assert!(
        claims["ses"].is_string(),
        "a console session names itself: {claims}"
    );
}

fn base64_url(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

fn secure_cookie(config: &mut moralbank::app::config::Config) {
    config.cookie_secure = true;
}

fn the_cookie_is_secure_behind_tls(app: TestApp) {
    shop(&app);
    let mut clerk = Visitor::new(&app);
    let page = clerk.login(CLERK, CLERK_PASSWORD);
    assert!(page.header("set-cookie").unwrap().contains("Secure"));
}

fn with_two_communities_the_login_asks_for_the_code(app: TestApp) {
    let operator = {
        let hash = moralbank::auth::password::hash_password("operator-password").unwrap();
        moralbank::communities::store::insert_operator(&mut app.db.connect(), "op1", &hash)
            .unwrap();
        let resp = app.request(
            "POST",
            "/api/v1/auth/operator-login",
            None,
            &[],
            Some(&json!({"username": "op1", "password": "operator-password"}).to_string()),
        );
        assert_eq!(resp.status, 200, "{}", resp.text);
        resp.body["access_token"].as_str().unwrap().to_string()
    };
    let resp = app.post(
        "/api/v1/communities",
        &operator,
        &json!({"code": "west", "name": "西村", "admin_password": "west-admin-password"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let mut admin = Visitor::new(&app);
    let page = admin.get("/login");
    assert!(page.text.contains("社区代码"), "{}", page.text);
    let page = admin.login("admin", ADMIN_PASSWORD);
    assert_eq!(page.status, 422);
    assert!(page.text.contains("请填写社区代码"), "{}", page.text);
    let page = admin.post(
        "/login",
        &[
            ("community", "west"),
            ("username", "admin"),
            ("password", "west-admin-password"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.text);
    let page = admin.get("/counter");
    assert!(
        page.text.contains("西村"),
        "the top bar names the community: {}",
        page.text
    );
}

/// A receipt (screen or print) carries a QR code and the short code of a published head that
/// covers journal transaction `seq`, and no resident's name beside them.
fn receipt_carries_a_head_covering_its_line(_app: &TestApp, html: &str, heads: &Value, seq: u64) {
    assert!(html.contains("<svg class=\"check-qr\""), "a QR code");
    let at = html.find("/check?seq=").expect("a check link");
    let rest = &html[at + "/check?seq=".len()..];
    let linked: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    assert_eq!(linked.parse::<u64>().unwrap(), seq);
    let rest = &rest[rest.find("size=").unwrap() + 5..];
    let size: u64 = rest
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap();
    assert!(seq <= size, "the head covers the line");
    let head = heads["heads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["tree_size"].as_u64() == Some(size))
        .expect("the printed head is published");
    let short = format!("#{size}·{}", &head["root_hash"].as_str().unwrap()[..8]);
    assert!(html.contains(&short), "{short} on the receipt");
    assert!(html.contains("扫码核验"));
    let block = &html[html.find("check-qr").unwrap()..];
    let block = &block[..block.find("扫码核验").unwrap()];
    assert!(!block.contains("张秀兰"), "no name beside the QR code");
    assert!(!block.contains("style="));
}

both_backends!(
    the_session_cookie_is_http_only_strict_and_ends_with_logout,
    a_cross_site_post_is_refused_and_changes_nothing,
    the_counter_finds_redeems_once_and_shows_the_receipt,
    a_refusal_by_the_ledger_redraws_the_basket_with_the_figures,
    a_clerk_voids_with_a_reason_and_the_card_shows_it,
    revoking_a_user_ends_their_console_session,
);

mod sqlite_only {
    use crate::common::{Backend, TestApp};

    macro_rules! on_sqlite {
        ($($test:ident),*) => {
            $(
                #[test]
                fn $test() {
                    if let Some(app) = TestApp::spawn(Backend::Sqlite) {
                        super::$test(app);
                    }
                }
            )*
        };
    }

    on_sqlite!(
        a_wrong_password_is_said_in_chinese_and_logins_are_throttled,
        the_api_never_takes_the_cookie,
        a_password_changed_in_the_console_ends_every_session,
        a_reset_password_must_be_replaced_before_anything_else,
        the_session_expires_after_the_idle_time,
        with_two_communities_the_login_asks_for_the_code
    );

    #[test]
    fn the_cookie_is_secure_behind_tls() {
        if let Some(app) = TestApp::spawn_with(Backend::Sqlite, super::secure_cookie) {
            super::the_cookie_is_secure_behind_tls(app);
        }
    }
}
