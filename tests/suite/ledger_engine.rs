//! The ledger writer itself: group commit, rollback and replay, two writers on one database, and
//! random command sequences that must keep every invariant.

use std::time::Duration;

use crate::common::{config_for, Backend, ScratchDb};
use diesel::connection::SimpleConnection;
use moralbank::adjustments::plan::{Adjust, AdjustmentKind};
use moralbank::commands::{Book, Command, Engine, Outcome};
use moralbank::db::DbConn;
use moralbank::kernel::{AccountId, CommunityId, Points, RedemptionId, UserId};
use moralbank::ledger::{EngineSettings, IdempotencyClaim, LedgerError};
use moralbank::members::model::MemberName;
use moralbank::members::store::create_member;
use moralbank::shop::plan::{BasketLine, Redeem, ShopOutcome};
use moralbank::users::store as users;
use proptest::prelude::*;

struct Ledger {
    db: ScratchDb,
    community: CommunityId,
    admin: UserId,
    accounts: Vec<AccountId>,
}

fn ledger(backend: Backend, members: usize) -> Option<Ledger> {
    let db = ScratchDb::new(backend)?;
    let config = config_for(&db.url);
    let pool = moralbank::db::build_pool(&config.database_url).unwrap();
    let boot = moralbank::app::bootstrap::bootstrap(&config, &pool).unwrap();
    let mut conn = pool.get().unwrap();
    let admin = users::user_by_username(&mut conn, boot.community_id, "admin")
        .unwrap()
        .unwrap()
        .id
        .into();
    let accounts = (0..members)
        .map(|i| {
            let name = MemberName::parse(&format!("成员{i}")).unwrap();
            let (_, account) = create_member(&mut conn, boot.community_id, &name, None).unwrap();
            account.id.into()
        })
        .collect();
    Some(Ledger {
        db,
        community: boot.community_id,
        admin,
        accounts,
    })
}

impl Ledger {
    fn engine(&self) -> Engine {
        let url = moralbank::db::DatabaseUrl::parse(&self.db.url).unwrap();
        Engine::start(url, Book::default(), EngineSettings::default())
            .unwrap()
            .0
    }

    fn adjust(&self, account: AccountId, hundredths: i64, key: &str) -> Command {
        Command::Adjust(Adjust {
            community_id: self.community,
            member_account_id: account,
            kind: AdjustmentKind::Correction,
            amount: Points::from_hundredths(hundredths),
            reason: "test".into(),
            actor: moralbank::kernel::Actor {
                user_id: self.admin,
                member_id: None,
            },
            idempotency: IdempotencyClaim {
                user_id: self.admin,
                key: key.into(),
                request_hash: "h".into(),
            },
        })
    }

    fn verify_ok(&self) -> moralbank::ledger::verify::VerifyReport {
        let mut conn = self.db.connect();
        let report = moralbank::ledger::verify::verify_ledger(&mut conn, None).unwrap();
        assert!(report.ok, "{:?}", report.problems);
        report
    }

    fn balance(&self, account: AccountId) -> i64 {
        use diesel::prelude::*;
        use moralbank::db::schema::accounts;
        let mut conn = self.db.connect();
        accounts::table
            .find(moralbank::db::DbUuid::from(account))
            .select(accounts::balance)
            .first(&mut conn)
            .unwrap()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Blocks the writer: SQLite by holding the write lock, PostgreSQL by locking the chain head.
fn block_writer(backend: Backend, ledger: &Ledger) -> DbConn {
    let mut blocker = ledger.db.connect();
    match backend {
        Backend::Sqlite => blocker.batch_execute("BEGIN IMMEDIATE").unwrap(),
        Backend::Postgres => blocker
            .batch_execute(&format!(
                "BEGIN; SELECT * FROM communities WHERE id = '{}' FOR UPDATE",
                ledger.community
            ))
            .unwrap(),
    }
    blocker
}

fn commands_queued_together_commit_together(backend: Backend) {
    let Some(ledger) = ledger(backend, 1) else {
        return;
    };
    let engine = engine_with_credit(&ledger, 100_000);
    let batches_before = engine
        .stats()
        .batches
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut blocker = block_writer(backend, &ledger);
    let rt = runtime();
    let results = rt.block_on(async {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let engine = engine.clone();
                let command = ledger.adjust(ledger.accounts[0], -100, &format!("g{i}"));
                tokio::spawn(async move { engine.execute(command).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        blocker.batch_execute("COMMIT").unwrap();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap());
        }
        results
    });
    assert!(
        results.iter().all(|r| matches!(r, Ok(Outcome::Posted(_)))),
        "{results:?}"
    );
    let batches = engine
        .stats()
        .batches
        .load(std::sync::atomic::Ordering::Relaxed)
        - batches_before;
    assert!(
        batches <= 4,
        "64 queued commands took {batches} transactions"
    );
    assert_eq!(ledger.balance(ledger.accounts[0]), 100_000 - 64 * 100);
    ledger.verify_ok();
}

fn engine_with_credit(ledger: &Ledger, hundredths: i64) -> Engine {
    let engine = ledger.engine();
    let outcome =
        runtime().block_on(engine.execute(ledger.adjust(ledger.accounts[0], hundredths, "seed")));
    assert!(matches!(outcome, Ok(Outcome::Posted(_))), "{outcome:?}");
    engine
}

/// One command in a batch meets a change only the database knows about (another instance froze
/// the account after the writer read it); the batch rolls back, replays one command per
/// savepoint on fresh rows, and only that command fails.
fn a_failing_command_fails_alone_after_replay(backend: Backend) {
    let Some(ledger) = ledger(backend, 2) else {
        return;
    };
    let engine = engine_with_credit(&ledger, 10_000);
    let frozen = ledger.accounts[1];
    // The writer reads the second account into its view.
    let seeded = runtime().block_on(engine.execute(ledger.adjust(frozen, 10_000, "seed-1")));
    assert!(matches!(seeded, Ok(Outcome::Posted(_))), "{seeded:?}");
    let mut blocker = block_writer(backend, &ledger);
    blocker
        .batch_execute(&format!(
            "UPDATE accounts SET status = 'frozen', version = version + 1 WHERE id = '{}'",
            frozen.0
        ))
        .unwrap();
    let rt = runtime();
    let results = rt.block_on(async {
        let commands = [
            (ledger.accounts[0], "r0"),
            (ledger.accounts[0], "r1"),
            (frozen, "r2"),
            (ledger.accounts[0], "r3"),
            (ledger.accounts[0], "r4"),
        ];
        let handles: Vec<_> = commands
            .iter()
            .map(|(account, key)| {
                let engine = engine.clone();
                let command = ledger.adjust(*account, -100, key);
                tokio::spawn(async move { engine.execute(command).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        blocker.batch_execute("COMMIT").unwrap();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap());
        }
        results
    });
    assert_eq!(results[2], Err(LedgerError::AccountFrozen(frozen)));
    for (i, r) in results.iter().enumerate() {
        if i != 2 {
            assert!(matches!(r, Ok(Outcome::Posted(_))), "{i}: {r:?}");
        }
    }
    assert!(
        engine
            .stats()
            .replays
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    assert_eq!(ledger.balance(ledger.accounts[0]), 10_000 - 4 * 100);
    assert_eq!(ledger.balance(frozen), 10_000);
    let report = ledger.verify_ok();
    assert_eq!(report.checked_transactions, 6);
}

/// A retry of a command whose key is already stored is recognised before anything is checked:
/// it is refused as taken (the API then answers the first answer), even when the ledger has
/// moved on so far that the command itself would now be refused.
fn a_stored_key_is_recognised_before_any_check(backend: Backend) {
    let Some(ledger) = ledger(backend, 1) else {
        return;
    };
    let engine = engine_with_credit(&ledger, 100);
    let rt = runtime();
    let first = rt.block_on(engine.execute(ledger.adjust(ledger.accounts[0], -100, "spend")));
    assert!(matches!(first, Ok(Outcome::Posted(_))), "{first:?}");
    // The balance is now 0: the same debit again would be insufficient_balance.
    let retry = rt.block_on(engine.execute(ledger.adjust(ledger.accounts[0], -100, "spend")));
    assert_eq!(retry, Err(LedgerError::IdempotencyKeyTaken));
    // A fresh writer (another instance, or after a restart) knows it from the database alone.
    let other = ledger.engine();
    let retry = rt.block_on(other.execute(ledger.adjust(ledger.accounts[0], -100, "spend")));
    assert_eq!(retry, Err(LedgerError::IdempotencyKeyTaken));
    assert_eq!(ledger.balance(ledger.accounts[0]), 0);

    // Two redemptions with one key in one batch: the second is the first's retry and is
    // recognised before the stock check, though the first took the last item.
    let (member, goods) = {
        use moralbank::shop::store as shop;
        let mut conn = ledger.db.connect();
        let name = MemberName::parse("重试者").unwrap();
        let (member, account) = create_member(&mut conn, ledger.community, &name, None).unwrap();
        let goods = moralbank::db::write_transaction(&mut conn, |conn| {
            shop::create_goods(
                conn,
                &shop::NewGoods {
                    community: ledger.community,
                    sku: "LAST",
                    name: "最后一件",
                    price: 100,
                    stock: 1,
                    monthly_limit: None,
                    actor: ledger.admin,
                },
            )
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))
        })
        .unwrap();
        let credit = rt.block_on(engine.execute(ledger.adjust(account.id.into(), 1_000, "m")));
        assert!(matches!(credit, Ok(Outcome::Posted(_))), "{credit:?}");
        (member, goods)
    };
    let redeem = || {
        Command::Redeem(Box::new(Redeem {
            community_id: ledger.community,
            redemption_id: RedemptionId::new(),
            member_id: member.id.into(),
            clerk: moralbank::kernel::Actor {
                user_id: ledger.admin,
                member_id: None,
            },
            clerk_username: "admin".into(),
            lines: vec![BasketLine {
                goods_id: goods.id.into(),
                quantity: 1,
            }],
            expected_total: None,
            pay_from: None,
            idempotency: IdempotencyClaim {
                user_id: ledger.admin,
                key: "basket".into(),
                request_hash: "h".into(),
            },
        }))
    };
    let mut blocker = block_writer(backend, &ledger);
    let results = rt.block_on(async {
        // The writer takes this one alone and waits on the blocker; the two queue behind it and
        // share the next batch.
        let first = {
            let engine = engine.clone();
            let command = ledger.adjust(ledger.accounts[0], 100, "occupy");
            tokio::spawn(async move { engine.execute(command).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let engine = engine.clone();
                let command = redeem();
                tokio::spawn(async move { engine.execute(command).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        blocker.batch_execute("COMMIT").unwrap();
        assert!(matches!(first.await.unwrap(), Ok(Outcome::Posted(_))));
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap());
        }
        results
    });
    let redeemed = results
        .iter()
        .filter(|r| matches!(r, Ok(Outcome::Shop(ShopOutcome::Redeemed { .. }))))
        .count();
    let taken = results
        .iter()
        .filter(|r| **r == Err(LedgerError::IdempotencyKeyTaken))
        .count();
    assert_eq!((redeemed, taken), (1, 1), "{results:?}");
    ledger.verify_ok();
}

/// Two writers (as two app instances would have) share one database: each one's view goes stale
/// when the other writes, the version guard notices, and the ledger stays exact.
fn two_writers_keep_one_consistent_ledger(backend: Backend) {
    let Some(ledger) = ledger(backend, 2) else {
        return;
    };
    let first = ledger.engine();
    let second = ledger.engine();
    let rt = runtime();
    rt.block_on(async {
        let seed = first
            .execute(ledger.adjust(ledger.accounts[0], 50_000, "s0"))
            .await;
        assert!(seed.is_ok(), "{seed:?}");
        let seed = second
            .execute(ledger.adjust(ledger.accounts[1], 50_000, "s1"))
            .await;
        assert!(seed.is_ok(), "{seed:?}");
        let mut handles = Vec::new();
        for i in 0..200 {
            let engine = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            // Both writers debit both members, so each keeps finding the other's writes.
            let command = ledger.adjust(ledger.accounts[(i / 2) % 2], -100, &format!("w{i}"));
            handles.push(tokio::spawn(async move { engine.execute(command).await }));
        }
        for h in handles {
            let result = h.await.unwrap();
            assert!(matches!(result, Ok(Outcome::Posted(_))), "{result:?}");
        }
    });
    assert_eq!(ledger.balance(ledger.accounts[0]), 50_000 - 100 * 100);
    assert_eq!(ledger.balance(ledger.accounts[1]), 50_000 - 100 * 100);
    let replays = first
        .stats()
        .replays
        .load(std::sync::atomic::Ordering::Relaxed)
        + second
            .stats()
            .replays
            .load(std::sync::atomic::Ordering::Relaxed);
    assert!(replays > 0, "the writers never noticed each other's writes");
    let report = ledger.verify_ok();
    assert_eq!(report.checked_transactions, 202);
}

#[derive(Debug, Clone)]
enum Step {
    Credit(usize, i64),
    Debit(usize, i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..3usize, 1..5_000i64).prop_map(|(m, a)| Step::Credit(m, a)),
        (0..3usize, 1..8_000i64).prop_map(|(m, a)| Step::Debit(m, a)),
    ]
}

/// Random credits and debits, sent concurrently: the ledger agrees with a model that applies
/// them in the writer's order, never goes negative, and verifies clean.
fn random_sequences_keep_every_invariant(backend: Backend, cases: u32) {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(step(), 1..60), |steps| {
            let Some(ledger) = ledger(backend, 3) else {
                return Ok(());
            };
            let engine = ledger.engine();
            let rt = runtime();
            let results = rt.block_on(async {
                let handles: Vec<_> = steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let (m, amount) = match s {
                            Step::Credit(m, a) => (*m, *a),
                            Step::Debit(m, a) => (*m, -*a),
                        };
                        let engine = engine.clone();
                        let command = ledger.adjust(ledger.accounts[m], amount, &format!("p{i}"));
                        tokio::spawn(async move { (m, amount, engine.execute(command).await) })
                    })
                    .collect();
                let mut out = Vec::new();
                for h in handles {
                    out.push(h.await.unwrap());
                }
                out
            });
            // Replay the writer's decisions, in journal order, against a model.
            let mut posted: Vec<(i64, usize, i64, i64)> = Vec::new();
            let mut expected = [0i64; 3];
            for (m, amount, result) in &results {
                match result {
                    Ok(Outcome::Posted(p)) => {
                        let line = p.line_for(ledger.accounts[*m]).unwrap();
                        prop_assert_eq!(line.amount.hundredths(), *amount);
                        posted.push((p.seq, *m, *amount, line.balance_after.hundredths()));
                        expected[*m] += amount;
                    }
                    Err(LedgerError::InsufficientBalance {
                        balance, required, ..
                    }) => {
                        prop_assert!(*amount < 0);
                        prop_assert_eq!(required.hundredths(), -amount);
                        prop_assert!(balance.hundredths() < -amount);
                    }
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
            posted.sort();
            let mut running = [0i64; 3];
            for (seq_index, (seq, m, amount, balance_after)) in posted.iter().enumerate() {
                prop_assert_eq!(*seq, seq_index as i64 + 1);
                running[*m] += amount;
                prop_assert!(running[*m] >= 0);
                prop_assert_eq!(running[*m], *balance_after);
            }
            for (account, expected) in ledger.accounts.iter().zip(expected) {
                prop_assert_eq!(ledger.balance(*account), expected);
            }
            ledger.verify_ok();
            Ok(())
        })
        .unwrap();
}

#[test]
fn commands_queued_together_commit_together_sqlite() {
    commands_queued_together_commit_together(Backend::Sqlite);
}
#[test]
fn commands_queued_together_commit_together_postgres() {
    commands_queued_together_commit_together(Backend::Postgres);
}
#[test]
fn a_failing_command_fails_alone_after_replay_sqlite() {
    a_failing_command_fails_alone_after_replay(Backend::Sqlite);
}
#[test]
fn a_failing_command_fails_alone_after_replay_postgres() {
    a_failing_command_fails_alone_after_replay(Backend::Postgres);
}
#[test]
fn a_stored_key_is_recognised_before_any_check_sqlite() {
    a_stored_key_is_recognised_before_any_check(Backend::Sqlite);
}
#[test]
fn a_stored_key_is_recognised_before_any_check_postgres() {
    a_stored_key_is_recognised_before_any_check(Backend::Postgres);
}
#[test]
fn two_writers_keep_one_consistent_ledger_sqlite() {
    two_writers_keep_one_consistent_ledger(Backend::Sqlite);
}
#[test]
fn two_writers_keep_one_consistent_ledger_postgres() {
    two_writers_keep_one_consistent_ledger(Backend::Postgres);
}
/// SQLite: the log is copied into the database file in the background, long before the
/// writer's own (backstop) checkpoint would run, and nothing acknowledged depends on it.
#[test]
fn sqlite_checkpoints_happen_off_the_writer() {
    let ledger = ledger(Backend::Sqlite, 1).expect("sqlite");
    let path = ledger
        .db
        .url
        .strip_prefix("sqlite://")
        .expect("a sqlite url")
        .to_string();
    let engine = engine_with_credit(&ledger, 1_000_000);
    // Let any checkpoint of the set-up finish, then note the database file's size.
    std::thread::sleep(Duration::from_millis(600));
    let before = std::fs::metadata(&path).unwrap().len();
    let rt = runtime();
    for i in 0..300 {
        let outcome =
            rt.block_on(engine.execute(ledger.adjust(ledger.accounts[0], -100, &format!("c{i}"))));
        assert!(matches!(outcome, Ok(Outcome::Posted(_))), "{outcome:?}");
    }
    // 300 transactions are far fewer log pages than the writer's backstop (10,000): only the
    // checkpointer can have grown the database file.
    let grown = (0..40).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        std::fs::metadata(&path).unwrap().len() > before
    });
    assert!(grown, "nothing was checkpointed into {path}");
    assert_eq!(ledger.balance(ledger.accounts[0]), 1_000_000 - 300 * 100);
    ledger.verify_ok();
}

#[test]
fn random_sequences_keep_every_invariant_sqlite() {
    random_sequences_keep_every_invariant(Backend::Sqlite, 24);
}
#[test]
fn random_sequences_keep_every_invariant_postgres() {
    random_sequences_keep_every_invariant(Backend::Postgres, 12);
}

/// Two writers approving capped deeds with a notice period (no coins move yet): the monthly cap
/// still holds across them.
fn a_monthly_cap_holds_across_two_writers(backend: Backend) {
    use moralbank::deeds::model::{DeedAction, DeedStatus, Direction, ReviewStages, Unit};
    use moralbank::deeds::plan::{DeedCommand, Step};
    use moralbank::deeds::store::{self as store, DeedEventRow, DeedRow, RuleTerms};
    use moralbank::kernel::{DeedId, Role, RoleSet};
    let Some(ledger) = ledger(backend, 1) else {
        return;
    };
    let mut conn = ledger.db.connect();
    let (rule, version) = store::create_rule(
        &mut conn,
        ledger.community,
        "CAP",
        &RuleTerms {
            name: "封顶".into(),
            category: "c".into(),
            points: 1000,
            unit: Unit::Event,
            direction: Direction::Earn,
            monthly_cap: Some(3000),
            per_deed_cap: None,
        },
        ledger.admin,
    )
    .unwrap();
    let mut roles = RoleSet::default();
    roles.insert(Role::Admin);
    let approver: UserId = users::insert_user(
        &mut conn,
        &users::NewUser {
            community: ledger.community,
            username: "approver",
            password_hash: "x",
            roles,
            member: None,
            display_name: None,
        },
    )
    .unwrap()
    .id
    .into();
    let member_id = {
        use diesel::prelude::*;
        use moralbank::db::schema::accounts;
        accounts::table
            .find(moralbank::db::DbUuid::from(ledger.accounts[0]))
            .select(accounts::member_id)
            .first::<Option<moralbank::db::DbUuid>>(&mut conn)
            .unwrap()
            .unwrap()
    };
    let deeds: Vec<DeedId> = (0..10)
        .map(|_| {
            let now = moralbank::db::now_utc();
            let deed = DeedRow {
                id: DeedId::new().into(),
                community_id: ledger.community.into(),
                member_id,
                account_id: ledger.accounts[0].into(),
                rule_id: rule.id,
                rule_version_id: version.id,
                rule_name: version.name.clone(),
                direction: Direction::Earn,
                quantity: 100,
                counted_quantity: 100,
                points: 1000,
                monthly_cap: Some(3000),
                occurred_on: "2026-11-01".into(),
                description: "d".into(),
                evidence: "[]".into(),
                status: DeedStatus::Submitted,
                submitted_by: ledger.admin.into(),
                cap_month: None,
                notice_ends_at: None,
                applied_points: None,
                credit_journal_id: None,
                reversal_journal_id: None,
                version: 0,
                created_at: now,
                updated_at: now,
                first_checked_by: None,
            };
            let event = DeedEventRow {
                id: moralbank::db::DbUuid(uuid::Uuid::now_v7()),
                deed_id: deed.id,
                community_id: deed.community_id,
                action: DeedAction::Submit,
                from_status: None,
                to_status: DeedStatus::Submitted,
                actor_id: None,
                reason: None,
                created_at: now,
            };
            store::insert_deed(&mut conn, &deed, &event).unwrap();
            deed.id.into()
        })
        .collect();
    drop(conn);
    let engines = [ledger.engine(), ledger.engine()];
    let now = moralbank::db::now_utc();
    let results = runtime().block_on(async {
        let handles: Vec<_> = deeds
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let engine = engines[i % 2].clone();
                let command = Command::Deed(DeedCommand {
                    community_id: ledger.community,
                    deed_id: *id,
                    step: Step::Approve {
                        actor: moralbank::kernel::Actor {
                            user_id: approver,
                            member_id: None,
                        },
                        stages: ReviewStages::One,
                        notice_days: 3,
                    },
                    clock_now: now,
                });
                tokio::spawn(async move { engine.execute(command).await })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    });
    let approved = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        approved, 3,
        "a cap of 30 takes three deeds of 10: {results:?}"
    );
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(r, Err(LedgerError::MonthlyCapExceeded { .. })),
            "{r:?}"
        );
    }
    ledger.verify_ok();
}

#[test]
fn a_monthly_cap_holds_across_two_writers_sqlite() {
    a_monthly_cap_holds_across_two_writers(Backend::Sqlite);
}
#[test]
fn a_monthly_cap_holds_across_two_writers_postgres() {
    a_monthly_cap_holds_across_two_writers(Backend::Postgres);
}
