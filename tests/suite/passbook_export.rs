//! The passbook as a file for Excel and WPS: the CSV and the .xlsx read back as an accountant's
//! program would, with the community's local dates, header rows, amounts as numbers and the file
//! named after the passbook and period; from the JSON API and from the console's download links.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde_json::Value;

use crate::common::TestApp;
use crate::console::Visitor;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const RESIDENT_PASSWORD: &str = "password-123";

/// A passbook of 张三 with 50.00 brought in now, then two lines posted at 18:34 UTC on the last
/// day of this month: 02:34 on the 1st of next month in the community (+08:00), so they belong to
/// next month's statement, which opens with 50.00.
struct Evening {
    member: Value,
    account: String,
    member_no: String,
    /// The first and last local day of the month the evening lines belong to.
    month_first: NaiveDate,
    month_last: NaiveDate,
    /// The evening lines' local time.
    local: NaiveDateTime,
}

fn local_now(app: &TestApp) -> NaiveDateTime {
    app.clock.now() + Duration::hours(8)
}

fn next_month(day: NaiveDate) -> NaiveDate {
    let first = day.with_day(1).unwrap();
    (first + Duration::days(32)).with_day(1).unwrap()
}

fn evening(app: &TestApp) -> Evening {
    let (member, _) = app.resident("张三", "zhang");
    let id = member["id"].as_str().unwrap();
    let resp = app.adjust("open", id, "50.00", "opening_balance", "期初结转");
    assert_eq!(resp.status, 201, "{}", resp.text);
    let month_first = next_month(local_now(app).date());
    let month_last = next_month(month_first) - Duration::days(1);
    // 18:34 UTC on the last day of this (local) month: always ahead of now, since it is already
    // next month locally.
    let target_utc = (month_first - Duration::days(1))
        .and_hms_opt(18, 34, 0)
        .unwrap();
    app.clock.advance(target_utc - app.clock.now());
    for (key, amount, reason) in [("in", "100.00", "打扫楼道"), ("out", "-2.30", "=SUM(A1)")] {
        let resp = app.adjust(key, id, amount, "correction", reason);
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    Evening {
        account: member["account_id"].as_str().unwrap().to_string(),
        member_no: member["member_no"].as_str().unwrap().to_string(),
        member,
        month_first,
        month_last,
        local: month_first.and_hms_opt(2, 34, 0).unwrap(),
    }
}

fn community_name(app: &TestApp, account: &str) -> String {
    let resp = app.get(
        &format!("/api/v1/accounts/{account}/statement"),
        &app.admin_token,
    );
    resp.body["account"]["community_name"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A download's status, headers and bytes, with the token or the console cookie given.
fn download(
    app: &TestApp,
    path: &str,
    auth: (&str, String),
    accept: Option<&str>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut req = ureq::get(&app.url(path)).set(auth.0, &auth.1);
    if let Some(accept) = accept {
        req = req.set("Accept", accept);
    }
    let response = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).expect("body");
    (status, headers, bytes)
}

fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

fn cookie(visitor: &Visitor<'_>) -> (&'static str, String) {
    (
        "Cookie",
        format!("moralbank_session={}", visitor.cookie.as_deref().unwrap()),
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

/// The two names of a Content-Disposition: (filename, filename* decoded).
fn file_names(disposition: &str) -> (String, String) {
    let ascii = disposition
        .split("filename=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no filename in {disposition}"));
    let encoded = disposition
        .split("filename*=UTF-8''")
        .nth(1)
        .unwrap_or_else(|| panic!("no filename* in {disposition}"));
    assert!(
        encoded.is_ascii() && !encoded.contains([' ', '"', ';']),
        "{disposition}"
    );
    let decoded = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .unwrap()
        .to_string();
    (ascii.to_string(), decoded)
}

/// The CSV's rows as a spreadsheet reads them (the blank row between header and table skipped).
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF], "UTF-8 BOM first");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&bytes[3..]);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .filter(|r: &Vec<String>| r.iter().any(|f| !f.is_empty()))
        .collect()
}

fn row(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| f.to_string()).collect()
}

fn minute(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

fn the_csv_has_header_rows_local_dates_and_is_named_after_the_passbook_and_month(app: TestApp) {
    let e = evening(&app);
    let community = community_name(&app, &e.account);
    let path = format!(
        "/api/v1/accounts/{}/statement?format=csv&from={}&to={}",
        e.account, e.month_first, e.month_last
    );
    let (status, headers, bytes) = download(&app, &path, bearer(&app.admin_token), None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
    let month = e.month_first.format("%Y-%m").to_string();
    let (ascii, chinese) = file_names(header(&headers, "content-disposition"));
    assert_eq!(ascii, format!("statement-{}-{month}.csv", e.member_no));
    assert_eq!(chinese, format!("存折-{}-张三-{month}.csv", e.member_no));
    assert!(header(&headers, "content-disposition").starts_with("attachment; "));

    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("\r\n\r\n\"日期\",\"类型\""),
        "a blank row between the header rows and the table: {text}"
    );
    let rows = csv_rows(&bytes);
    let exported = local_now(&app);
    assert_eq!(rows[0], row(&["社区", &community]));
    assert_eq!(rows[1], row(&["户名", "张三"]));
    assert_eq!(rows[2], row(&["存折号", &e.member_no]));
    assert_eq!(
        rows[3],
        row(&["期间", &format!("{} 至 {}", e.month_first, e.month_last)])
    );
    assert_eq!(rows[4], row(&["期初余额", "50.00"]));
    assert_eq!(rows[5], row(&["期末余额", "147.70"]));
    assert_eq!(rows[6], row(&["收入合计", "100.00"]));
    assert_eq!(rows[7], row(&["支出合计", "2.30"]));
    assert_eq!(rows[8][0], "导出时间");
    let at = NaiveDateTime::parse_from_str(&rows[8][1], "%Y-%m-%d %H:%M")
        .unwrap_or_else(|_| panic!("export time {:?}", rows[8][1]));
    assert!(
        (exported - at).num_minutes().abs() <= 1,
        "exported at {at}, local now {exported}"
    );
    assert_eq!(
        rows[9],
        row(&[
            "日期",
            "类型",
            "摘要",
            "收入",
            "支出",
            "余额",
            "行号",
            "经办人"
        ])
    );
    // Posted at 18:34 UTC on the last day of the month: the 1st of next month at 02:34 locally.
    let local = minute(e.local);
    assert!(local.ends_with("-01 02:34"), "{local}");
    assert_eq!(
        rows[10],
        row(&[
            &local,
            "更正",
            "打扫楼道",
            "100.00",
            "",
            "150.00",
            "2",
            "admin"
        ])
    );
    assert_eq!(
        rows[11],
        row(&[
            &local,
            "更正",
            "'=SUM(A1)",
            "",
            "2.30",
            "147.70",
            "3",
            "admin"
        ]),
        "a formula is defused"
    );
    assert_eq!(rows.len(), 12, "nothing after the lines");

    // The whole passbook: 全部, and the line brought in first.
    let (status, headers, bytes) = download(
        &app,
        &format!("/api/v1/accounts/{}/statement?format=csv", e.account),
        bearer(&app.admin_token),
        None,
    );
    assert_eq!(status, 200);
    let (ascii, chinese) = file_names(header(&headers, "content-disposition"));
    assert_eq!(ascii, format!("statement-{}-all.csv", e.member_no));
    assert_eq!(chinese, format!("存折-{}-张三-全部.csv", e.member_no));
    let rows = csv_rows(&bytes);
    assert_eq!(rows[3], row(&["期间", "全部"]));
    assert_eq!(rows[4], row(&["期初余额", "0.00"]));
    assert_eq!(
        rows[10][1..6],
        row(&["期初结转", "期初结转", "50.00", "", "50.00"])
    );

    // Part of a month is named by its days.
    let mid = e.month_first + Duration::days(14);
    let (_, headers, _) = download(
        &app,
        &format!(
            "/api/v1/accounts/{}/statement?format=csv&from={}&to={mid}",
            e.account, e.month_first
        ),
        bearer(&app.admin_token),
        None,
    );
    let (ascii, chinese) = file_names(header(&headers, "content-disposition"));
    assert_eq!(
        chinese,
        format!("存折-{}-张三-{}至{mid}.csv", e.member_no, e.month_first)
    );
    assert_eq!(
        ascii,
        format!("statement-{}-{}_{mid}.csv", e.member_no, e.month_first)
    );
}

fn cell(range: &calamine::Range<calamine::Data>, row: u32, col: u32) -> calamine::Data {
    range
        .get_value((row, col))
        .cloned()
        .unwrap_or(calamine::Data::Empty)
}

fn number(data: &calamine::Data) -> f64 {
    match data {
        calamine::Data::Float(f) => *f,
        other => panic!("not a number: {other:?}"),
    }
}

fn text(data: &calamine::Data) -> String {
    match data {
        calamine::Data::String(s) => s.clone(),
        other => panic!("not text: {other:?}"),
    }
}

fn date_time(data: &calamine::Data) -> NaiveDateTime {
    match data {
        calamine::Data::DateTime(t) => t.as_datetime().expect("a date-time"),
        other => panic!("not a date-time: {other:?}"),
    }
}

fn sheet_of(bytes: &[u8]) -> calamine::Range<calamine::Data> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    book.worksheet_range_at(0).unwrap().unwrap()
}

fn the_xlsx_holds_amounts_as_numbers_and_dates_as_local_date_times(app: TestApp) {
    let e = evening(&app);
    let community = community_name(&app, &e.account);
    let path = format!(
        "/api/v1/accounts/{}/statement?format=xlsx&from={}&to={}",
        e.account, e.month_first, e.month_last
    );
    let (status, headers, bytes) = download(&app, &path, bearer(&app.admin_token), None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(header(&headers, "content-type"), XLSX);
    let month = e.month_first.format("%Y-%m").to_string();
    let (ascii, chinese) = file_names(header(&headers, "content-disposition"));
    assert_eq!(ascii, format!("statement-{}-{month}.xlsx", e.member_no));
    assert_eq!(chinese, format!("存折-{}-张三-{month}.xlsx", e.member_no));

    let sheet = sheet_of(&bytes);
    let labels: Vec<String> = (0..9).map(|r| text(&cell(&sheet, r, 0))).collect();
    assert_eq!(
        labels,
        [
            "社区",
            "户名",
            "存折号",
            "期间",
            "期初余额",
            "期末余额",
            "收入合计",
            "支出合计",
            "导出时间"
        ]
    );
    assert_eq!(text(&cell(&sheet, 0, 1)), community);
    assert_eq!(text(&cell(&sheet, 1, 1)), "张三");
    assert_eq!(text(&cell(&sheet, 2, 1)), e.member_no);
    assert_eq!(
        text(&cell(&sheet, 3, 1)),
        format!("{} 至 {}", e.month_first, e.month_last)
    );
    for (r, expected) in [(4, 50.0), (5, 147.7), (6, 100.0), (7, 2.3)] {
        assert_eq!(number(&cell(&sheet, r, 1)), expected, "header row {r}");
    }
    let exported = date_time(&cell(&sheet, 8, 1));
    assert!((local_now(&app) - exported).num_minutes().abs() <= 1);
    assert_eq!(cell(&sheet, 9, 0), calamine::Data::Empty, "a blank row");
    let columns: Vec<String> = (0..8).map(|c| text(&cell(&sheet, 10, c))).collect();
    assert_eq!(
        columns,
        [
            "日期",
            "类型",
            "摘要",
            "收入",
            "支出",
            "余额",
            "行号",
            "经办人"
        ]
    );
    // The evening lines: a real date-time equal to the local 02:34 of the 1st, numbers for the
    // amounts and balance, the other amount left blank.
    assert_eq!(date_time(&cell(&sheet, 11, 0)), e.local);
    assert_eq!(text(&cell(&sheet, 11, 1)), "更正");
    assert_eq!(text(&cell(&sheet, 11, 2)), "打扫楼道");
    assert_eq!(number(&cell(&sheet, 11, 3)), 100.0);
    assert_eq!(cell(&sheet, 11, 4), calamine::Data::Empty);
    assert_eq!(number(&cell(&sheet, 11, 5)), 150.0);
    assert_eq!(number(&cell(&sheet, 11, 6)), 2.0);
    assert_eq!(text(&cell(&sheet, 11, 7)), "admin");
    assert_eq!(date_time(&cell(&sheet, 12, 0)), e.local);
    assert_eq!(cell(&sheet, 12, 3), calamine::Data::Empty);
    assert_eq!(number(&cell(&sheet, 12, 4)), 2.3);
    assert_eq!(number(&cell(&sheet, 12, 5)), 147.7);
    assert_eq!(
        sheet.end().map(|(r, _)| r),
        Some(12),
        "nothing after the lines"
    );

    // The Accept header asks for the same file.
    let (status, headers, by_accept) = download(
        &app,
        &format!(
            "/api/v1/accounts/{}/statement?from={}&to={}",
            e.account, e.month_first, e.month_last
        ),
        bearer(&app.admin_token),
        Some(XLSX),
    );
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), XLSX);
    let again = sheet_of(&by_accept);
    assert_eq!(date_time(&cell(&again, 11, 0)), e.local);
    assert_eq!(number(&cell(&again, 12, 5)), 147.7);
    let (status, headers, _) = download(
        &app,
        &format!("/api/v1/accounts/{}/statement", e.account),
        bearer(&app.admin_token),
        Some("text/csv"),
    );
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");

    app.get(
        &format!("/api/v1/accounts/{}/statement?format=bogus", e.account),
        &app.admin_token,
    )
    .assert_problem(400, "invalid_query");
}

fn the_holder_and_a_clerk_download_from_the_console_and_nobody_else(app: TestApp) {
    let e = evening(&app);
    app.user_with_roles("clerk", &["clerk"], None);
    app.resident("李四", "li");
    let csv = format!("/passbook/{}/statement.csv", e.account);
    let xlsx = format!("/passbook/{}/statement.xlsx", e.account);
    let period = format!("?from={}&to={}", e.month_first, e.month_last);
    let month = e.month_first.format("%Y-%m").to_string();

    let mut holder = Visitor::new(&app);
    holder.login_ok("zhang", RESIDENT_PASSWORD);
    let (status, headers, bytes) = download(&app, &format!("{csv}{period}"), cookie(&holder), None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let (_, chinese) = file_names(header(&headers, "content-disposition"));
    assert_eq!(chinese, format!("存折-{}-张三-{month}.csv", e.member_no));
    let rows = csv_rows(&bytes);
    assert_eq!(rows[1], row(&["户名", "张三"]));
    assert_eq!(rows[5], row(&["期末余额", "147.70"]));
    assert_eq!(rows[10][0], minute(e.local));
    // Empty date boxes mean the whole passbook.
    let (status, _, bytes) = download(&app, &format!("{csv}?from=&to="), cookie(&holder), None);
    assert_eq!(status, 200);
    assert_eq!(csv_rows(&bytes)[3], row(&["期间", "全部"]));

    let mut clerk = Visitor::new(&app);
    clerk.login_ok("clerk", RESIDENT_PASSWORD);
    let (status, headers, bytes) = download(&app, &format!("{xlsx}{period}"), cookie(&clerk), None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(header(&headers, "content-type"), XLSX);
    let (ascii, _) = file_names(header(&headers, "content-disposition"));
    assert_eq!(ascii, format!("statement-{}-{month}.xlsx", e.member_no));
    let sheet = sheet_of(&bytes);
    assert_eq!(date_time(&cell(&sheet, 11, 0)), e.local);
    assert_eq!(number(&cell(&sheet, 12, 5)), 147.7);
    // The clerk's card of the resident links to both files.
    let card = clerk.get(&format!(
        "/counter/members/{}",
        e.member["id"].as_str().unwrap()
    ));
    assert_eq!(card.status, 200, "{}", card.text);
    assert!(
        card.text.contains(&format!("href=\"{xlsx}\"")),
        "{}",
        card.text
    );
    assert!(card.text.contains(&format!("href=\"{csv}\"")));

    // Another resident: the 404 page, as the API answers.
    let mut other = Visitor::new(&app);
    other.login_ok("li", RESIDENT_PASSWORD);
    for path in [&csv, &xlsx] {
        let page = other.get(path);
        assert_eq!(page.status, 404, "{path}");
        assert!(page.text.contains("找不到"), "{}", page.text);
        assert!(!page.text.contains("张三"));
    }
    // Bad dates: a page in Chinese that says what to write.
    for (query, words) in [
        ("?from=2026-13-01", "日期应写成 2026-12-01"),
        ("?to=12/01/2026", "日期应写成 2026-12-01"),
        ("?from=2026-12-31&to=2026-12-01", "开始日期晚于结束日期"),
    ] {
        let page = holder.get(&format!("{csv}{query}"));
        assert_eq!(page.status, 400, "{query}");
        assert!(page.text.contains(words), "{query}: {}", page.text);
        assert!(page.text.contains("lang=\"zh-CN\""));
    }
    // Nobody signed in: to the login page.
    let page = Visitor::new(&app).get(&xlsx);
    assert_eq!((page.status, page.location.as_str()), (303, "/login"));
}

both_backends!(
    the_csv_has_header_rows_local_dates_and_is_named_after_the_passbook_and_month,
    the_xlsx_holds_amounts_as_numbers_and_dates_as_local_date_times,
    the_holder_and_a_clerk_download_from_the_console_and_nobody_else,
);
