//! Dates and times in queries: one accepted range, 2000-01-01 … 9999-12-31, on every endpoint and
//! on both backends. Anything outside it, or not written the one way we document, is a 400
//! problem naming the parameter: never a panic, never a 500, never a database's own range error.

use crate::common::{west_of_greenwich, TestApp};
use serde_json::{json, Value};

/// Dates that are not in the accepted range or not written YYYY-MM-DD. The first two panicked in
/// chrono's date arithmetic; years before 4713 BC were PostgreSQL's "timestamp out of range".
const BAD_DATES: &[&str] = &[
    "-262143-01-01",
    "%2B262142-12-31",
    "-4714-01-01",
    "0000-01-01",
    "1999-12-31",
    "10000-01-01",
    "2026-1-5",
    "2026-02-30",
    "2026-11-27T00:00:00",
    "%202026-11-27",
    "",
];

const BAD_MONTHS: &[&str] = &[
    "-262143-01",
    "%2B262142-12",
    "0000-01",
    "1999-12",
    "10000-01",
    "2026-13",
    "2026-1",
    "2026-11-01",
    "",
];

/// Moments whose UTC time falls outside 2000-01-01T00:00:00Z … 9999-12-31T23:59:59.999999Z, or
/// that are not RFC 3339.
const BAD_MOMENTS: &[&str] = &[
    "-262143-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "1999-12-31T23:59:59.999999Z",
    "2000-01-01T07:59:59%2B08:00",
    "9999-12-31T23:59:59-01:00",
    "2026-11-27",
    "",
];

fn refused(app: &TestApp, path: &str, field: &str) {
    let resp = app.get(path, &app.admin_token);
    resp.assert_problem(400, "invalid_query");
    assert_eq!(resp.body["field"], field, "{path}: {}", resp.text);
}

fn every_date_parameter_outside_the_range_is_refused_and_named(app: TestApp) {
    let member = app.create_member("日期边界");
    let account = member["account_id"].as_str().unwrap().to_string();
    let before = app.ledger_snapshot();
    for date in BAD_DATES {
        for (path, field) in [
            (
                format!("/api/v1/accounts/{account}/statement?from={date}"),
                "from",
            ),
            (
                format!("/api/v1/accounts/{account}/statement?to={date}"),
                "to",
            ),
            (
                format!("/api/v1/accounts/{account}/statement?format=csv&from={date}"),
                "from",
            ),
            (
                format!("/api/v1/accounts/{account}/passbook?from={date}"),
                "from",
            ),
            (
                format!("/api/v1/accounts/{account}/passbook?to={date}"),
                "to",
            ),
            (format!("/api/v1/reports/summary?from={date}"), "from"),
            (format!("/api/v1/reports/summary?to={date}"), "to"),
            (format!("/api/v1/deeds?from={date}"), "from"),
            (format!("/api/v1/deeds?to={date}"), "to"),
            (format!("/api/v1/redemptions?day={date}"), "day"),
            (format!("/api/v1/redemptions/totals?day={date}"), "day"),
        ] {
            refused(&app, &path, field);
        }
    }
    for month in BAD_MONTHS {
        refused(
            &app,
            &format!("/api/v1/reports/honor-roll?month={month}"),
            "month",
        );
    }
    for at in BAD_MOMENTS {
        refused(
            &app,
            &format!("/api/v1/accounts/{account}/balance?at={at}"),
            "at",
        );
    }
    // A period that ends before it begins names its start.
    refused(
        &app,
        &format!("/api/v1/accounts/{account}/statement?from=2026-11-02&to=2026-11-01"),
        "from",
    );
    refused(
        &app,
        "/api/v1/reports/summary?from=2026-11-02&to=2026-11-01",
        "from",
    );
    assert_eq!(app.ledger_snapshot(), before, "nothing changed");
}

fn ok(app: &TestApp, path: &str) -> Value {
    let resp = app.get(path, &app.admin_token);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text);
    resp.body
}

/// The widest period, 2000-01-01 … 9999-12-31, holds every line there is: the same answer as no
/// period at all.
fn the_edges_of_the_range_are_accepted_and_hold_everything(app: TestApp) {
    let member = app.create_member("边界居民");
    let id = member["id"].as_str().unwrap();
    let account = member["account_id"].as_str().unwrap();
    assert_eq!(
        app.adjust("e1", id, "35.50", "opening_balance", "结转")
            .status,
        201
    );
    assert_eq!(
        app.adjust("e2", id, "-5.50", "correction", "更正").status,
        201
    );

    let whole = ok(
        &app,
        &format!("/api/v1/accounts/{account}/statement?from=2000-01-01&to=9999-12-31"),
    );
    assert_eq!(whole["opening_balance"], "0.00", "{whole}");
    assert_eq!(whole["closing_balance"], "30.00", "{whole}");
    assert_eq!(whole["total_in"], "35.50");
    assert_eq!(whole["total_out"], "5.50");
    assert_eq!(whole["lines"].as_array().unwrap().len(), 2, "{whole}");
    let open = ok(&app, &format!("/api/v1/accounts/{account}/statement"));
    assert_eq!(whole["lines"], open["lines"]);
    let last_day = ok(
        &app,
        &format!("/api/v1/accounts/{account}/statement?from=9999-12-31&to=9999-12-31"),
    );
    assert_eq!(last_day["opening_balance"], "30.00", "{last_day}");
    assert_eq!(last_day["closing_balance"], "30.00");
    assert_eq!(last_day["lines"], json!([]));
    let first_day = ok(
        &app,
        &format!("/api/v1/accounts/{account}/statement?to=2000-01-01"),
    );
    assert_eq!(first_day["closing_balance"], "0.00");
    assert_eq!(first_day["lines"], json!([]));
    let csv = app.get(
        &format!("/api/v1/accounts/{account}/statement?format=csv&from=2000-01-01&to=9999-12-31"),
        &app.admin_token,
    );
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.text.matches("\r\n").count(),
        9 + 1 + 1 + 2,
        "header rows, a blank row, the column header and two lines"
    );
    let passbook = app.get(
        &format!("/api/v1/accounts/{account}/passbook?from=2000-01-01&to=9999-12-31"),
        &app.admin_token,
    );
    assert_eq!(passbook.status, 200);
    assert!(passbook.text.contains("30.00"));

    for (at, balance) in [
        ("2000-01-01T00:00:00Z", "0.00"),
        ("2000-01-01T08:00:00%2B08:00", "0.00"),
        ("9999-12-31T23:59:59.999999Z", "30.00"),
        ("9999-12-31T23:59:59Z", "30.00"),
    ] {
        let b = ok(&app, &format!("/api/v1/accounts/{account}/balance?at={at}"));
        assert_eq!(b["balance"], balance, "at {at}: {b}");
    }

    let summary = ok(
        &app,
        "/api/v1/reports/summary?from=2000-01-01&to=9999-12-31",
    );
    assert_eq!(summary["adjusted_in"], "35.50", "{summary}");
    assert_eq!(summary["adjusted_out"], "5.50");
    assert_eq!(summary["outstanding"], "30.00");
    let future = ok(&app, "/api/v1/reports/summary?from=9999-12-31");
    assert_eq!(future["adjusted_in"], "0.00");
    assert_eq!(future["outstanding"], "30.00");
    for month in ["2000-01", "9999-12"] {
        let roll = ok(&app, &format!("/api/v1/reports/honor-roll?month={month}"));
        assert_eq!(roll["month"], month);
        assert_eq!(roll["items"], json!([]));
    }
    for query in [
        "from=2000-01-01",
        "to=9999-12-31",
        "from=2000-01-01&to=9999-12-31",
    ] {
        ok(&app, &format!("/api/v1/deeds?{query}"));
    }
    for day in ["2000-01-01", "9999-12-31"] {
        assert_eq!(
            ok(&app, &format!("/api/v1/redemptions?day={day}"))["items"],
            json!([])
        );
        assert_eq!(
            ok(&app, &format!("/api/v1/redemptions/totals?day={day}"))["day"],
            day
        );
    }
}

both_backends!(
    every_date_parameter_outside_the_range_is_refused_and_named,
    the_edges_of_the_range_are_accepted_and_hold_everything,
);

mod west {
    use super::*;

    fn the_last_day_holds_everything_west_of_greenwich(app: TestApp) {
        the_edges_of_the_range_are_accepted_and_hold_everything(app);
    }

    both_backends_with!(west_of_greenwich; the_last_day_holds_everything_west_of_greenwich);
}
