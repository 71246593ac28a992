//! The counter in a real browser (headless Chromium): what a clerk does with a queue of residents.
//! Each test saves screenshots of what it checked under `target/screenshots/`.

use std::io::{Read, Write};
use std::net::TcpListener;

use serde_json::json;

use crate::common::browser::{pdf_pages, Browser};
use crate::common::{Backend, TestApp};
use crate::console::{redemptions_of, shop, Shop, CLERK, CLERK_PASSWORD};

/// A counter laptop's screen.
const LAPTOP: (u32, u32) = (1366, 768);

fn sign_in(browser: &Browser, app: &TestApp, shot: Option<&str>) {
    browser.goto(&app.url("/login"));
    browser.fill("#username", CLERK);
    browser.fill("#password", CLERK_PASSWORD);
    if let Some(name) = shot {
        browser.screenshot(name);
    }
    browser.click("#login-form button[type=submit]");
    browser.wait_for_path("/counter");
}

/// From the search box to the basket page, for `lines` (goods id, quantity).
fn fill_basket(browser: &Browser, shop: &Shop, lines: &[(&str, i64)], shot: Option<&str>) {
    let member_no = shop.member["member_no"].as_str().unwrap();
    let member_id = shop.member["id"].as_str().unwrap();
    browser.scan("#q", member_no);
    browser.wait_for_path(&format!("/counter/members/{member_id}"));
    for (goods, quantity) in lines {
        browser.fill(&format!("#q-{goods}"), &quantity.to_string());
    }
    if let Some(name) = shot {
        browser.screenshot(name);
    }
    browser.click("form[data-basket] button[type=submit]");
    browser.wait_for_path_prefix(&format!("/counter/members/{member_id}/basket"));
}

fn a_clerk_finds_by_passbook_number_redeems_two_goods_and_prints_the_receipt(
    app: TestApp,
    backend: &str,
) {
    let shop = shop(&app);
    let Some(browser) = Browser::start(LAPTOP.0, LAPTOP.1) else {
        return;
    };
    sign_in(&browser, &app, Some(&format!("counter-login-{backend}")));
    let cookies = browser.cookies();
    let session = cookies
        .iter()
        .find(|c| c.0 == "moralbank_session")
        .expect("a session cookie");
    assert!(session.2, "the session cookie is HttpOnly");
    assert_eq!(session.3, "Strict");
    // Script cannot read it.
    let seen = browser.execute("return document.cookie;", vec![]);
    assert_eq!(seen, json!(""));
    browser.screenshot(&format!("counter-search-{backend}"));
    // A name two residents share lists both, with what tells them apart.
    browser.scan("#q", "张秀");
    browser.wait_for_path_prefix("/counter?q=");
    assert!(browser.text("main h2").contains("找到 2 位"));
    browser.screenshot(&format!("counter-matches-{backend}"));

    let member_id = shop.member["id"].as_str().unwrap().to_string();
    let member_no = shop.member["member_no"].as_str().unwrap().to_string();
    browser.scan("#q", &member_no);
    browser.wait_for_path(&format!("/counter/members/{member_id}"));
    assert!(browser.text(".card .balance").starts_with("120.00"));
    browser.fill(&format!("#q-{}", shop.oil), "1");
    browser.fill(&format!("#q-{}", shop.soap), "2");
    // The running total and the balance after, as the clerk types.
    assert_eq!(browser.text("[data-total]"), "91.00");
    assert_eq!(browser.text("[data-after]"), "29.00");
    browser.screenshot(&format!("counter-card-{backend}"));
    browser.click("form[data-basket] button[type=submit]");
    browser.wait_for_path_prefix(&format!("/counter/members/{member_id}/basket"));
    assert_eq!(browser.text("#basket-total"), "91.00");
    assert_eq!(browser.text("#basket-after"), "29.00");
    browser.screenshot(&format!("counter-basket-{backend}"));
    browser.click("#confirm");
    let receipt = browser.wait_for_path_prefix("/counter/receipts/");
    assert_eq!(browser.text("#receipt-total"), "91.00");
    assert_eq!(browser.text("#receipt-balance"), "29.00");
    browser.screenshot(&format!("counter-receipt-{backend}"));
    assert_eq!(redemptions_of(&app, &member_id).len(), 1);
    assert_eq!(
        app.balance_of(shop.member["account_id"].as_str().unwrap()),
        "29.00"
    );

    // The prints: 58 mm and 80 mm rolls, and A5.
    for (paper, width, height) in [("58", 5.8, 20.0), ("80", 8.0, 20.0), ("a5", 14.8, 21.0)] {
        browser.goto(&app.url(&format!("{receipt}/print?paper={paper}")));
        assert!(browser.text(".slip").contains("兑换小票"));
        assert!(browser.text(".slip").contains("91.00"));
        let pdf = browser.print_pdf(&format!("receipt-{paper}-{backend}"), width, height);
        assert_eq!(pdf_pages(&pdf), 1, "a receipt fits on one {paper} page");
    }
    // The card on a phone: everything in one column, nothing cut off.
    browser.set_window_size(390, 844);
    browser.goto(&app.url(&format!("/counter/members/{member_id}")));
    assert!(browser.text(".card .balance").starts_with("29.00"));
    let overflow = browser.execute(
        "return document.documentElement.scrollWidth > window.innerWidth;",
        vec![],
    );
    assert_eq!(overflow, json!(false), "the card fits a phone's width");
    browser.screenshot(&format!("counter-card-phone-{backend}"));
}

fn a_double_submitted_basket_redeems_once(app: TestApp) {
    let shop = shop(&app);
    let Some(browser) = Browser::start(LAPTOP.0, LAPTOP.1) else {
        return;
    };
    sign_in(&browser, &app, None);
    fill_basket(&browser, &shop, &[(&shop.oil, 1)], None);
    // The confirm form posted twice at once, as a double click without the page's script would.
    let statuses = browser.execute_async(
        r#"const done = arguments[arguments.length - 1];
           const form = document.querySelector("form[data-once]");
           const send = () => fetch(form.action, {method: "POST", body: new URLSearchParams(new FormData(form)), redirect: "manual"});
           Promise.all([send(), send()]).then(rs => done(rs.map(r => r.type + ":" + r.status)));"#,
        vec![],
    );
    assert_eq!(
        statuses,
        json!(["opaqueredirect:0", "opaqueredirect:0"]),
        "both answered with the receipt's redirect"
    );
    // And the button itself, pressed once more, shows the same receipt.
    browser.click("#confirm");
    let receipt = browser.wait_for_path_prefix("/counter/receipts/");
    let member_id = shop.member["id"].as_str().unwrap();
    let made = redemptions_of(&app, member_id);
    assert_eq!(made.len(), 1, "one redemption: {made:?}");
    assert_eq!(
        receipt,
        format!("/counter/receipts/{}", made[0]["id"].as_str().unwrap())
    );
    assert_eq!(browser.text("#receipt-balance"), "60.00");
    browser.screenshot("counter-double-submit");
}

fn a_clerk_voids_a_receipt_and_prints_the_register(app: TestApp) {
    let shop = shop(&app);
    let Some(browser) = Browser::start(LAPTOP.0, LAPTOP.1) else {
        return;
    };
    sign_in(&browser, &app, None);
    fill_basket(&browser, &shop, &[(&shop.soap, 1)], None);
    browser.click("#confirm");
    let receipt = browser.wait_for_path_prefix("/counter/receipts/");
    // A void needs a reason, said beside the field.
    browser.click("form[action$='/void'] button[type=submit]");
    browser.wait_for_path(&format!("{receipt}/void"));
    assert!(browser.text(".field-problem").contains("请填写撤销原因"));
    browser.fill("#reason", "拿错商品");
    browser.click("form[action$='/void'] button[type=submit]");
    browser.wait_for_path(&receipt);
    assert!(browser.text("#void-note").contains("拿错商品"));
    assert!(
        !browser.exists("#reason"),
        "a voided receipt offers no second void"
    );
    browser.screenshot("counter-voided-receipt");
    let member_id = shop.member["id"].as_str().unwrap();
    assert_eq!(redemptions_of(&app, member_id)[0]["status"], "voided");
    assert_eq!(
        app.balance_of(shop.member["account_id"].as_str().unwrap()),
        "120.00"
    );
    // The card shows it voided; the register counts it.
    browser.goto(&app.url(&format!("/counter/members/{member_id}")));
    assert!(browser.text(".card").contains("已撤销"));
    browser.goto(&app.url("/counter"));
    fill_basket(&browser, &shop, &[(&shop.oil, 1)], None);
    browser.click("#confirm");
    browser.wait_for_path_prefix("/counter/receipts/");
    browser.goto(&app.url("/counter/register"));
    assert_eq!(browser.text("#register-count"), "1");
    assert_eq!(browser.text("#register-voided"), "1");
    assert_eq!(browser.text("#register-coins"), "60.00");
    let numbers = browser.execute(
        "return [...document.querySelectorAll('table.register tbody td:nth-child(2)')].map(td => td.textContent);",
        vec![],
    );
    let numbers = numbers.as_array().unwrap();
    assert_eq!(numbers.len(), 2);
    assert_ne!(
        numbers[0], numbers[1],
        "two receipts a minute apart have two numbers"
    );
    browser.screenshot("counter-register");
    let pdf = browser.print_pdf("register-a4", 21.0, 29.7);
    assert_eq!(pdf_pages(&pdf), 1);
}

/// A page of another origin that posts a form to the console as soon as it opens.
fn serve_forger(target: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let body = format!(
                "<!doctype html><meta charset=utf-8><form id=f method=post action=\"{target}\">\
                 <input name=form_token value=guess><input name=key value=forged-key>\
                 <input name=basket value=\"\"><input name=expected_total value=60.00></form>\
                 <script>document.getElementById('f').submit()</script>"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    origin
}

fn a_form_from_another_site_is_refused_and_the_api_refuses_the_cookie(app: TestApp) {
    let shop = shop(&app);
    let Some(browser) = Browser::start(LAPTOP.0, LAPTOP.1) else {
        return;
    };
    sign_in(&browser, &app, None);
    let member_id = shop.member["id"].as_str().unwrap();
    let before = app.ledger_counts();
    let forger = serve_forger(app.url(&format!("/counter/members/{member_id}/redeem")));
    browser.goto(&forger);
    browser.wait_for_path(&format!("/counter/members/{member_id}/redeem"));
    assert!(
        browser.text("main").contains("已拒绝"),
        "{}",
        browser.source()
    );
    browser.screenshot("csrf-refused");
    assert_eq!(app.ledger_counts(), before, "nothing changed");
    assert!(redemptions_of(&app, member_id).is_empty());

    // The signed-in browser asks the JSON API: the cookie opens nothing there.
    browser.goto(&app.url("/counter"));
    let status = browser.execute_async(
        r#"const done = arguments[arguments.length - 1];
           fetch("/api/v1/me", {credentials: "include"}).then(r => r.json().then(b => done([r.status, b.code])));"#,
        vec![],
    );
    assert_eq!(status, json!([401, "missing_token"]));
}

mod run {
    use super::*;

    #[test]
    fn a_clerk_finds_by_passbook_number_redeems_two_goods_and_prints_the_receipt_sqlite() {
        if let Some(app) = TestApp::spawn(Backend::Sqlite) {
            a_clerk_finds_by_passbook_number_redeems_two_goods_and_prints_the_receipt(
                app, "sqlite",
            );
        }
    }

    #[test]
    fn a_clerk_finds_by_passbook_number_redeems_two_goods_and_prints_the_receipt_postgres() {
        if let Some(app) = TestApp::spawn(Backend::Postgres) {
            a_clerk_finds_by_passbook_number_redeems_two_goods_and_prints_the_receipt(
                app, "postgres",
            );
        }
    }

    #[test]
    fn a_double_submitted_basket_redeems_once_postgres() {
        if let Some(app) = TestApp::spawn(Backend::Postgres) {
            a_double_submitted_basket_redeems_once(app);
        }
    }

    #[test]
    fn a_clerk_voids_a_receipt_and_prints_the_register_sqlite() {
        if let Some(app) = TestApp::spawn(Backend::Sqlite) {
            a_clerk_voids_a_receipt_and_prints_the_register(app);
        }
    }

    #[test]
    fn a_form_from_another_site_is_refused_and_the_api_refuses_the_cookie_sqlite() {
        if let Some(app) = TestApp::spawn(Backend::Sqlite) {
            a_form_from_another_site_is_refused_and_the_api_refuses_the_cookie(app);
        }
    }
}
