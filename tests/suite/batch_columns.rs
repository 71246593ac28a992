//! Every column of every table the ledger writer writes, through the table descriptions both
//! backends' batch writers read, and back through the typed rows: a column swapped, dropped or
//! bound with the wrong type in a description fails here on the backend where it matters.

use crate::common::{Backend, ScratchDb};
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use moralbank::db::models::{IdempotencyRow, JournalRow, PostingRow};
use moralbank::db::schema::{
    accounts, communities, deed_events, deeds, fund_grants, goods, idempotency_keys, journal,
    ledger_tree, postings, redemption_lines, redemptions, stock_movements,
};
use moralbank::db::{DbConn, DbUuid};
use moralbank::deeds::model::{DeedAction, DeedStatus, Direction};
use moralbank::deeds::store::{DeedEventRow, DeedRow};
use moralbank::deeds::write::{DeedUpdate, DEEDS, DEED_EVENTS};
use moralbank::fund::model::GrantStatus;
use moralbank::fund::store::GrantRow;
use moralbank::fund::write::{GrantDecision, FUND_GRANT_DECISIONS};
use moralbank::kernel::{AccountKind, ActiveStatus, JournalKind};
use moralbank::ledger::batch::{
    AccountUpdate, HeadUpdate, TreeNodeRow, ACCOUNTS, HEADS, IDEMPOTENCY_KEYS, JOURNAL,
    LEDGER_TREE, POSTINGS,
};
use moralbank::ledger::store::{write, Rows, TableWrite};
use moralbank::ledger::view::{AccountState, CommunityState};
use moralbank::shop::model::{RedemptionStatus, StockMovementKind};
use moralbank::shop::store::{GoodsRow, RedemptionLineRow, RedemptionRow, StockMovementRow};
use moralbank::shop::write::{
    GoodsUpdate, VoidUpdate, GOODS, REDEMPTIONS, REDEMPTION_LINES, STOCK_MOVEMENTS, VOIDS,
};

fn id(n: u128) -> DbUuid {
    DbUuid(uuid::Uuid::from_u128(n))
}

fn at(seconds: i64) -> NaiveDateTime {
    moralbank::kernel::time::micros_to_time(1_800_000_000_000_000 + seconds * 1_000_001)
}

/// A migrated database with its foreign keys (and the append-only guards) switched off: these
/// rows stand alone, they test columns, not the workflow.
fn bare(backend: Backend) -> Option<(ScratchDb, DbConn)> {
    let db = ScratchDb::new(backend)?;
    let mut conn = db.connect();
    moralbank::db::run_migrations(&mut conn).unwrap();
    match backend {
        Backend::Sqlite => conn.batch_execute("PRAGMA foreign_keys = OFF").unwrap(),
        Backend::Postgres => conn
            .batch_execute("SET session_replication_role = replica")
            .unwrap(),
    }
    Some((db, conn))
}

fn write_one(conn: &mut DbConn, tables: &[&'static TableWrite], fill: impl FnOnce(&mut Rows)) {
    let mut rows = Rows::new(tables);
    fill(&mut rows);
    write(conn, &Rows::new(&[]), &rows).unwrap_or_else(|e| panic!("write failed: {e:?}"));
}

fn every_inserted_column_reads_back(backend: Backend) {
    let Some((_db, mut conn)) = bare(backend) else {
        return;
    };
    let journal_row = JournalRow {
        id: id(1),
        community_id: id(2),
        seq: 3,
        kind: JournalKind::Redemption,
        reference_id: Some(id(4)),
        memo: "备注".into(),
        actor_id: Some(id(5)),
        created_at: at(6),
        prev_hash: "p".repeat(64),
        hash: "h".repeat(64),
        hash_version: 2,
    };
    let posting = PostingRow {
        id: id(11),
        journal_id: id(12),
        community_id: id(13),
        account_id: id(14),
        account_seq: 15,
        amount: -16,
        balance_after: 17,
        posted_at: at(18),
        credits_after: 19,
    };
    let key = IdempotencyRow {
        id: id(21),
        community_id: id(22),
        user_id: id(23),
        idem_key: "key".into(),
        request_hash: "hash".into(),
        journal_id: None,
        created_at: at(24),
        refusal: Some("refusal".into()),
    };
    let redemption = RedemptionRow {
        id: id(31),
        community_id: id(32),
        member_id: id(33),
        account_id: id(34),
        member_no: "M000035".into(),
        member_name: "张三".into(),
        clerk_id: id(36),
        clerk_username: "clerk".into(),
        total: 3700,
        balance_after: 38,
        status: RedemptionStatus::Voided,
        local_day: "2026-12-01".into(),
        local_month: "2026-12".into(),
        journal_id: id(39),
        created_at: at(40),
        void_journal_id: Some(id(41)),
        voided_at: Some(at(42)),
        voided_by: Some(id(43)),
        void_reason: Some("原因".into()),
    };
    let line = RedemptionLineRow {
        id: id(51),
        redemption_id: id(52),
        goods_id: id(53),
        line_no: 54,
        sku: "SKU".into(),
        name: "名称".into(),
        quantity: 5,
        unit_price: 56,
        line_total: 280,
        community_id: id(57),
    };
    let movement = StockMovementRow {
        id: id(61),
        community_id: id(62),
        goods_id: id(63),
        kind: StockMovementKind::Void,
        quantity: -64,
        stock_after: 65,
        reference_id: Some(id(66)),
        reason: "理由".into(),
        actor_id: Some(id(67)),
        created_at: at(68),
    };
    let event = DeedEventRow {
        id: id(71),
        deed_id: id(72),
        community_id: id(73),
        action: DeedAction::Object,
        from_status: Some(DeedStatus::Approved),
        to_status: DeedStatus::Submitted,
        actor_id: Some(id(74)),
        reason: Some("异议".into()),
        created_at: at(75),
    };
    let node = TreeNodeRow {
        community_id: id(81),
        height: 3,
        idx: 82,
        hash: "a".repeat(64),
    };
    let tables: [&'static TableWrite; 8] = [
        &JOURNAL,
        &LEDGER_TREE,
        &POSTINGS,
        &IDEMPOTENCY_KEYS,
        &REDEMPTIONS,
        &REDEMPTION_LINES,
        &STOCK_MOVEMENTS,
        &DEED_EVENTS,
    ];
    write_one(&mut conn, &tables, |rows| {
        rows.push(&journal_row);
        rows.push(&node);
        rows.push(&posting);
        rows.push(&key);
        rows.push(&redemption);
        rows.push(&line);
        rows.push(&movement);
        rows.push(&event);
    });
    let read: JournalRow = journal::table
        .select(JournalRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, journal_row);
    let read: (DbUuid, i32, i64, String) = ledger_tree::table
        .select((
            ledger_tree::community_id,
            ledger_tree::height,
            ledger_tree::idx,
            ledger_tree::hash,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!(
        read,
        (node.community_id, node.height, node.idx, node.hash.clone())
    );
    let read: PostingRow = postings::table
        .select(PostingRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, posting);
    let read: IdempotencyRow = idempotency_keys::table
        .select(IdempotencyRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, key);
    let read: RedemptionRow = redemptions::table
        .select(RedemptionRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, redemption);
    let read: RedemptionLineRow = redemption_lines::table
        .select(RedemptionLineRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, line);
    let read: StockMovementRow = stock_movements::table
        .select(StockMovementRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, movement);
    let read: DeedEventRow = deed_events::table
        .select(DeedEventRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, event);
}

fn every_updated_column_reads_back(backend: Backend) {
    let Some((_db, mut conn)) = bare(backend) else {
        return;
    };
    // The rows as they stand before the batch.
    let goods_row = GoodsRow {
        id: id(1),
        community_id: id(2),
        sku: "SKU".into(),
        name: "名称".into(),
        price: 3,
        stock: 4,
        status: ActiveStatus::Active,
        monthly_limit: Some(5),
        version: 6,
        created_at: at(7),
        updated_at: at(8),
    };
    diesel::insert_into(goods::table)
        .values(&goods_row)
        .execute(&mut conn)
        .unwrap();
    let deed = DeedRow {
        id: id(11),
        community_id: id(12),
        member_id: id(13),
        account_id: id(14),
        rule_id: id(15),
        rule_version_id: id(16),
        rule_name: "规则".into(),
        direction: Direction::Earn,
        quantity: 100,
        counted_quantity: 100,
        points: 1000,
        monthly_cap: None,
        occurred_on: "2026-12-01".into(),
        description: "描述".into(),
        evidence: "[]".into(),
        status: DeedStatus::Submitted,
        submitted_by: id(17),
        cap_month: None,
        notice_ends_at: None,
        applied_points: None,
        credit_journal_id: None,
        reversal_journal_id: None,
        version: 18,
        created_at: at(19),
        updated_at: at(20),
        first_checked_by: None,
    };
    diesel::insert_into(deeds::table)
        .values(&deed)
        .execute(&mut conn)
        .unwrap();
    let redemption = RedemptionRow {
        id: id(21),
        community_id: id(22),
        member_id: id(23),
        account_id: id(24),
        member_no: "M1".into(),
        member_name: "李四".into(),
        clerk_id: id(25),
        clerk_username: "clerk".into(),
        total: 100,
        balance_after: 0,
        status: RedemptionStatus::Completed,
        local_day: "2026-12-01".into(),
        local_month: "2026-12".into(),
        journal_id: id(26),
        created_at: at(27),
        void_journal_id: None,
        voided_at: None,
        voided_by: None,
        void_reason: None,
    };
    diesel::insert_into(redemptions::table)
        .values(&redemption)
        .execute(&mut conn)
        .unwrap();
    let grant = GrantRow {
        id: id(101),
        community_id: id(102),
        member_id: id(103),
        account_id: id(104),
        amount: 105,
        reason: "救助".into(),
        status: GrantStatus::Proposed,
        proposed_by: id(106),
        proposed_at: at(107),
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        journal_id: None,
    };
    diesel::insert_into(fund_grants::table)
        .values(&grant)
        .execute(&mut conn)
        .unwrap();
    let account_id = id(31);
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(account_id),
            accounts::community_id.eq(id(32)),
            accounts::kind.eq(AccountKind::Shop),
            accounts::balance.eq(0_i64),
            accounts::last_seq.eq(0_i64),
            accounts::version.eq(33_i64),
            accounts::status.eq("active"),
            accounts::created_at.eq(at(34)),
            accounts::credits_total.eq(0_i64),
        ))
        .execute(&mut conn)
        .unwrap();
    let community_id = id(41);
    diesel::insert_into(communities::table)
        .values((
            communities::id.eq(community_id),
            communities::code.eq("c"),
            communities::name.eq("社区"),
            communities::utc_offset_minutes.eq(480),
            communities::chain_seq.eq(0_i64),
            communities::chain_hash.eq("0".repeat(64)),
            communities::chain_version.eq(42_i64),
            communities::created_at.eq(at(43)),
        ))
        .execute(&mut conn)
        .unwrap();

    // The batch's updates, each column with a value of its own.
    let mut moved = deed.clone();
    moved.status = DeedStatus::Credited;
    moved.cap_month = Some("2026-12".into());
    moved.notice_ends_at = Some(at(51));
    moved.applied_points = Some(52);
    moved.credit_journal_id = Some(id(53));
    moved.reversal_journal_id = Some(id(54));
    moved.updated_at = at(55);
    moved.first_checked_by = Some(id(56));
    let mut voided = redemption.clone();
    voided.status = RedemptionStatus::Voided;
    voided.void_journal_id = Some(id(61));
    voided.voided_at = Some(at(62));
    voided.voided_by = Some(id(63));
    voided.void_reason = Some("扫错".into());
    let mut approved = grant.clone();
    approved.status = GrantStatus::Approved;
    approved.decided_by = Some(id(111));
    approved.decided_at = Some(at(112));
    approved.decision_reason = Some("同意".into());
    approved.journal_id = Some(id(113));
    let account = AccountState {
        community_id: moralbank::kernel::CommunityId::from_uuid(id(32).0),
        kind: AccountKind::Shop,
        member_id: None,
        member_active: true,
        member_no: String::new(),
        member_name: String::new(),
        frozen: false,
        balance: 71,
        credits: 72,
        last_seq: 73,
        version: 33,
    };
    let head = CommunityState {
        chain_seq: 81,
        chain_hash: "8".repeat(64),
        chain_version: 42,
        tree: Default::default(),
        utc_offset_minutes: 480,
        issuance_account: None,
        shop_account: None,
        deductions_account: None,
        holds_account: None,
        expired_account: None,
        fund_account: None,
    };
    let tables: [&'static TableWrite; 6] = [
        &GOODS,
        &DEEDS,
        &VOIDS,
        &FUND_GRANT_DECISIONS,
        &ACCOUNTS,
        &HEADS,
    ];
    write_one(&mut conn, &tables, |rows| {
        rows.push(&GoodsUpdate {
            id: goods_row.id,
            seen: 6,
            stock: 91,
        });
        rows.push(&DeedUpdate {
            seen: 18,
            deed: &moved,
        });
        rows.push(&VoidUpdate { row: &voided });
        rows.push(&GrantDecision { grant: &approved });
        rows.push(&AccountUpdate {
            id: account_id,
            seen: 33,
            state: &account,
        });
        rows.push(&HeadUpdate {
            id: community_id,
            seen: 42,
            head: &head,
        });
    });
    let read: GoodsRow = goods::table
        .select(GoodsRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!((read.stock, read.version), (91, 7));
    assert_eq!(
        GoodsRow {
            stock: 4,
            version: 6,
            ..read
        },
        goods_row,
        "nothing else moved"
    );
    let read: DeedRow = deeds::table
        .select(DeedRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(
        read,
        DeedRow {
            version: 19,
            ..moved
        }
    );
    let read: RedemptionRow = redemptions::table
        .select(RedemptionRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, voided);
    let read: GrantRow = fund_grants::table
        .select(GrantRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, approved);
    let read: (i64, i64, i64, i64) = accounts::table
        .select((
            accounts::balance,
            accounts::credits_total,
            accounts::last_seq,
            accounts::version,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, (71, 72, 73, 34));
    let read: (i64, String, i64) = communities::table
        .select((
            communities::chain_seq,
            communities::chain_hash,
            communities::chain_version,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, (81, "8".repeat(64), 43));

    // A guard that no longer holds writes nothing.
    let mut rows = Rows::new(&[&GOODS]);
    rows.push(&GoodsUpdate {
        id: goods_row.id,
        seen: 6,
        stock: 1,
    });
    assert!(
        write(&mut conn, &Rows::new(&[]), &rows).is_err(),
        "a stale version must not write"
    );
}

/// The receivables a reversal records and the repayments later credits take, inserted, then a
/// receivable repaid under its version guard.
fn receivable_columns_read_back(backend: Backend) {
    use moralbank::db::schema::{receivable_repayments, receivables};
    use moralbank::deeds::store::receivables::{ReceivableRow, RepaymentRow};
    use moralbank::deeds::write::{
        ReceivableUpdate, RECEIVABLES, RECEIVABLE_REPAYMENTS, RECEIVABLE_UPDATES,
    };
    let Some((_db, mut conn)) = bare(backend) else {
        return;
    };
    let mut receivable = ReceivableRow {
        id: id(1),
        community_id: id(2),
        member_id: id(3),
        account_id: id(4),
        deed_id: id(5),
        reversal_journal_id: Some(id(6)),
        what: "冲正 帮扶（2026-12-03）".into(),
        owed: 800,
        outstanding: 700,
        version: 1,
        created_at: at(7),
        settled_at: None,
    };
    let repayment = RepaymentRow {
        id: id(11),
        community_id: id(2),
        receivable_id: id(1),
        journal_id: id(12),
        paid_by_deed_id: id(13),
        amount: 100,
        outstanding_after: 700,
        created_at: at(14),
    };
    write_one(&mut conn, &[&RECEIVABLES, &RECEIVABLE_REPAYMENTS], |rows| {
        rows.push(&receivable);
        rows.push(&repayment);
    });
    let read: ReceivableRow = receivables::table
        .select(ReceivableRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, receivable);
    let read: RepaymentRow = receivable_repayments::table
        .select(RepaymentRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, repayment);
    let seen = receivable.version;
    receivable.outstanding = 0;
    receivable.settled_at = Some(at(15));
    write_one(&mut conn, &[&RECEIVABLE_UPDATES], |rows| {
        rows.push(&ReceivableUpdate {
            seen,
            receivable: &receivable,
        });
    });
    let read: ReceivableRow = receivables::table
        .select(ReceivableRow::as_select())
        .first(&mut conn)
        .unwrap();
    receivable.version = seen + 1;
    assert_eq!(read, receivable);
    // A stale version writes nothing.
    let mut rows = Rows::new(&[&RECEIVABLE_UPDATES]);
    rows.push(&ReceivableUpdate {
        seen,
        receivable: &receivable,
    });
    assert!(write(&mut conn, &Rows::new(&[]), &rows).is_err());
}

/// A reserved order and its lines inserted, then its end written only while it is held.
fn order_columns_read_back(backend: Backend) {
    use moralbank::db::schema::{order_lines, orders};
    use moralbank::orders::model::OrderStatus;
    use moralbank::orders::store::{OrderLineRow, OrderRow};
    use moralbank::orders::write::{OrderEnd, ORDERS, ORDER_ENDS, ORDER_LINES};
    let Some((_db, mut conn)) = bare(backend) else {
        return;
    };
    let mut order = OrderRow {
        id: id(1),
        community_id: id(2),
        member_id: id(3),
        account_id: id(4),
        pickup_code: "042917".into(),
        status: OrderStatus::Held,
        total: 2000,
        local_month: "2026-12".into(),
        hold_journal_id: id(5),
        end_journal_id: None,
        created_by: id(6),
        ended_by: None,
        end_reason: None,
        created_at: at(7),
        expires_at: at(8),
        ended_at: None,
    };
    let line = OrderLineRow {
        id: id(11),
        order_id: id(1),
        community_id: id(2),
        goods_id: id(12),
        line_no: 1,
        sku: "OIL".into(),
        name: "食用油".into(),
        quantity: 2,
        unit_price: 1000,
        line_total: 2000,
    };
    write_one(&mut conn, &[&ORDERS, &ORDER_LINES], |rows| {
        rows.push(&order);
        rows.push(&line);
    });
    let read: OrderRow = orders::table
        .select(OrderRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, order);
    let read: OrderLineRow = order_lines::table
        .select(OrderLineRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, line);
    order.status = OrderStatus::Cancelled;
    order.end_journal_id = Some(id(13));
    order.ended_by = Some(id(14));
    order.end_reason = Some("不要了".into());
    order.ended_at = Some(at(15));
    write_one(&mut conn, &[&ORDER_ENDS], |rows| {
        rows.push(&OrderEnd { order: &order });
    });
    let read: OrderRow = orders::table
        .select(OrderRow::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(read, order);
    // Ended once: a second end finds it no longer held and writes nothing.
    let mut rows = Rows::new(&[&ORDER_ENDS]);
    order.status = OrderStatus::Expired;
    rows.push(&OrderEnd { order: &order });
    assert!(write(&mut conn, &Rows::new(&[]), &rows).is_err());
}

macro_rules! on_both {
    ($($test:ident),*) => {
        $(mod $test {
            #[test]
            fn sqlite() { super::$test(super::Backend::Sqlite) }
            #[test]
            fn postgres() { super::$test(super::Backend::Postgres) }
        })*
    };
}

on_both!(
    receivable_columns_read_back,
    order_columns_read_back,
    every_inserted_column_reads_back,
    every_updated_column_reads_back
);
