//! The workflow's planning on a view built by hand: no database, a fixed clock, counted ids.

use super::*;
use crate::kernel::AccountKind;
use crate::ledger::view::{AccountState, CommunityState};
use crate::ledger::IdSource;

/// The tables a deeds batch writes.
static TABLES: [&crate::ledger::store::TableWrite; 8] = [
    &crate::ledger::batch::JOURNAL,
    &crate::ledger::batch::LEDGER_TREE,
    &crate::ledger::batch::POSTINGS,
    &crate::deeds::write::DEEDS,
    &crate::deeds::write::DEED_EVENTS,
    &crate::deeds::write::DEED_OBJECTIONS,
    &crate::deeds::write::OBJECTION_RULINGS,
    &crate::ledger::batch::ACCOUNTS,
];

fn id(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

fn now() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-11-30 17:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
}

fn actor(n: u128) -> Actor {
    Actor {
        user_id: UserId::from_uuid(id(n)),
        member_id: None,
    }
}

fn state(kind: AccountKind, balance: i64) -> AccountState {
    AccountState {
        community_id: CommunityId::from_uuid(id(1)),
        kind,
        member_id: None,
        member_active: true,
        member_no: String::new(),
        member_name: String::new(),
        frozen: false,
        balance,
        credits: balance.max(0),
        last_seq: 0,
        version: 0,
    }
}

/// A community, a member with 3.00, and one submitted deed worth 10.00 (capped at 15.00 a
/// month) submitted by user 50.
fn views(direction: Direction, status: DeedStatus) -> (View, DeedView, DeedRow) {
    let mut ledger = View::default();
    ledger
        .accounts
        .insert(AccountId::from_uuid(id(3)), state(AccountKind::Member, 300));
    for (n, kind) in [(4, AccountKind::Issuance), (5, AccountKind::Deductions)] {
        ledger
            .accounts
            .insert(AccountId::from_uuid(id(n)), state(kind, 0));
    }
    ledger.communities.insert(
        CommunityId::from_uuid(id(1)),
        CommunityState {
            chain_seq: 0,
            chain_hash: "0".repeat(64),
            chain_version: 0,
            tree: Default::default(),
            utc_offset_minutes: 480,
            issuance_account: Some(AccountId::from_uuid(id(4))),
            shop_account: None,
            deductions_account: Some(AccountId::from_uuid(id(5))),
            holds_account: None,
            expired_account: None,
            fund_account: None,
        },
    );
    let deed = DeedRow {
        id: DbUuid(id(10)),
        community_id: DbUuid(id(1)),
        member_id: DbUuid(id(2)),
        account_id: DbUuid(id(3)),
        rule_id: DbUuid(id(6)),
        rule_version_id: DbUuid(id(7)),
        rule_name: "志愿服务".into(),
        direction,
        quantity: 100,
        counted_quantity: 100,
        points: 1000,
        monthly_cap: Some(1500),
        occurred_on: "2026-11-30".into(),
        description: "扫雪".into(),
        evidence: "[]".into(),
        status,
        submitted_by: DbUuid(id(50)),
        cap_month: None,
        notice_ends_at: None,
        applied_points: None,
        credit_journal_id: None,
        reversal_journal_id: None,
        version: 4,
        created_at: now(),
        updated_at: now(),
        first_checked_by: None,
    };
    let mut deeds = DeedView::default();
    deeds.deeds.insert(DeedId::from_uuid(id(10)), deed.clone());
    deeds.cap_sums.insert(
        (
            MemberId::from_uuid(id(2)),
            RuleId::from_uuid(id(6)),
            "2026-12".into(),
        ),
        0,
    );
    (ledger, deeds, deed)
}

fn run(ledger: &View, deeds: &DeedView, step: Step) -> (Result<DeedOutcome, LedgerError>, Batch) {
    let mut batch = Batch::new(&TABLES, IdSource::Counter(500));
    let mut pending = DeedPending::default();
    let result = Deeds {
        ledger,
        view: deeds,
        batch: &mut batch,
        pending: &mut pending,
        now: now(),
    }
    .run(&DeedCommand {
        community_id: CommunityId::from_uuid(id(1)),
        deed_id: DeedId::from_uuid(id(10)),
        step,
        clock_now: now(),
    });
    (result, batch)
}

fn approve(by: Actor, notice_days: i32) -> Step {
    Step::Approve {
        actor: by,
        stages: ReviewStages::One,
        notice_days,
    }
}

#[test]
fn approval_without_notice_credits_at_once_in_the_community_month() {
    let (ledger, deeds, _) = views(Direction::Earn, DeedStatus::Submitted);
    let (result, batch) = run(&ledger, &deeds, approve(actor(60), 0));
    let outcome = result.unwrap();
    assert_eq!(outcome.deed.status, DeedStatus::Credited);
    assert_eq!(outcome.deed.cap_month.as_deref(), Some("2026-12"));
    assert_eq!(outcome.deed.applied_points, Some(1000));
    assert_eq!(outcome.posted.unwrap().seq, 1);
    assert_eq!(batch.accounts[&AccountId::from_uuid(id(3))].1.balance, 1300);
}

#[test]
fn approval_with_notice_moves_no_coins_but_holds_the_chain_head() {
    let (ledger, deeds, _) = views(Direction::Earn, DeedStatus::Submitted);
    let (result, batch) = run(&ledger, &deeds, approve(actor(60), 7));
    let outcome = result.unwrap();
    assert_eq!(outcome.deed.status, DeedStatus::Approved);
    assert!(outcome.posted.is_none());
    assert!(batch.accounts.is_empty());
    assert_eq!(batch.heads[&CommunityId::from_uuid(id(1))].1.chain_seq, 0);
}

#[test]
fn nobody_decides_their_own_submission_and_caps_hold() {
    let (ledger, deeds, _) = views(Direction::Earn, DeedStatus::Submitted);
    let (result, batch) = run(&ledger, &deeds, approve(actor(50), 0));
    assert!(
        matches!(result, Err(LedgerError::SelfDealing(_))),
        "{result:?}"
    );
    assert!(batch.is_empty());
    let (ledger, mut deeds, _) = views(Direction::Earn, DeedStatus::Submitted);
    let key = (
        MemberId::from_uuid(id(2)),
        RuleId::from_uuid(id(6)),
        "2026-12".into(),
    );
    deeds.cap_sums.insert(key, 1000);
    let (result, _) = run(&ledger, &deeds, approve(actor(60), 0));
    assert!(
        matches!(result, Err(LedgerError::MonthlyCapExceeded { .. })),
        "{result:?}"
    );
}

#[test]
fn a_deduction_takes_no_more_than_the_balance_holds() {
    let (ledger, deeds, _) = views(Direction::Deduct, DeedStatus::Submitted);
    let (result, batch) = run(&ledger, &deeds, approve(actor(60), 0));
    let outcome = result.unwrap();
    assert_eq!(outcome.deed.applied_points, Some(300));
    assert_eq!(batch.accounts[&AccountId::from_uuid(id(3))].1.balance, 0);
}

/// Runs steps one after another on the same pending state, as one batch does.
fn run_all(
    ledger: &View,
    deeds: &DeedView,
    steps: Vec<(Step, NaiveDateTime)>,
) -> Vec<Result<DeedOutcome, LedgerError>> {
    let mut batch = Batch::new(&TABLES, IdSource::Counter(500));
    let mut pending = DeedPending::default();
    steps
        .into_iter()
        .map(|(step, at)| {
            Deeds {
                ledger,
                view: deeds,
                batch: &mut batch,
                pending: &mut pending,
                now: at,
            }
            .run(&DeedCommand {
                community_id: CommunityId::from_uuid(id(1)),
                deed_id: DeedId::from_uuid(id(10)),
                step,
                clock_now: at,
            })
        })
        .collect()
}

fn on_notice() -> (View, DeedView) {
    let (ledger, mut deeds, mut deed) = views(Direction::Earn, DeedStatus::Approved);
    deed.notice_ends_at = Some(now() + chrono::Duration::days(2));
    deed.cap_month = Some("2026-12".into());
    deeds.deeds.insert(DeedId::from_uuid(id(10)), deed);
    (ledger, deeds)
}

fn object(by: u128) -> Step {
    Step::Object {
        actor: actor(by),
        reason: "并非本人".into(),
    }
}

fn rule(objection: uuid::Uuid, uphold: bool, reason: Option<&str>) -> Step {
    Step::RuleObjection {
        actor: actor(60),
        objection_id: objection,
        uphold,
        reason: reason.map(str::to_string),
    }
}

#[test]
fn an_objection_is_recorded_and_holds_the_crediting_until_ruled() {
    let (ledger, deeds) = on_notice();
    let later = now() + chrono::Duration::days(3);
    let results = run_all(
        &ledger,
        &deeds,
        vec![(object(70), now()), (Step::CreditDue, later)],
    );
    let raised = results[0].as_ref().unwrap();
    assert_eq!(raised.deed.status, DeedStatus::Approved);
    let objection = raised.objection.as_ref().unwrap();
    assert_eq!(objection.status, ObjectionStatus::Open);
    assert_eq!(objection.raised_by, DbUuid(id(70)));
    assert_eq!(
        results[1],
        Err(LedgerError::ObjectionsUndecided { count: 1 })
    );
}

#[test]
fn a_dismissed_objection_lets_the_notice_run_on_to_a_credit() {
    let (ledger, deeds) = on_notice();
    let later = now() + chrono::Duration::days(3);
    let first = run_all(&ledger, &deeds, vec![(object(70), now())]);
    let objection = first[0].as_ref().unwrap().objection.as_ref().unwrap().id.0;
    let results = run_all(
        &ledger,
        &deeds,
        vec![
            (object(70), now()),
            (rule(objection, false, Some("核实无误")), now()),
            (rule(objection, false, Some("再次")), now()),
            (Step::CreditDue, later),
        ],
    );
    let dismissed = results[1].as_ref().unwrap();
    assert_eq!(dismissed.deed.status, DeedStatus::Approved);
    let ruling = dismissed.objection.as_ref().unwrap();
    assert_eq!(ruling.status, ObjectionStatus::Dismissed);
    assert_eq!(ruling.ruling_reason.as_deref(), Some("核实无误"));
    assert_eq!(
        results[2],
        Err(LedgerError::ObjectionRuled {
            status: "dismissed".into()
        })
    );
    let credited = results[3].as_ref().unwrap();
    assert_eq!(credited.deed.status, DeedStatus::Credited);
    assert!(credited.posted.is_some());
}

#[test]
fn an_upheld_objection_sends_the_deed_back_to_review() {
    let (ledger, deeds) = on_notice();
    let first = run_all(&ledger, &deeds, vec![(object(70), now())]);
    let objection = first[0].as_ref().unwrap().objection.as_ref().unwrap().id.0;
    let results = run_all(
        &ledger,
        &deeds,
        vec![
            (object(70), now()),
            (object(71), now()),
            (rule(objection, true, None), now()),
        ],
    );
    let outcome = results[2].as_ref().unwrap();
    assert_eq!(outcome.deed.status, DeedStatus::Submitted);
    assert!(outcome.deed.notice_ends_at.is_none() && outcome.deed.cap_month.is_none());
    assert_eq!(
        outcome.objection.as_ref().unwrap().status,
        ObjectionStatus::Upheld
    );
}

#[test]
fn nobody_objects_once_the_notice_is_over_nor_rules_on_their_own_deed() {
    let (ledger, deeds) = on_notice();
    let later = now() + chrono::Duration::days(3);
    let results = run_all(&ledger, &deeds, vec![(object(70), later)]);
    assert!(matches!(
        results[0],
        Err(LedgerError::InvalidTransition { .. })
    ));
    let first = run_all(&ledger, &deeds, vec![(object(70), now())]);
    let objection = first[0].as_ref().unwrap().objection.as_ref().unwrap().id.0;
    let submitter = Step::RuleObjection {
        actor: actor(50),
        objection_id: objection,
        uphold: false,
        reason: Some("没问题".into()),
    };
    let results = run_all(
        &ledger,
        &deeds,
        vec![(object(70), now()), (submitter, now())],
    );
    assert!(matches!(results[1], Err(LedgerError::SelfDealing(_))));
}

#[test]
fn a_person_has_one_undecided_objection_to_a_deed_at_a_time() {
    let (ledger, deeds) = on_notice();
    let first = run_all(&ledger, &deeds, vec![(object(70), now())]);
    let objection = first[0].as_ref().unwrap().objection.as_ref().unwrap().id.0;
    let results = run_all(
        &ledger,
        &deeds,
        vec![
            (object(70), now()),
            (object(70), now()),
            (object(71), now()),
            (rule(objection, false, Some("核实无误")), now()),
            (object(70), now()),
        ],
    );
    assert!(results[0].is_ok());
    assert_eq!(results[1], Err(LedgerError::AlreadyObjected));
    assert!(results[2].is_ok(), "another person still may");
    assert!(results[3].is_ok());
    assert!(
        results[4].is_ok(),
        "after the ruling, the same person may again"
    );
}
