//! The committee's administration pages over plain HTTP: the roster (居民名册) list, its file
//! import with the dry run's table of problems in Chinese, and its export; goods (商品管理):
//! create, price, sale, restock with a reason and the stock log. Refusals and bad input on both
//! backends.

use serde_json::Value;

use crate::common::browser::{screenshot_dir, Browser};
use crate::common::{Backend, TestApp, ADMIN_PASSWORD};
use crate::console::{shop, Page, Visitor, CLERK, CLERK_PASSWORD};

/// A multipart form POST from the console's own pages, with one file part when given.
pub fn post_multipart(
    app: &TestApp,
    visitor: &Visitor<'_>,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &[u8])>,
) -> Page {
    let boundary = "----moralbank-test-boundary-7f3a";
    let mut body: Vec<u8> = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((filename, content_type, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut req = agent.post(&app.url(path)).set("Origin", &app.base).set(
        "Content-Type",
        &format!("multipart/form-data; boundary={boundary}"),
    );
    if let Some(cookie) = &visitor.cookie {
        req = req.set("Cookie", &format!("moralbank_session={cookie}"));
    }
    let response = match req.send_bytes(&body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {path}: {e}"),
    };
    Page {
        status: response.status(),
        location: response.header("location").unwrap_or("").to_string(),
        headers: Vec::new(),
        text: response.into_string().unwrap_or_default(),
    }
}

fn members(app: &TestApp) -> Vec<Value> {
    let resp = app.get("/api/v1/members?limit=200", &app.admin_token);
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["items"].as_array().cloned().unwrap_or_default()
}

fn admin(app: &TestApp) -> Visitor<'_> {
    let mut visitor = Visitor::new(app);
    visitor.login_ok("admin", ADMIN_PASSWORD);
    visitor
}

/// A roster with four problems: a row without a name, a bad phone, a phone repeated from row 2,
/// and a negative opening balance.
pub const ROSTER_WITH_ERRORS: &str = "姓名,电话,楼栋,单元,门牌,期初积分\n\
王芳,13812340001,3,2,501,35.50\n\
,13812340002,3,2,502,0\n\
李强,12345,3,2,503,10\n\
赵敏,13812340001,3,2,504,0\n\
孙丽,13812340005,3,2,505,-5\n";

pub const ROSTER_FIXED: &str = "姓名,电话,楼栋,单元,门牌,期初积分\n\
王芳,13812340001,3,2,501,35.50\n\
周杰,13812340002,3,2,502,0\n\
李强,13812340003,3,2,503,10\n\
赵敏,13812340004,3,2,504,0\n\
孙丽,13812340005,3,2,505,5\n";

/// The upload form's 检查文件 with `file` as 花名册.csv.
fn check(app: &TestApp, visitor: &Visitor<'_>, token: &str, file: &str) -> Page {
    post_multipart(
        app,
        visitor,
        "/members/import",
        &[("form_token", token), ("step", "check")],
        Some(("花名册.csv", "text/csv", file.as_bytes())),
    )
}

fn an_admin_checks_a_roster_fixes_it_and_imports_it_once(app: TestApp) {
    let before = members(&app).len();
    let mut visitor = admin(&app);
    let token = visitor.form_token();
    let list = visitor.get("/members");
    assert_eq!(list.status, 200);
    assert!(list.text.contains("导入花名册"), "{}", list.text);
    assert!(list.text.contains("aria-current=\"page\">居民名册</a>"));
    assert!(visitor.get("/members/import").text.contains("检查文件"));

    let report = check(&app, &visitor, &token, ROSTER_WITH_ERRORS);
    assert_eq!(report.status, 422, "{}", report.text);
    assert!(report.text.contains("有 4 处问题"), "{}", report.text);
    for (row, words) in [
        ("第 3 行", "姓名不能为空"),
        ("第 4 行", "手机号不对"),
        ("第 5 行", "电话和第 2 行重复"),
        ("第 6 行", "期初积分应为不小于 0 的数"),
    ] {
        let at = report.text.find(row).unwrap_or_else(|| panic!("{row}"));
        let line = &report.text[at..at + report.text[at..].find("</tr>").unwrap()];
        assert!(line.contains(words), "{row}: {line}");
    }
    assert!(
        !report.text.contains("name=\"sheet\""),
        "a file with problems offers no import"
    );
    assert_eq!(members(&app).len(), before, "a dry run writes nothing");

    let report = check(&app, &visitor, &token, ROSTER_FIXED);
    assert_eq!(report.status, 200, "{}", report.text);
    assert!(
        report.text.contains("可以新增 <strong>5</strong> 位居民"),
        "{}",
        report.text
    );
    assert!(
        report.text.contains("50.50"),
        "the opening total: {}",
        report.text
    );
    assert_eq!(members(&app).len(), before, "the check writes nothing");
    let (sheet, key) = (report.input("sheet"), report.input("key"));
    assert_eq!(hex::decode(&sheet).unwrap(), ROSTER_FIXED.as_bytes());
    let confirm = [
        ("form_token", token.as_str()),
        ("step", "import"),
        ("key", key.as_str()),
        ("file_name", "花名册.csv"),
        ("sheet_type", "text/csv"),
        ("sheet", sheet.as_str()),
    ];
    let done = post_multipart(&app, &visitor, "/members/import", &confirm, None);
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.location, "/members?imported=5");
    // A second click on the same confirmation imports nothing more.
    let again = post_multipart(&app, &visitor, "/members/import", &confirm, None);
    assert_eq!(again.status, 303, "{}", again.text);
    let now = members(&app);
    assert_eq!(now.len(), before + 5);
    let wang = now.iter().find(|m| m["name"] == "王芳").unwrap();
    assert_eq!(wang["balance"], "35.50");

    let list = visitor.get("/members?imported=5");
    assert!(list.text.contains("新增 5 位居民"), "{}", list.text);
    assert!(list.text.contains("孙丽") && list.text.contains("35.50"));
    let found = visitor.get("/members?q=%E6%9D%8E%E5%BC%BA");
    assert!(found.text.contains("李强") && !found.text.contains("王芳"));

    // The same file again: every phone is taken now, said row by row, and nothing is written.
    let report = check(&app, &visitor, &token, ROSTER_FIXED);
    assert_eq!(report.status, 422);
    assert!(
        report.text.contains("已有居民登记了这个电话"),
        "{}",
        report.text
    );
    assert_eq!(members(&app).len(), before + 5);
}

fn the_roster_import_refuses_what_it_cannot_take(app: TestApp) {
    let before = members(&app).len();
    shop(&app);
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    assert_eq!(clerk.get("/members/import").status, 403);
    assert_eq!(clerk.get("/members").status, 403);
    assert!(
        !clerk.get("/counter").text.contains("居民名册"),
        "no menu entry for a clerk"
    );
    let token = clerk.form_token();
    let page = post_multipart(
        &app,
        &clerk,
        "/members/import",
        &[("form_token", &token), ("step", "check")],
        Some(("r.csv", "text/csv", ROSTER_FIXED.as_bytes())),
    );
    assert_eq!(page.status, 403);

    let mut visitor = admin(&app);
    let token = visitor.form_token();
    assert!(visitor.get("/members").text.contains("居民名册"));
    // No file chosen.
    let page = post_multipart(
        &app,
        &visitor,
        "/members/import",
        &[("form_token", &token), ("step", "check")],
        None,
    );
    assert_eq!(page.status, 422);
    assert!(page.text.contains("请选择一个花名册文件"), "{}", page.text);
    // A wrong form token.
    let page = post_multipart(
        &app,
        &visitor,
        "/members/import",
        &[("form_token", "forged"), ("step", "check")],
        Some(("r.csv", "text/csv", ROSTER_FIXED.as_bytes())),
    );
    assert_eq!(page.status, 403);
    // Not a multipart body at all.
    let page = visitor.post("/members/import", &[("form_token", &token)]);
    assert_eq!(page.status, 400);
    // A file that is not a roster.
    let page = post_multipart(
        &app,
        &visitor,
        "/members/import",
        &[("form_token", &token), ("step", "check")],
        Some(("r.csv", "text/csv", "颜色,大小\n红,大\n".as_bytes())),
    );
    assert_eq!(page.status, 422);
    assert!(page.text.contains("表头不认识"), "{}", page.text);
    assert!(page.text.contains("缺少“姓名”列"), "{}", page.text);
    // A confirmation whose file was changed after the key was used imports nothing new.
    let ok = post_multipart(
        &app,
        &visitor,
        "/members/import",
        &[("form_token", &token), ("step", "check")],
        Some(("r.csv", "text/csv", ROSTER_FIXED.as_bytes())),
    );
    let key = ok.input("key");
    let sheet = ok.input("sheet");
    let confirm = |sheet: &str| {
        post_multipart(
            &app,
            &visitor,
            "/members/import",
            &[
                ("form_token", &token),
                ("step", "import"),
                ("key", &key),
                ("sheet", sheet),
            ],
            None,
        )
    };
    assert_eq!(confirm(&sheet).status, 303);
    let other = hex::encode("姓名\n别人\n");
    let page = confirm(&other);
    assert_eq!(page.status, 422, "{}", page.text);
    assert_eq!(members(&app).len(), before + 2 + 5);
}

fn the_roster_exports_as_csv_and_xlsx(app: TestApp) {
    shop(&app);
    let mut visitor = admin(&app);
    let csv = visitor.get("/members/export?format=csv");
    assert_eq!(csv.status, 200);
    assert!(csv.text.contains("张秀兰"), "{}", csv.text);
    assert!(csv.text.contains("存折号"));
    let xlsx = visitor.get("/members/export?format=xlsx");
    assert_eq!(xlsx.status, 200);
    assert!(xlsx
        .header("content-type")
        .is_some_and(|t| t.contains("spreadsheetml")));
    let bad = visitor.get("/members/export?format=pdf");
    assert_eq!(bad.status, 400);
}

fn goods_of(app: &TestApp) -> Vec<Value> {
    let resp = app.get("/api/v1/goods?limit=200", &app.admin_token);
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["items"].as_array().cloned().unwrap_or_default()
}

fn an_admin_creates_goods_changes_and_restocks_them(app: TestApp) {
    let mut visitor = admin(&app);
    let token = visitor.form_token();
    let list = visitor.get("/goods");
    assert_eq!(list.status, 200);
    assert!(list.text.contains("添加商品"));
    assert!(list.text.contains("aria-current=\"page\">商品管理</a>"));
    let new = |visitor: &mut Visitor<'_>, sku: &str, price: &str, stock: &str, limit: &str| {
        visitor.post(
            "/goods",
            &[
                ("form_token", &token),
                ("sku", sku),
                ("name", "大米 5kg"),
                ("price", price),
                ("stock", stock),
                ("monthly_limit", limit),
            ],
        )
    };
    let made = new(&mut visitor, "rice-5kg", "30.00", "4", "2");
    assert_eq!(made.status, 303, "{}", made.text);
    let goods = goods_of(&app);
    assert_eq!(goods.len(), 1);
    assert_eq!(goods[0]["sku"], "RICE-5KG");
    assert_eq!(goods[0]["monthly_limit"], 2);
    let id = goods[0]["id"].as_str().unwrap().to_string();
    assert_eq!(made.location, format!("/goods/{id}?created=1"));

    // Field problems, in Chinese beside the field, the form keeping what was typed.
    for (sku, price, stock, limit, field_words) in [
        ("RICE-5KG", "30.00", "4", "", "已有商品用这个编号"),
        ("OIL", "0", "4", "", "价格应为大于 0 的数"),
        ("OIL", "1.234", "4", "", "价格应为大于 0 的数"),
        ("OIL", "12.00", "四", "", "库存应为 0 或正整数"),
        ("OIL", "12.00", "4", "0", "每月限兑应为 1 到 10000"),
        ("油 5L", "12.00", "4", "", "编号只能用字母"),
    ] {
        let page = new(&mut visitor, sku, price, stock, limit);
        assert!(
            page.status == 422 || page.status == 409,
            "{sku} {price}: {}",
            page.status
        );
        assert!(
            page.text.contains(field_words),
            "{field_words}: {}",
            page.text
        );
        assert!(
            page.text.contains(&format!("value=\"{price}\"")),
            "the form keeps the price"
        );
    }
    assert_eq!(goods_of(&app).len(), 1, "no refused form created goods");

    let page = visitor.get(&format!("/goods/{id}?created=1"));
    assert!(page.text.contains("商品已上架"), "{}", page.text);
    assert!(page.text.contains("上架"));

    // Restock: a reason is needed, and a whole number.
    let restock = |visitor: &mut Visitor<'_>, quantity: &str, reason: &str| {
        visitor.post(
            &format!("/goods/{id}/restock"),
            &[
                ("form_token", &token),
                ("quantity", quantity),
                ("reason", reason),
            ],
        )
    };
    let page = restock(&mut visitor, "10", "  ");
    assert_eq!(page.status, 422);
    assert!(page.text.contains("请填写进货原因"), "{}", page.text);
    let page = restock(&mut visitor, "0", "乡镇配送");
    assert_eq!(page.status, 422);
    assert!(
        page.text.contains("进货数量应为 1 到 1000000"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("value=\"乡镇配送\""),
        "the reason stays typed"
    );
    assert_eq!(goods_of(&app)[0]["stock"], 4);
    let page = restock(&mut visitor, "10", "乡镇配送");
    assert_eq!(page.status, 303, "{}", page.text);
    assert_eq!(goods_of(&app)[0]["stock"], 14);
    let page = visitor.get(&page.location);
    assert!(page.text.contains("已进货"));
    let log = &page.text[page.text.find("id=\"movements\"").unwrap()..];
    assert!(log.contains("进货") && log.contains("+10") && log.contains("乡镇配送"));
    assert!(log.contains(">14<") && log.contains("admin"), "{log}");

    // Price, sale and limit.
    let change = |visitor: &mut Visitor<'_>, price: &str, on_sale: &str, limit: &str| {
        visitor.post(
            &format!("/goods/{id}"),
            &[
                ("form_token", &token),
                ("name", "大米 5kg"),
                ("price", price),
                ("on_sale", on_sale),
                ("monthly_limit", limit),
            ],
        )
    };
    let page = change(&mut visitor, "-1", "1", "");
    assert_eq!(page.status, 422);
    assert!(page.text.contains("价格应为大于 0 的数"));
    assert_eq!(goods_of(&app)[0]["price"], "30.00");
    let page = change(&mut visitor, "32.50", "0", "");
    assert_eq!(page.status, 303, "{}", page.text);
    let g = &goods_of(&app)[0];
    assert_eq!(g["price"], "32.50");
    assert_eq!(g["status"], "inactive");
    assert!(g["monthly_limit"].is_null());
    let list = visitor.get("/goods");
    assert!(
        list.text.contains("32.50") && list.text.contains("已下架") && list.text.contains("不限")
    );
}

fn goods_pages_refuse_others_and_forged_forms(app: TestApp) {
    let shop = shop(&app);
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    assert_eq!(clerk.get("/goods").status, 403);
    assert_eq!(clerk.get(&format!("/goods/{}", shop.oil)).status, 403);
    assert!(!clerk.get("/counter").text.contains("商品管理"));
    let token = clerk.form_token();
    let page = clerk.post(
        &format!("/goods/{}/restock", shop.oil),
        &[("form_token", &token), ("quantity", "5"), ("reason", "x")],
    );
    assert_eq!(page.status, 403);
    let mut visitor = admin(&app);
    assert!(visitor.get("/goods").text.contains("商品管理"));
    let page = visitor.post(
        &format!("/goods/{}/restock", shop.oil),
        &[("form_token", "forged"), ("quantity", "5"), ("reason", "x")],
    );
    assert_eq!(page.status, 403);
    let token = visitor.form_token();
    let page = visitor.post(
        "/goods/00000000-0000-0000-0000-000000000000/restock",
        &[("form_token", &token), ("quantity", "5"), ("reason", "x")],
    );
    assert_eq!(page.status, 404);
    assert_eq!(visitor.get("/goods/not-an-id").status, 404);
    let oil = goods_of(&app)
        .into_iter()
        .find(|g| g["id"] == shop.oil.as_str())
        .unwrap();
    assert_eq!(oil["stock"], 10, "nothing was restocked");
}

fn rules_of(app: &TestApp) -> Vec<Value> {
    let resp = app.get("/api/v1/rules?limit=200", &app.admin_token);
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["items"].as_array().cloned().unwrap_or_default()
}

fn an_admin_publishes_changes_and_stops_a_rule(app: TestApp) {
    let before = rules_of(&app).len();
    let mut visitor = admin(&app);
    let token = visitor.form_token();
    let page = visitor.get("/rules");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("审核设置"));
    assert!(
        page.text
            .contains("<a href=\"/rules\" class=\"active\" aria-current=\"page\">积分细则</a>"),
        "the menu entry: {}",
        page.text
    );
    let new = |visitor: &mut Visitor<'_>, code: &str, points: &str, per_deed_cap: &str| {
        visitor.post(
            "/rules",
            &[
                ("form_token", &token),
                ("code", code),
                ("name", "扫雪（每小时）"),
                ("category", "环境卫生"),
                ("direction", "earn"),
                ("points", points),
                ("unit", "hour"),
                ("monthly_cap", "40.00"),
                ("per_deed_cap", per_deed_cap),
            ],
        )
    };
    let made = new(&mut visitor, "snow_hour", "5.00", "4");
    assert_eq!(made.status, 303, "{}", made.text);
    let rule = rules_of(&app)
        .into_iter()
        .find(|r| r["code"] == "SNOW_HOUR")
        .expect("the rule");
    let id = rule["id"].as_str().unwrap().to_string();
    for (code, points, cap, words) in [
        ("SNOW_HOUR", "5.00", "", "已有细则用这个编号"),
        ("SNOW2", "0", "", "分值应为大于 0 的数"),
        ("SNOW2", "abc", "", "分值应为大于 0 的数"),
        ("SNOW2", "5.00", "四", "每次上限应为一个数"),
        ("雪", "5.00", "", "编号只能用字母"),
    ] {
        let page = new(&mut visitor, code, points, cap);
        assert!(
            page.status == 422 || page.status == 409,
            "{code}: {}",
            page.status
        );
        assert!(page.text.contains(words), "{words}: {}", page.text);
        assert!(
            page.text.contains("value=\"扫雪（每小时）\""),
            "the form keeps the name"
        );
    }
    assert_eq!(rules_of(&app).len(), before + 1);

    let page = visitor.get("/rules");
    let group = &page.text[page
        .text
        .find("<h2>环境卫生</h2>")
        .expect("grouped by category")..];
    assert!(group.contains("SNOW_HOUR") && group.contains("+5.00") && group.contains("每小时"));

    // A change is a new version; the old one stays listed.
    let change = |visitor: &mut Visitor<'_>, points: &str| {
        visitor.post(
            &format!("/rules/{id}"),
            &[
                ("form_token", &token),
                ("name", "扫雪（每小时）"),
                ("category", "环境卫生"),
                ("points", points),
                ("monthly_cap", ""),
                ("per_deed_cap", "4"),
            ],
        )
    };
    let page = change(&mut visitor, "-2");
    assert_eq!(page.status, 422);
    assert!(page.text.contains("分值应为大于 0 的数"));
    let page = change(&mut visitor, "6.50");
    assert_eq!(page.status, 303, "{}", page.text);
    let page = visitor.get(&page.location);
    assert!(page.text.contains("已改为新版本"));
    let versions = &page.text[page.text.find("id=\"versions\"").unwrap()..];
    assert!(versions.contains("第 2 版") && versions.contains("6.50"));
    assert!(versions.contains("第 1 版") && versions.contains("5.00"));
    let api = app.get(&format!("/api/v1/rules/{id}"), &app.admin_token);
    assert_eq!(api.body["version"], 2);
    assert_eq!(api.body["points"], "6.50");
    assert!(api.body["monthly_cap"].is_null());

    let page = visitor.post(
        &format!("/rules/{id}/status"),
        &[("form_token", &token), ("active", "0")],
    );
    assert_eq!(page.status, 303);
    let api = app.get(&format!("/api/v1/rules/{id}"), &app.admin_token);
    assert_eq!(api.body["status"], "inactive");
    assert!(visitor
        .get(&format!("/rules/{id}"))
        .text
        .contains("重新启用"));

    // Workflow settings.
    let settings = |visitor: &mut Visitor<'_>, stages: &str, notice: &str| {
        visitor.post(
            "/rules/settings",
            &[
                ("form_token", &token),
                ("review_stages", stages),
                ("notice_days", notice),
                ("backdate_days", "30"),
            ],
        )
    };
    let page = settings(&mut visitor, "2", "31");
    assert_eq!(page.status, 422);
    assert!(page.text.contains("公示天数应为 0 到 30"), "{}", page.text);
    let page = settings(&mut visitor, "2", "七");
    assert_eq!(page.status, 422);
    assert!(page.text.contains("请填一个整数"));
    let page = settings(&mut visitor, "2", "7");
    assert_eq!(page.status, 303, "{}", page.text);
    let api = app.get("/api/v1/settings", &app.admin_token);
    assert_eq!(api.body["review_stages"], 2);
    assert_eq!(api.body["notice_days"], 7);
    assert_eq!(api.body["backdate_days"], 30);
    assert!(visitor
        .get("/rules?saved=1")
        .text
        .contains("审核设置已保存"));
}

fn rules_pages_refuse_others_and_forged_forms(app: TestApp) {
    shop(&app);
    let before = rules_of(&app).len();
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    assert_eq!(clerk.get("/rules").status, 403);
    assert!(!clerk.get("/counter").text.contains("积分细则"));
    let token = clerk.form_token();
    let fields = [
        ("form_token", token.as_str()),
        ("code", "X1"),
        ("name", "x"),
        ("category", "x"),
        ("direction", "earn"),
        ("points", "1"),
        ("unit", "event"),
    ];
    assert_eq!(clerk.post("/rules", &fields).status, 403);
    let mut visitor = admin(&app);
    let mut forged = fields;
    forged[0].1 = "forged";
    assert_eq!(visitor.post("/rules", &forged).status, 403);
    assert_eq!(visitor.get("/rules/not-an-id").status, 404);
    assert_eq!(rules_of(&app).len(), before);
}

fn users_of(app: &TestApp) -> Vec<Value> {
    let resp = app.get("/api/v1/users?limit=200", &app.admin_token);
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["items"].as_array().cloned().unwrap_or_default()
}

fn user_named(app: &TestApp, username: &str) -> Value {
    users_of(app)
        .into_iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("no user {username}"))
}

fn an_admin_makes_accounts_changes_roles_and_resets_a_password(app: TestApp) {
    let shop = shop(&app);
    let member_no = shop.member["member_no"].as_str().unwrap().to_string();
    let before = users_of(&app).len();
    let mut visitor = admin(&app);
    let token = visitor.form_token();
    let page = visitor.get("/users");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("aria-current=\"page\">用户账号</a>"));
    assert!(page.text.contains(CLERK) && page.text.contains("兑换员"));
    let new = |visitor: &mut Visitor<'_>, username: &str, password: &str, role: &str, no: &str| {
        visitor.post(
            "/users",
            &[
                ("form_token", &token),
                ("username", username),
                ("password", password),
                (role, "1"),
                ("member_no", no),
            ],
        )
    };
    for (username, password, role, no, words) in [
        (
            CLERK,
            "a-good-password-1",
            "role_clerk",
            "",
            "这个用户名已有人用",
        ),
        (
            "x",
            "a-good-password-1",
            "role_clerk",
            "",
            "用户名须为 2 到",
        ),
        ("reviewer2", "short", "role_reviewer", "", "初始密码须为"),
        (
            "resident2",
            "a-good-password-1",
            "role_resident",
            "",
            "居民账号必须关联存折",
        ),
        (
            "resident2",
            "a-good-password-1",
            "role_resident",
            "NOPE-1",
            "没有这个存折号的居民",
        ),
        (
            "nobody",
            "a-good-password-1",
            "none",
            "",
            "请至少选择一个角色",
        ),
    ] {
        let page = new(&mut visitor, username, password, role, no);
        assert!(
            page.status == 422 || page.status == 409,
            "{username}: {}",
            page.status
        );
        assert!(page.text.contains(words), "{words}: {}", page.text);
        assert!(
            page.text.contains(&format!("value=\"{username}\"")),
            "the form keeps the name"
        );
    }
    assert_eq!(users_of(&app).len(), before);
    let page = new(
        &mut visitor,
        "zhang",
        "a-good-password-1",
        "role_resident",
        &member_no,
    );
    assert_eq!(page.status, 303, "{}", page.text);
    let zhang = user_named(&app, "zhang");
    assert_eq!(zhang["member_id"], shop.member["id"]);
    assert_eq!(zhang["roles"], serde_json::json!(["resident"]));
    let page = new(
        &mut visitor,
        "zhang2",
        "a-good-password-1",
        "role_resident",
        &member_no,
    );
    assert_eq!(page.status, 409);
    assert!(page.text.contains("这位居民已有账号"));

    // Roles: the last admin cannot be demoted.
    let admin_id = user_named(&app, "admin")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let page = visitor.post(
        &format!("/users/{admin_id}/roles"),
        &[("form_token", &token), ("role_clerk", "1")],
    );
    assert_eq!(page.status, 409, "{}", page.text);
    assert!(page.text.contains("最后一位管理员"), "{}", page.text);
    assert_eq!(
        user_named(&app, "admin")["roles"],
        serde_json::json!(["admin"])
    );
    let clerk_id = user_named(&app, CLERK)["id"].as_str().unwrap().to_string();
    let page = visitor.post(
        &format!("/users/{clerk_id}/roles"),
        &[
            ("form_token", &token),
            ("role_clerk", "1"),
            ("role_reviewer", "1"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.text);
    let roles = user_named(&app, CLERK)["roles"].clone();
    assert!(roles.as_array().unwrap().len() == 2, "{roles}");

    // The password reset: shown once, large, with its expiry, not cached.
    assert!(!visitor
        .get(&format!("/users/{admin_id}"))
        .text
        .contains("id=\"reset-password\""));
    let page = visitor.post(
        &format!("/users/{clerk_id}/password-reset"),
        &[("form_token", &token)],
    );
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let at =
        page.text.find("id=\"temporary-password\">").unwrap() + "id=\"temporary-password\">".len();
    let temporary = page.text[at..at + page.text[at..].find('<').unwrap()].to_string();
    assert!(temporary.len() >= 8, "{temporary}");
    assert!(page.text.contains("有效期到") && page.text.contains("只显示这一次"));
    let mut clerk = Visitor::new(&app);
    assert_eq!(
        clerk.login(CLERK, CLERK_PASSWORD).status,
        401,
        "the old password is gone"
    );
    clerk.login_ok(CLERK, &temporary);
    assert_eq!(
        clerk.get("/counter").location,
        "/password",
        "a new password first"
    );
    let page = visitor.get(&format!("/users/{clerk_id}"));
    assert!(page.text.contains("待改密码") && page.text.contains("上次重置密码"));

    // Disabling, and the admin's own account.
    let page = visitor.post(
        &format!("/users/{clerk_id}/status"),
        &[("form_token", &token), ("active", "0")],
    );
    assert_eq!(page.status, 303);
    assert_eq!(user_named(&app, CLERK)["status"], "disabled");
    let page = visitor.post(
        &format!("/users/{admin_id}/status"),
        &[("form_token", &token), ("active", "0")],
    );
    assert_eq!(page.status, 409);
    assert!(page.text.contains("最后一位管理员"));
    assert_eq!(user_named(&app, "admin")["status"], "active");
}

fn users_pages_refuse_others_and_forged_forms(app: TestApp) {
    shop(&app);
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    assert_eq!(clerk.get("/users").status, 403);
    assert!(!clerk.get("/counter").text.contains("用户账号"));
    let clerk_id = user_named(&app, CLERK)["id"].as_str().unwrap().to_string();
    let admin_id = user_named(&app, "admin")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = clerk.form_token();
    let page = clerk.post(
        &format!("/users/{admin_id}/password-reset"),
        &[("form_token", &token)],
    );
    assert_eq!(page.status, 403);
    let mut visitor = admin(&app);
    let page = visitor.post(
        &format!("/users/{clerk_id}/password-reset"),
        &[("form_token", "forged")],
    );
    assert_eq!(page.status, 403);
    assert!(!user_named(&app, CLERK)["password_change_required"]
        .as_bool()
        .unwrap());
    let token = visitor.form_token();
    let page = visitor.post(
        "/users/00000000-0000-0000-0000-000000000000/password-reset",
        &[("form_token", &token)],
    );
    assert_eq!(page.status, 404);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
}

fn an_admin_registers_edits_and_stops_a_resident(app: TestApp) {
    let shop = shop(&app);
    let before = members(&app).len();
    let mut visitor = admin(&app);
    let token = visitor.form_token();
    assert!(visitor
        .get("/members")
        .text
        .contains("href=\"/members/new\""));
    assert_eq!(visitor.get("/members/new").status, 200);
    let register = |visitor: &mut Visitor<'_>, name: &str, phone: &str| {
        visitor.post(
            "/members/new",
            &[
                ("form_token", &token),
                ("member_no", ""),
                ("name", name),
                ("phone", phone),
                ("building", "5"),
                ("unit", "1"),
                ("room", "302"),
                ("group", "第二网格"),
            ],
        )
    };
    for (name, phone, words) in [
        ("刘洋", "12345", "手机号不对"),
        ("刘洋", "13812345678", "已有居民登记了这个电话"),
        ("", "13700002222", "姓名不能为空"),
    ] {
        let page = register(&mut visitor, name, phone);
        assert!(
            page.status == 422 || page.status == 409,
            "{phone}: {}",
            page.status
        );
        let beside = format!("<p class=\"field-problem\" role=\"alert\">{words}");
        assert!(
            page.text.contains(&beside),
            "{words} beside the field: {}",
            page.text
        );
        assert!(
            page.text.contains("value=\"第二网格\""),
            "the form keeps what was typed"
        );
    }
    assert_eq!(members(&app).len(), before);
    let page = register(&mut visitor, "刘洋", "137 0000 2222");
    assert_eq!(page.status, 303, "{}", page.text);
    let liu = members(&app)
        .into_iter()
        .find(|m| m["name"] == "刘洋")
        .unwrap();
    assert_eq!(liu["phone"], "13700002222");
    assert_eq!(liu["address_line"], "5栋1单元302");
    let id = liu["id"].as_str().unwrap().to_string();
    assert!(page.location.starts_with(&format!("/members/{id}")));

    let page = visitor.post(
        &format!("/members/{id}"),
        &[
            ("form_token", &token),
            ("name", "刘洋"),
            ("phone", shop.member["phone"].as_str().unwrap()),
            ("group", "第三网格"),
        ],
    );
    assert_eq!(page.status, 409, "{}", page.text);
    assert!(page.text.contains("已有居民登记了这个电话"));
    let page = visitor.post(
        &format!("/members/{id}"),
        &[
            ("form_token", &token),
            ("name", "刘洋洋"),
            ("phone", "13700002222"),
            ("group", "第三网格"),
            ("note", "独居老人"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.text);
    let api = app.get(&format!("/api/v1/members/{id}"), &app.admin_token);
    assert_eq!(api.body["name"], "刘洋洋");
    assert_eq!(api.body["group"], "第三网格");
    assert_eq!(api.body["note"], "独居老人");
    assert!(
        api.body["building"].is_null(),
        "an emptied field is cleared"
    );

    let page = visitor.post(
        &format!("/members/{id}/status"),
        &[("form_token", &token), ("active", "0")],
    );
    assert_eq!(page.status, 303);
    let api = app.get(&format!("/api/v1/members/{id}"), &app.admin_token);
    assert_eq!(api.body["status"], "inactive");
    assert!(visitor
        .get(&format!("/members/{id}"))
        .text
        .contains("重新启用存折"));

    // Others.
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, CLERK_PASSWORD);
    assert_eq!(clerk.get(&format!("/members/{id}")).status, 403);
    let token = clerk.form_token();
    let page = clerk.post(
        &format!("/members/{id}/status"),
        &[("form_token", &token), ("active", "1")],
    );
    assert_eq!(page.status, 403);
    let page = visitor.post(
        &format!("/members/{id}/status"),
        &[("form_token", "forged"), ("active", "1")],
    );
    assert_eq!(page.status, 403);
    let api = app.get(&format!("/api/v1/members/{id}"), &app.admin_token);
    assert_eq!(api.body["status"], "inactive");
}

both_backends!(
    an_admin_checks_a_roster_fixes_it_and_imports_it_once,
    the_roster_import_refuses_what_it_cannot_take,
    the_roster_exports_as_csv_and_xlsx,
    an_admin_creates_goods_changes_and_restocks_them,
    goods_pages_refuse_others_and_forged_forms,
    an_admin_publishes_changes_and_stops_a_rule,
    rules_pages_refuse_others_and_forged_forms,
    an_admin_makes_accounts_changes_roles_and_resets_a_password,
    users_pages_refuse_others_and_forged_forms,
    an_admin_registers_edits_and_stops_a_resident,
);

/// In Chromium: an admin checks a roster file with errors, reads them as a table, checks the
/// fixed file and imports it; then puts a goods on sale (after a refused price) and restocks it.
fn an_admin_imports_a_roster_and_restocks_goods_in_the_browser(app: TestApp) {
    let Some(browser) = Browser::start(1366, 768) else {
        return;
    };
    let dir = screenshot_dir();
    let (bad, fixed) = (
        dir.join("roster-with-errors.csv"),
        dir.join("roster-fixed.csv"),
    );
    std::fs::write(&bad, ROSTER_WITH_ERRORS).unwrap();
    std::fs::write(&fixed, ROSTER_FIXED).unwrap();
    browser.goto(&app.url("/login"));
    browser.fill("#username", "admin");
    browser.fill("#password", ADMIN_PASSWORD);
    browser.click("#login-form button[type=submit]");
    browser.find(".topbar .who");
    browser.goto(&app.url("/members"));
    browser.click("a[href='/members/import']");
    browser.wait_for_path("/members/import");
    browser.screenshot("admin-roster-upload");
    browser.fill("#file", bad.to_str().unwrap());
    browser.click("form[enctype] button[type=submit]");
    browser.wait_for_path("/members/import");
    assert!(browser.text("#problem-count").contains("4 处问题"));
    assert_eq!(
        browser
            .execute(
                "return document.querySelectorAll('#row-problems tbody tr').length;",
                vec![]
            )
            .as_u64(),
        Some(4)
    );
    assert!(browser.text("#row-problems").contains("电话和第 2 行重复"));
    browser.screenshot("admin-roster-problems");
    browser.fill("#file", fixed.to_str().unwrap());
    browser.click("form[enctype] button[type=submit]");
    browser.wait_for_path("/members/import");
    assert!(browser.text("#check-passed").contains("50.50"));
    browser.screenshot("admin-roster-checked");
    browser.click("#import-now");
    browser.wait_for_path("/members?imported=5");
    assert!(browser.text("#imported").contains("新增 5 位居民"));
    browser.screenshot("admin-roster-imported");
    assert_eq!(members(&app).len(), 5);

    browser.goto(&app.url("/goods"));
    browser.fill("#sku", "RICE-5KG");
    browser.fill("#name", "大米 5kg");
    browser.fill("#price", "30.005");
    browser.fill("#stock", "4");
    browser.click("form[action='/goods'] button[type=submit]");
    assert!(browser
        .text(".field-problem")
        .contains("价格应为大于 0 的数"));
    browser.screenshot("admin-goods-problem");
    browser.fill("#price", "30.00");
    browser.click("form[action='/goods'] button[type=submit]");
    let path = browser.wait_for_path_prefix("/goods/");
    let goods_path = path.split('?').next().unwrap().to_string();
    browser.fill("#quantity", "20");
    browser.fill("#reason", "乡镇配送");
    browser.click("form[action$='/restock'] button[type=submit]");
    wait_for_text(&browser, "#goods-stock", "24");
    assert_eq!(browser.current_path(), format!("{goods_path}?restocked=1"));
    assert!(browser.text("#movements").contains("乡镇配送"));
    browser.screenshot("admin-goods-restocked");
    browser.goto(&app.url("/goods"));
    browser.screenshot("admin-goods-list");
    browser.goto(&app.url("/rules"));
    browser.fill("#code", "SNOW");
    browser.fill("#name", "扫雪");
    browser.fill("#category", "环境卫生");
    browser.fill("#points", "0");
    browser.click("form[action='/rules'] button[type=submit]");
    assert!(browser
        .text("#rules-problem")
        .contains("分值应为大于 0 的数"));
    browser.screenshot("admin-rules-problem");
    browser.goto(&app.url("/users"));
    browser.screenshot("admin-users");
    browser.fill("#username", "clerk9");
    browser.fill("#password", "a-good-password-9");
    browser.click("input[name=role_clerk]");
    browser.click("form[action='/users'] button[type=submit]");
    browser.wait_for_path_prefix("/users/");
    browser.click("#reset-password");
    let temporary = browser.text("#temporary-password");
    assert!(temporary.len() >= 8, "{temporary}");
    browser.screenshot("admin-temporary-password");
    browser.set_window_size(390, 844);
    browser.goto(&app.url("/members/import"));
    browser.fill("#file", bad.to_str().unwrap());
    browser.click("form[enctype] button[type=submit]");
    browser.wait_for_path("/members/import");
    browser.screenshot("admin-roster-problems-phone");
}

/// Waits until the element `css` reads `expected` (a form's answer replacing the page).
fn wait_for_text(browser: &Browser, css: &str, expected: &str) {
    let started = std::time::Instant::now();
    while !browser.exists(css) || browser.text(css) != expected {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{css} never read {expected}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn an_admin_imports_a_roster_and_restocks_goods_in_the_browser_sqlite() {
    if let Some(app) = TestApp::spawn(Backend::Sqlite) {
        an_admin_imports_a_roster_and_restocks_goods_in_the_browser(app);
    }
}
