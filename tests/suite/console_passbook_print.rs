//! The printed passbook (存折) and staff display names: a 61-line passbook cut into headed A4
//! pages with 承前页/过次页 and the period totals once, over plain HTTP (both backends) and
//! printed to PDF in headless Chromium, its pages read back as text and saved as pictures.

use std::process::Command;

use moralbank::passbook::web::print::{PASSBOOK_PAGE_LINES, PASSBOOK_PAGE_LINES_LARGE};
use serde_json::{json, Value};

use crate::common::browser::{pdf_pages, screenshot_dir, Browser};
use crate::common::{Backend, TestApp};
use crate::console::Visitor;

const CLERK: &str = "clerk-li";
const CLERK_NAME: &str = "李会计";
const ADMIN_NAME: &str = "王主任";
const RESIDENT: &str = "zhang";
const RESIDENT_NAME: &str = "张秀兰";

/// A resident with a passbook of exactly 61 lines: an opening balance of 100.00 and 40
/// corrections of +1.25 entered by the admin (王主任), then 20 redemptions of 2.50 at the
/// counter by the clerk (李会计). Closing balance 100.00, in 150.00, out 50.00.
struct Passbook {
    member: Value,
    account_id: String,
    resident_password: &'static str,
    clerk_token: String,
    goods: String,
}

/// One redemption of 肥皂 (2.50) at the counter for the passbook's holder.
fn redeem_soap(app: &TestApp, clerk: &str, member_id: &str, goods: &str, key: &str) {
    let resp = app.request(
        "POST",
        "/api/v1/redemptions",
        Some(clerk),
        &[
            ("Idempotency-Key", key),
            ("Content-Type", "application/json"),
        ],
        Some(
            &json!({"member_id": member_id, "lines": [{"goods_id": goods, "quantity": 1}]})
                .to_string(),
        ),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
}

fn passbook_of_61_lines(app: &TestApp) -> Passbook {
    let me = app.get("/api/v1/me", &app.admin_token);
    let admin_id = me.body["user"]["id"].as_str().unwrap().to_string();
    let resp = app.request(
        "PATCH",
        &format!("/api/v1/users/{admin_id}"),
        Some(&app.admin_token),
        &[("Content-Type", "application/json")],
        Some(&json!({"display_name": ADMIN_NAME}).to_string()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["display_name"], ADMIN_NAME);
    let resp = app.post(
        "/api/v1/users",
        &app.admin_token,
        &json!({"username": CLERK, "password": "password-123", "roles": ["clerk"],
                "display_name": format!("  {CLERK_NAME} ")}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["display_name"], CLERK_NAME, "the name is trimmed");
    let clerk = app.login_ok(CLERK, "password-123");
    let member = app.create_member(RESIDENT_NAME);
    let member_id = member["id"].as_str().unwrap().to_string();
    let resp = app.post(
        "/api/v1/users",
        &app.admin_token,
        &json!({"username": RESIDENT, "password": "password-123", "roles": ["resident"],
                "member_id": member_id}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let resp = app.adjust("open", &member_id, "100.00", "opening_balance", "期初结转");
    assert_eq!(resp.status, 201, "{}", resp.text);
    for i in 0..40 {
        let resp = app.adjust(
            &format!("fix-{i}"),
            &member_id,
            "1.25",
            "correction",
            "补记志愿服务积分，按社区积分细则第三条折算后入账",
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    let resp = app.post(
        "/api/v1/goods",
        &app.admin_token,
        &json!({"sku": "G100", "name": "肥皂", "price": "2.50", "stock": 100}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let goods = resp.body["id"].as_str().unwrap().to_string();
    for i in 0..20 {
        redeem_soap(app, &clerk, &member_id, &goods, &format!("soap-{i}"));
    }
    let account_id = member["account_id"].as_str().unwrap().to_string();
    assert_eq!(app.balance_of(&account_id), "100.00");
    Passbook {
        member,
        account_id,
        resident_password: "password-123",
        clerk_token: clerk,
        goods,
    }
}

/// The text of each cell of each row of a page's table, tags stripped.
fn rows(page_html: &str) -> Vec<Vec<String>> {
    let body = page_html
        .split("<tbody>")
        .nth(1)
        .and_then(|b| b.split("</tbody>").next())
        .unwrap_or("");
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = cell.split_once('>').map(|(_, rest)| rest).unwrap_or("");
                    let inner = inner.split("</td>").next().unwrap_or("");
                    inner.trim().to_string()
                })
                .collect()
        })
        .collect()
}

/// The sheets of a printed passbook.
fn sheets(html: &str) -> Vec<&str> {
    html.split("<section class=\"passbook-sheet\"")
        .skip(1)
        .collect()
}

/// (label, in, out, balance) of a carry row: the 4th to 7th cells.
fn carry(row: &[String]) -> (String, String, String, String) {
    (
        row[3].clone(),
        row[4].clone(),
        row[5].clone(),
        row[6].clone(),
    )
}

fn cents(text: &str) -> i64 {
    if text.is_empty() {
        return 0;
    }
    let (whole, frac) = text.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

fn money(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// Checks the structure of a printed passbook of 61 lines cut `per_page` a sheet, adding the
/// lines up itself; answers the number of sheets.
fn check_sheets(html: &str, member_no: &str, per_page: usize) -> usize {
    let pages = sheets(html);
    let expected = 61_usize.div_ceil(per_page);
    assert_eq!(pages.len(), expected, "61 lines at {per_page} a sheet");
    assert_eq!(
        html.matches("本期合计").count(),
        1,
        "the period totals once"
    );
    let (mut total_in, mut total_out, mut balance) = (0_i64, 0_i64, 0_i64);
    let mut seen_lines = 0;
    for (i, page) in pages.iter().enumerate() {
        let n = i + 1;
        assert!(
            page.contains(&format!("第 {n} 页 / 共 {expected} 页")),
            "page {n} is numbered"
        );
        assert!(
            page.contains(&format!("户名：<b>{RESIDENT_NAME}</b>")),
            "page {n} names the holder"
        );
        assert!(
            page.contains(&format!("存折号：<b>{member_no}</b>")),
            "page {n} has the number"
        );
        assert!(page.contains("社区"), "page {n} names the community");
        let rows = rows(page);
        let first = carry(&rows[0]);
        let last = carry(rows.last().unwrap());
        if n == 1 {
            assert_eq!(
                first,
                ("期初余额".into(), "".into(), "".into(), "0.00".into())
            );
        } else {
            assert_eq!(
                first,
                (
                    "承前页".into(),
                    money(total_in),
                    money(total_out),
                    money(balance)
                ),
                "page {n} carries in what page {} carried out",
                n - 1
            );
        }
        let lines = &rows[1..rows.len() - 1];
        let want = if n < expected {
            per_page
        } else {
            61 - per_page * (expected - 1)
        };
        assert_eq!(lines.len(), want, "lines on page {n}");
        for line in lines {
            seen_lines += 1;
            assert_eq!(line[0], seen_lines.to_string(), "the line number");
            total_in += cents(&line[4]);
            total_out += cents(&line[5]);
            balance = cents(&line[6]);
            assert!(
                line[7] == ADMIN_NAME || line[7] == CLERK_NAME,
                "经办人 by display name, not {:?}",
                line[7]
            );
        }
        if n < expected {
            assert_eq!(
                last,
                (
                    "过次页".into(),
                    money(total_in),
                    money(total_out),
                    money(balance)
                )
            );
            assert!(
                !page.contains("经办人签字"),
                "the signature is on the last page only"
            );
        } else {
            assert_eq!(
                last,
                (
                    "本期合计".into(),
                    "150.00".into(),
                    "50.00".into(),
                    "100.00".into()
                )
            );
            assert_eq!((total_in, total_out, balance), (15000, 5000, 10000));
            assert!(page.contains("经办人签字") && page.contains("社区盖章"));
            assert!(page.contains("打印日期："));
        }
    }
    assert!(!html.contains("流水·校验码"), "no hashes for residents");
    expected
}

fn a_61_line_passbook_prints_on_headed_pages_that_carry_their_totals_forward(app: TestApp) {
    let book = passbook_of_61_lines(&app);
    let member_no = book.member["member_no"].as_str().unwrap();
    let mut resident = Visitor::new(&app);
    resident.login_ok(RESIDENT, book.resident_password);
    let page = resident.get(&format!("/passbook/{}/print", book.account_id));
    assert_eq!(page.status, 200, "{}", page.text);
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(check_sheets(&page.text, member_no, PASSBOOK_PAGE_LINES), 3);
    // Fixed figures too, so a wrong sum is caught even if the checker's own addition agreed.
    let pages = sheets(&page.text);
    assert_eq!(
        carry(rows(pages[0]).last().unwrap()),
        (
            "过次页".into(),
            "126.25".into(),
            "0.00".into(),
            "126.25".into()
        )
    );
    assert_eq!(
        carry(&rows(pages[2])[0]),
        (
            "承前页".into(),
            "150.00".into(),
            "7.50".into(),
            "142.50".into()
        )
    );
    assert!(!page.text.contains(&format!(">{CLERK}<")), "no login names");

    let large = resident.get(&format!("/passbook/{}/print?size=large", book.account_id));
    assert_eq!(large.status, 200);
    assert!(large
        .text
        .contains("<body class=\"passbook-print paper-a4-passbook large\">"));
    assert_eq!(
        check_sheets(&large.text, member_no, PASSBOOK_PAGE_LINES_LARGE),
        4
    );
    assert!(large.text.contains("普通版"));
    assert!(page.text.contains(&format!(
        "href=\"/passbook/{}/print?size=large\"",
        book.account_id
    )));
}

fn only_the_holder_and_staff_who_read_statements_may_print_a_passbook(app: TestApp) {
    let book = passbook_of_61_lines(&app);
    let path = format!("/passbook/{}/print", book.account_id);
    let (_, _) = app.resident("李四", "lisi");
    let mut neighbour = Visitor::new(&app);
    neighbour.login_ok("lisi", "password-123");
    let page = neighbour.get(&path);
    assert_eq!(page.status, 404, "another resident sees nothing");
    assert!(!page.text.contains(RESIDENT_NAME));
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, "password-123");
    let page = clerk.get(&path);
    assert_eq!(page.status, 200);
    assert!(page.text.contains("第 3 页 / 共 3 页"));
    // The clerk reaches it from the resident's card at the counter.
    let card = clerk.get(&format!(
        "/counter/members/{}",
        book.member["id"].as_str().unwrap()
    ));
    assert!(
        card.text.contains(&format!("href=\"{path}\"")),
        "the card links the print"
    );
    let mut stranger = Visitor::new(&app);
    let page = stranger.get(&path);
    assert_eq!(page.status, 303, "to the login page");
    let page = clerk.get(&format!("{path}?size=huge"));
    assert_eq!(page.status, 400);
    let page = clerk.get(&format!("{path}?from=2026-12-31&to=2026-01-01"));
    assert_eq!(page.status, 400);

    // The API answers the same print to a bearer token, and not to another resident.
    let resp = app.get(
        &format!("/api/v1/accounts/{}/passbook", book.account_id),
        &app.admin_token,
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(sheets(&resp.text).len(), 3);
    assert_eq!(resp.text.matches("本期合计").count(), 1);
    let csp = resp.header("content-security-policy").unwrap();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let neighbour_token = app.login_ok("lisi", "password-123");
    let resp = app.get(
        &format!("/api/v1/accounts/{}/passbook", book.account_id),
        &neighbour_token,
    );
    resp.assert_problem(404, "not_found");
}

fn a_passbook_period_opens_with_the_balance_brought_in(app: TestApp) {
    let book = passbook_of_61_lines(&app);
    // The whole passbook falls on the test's day; a period from tomorrow holds none of it.
    let statement = app.get(
        &format!("/api/v1/accounts/{}/statement?limit=1", book.account_id),
        &app.admin_token,
    );
    let line = &statement.body["lines"][0];
    assert_eq!(line["recorder"], "admin");
    assert_eq!(line["recorder_name"], ADMIN_NAME);
    let posted = chrono::DateTime::parse_from_rfc3339(line["posted_at"].as_str().unwrap()).unwrap();
    let local = posted.naive_utc() + chrono::Duration::hours(8);
    let tomorrow = (local.date() + chrono::Duration::days(1)).to_string();
    let mut clerk = Visitor::new(&app);
    clerk.login_ok(CLERK, "password-123");
    let page = clerk.get(&format!(
        "/passbook/{}/print?from={tomorrow}&to={tomorrow}",
        book.account_id
    ));
    assert_eq!(page.status, 200);
    let pages = sheets(&page.text);
    assert_eq!(pages.len(), 1, "an empty period is one sheet");
    let rows = rows(pages[0]);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        carry(&rows[0]),
        ("上期结转".into(), "".into(), "".into(), "100.00".into())
    );
    assert_eq!(
        carry(&rows[1]),
        (
            "本期合计".into(),
            "0.00".into(),
            "0.00".into(),
            "100.00".into()
        )
    );
    assert!(page
        .text
        .contains(&format!("期间：{tomorrow} 至 {tomorrow}")));
}

fn a_display_name_is_trimmed_checked_and_shown_for_staff(app: TestApp) {
    let make = |username: &str, name: Value| {
        app.post(
            "/api/v1/users",
            &app.admin_token,
            &json!({"username": username, "password": "password-123", "roles": ["clerk"],
                    "display_name": name}),
        )
    };
    let resp = make("c1", json!("   "));
    resp.assert_problem(422, "validation_failed");
    assert_eq!(resp.body["field"], "display_name");
    let resp = make("c2", json!("名".repeat(41)));
    resp.assert_problem(422, "validation_failed");
    let resp = make("c3", json!("名".repeat(40)));
    assert_eq!(resp.status, 201, "{}", resp.text);
    // Without one, a user still has none: shown by member name or username.
    let resp = app.post(
        "/api/v1/users",
        &app.admin_token,
        &json!({"username": "c4", "password": "password-123", "roles": ["clerk"]}),
    );
    assert_eq!(resp.status, 201);
    assert_eq!(resp.body["display_name"], Value::Null);
    let id = resp.body["id"].as_str().unwrap().to_string();
    let token = app.login_ok("c4", "password-123");
    let patch = |body: Value| {
        app.request(
            "PATCH",
            &format!("/api/v1/users/{id}"),
            Some(&app.admin_token),
            &[("Content-Type", "application/json")],
            Some(&body.to_string()),
        )
    };
    patch(json!({"display_name": ""})).assert_problem(422, "validation_failed");
    let resp = patch(json!({"display_name": " 赵大姐 "}));
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["display_name"], "赵大姐");
    // A new name alone does not log the user out.
    assert_eq!(app.get("/api/v1/me", &token).status, 200);

    // The console's pages: the name on the list, the edit form, a refusal beside the field.
    let mut admin = Visitor::new(&app);
    admin.login_ok("admin", crate::common::ADMIN_PASSWORD);
    let list = admin.get("/users");
    assert!(list.text.contains("<td>赵大姐</td>"), "the list shows 姓名");
    assert!(list.text.contains("id=\"display_name\""));
    let token = admin.form_token();
    let page = admin.post(
        &format!("/users/{id}/name"),
        &[("form_token", &token), ("display_name", "   ")],
    );
    assert_eq!(page.status, 422);
    assert!(page.text.contains("姓名须为 1 到 40 个字"), "{}", page.text);
    let page = admin.post(
        &format!("/users/{id}/name"),
        &[("form_token", &token), ("display_name", "赵秀梅")],
    );
    assert_eq!(page.status, 303);
    let page = admin.get(&format!("/users/{id}"));
    assert!(page.text.contains("value=\"赵秀梅\""));
    let page = admin.post(
        "/users",
        &[
            ("form_token", &token),
            ("username", "c5"),
            ("password", "password-123"),
            ("display_name", &"长".repeat(41)),
            ("role_clerk", "1"),
        ],
    );
    assert_eq!(page.status, 422);
    assert!(page.text.contains("姓名须为 1 到 40 个字"));
    assert!(
        page.text.contains(&"长".repeat(41)),
        "the form keeps what was typed"
    );
    let page = admin.post(
        "/users",
        &[
            ("form_token", &token),
            ("username", "c5"),
            ("password", "password-123"),
            ("display_name", "钱会计"),
            ("role_clerk", "1"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.text);
    let users = app.get("/api/v1/users?limit=100", &app.admin_token);
    let c5 = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "c5")
        .unwrap()
        .clone();
    assert_eq!(c5["display_name"], "钱会计");
}

/// `(seq, size)` from a sheet's check link `…/check?seq=S&size=N`.
fn check_link(sheet: &str) -> (u64, u64) {
    let at = sheet
        .find("/check?seq=")
        .expect("a check link on the sheet");
    let rest = &sheet[at + "/check?seq=".len()..];
    let seq: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    // The page escapes the `&` between the two (`&#38;` or `&amp;`).
    let rest = &rest[rest.find("size=").expect("the head's size in the link") + 5..];
    let size: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    (seq.parse().unwrap(), size.parse().unwrap())
}

fn every_passbook_page_carries_a_signed_head_that_covers_its_last_line(app: TestApp) {
    let book = passbook_of_61_lines(&app);
    let code = app.get("/api/v1/me", &app.admin_token).body["community"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let heads =
        |app: &TestApp| app.request("GET", &format!("/public/{code}/heads"), None, &[], None);
    assert!(
        heads(&app).body["latest"].is_null(),
        "no head before the print"
    );
    let mut resident = Visitor::new(&app);
    resident.login_ok(RESIDENT, book.resident_password);
    let page = resident.get(&format!("/passbook/{}/print", book.account_id));
    assert_eq!(page.status, 200, "{}", page.text);
    // The print signed a head, since none covered the lines.
    let published = heads(&app);
    let latest = published.body["latest"].clone();
    assert!(!latest.is_null(), "the print signed a head");
    let statement = app.get(
        &format!("/api/v1/accounts/{}/statement?limit=200", book.account_id),
        &app.admin_token,
    );
    assert_eq!(statement.status, 200, "{}", statement.text);
    let journal: Vec<u64> = statement.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["journal_seq"].as_u64().unwrap())
        .collect();
    let name = RESIDENT_NAME;
    let pages = sheets(&page.text);
    assert_eq!(pages.len(), 3);
    for (i, sheet) in pages.iter().enumerate() {
        assert!(
            sheet.contains("<svg class=\"check-qr\""),
            "a QR code on sheet {}",
            i + 1
        );
        assert!(!sheet.contains("style="), "no inline style in the QR");
        let (seq, size) = check_link(sheet);
        let last = (i + 1) * PASSBOOK_PAGE_LINES;
        assert_eq!(
            seq,
            journal[last.min(journal.len()) - 1],
            "the sheet's last line"
        );
        assert!(seq <= size, "the head covers the line");
        let head = published.body["heads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["tree_size"].as_u64() == Some(size))
            .expect("the printed head is published");
        let short = format!("#{size}·{}", &head["root_hash"].as_str().unwrap()[..8]);
        assert!(sheet.contains(&short), "{short} on sheet {}", i + 1);
        assert!(sheet.contains("扫码核验"));
        let check = &sheet[sheet.find("<div class=\"sheet-check\">").unwrap()..];
        let check = &check[..check.find("<footer").unwrap()];
        assert!(!check.contains(name), "no name beside the QR code");
    }
    // A second print finds the head that covers the lines and signs no other.
    let again = resident.get(&format!("/passbook/{}/print", book.account_id));
    assert_eq!(again.status, 200);
    assert_eq!(heads(&app).body["heads"].as_array().unwrap().len(), 1);
}

crate::both_backends!(
    a_61_line_passbook_prints_on_headed_pages_that_carry_their_totals_forward,
    every_passbook_page_carries_a_signed_head_that_covers_its_last_line,
    only_the_holder_and_staff_who_read_statements_may_print_a_passbook,
    a_passbook_period_opens_with_the_balance_brought_in,
    a_display_name_is_trimmed_checked_and_shown_for_staff,
);

/// The text of page `n` of a PDF, as `pdftotext` reads it.
fn pdf_page_text(pdf: &std::path::Path, n: usize) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-f", &n.to_string(), "-l", &n.to_string()])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Prints one size of the passbook from the browser and checks each sheet of the PDF.
fn print_and_read(browser: &Browser, app: &TestApp, book: &Passbook, size: &str, per_page: usize) {
    let member_no = book.member["member_no"].as_str().unwrap();
    let query = if size == "large" { "?size=large" } else { "" };
    browser.goto(&app.url(&format!("/passbook/{}/print{query}", book.account_id)));
    let server_pages = browser
        .execute(
            "return document.querySelectorAll('.passbook-sheet').length;",
            vec![],
        )
        .as_u64()
        .unwrap() as usize;
    assert_eq!(server_pages, 61_usize.div_ceil(per_page));
    // The toolbar is there on screen; its print button is wired by the console's script.
    assert!(browser.exists("[data-print]"));
    browser.screenshot(&format!("passbook-print-{size}-screen"));
    let name = format!("passbook-print-{size}");
    let pdf = browser.print_pdf(&name, 21.0, 29.7);
    assert_eq!(
        pdf_pages(&pdf),
        server_pages,
        "every sheet the server cut is one sheet of paper"
    );
    let path = screenshot_dir().join(format!("{name}.pdf"));
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "60"])
        .arg(&path)
        .arg(screenshot_dir().join(format!("{name}-r60")))
        .status()
        .expect("run pdftoppm");
    assert!(status.success());
    let mut carried_out: Option<String> = None;
    for n in 1..=server_pages {
        let text = pdf_page_text(&path, n);
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            squeezed.contains(&format!("第{n}页/共{server_pages}页")),
            "page {n}:\n{text}"
        );
        assert!(
            text.contains(RESIDENT_NAME) && text.contains(member_no),
            "page {n}:\n{text}"
        );
        assert!(
            !text.contains("大字版") && !text.contains("普通版"),
            "no toolbar on paper"
        );
        let line_of = |label: &str| {
            text.lines().find(|l| l.contains(label)).map(|l| {
                l.split(label)
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        };
        if n > 1 {
            let carried_in = line_of("承前页").expect("承前页 on a later page");
            assert_eq!(
                Some(carried_in),
                carried_out.take(),
                "page {n} carries in what the page before carried out"
            );
        } else {
            assert!(text.contains("期初余额"));
        }
        if n < server_pages {
            carried_out = Some(line_of("过次页").expect("过次页 on all pages but the last"));
            assert!(!text.contains("本期合计"));
        } else {
            assert_eq!(
                line_of("本期合计").as_deref(),
                Some("150.00 50.00 100.00"),
                "page {n}:\n{text}"
            );
            assert!(text.contains("经办人签字") && text.contains("社区盖章"));
        }
        assert!(text.contains(CLERK_NAME) || text.contains(ADMIN_NAME));
    }
}

fn a_61_line_passbook_prints_to_pdf_one_sheet_per_page_in_both_sizes(app: TestApp) {
    let book = passbook_of_61_lines(&app);
    let Some(browser) = Browser::start(1366, 900) else {
        return;
    };
    browser.goto(&app.url("/login"));
    browser.fill("#username", RESIDENT);
    browser.fill("#password", book.resident_password);
    browser.click("#login-form button[type=submit]");
    browser.wait_for_path_prefix("/");
    print_and_read(&browser, &app, &book, "normal", PASSBOOK_PAGE_LINES);
    print_and_read(&browser, &app, &book, "large", PASSBOOK_PAGE_LINES_LARGE);
    // Lines up to a whole number of sheets fill every sheet of each size to the last row: the
    // fullest last page, with its totals, signature, stamp box and check QR code, must still be
    // one sheet.
    let member_id = book.member["id"].as_str().unwrap();
    let mut lines = 61;
    let mut more = 0;
    for (size, query, per_page) in [
        ("full-normal", "", PASSBOOK_PAGE_LINES),
        ("full-large", "?size=large", PASSBOOK_PAGE_LINES_LARGE),
    ] {
        while lines % per_page != 0 {
            redeem_soap(
                &app,
                &book.clerk_token,
                member_id,
                &book.goods,
                &format!("more-{more}"),
            );
            more += 1;
            lines += 1;
        }
        browser.goto(&app.url(&format!("/passbook/{}/print{query}", book.account_id)));
        let pdf = browser.print_pdf(&format!("passbook-print-{size}"), 21.0, 29.7);
        assert_eq!(pdf_pages(&pdf), lines / per_page, "full sheets in {size}");
    }

    // Where the names come from: the admin's 用户账号 pages with their 姓名 field.
    let admin = Browser::start(1366, 768).expect("a second browser");
    admin.goto(&app.url("/login"));
    admin.fill("#username", "admin");
    admin.fill("#password", crate::common::ADMIN_PASSWORD);
    admin.click("#login-form button[type=submit]");
    admin.wait_for_path_prefix("/");
    admin.goto(&app.url("/users"));
    assert!(admin.text("table.users").contains(CLERK_NAME));
    admin.screenshot("passbook-print-users-list");
    admin.click("table.users tr:nth-child(2) a");
    admin.wait_for_path_prefix("/users/");
    admin.screenshot("passbook-print-user-edit");

    // The longest names a roster holds are cut on the sheet, never pushed off it.
    let long = app.create_member(&format!("欧阳{}", "长".repeat(40)));
    let resp = app.adjust(
        "long",
        long["id"].as_str().unwrap(),
        "12345.67",
        "opening_balance",
        &"很长的摘要".repeat(10),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    admin.goto(&app.url(&format!(
        "/passbook/{}/print?size=large",
        long["account_id"].as_str().unwrap()
    )));
    let overflow = admin.execute(
        "const s = document.querySelector('.passbook-sheet'); \
         return [...s.querySelectorAll('.sheet-title > *, .sheet-who > span, table')].filter(e => e.getBoundingClientRect().right > s.getBoundingClientRect().right + 1).map(e => e.tagName + '.' + e.className + ':' + e.textContent.slice(0, 20));",
        vec![],
    );
    admin.screenshot("passbook-print-long-names-screen");
    assert_eq!(overflow, json!([]), "nothing sticks out of the sheet");
    // The passbook number and every figure show whole, however long the name and the memo.
    let cut = admin.execute(
        "return [...document.querySelectorAll('.sheet-who span + span, td.num')] \
           .filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent);",
        vec![],
    );
    assert_eq!(cut, json!([]), "cut short");
    let pdf = admin.print_pdf("passbook-print-long-names", 21.0, 29.7);
    assert_eq!(pdf_pages(&pdf), 1);
}

mod browser {
    use super::*;

    #[test]
    fn a_61_line_passbook_prints_to_pdf_one_sheet_per_page_in_both_sizes_sqlite() {
        if let Some(app) = TestApp::spawn(Backend::Sqlite) {
            a_61_line_passbook_prints_to_pdf_one_sheet_per_page_in_both_sizes(app);
        }
    }
}
