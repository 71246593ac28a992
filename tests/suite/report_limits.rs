//! Every sum in every report is exact, however large the figures it adds: the shop's stock value
//! at the largest price and stock, and totals of postings whose amounts are at the limit of what a
//! row can hold. Nothing wraps, saturates or panics.

use crate::common::TestApp;
use diesel::prelude::*;
use moralbank::db::models::{JournalRow, PostingRow};
use moralbank::db::schema::{accounts, communities, journal, postings, redemptions, users};
use moralbank::db::DbUuid;
use moralbank::kernel::JournalKind;
use moralbank::shop::store::RedemptionRow;
use serde_json::{json, Value};

/// The largest amount a posting, a balance or a receipt total can hold: i64::MAX hundredths.
const BIG: i64 = i64::MAX;

/// An amount in hundredths (any size) as the API writes it.
fn points(hundredths: i128) -> String {
    let sign = if hundredths < 0 { "-" } else { "" };
    let abs = hundredths.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn ok(app: &TestApp, path: &str) -> Value {
    let resp = app.get(path, &app.admin_token);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text);
    resp.body
}

fn the_stock_value_is_exact_at_the_largest_price_and_stock(app: TestApp) {
    for sku in ["GOLD-1", "GOLD-2", "GOLD-3"] {
        let resp = app.post(
            "/api/v1/goods",
            &app.admin_token,
            &json!({"sku": sku, "name": "金条", "price": "100000000.00", "stock": 1_000_000_000}),
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    let summary = ok(&app, "/api/v1/reports/summary");
    // 3 × 100,000,000.00 points × 1,000,000,000 items.
    assert_eq!(
        summary["shop_stock_value"],
        points(3 * 10_000_000_000_i128 * 1_000_000_000),
        "{summary}"
    );
}

/// Writes journal transactions straight into the tables, as a ledger that ran for a very long
/// time could hold them: each posting's amount at the limit of a BIGINT. They are not balanced
/// and not chained (no report checks that; `verify` would name them), so the writer is never
/// asked to extend this ledger afterwards.
struct Forger {
    conn: moralbank::db::DbConn,
    community: DbUuid,
    seq: i64,
}

impl Forger {
    fn new(app: &TestApp) -> Forger {
        let mut conn = app.db.connect();
        let community: DbUuid = communities::table
            .select(communities::id)
            .first(&mut conn)
            .unwrap();
        Forger {
            conn,
            community,
            seq: 1_000_000,
        }
    }

    fn account(&mut self, kind: &str) -> DbUuid {
        accounts::table
            .filter(accounts::kind.eq(kind))
            .select(accounts::id)
            .first(&mut self.conn)
            .unwrap()
    }

    /// One transaction of `kind` with one posting per (account, account_seq, amount, balance
    /// after, credits after).
    fn transaction(&mut self, kind: &str, legs: &[(DbUuid, i64, i64, i64, i64)]) -> DbUuid {
        self.seq += 1;
        let now = moralbank::db::now_utc();
        let id = DbUuid(uuid::Uuid::now_v7());
        diesel::insert_into(journal::table)
            .values(&JournalRow {
                id,
                community_id: self.community,
                seq: self.seq,
                kind: JournalKind::parse(kind).expect("a journal kind"),
                reference_id: None,
                memo: "forged at the limits".into(),
                actor_id: None,
                created_at: now,
                prev_hash: "0".repeat(64),
                hash: "f".repeat(64),
                hash_version: 2,
            })
            .execute(&mut self.conn)
            .unwrap();
        for (account, account_seq, amount, balance_after, credits_after) in legs {
            diesel::insert_into(postings::table)
                .values(&PostingRow {
                    id: DbUuid(uuid::Uuid::now_v7()),
                    journal_id: id,
                    community_id: self.community,
                    account_id: *account,
                    account_seq: *account_seq,
                    amount: *amount,
                    balance_after: *balance_after,
                    posted_at: now,
                    credits_after: *credits_after,
                })
                .execute(&mut self.conn)
                .unwrap();
        }
        id
    }

    /// Sets the cached balance, last line and credit total of an account to what its postings say.
    fn settle(&mut self, account: DbUuid, balance: i64, last_seq: i64, credits: i64) {
        diesel::update(accounts::table.find(account))
            .set((
                accounts::balance.eq(balance),
                accounts::last_seq.eq(last_seq),
                accounts::credits_total.eq(credits),
            ))
            .execute(&mut self.conn)
            .unwrap();
    }
}

fn id_of(member: &Value, key: &str) -> DbUuid {
    DbUuid(uuid::Uuid::parse_str(member[key].as_str().unwrap()).unwrap())
}

fn totals_of_postings_at_the_limits_are_exact(app: TestApp) {
    let a = app.create_member("甲");
    let b = app.create_member("乙");
    let c = app.create_member("丙");
    app.user_with_roles("clerk", &["clerk"], None);
    let (a_acc, b_acc, c_acc) = (
        id_of(&a, "account_id"),
        id_of(&b, "account_id"),
        id_of(&c, "account_id"),
    );
    let mut f = Forger::new(&app);
    let issuance = f.account("issuance");
    // Two opening balances of BIG each: adjusted_in is 2 × BIG.
    f.transaction("opening_balance", &[(a_acc, 1, BIG, BIG, BIG)]);
    f.transaction("opening_balance", &[(b_acc, 1, BIG, BIG, BIG)]);
    // C earns BIG, spends it, earns BIG again: earned 2 × BIG in the month, redeemed BIG.
    f.transaction("deed_credit", &[(c_acc, 1, BIG, BIG, BIG)]);
    let spent = f.transaction("redemption", &[(c_acc, 2, -BIG, 0, BIG)]);
    f.transaction("deed_credit", &[(c_acc, 3, BIG, BIG, BIG)]);
    // The issuance account takes BIG in, then gives 2 × BIG out: closing −BIG.
    f.transaction("correction", &[(issuance, 1, BIG, BIG, BIG)]);
    f.transaction("correction", &[(issuance, 2, -BIG, 0, BIG)]);
    f.transaction("correction", &[(issuance, 3, -BIG, -BIG, BIG)]);
    f.settle(a_acc, BIG, 1, BIG);
    f.settle(b_acc, BIG, 1, BIG);
    f.settle(c_acc, BIG, 3, BIG);
    f.settle(issuance, -BIG, 3, BIG);
    // Two receipts of BIG each today: the counter's day total is 2 × BIG.
    let clerk: DbUuid = users::table
        .filter(users::username.eq("clerk"))
        .select(users::id)
        .first(&mut f.conn)
        .unwrap();
    let day = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let second = f.transaction("redemption", &[]);
    for journal_id in [spent, second] {
        diesel::insert_into(redemptions::table)
            .values(&RedemptionRow {
                id: DbUuid(uuid::Uuid::now_v7()),
                community_id: f.community,
                member_id: id_of(&c, "id"),
                account_id: c_acc,
                member_no: c["member_no"].as_str().unwrap().into(),
                member_name: "丙".into(),
                clerk_id: clerk,
                clerk_username: "clerk".into(),
                total: BIG,
                balance_after: 0,
                status: moralbank::shop::model::RedemptionStatus::Completed,
                local_day: day.clone(),
                local_month: day[..7].to_string(),
                journal_id,
                created_at: moralbank::db::now_utc(),
                void_journal_id: None,
                voided_at: None,
                voided_by: None,
                void_reason: None,
            })
            .execute(&mut f.conn)
            .unwrap();
    }
    let big = BIG as i128;

    for period in ["", "?from=2000-01-01&to=9999-12-31"] {
        let s = ok(&app, &format!("/api/v1/reports/summary{period}"));
        assert_eq!(s["adjusted_in"], points(2 * big), "{period}: {s}");
        assert_eq!(s["issued"], points(2 * big), "{period}: {s}");
        assert_eq!(s["redeemed"], points(big), "{period}: {s}");
        assert_eq!(s["outstanding"], points(3 * big), "{period}: {s}");
    }
    let roll = ok(
        &app,
        &format!("/api/v1/reports/honor-roll?month={}", &day[..7]),
    );
    assert_eq!(roll["items"][0]["member_name"], "丙", "{roll}");
    assert_eq!(roll["items"][0]["earned"], points(2 * big), "{roll}");
    assert_eq!(roll["items"].as_array().unwrap().len(), 1, "{roll}");

    for period in ["", "?from=2000-01-01&to=9999-12-31"] {
        let st = ok(
            &app,
            &format!("/api/v1/accounts/{}/statement{period}", issuance.0),
        );
        assert_eq!(st["opening_balance"], "0.00", "{period}: {st}");
        assert_eq!(st["closing_balance"], points(-big), "{period}: {st}");
        assert_eq!(st["total_in"], points(big), "{period}: {st}");
        assert_eq!(st["total_out"], points(2 * big), "{period}: {st}");
    }
    let totals = app.get(
        &format!("/api/v1/redemptions/totals?day={day}"),
        &app.admin_token,
    );
    assert_eq!(totals.status, 200, "{}", totals.text);
    assert_eq!(totals.body["redemptions"], 2, "{}", totals.text);
    assert_eq!(
        totals.body["coins_taken"],
        points(2 * big),
        "{}",
        totals.text
    );
}

both_backends!(
    the_stock_value_is_exact_at_the_largest_price_and_stock,
    totals_of_postings_at_the_limits_are_exact,
);
