//! Adjustments: opening balances from paper and corrections, exactly once, never overdrawn.

use crate::common::TestApp;
use serde_json::json;

fn an_opening_balance_credits_and_a_correction_debits(app: TestApp) {
    let member = app.create_member("王芳");
    let member_id = member["id"].as_str().unwrap();
    let account_id = member["account_id"].as_str().unwrap();

    let credit = app.adjust(
        "k-open",
        member_id,
        "35.50",
        "opening_balance",
        "纸质存折结转",
    );
    assert_eq!(credit.status, 201, "{}", credit.text);
    assert_eq!(credit.body["balance"], "35.50");
    assert_eq!(credit.body["amount"], "35.50");
    assert_eq!(credit.body["kind"], "opening_balance");
    assert_eq!(credit.body["reason"], "纸质存折结转");
    assert_eq!(credit.body["seq"], 1);

    let debit = app.adjust("k-fix", member_id, "-5.25", "correction", "重复登记");
    assert_eq!(debit.status, 201, "{}", debit.text);
    assert_eq!(debit.body["balance"], "30.25");
    assert_eq!(debit.body["amount"], "-5.25");
    assert_eq!(debit.body["seq"], 2);

    assert_eq!(app.balance_of(account_id), "30.25");
    let verify = app.verify();
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["checked_transactions"], 2);
    assert_eq!(verify["checked_postings"], 4);
    let (_, postings, sum) = app.ledger_snapshot();
    assert_eq!((postings, sum), (4, 0));
}

fn an_overdraft_is_refused_and_nothing_is_written(app: TestApp) {
    let member = app.create_member("赵六");
    let member_id = member["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("a", member_id, "10", "opening_balance", "r")
            .status,
        201
    );
    let before = app.ledger_snapshot();
    let counts_before = app.ledger_counts();

    let refused = app.adjust("b", member_id, "-10.01", "correction", "too much");
    refused.assert_problem(422, "insufficient_balance");
    assert_eq!(refused.body["balance"], "10.00");
    assert_eq!(refused.body["required"], "10.01");

    assert_eq!(app.ledger_snapshot(), before);
    // No journal row and no posting; the refusal is kept as the answer to its key.
    let (journal, postings, keys) = app.ledger_counts();
    assert_eq!(
        (journal, postings, keys),
        (counts_before.0, counts_before.1, counts_before.2 + 1)
    );
    // Exactly the balance is allowed: it reaches zero, not below.
    let exact = app.adjust("c", member_id, "-10", "correction", "all of it");
    assert_eq!(exact.status, 201, "{}", exact.text);
    assert_eq!(exact.body["balance"], "0.00");
}

fn a_replay_with_the_same_key_returns_the_first_answer_once(app: TestApp) {
    let member = app.create_member("孙七");
    let member_id = member["id"].as_str().unwrap();
    let first = app.adjust(
        "same-key",
        member_id,
        "12.00",
        "opening_balance",
        "carry over",
    );
    assert_eq!(first.status, 201);
    let again = app.adjust(
        "same-key",
        member_id,
        "12.00",
        "opening_balance",
        "carry over",
    );
    assert_eq!(again.status, 201);
    assert_eq!(
        again.text, first.text,
        "the replay is byte for byte the first answer"
    );
    assert_eq!(
        app.balance_of(member["account_id"].as_str().unwrap()),
        "12.00"
    );
    assert_eq!(app.ledger_counts(), (1, 2, 1));

    // Still the same after a restart: the answer comes from the database, not from memory.
    let mut app = app;
    app.restart();
    let after_restart = app.adjust(
        "same-key",
        member_id,
        "12.00",
        "opening_balance",
        "carry over",
    );
    assert_eq!(after_restart.text, first.text);
    assert_eq!(app.ledger_counts(), (1, 2, 1));
}

fn the_same_key_with_another_body_is_refused(app: TestApp) {
    let member = app.create_member("周八");
    let member_id = member["id"].as_str().unwrap();
    assert_eq!(
        app.adjust("k", member_id, "5", "opening_balance", "r")
            .status,
        201
    );
    let counts = app.ledger_counts();
    let other = app.adjust("k", member_id, "6", "opening_balance", "r");
    other.assert_problem(422, "idempotency_key_reused");
    assert_eq!(app.ledger_counts(), counts);
}

fn an_adjustment_needs_an_idempotency_key(app: TestApp) {
    let member = app.create_member("吴九");
    let resp = app.request(
        "POST",
        "/api/v1/adjustments",
        Some(&app.admin_token),
        &[],
        Some(
            &json!({"member_id": member["id"], "amount": "1", "kind": "correction", "reason": "r"})
                .to_string(),
        ),
    );
    resp.assert_problem(400, "idempotency_key_missing");
    let long_key = "k".repeat(129);
    let resp = app.request(
        "POST",
        "/api/v1/adjustments",
        Some(&app.admin_token),
        &[("Idempotency-Key", &long_key)],
        Some(
            &json!({"member_id": member["id"], "amount": "1", "kind": "correction", "reason": "r"})
                .to_string(),
        ),
    );
    resp.assert_problem(400, "idempotency_key_invalid");
    assert_eq!(app.ledger_counts(), (0, 0, 0));
}

fn an_opening_balance_must_be_positive_and_admins_cannot_adjust_themselves(app: TestApp) {
    let member = app.create_member("郑十");
    let member_id = member["id"].as_str().unwrap();
    app.adjust("n", member_id, "-1", "opening_balance", "r")
        .assert_problem(422, "validation_failed");
    // A blank reason is refused, naming the field, so a form can say it beside the box.
    let blank = app.adjust("b", member_id, "1", "correction", "  ");
    blank.assert_problem(422, "validation_failed");
    assert_eq!(blank.body["field"], "reason", "{}", blank.text);
    let long = app.adjust("l", member_id, "1", "correction", &"长".repeat(1000));
    long.assert_problem(422, "validation_failed");
    assert_eq!(long.body["field"], "reason", "{}", long.text);
    assert_eq!(app.ledger_counts().0, 0, "nothing was posted");
    // An admin who is also a resident may not credit their own passbook.
    let admin_member = app.create_member("管理员本人");
    let admin2 = app.user_with_roles(
        "admin2",
        &["admin", "resident"],
        admin_member["id"].as_str(),
    );
    let resp = app.request(
        "POST",
        "/api/v1/adjustments",
        Some(&admin2),
        &[("Idempotency-Key", "self")],
        Some(&json!({"member_id": admin_member["id"], "amount": "100", "kind": "opening_balance", "reason": "mine"}).to_string()),
    );
    resp.assert_problem(403, "forbidden_self_adjustment");
    // Nothing posted; the refusal is the key's answer from now on.
    assert_eq!(app.ledger_counts(), (0, 0, 1));
}

/// 32 clients × 50 debits of 1.00 against a balance of 500.00: exactly 500 succeed.
fn concurrent_debits_never_overdraw(app: TestApp) {
    const CLIENTS: usize = 32;
    const DEBITS_PER_CLIENT: usize = 50;
    let member = app.create_member("并发测试");
    let member_id = member["id"].as_str().unwrap().to_string();
    let account_id = member["account_id"].as_str().unwrap().to_string();
    assert_eq!(
        app.adjust("seed", &member_id, "500", "opening_balance", "seed")
            .status,
        201
    );

    let results: Vec<(usize, usize, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let app = &app;
                let member_id = member_id.clone();
                let account_id = account_id.clone();
                scope.spawn(move || {
                    let (mut ok, mut refused, mut negative_seen) = (0, 0, 0);
                    for n in 0..DEBITS_PER_CLIENT {
                        let resp = app.adjust(
                            &format!("debit-{client}-{n}"),
                            &member_id,
                            "-1.00",
                            "correction",
                            "load",
                        );
                        match resp.status {
                            201 => {
                                ok += 1;
                                if resp.body["balance"].as_str().unwrap().starts_with('-') {
                                    negative_seen += 1;
                                }
                            }
                            422 => {
                                assert_eq!(resp.code(), "insufficient_balance", "{}", resp.text);
                                refused += 1
                            }
                            other => panic!("unexpected {other}: {}", resp.text),
                        }
                        if n % 10 == 0 {
                            let balance = app.balance_of(&account_id);
                            assert!(
                                !balance.starts_with('-'),
                                "balance went negative: {balance}"
                            );
                        }
                    }
                    (ok, refused, negative_seen)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok: usize = results.iter().map(|r| r.0).sum();
    let refused: usize = results.iter().map(|r| r.1).sum();
    let negative: usize = results.iter().map(|r| r.2).sum();
    assert_eq!(ok, 500, "exactly the balance's worth of debits succeed");
    assert_eq!(refused, CLIENTS * DEBITS_PER_CLIENT - 500);
    assert_eq!(negative, 0);
    assert_eq!(app.balance_of(&account_id), "0.00");
    let (_, postings, sum) = app.ledger_snapshot();
    assert_eq!(postings, 2 * 501);
    assert_eq!(sum, 0, "all postings sum to zero");
    let verify = app.verify();
    assert_eq!(verify["ok"], true, "{verify}");
}

both_backends!(
    an_opening_balance_credits_and_a_correction_debits,
    an_overdraft_is_refused_and_nothing_is_written,
    a_replay_with_the_same_key_returns_the_first_answer_once,
    the_same_key_with_another_body_is_refused,
    an_adjustment_needs_an_idempotency_key,
    an_opening_balance_must_be_positive_and_admins_cannot_adjust_themselves,
    concurrent_debits_never_overdraw,
);
