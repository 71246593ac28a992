//! The shop's planning on a view built by hand: no database, a fixed clock, counted ids.

use super::*;
use crate::ledger::view::{AccountState, CommunityState};
use crate::ledger::IdSource;

const NOW: &str = "2026-11-30 17:00:00";

/// The tables a shop batch writes.
static TABLES: [&crate::ledger::store::TableWrite; 10] = [
    &crate::ledger::batch::JOURNAL,
    &crate::ledger::batch::LEDGER_TREE,
    &crate::ledger::batch::POSTINGS,
    &crate::ledger::batch::IDEMPOTENCY_KEYS,
    &crate::shop::write::REDEMPTIONS,
    &crate::shop::write::REDEMPTION_LINES,
    &crate::shop::write::STOCK_MOVEMENTS,
    &crate::shop::write::GOODS,
    &crate::shop::write::VOIDS,
    &crate::ledger::batch::ACCOUNTS,
];

struct Fixture {
    ledger: View,
    shop: ShopView,
    community: CommunityId,
    member: MemberId,
    member_account: AccountId,
    shop_account: AccountId,
    rice: GoodsId,
}

fn id(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

fn account(community: CommunityId, kind: AccountKind, balance: i64) -> AccountState {
    AccountState {
        community_id: community,
        kind,
        member_id: None,
        member_active: true,
        member_no: String::new(),
        member_name: String::new(),
        frozen: false,
        balance,
        credits: balance.max(0),
        last_seq: 0,
        version: 7,
    }
}

fn fixture(balance: i64, stock: i64) -> Fixture {
    let community = CommunityId::from_uuid(id(1));
    let member = MemberId::from_uuid(id(2));
    let member_account = AccountId::from_uuid(id(3));
    let shop_account = AccountId::from_uuid(id(4));
    let rice = GoodsId::from_uuid(id(5));
    let mut ledger = View::default();
    let mut holder = account(community, AccountKind::Member, balance);
    holder.member_id = Some(member);
    holder.member_no = "M000001".into();
    holder.member_name = "张三".into();
    ledger.accounts.insert(member_account, holder);
    ledger
        .accounts
        .insert(shop_account, account(community, AccountKind::Shop, 0));
    ledger.member_accounts.insert(member, member_account);
    ledger.communities.insert(
        community,
        CommunityState {
            chain_seq: 41,
            chain_hash: "ab".repeat(32),
            chain_version: 3,
            tree: Default::default(),
            utc_offset_minutes: 480,
            issuance_account: None,
            shop_account: Some(shop_account),
            deductions_account: None,
            holds_account: None,
            expired_account: None,
            fund_account: None,
        },
    );
    let mut shop = ShopView::default();
    shop.goods.insert(
        rice,
        GoodsState {
            community_id: community,
            sku: "RICE".into(),
            name: "大米".into(),
            price: 1000,
            stock,
            active: true,
            monthly_limit: None,
            version: 9,
        },
    );
    Fixture {
        ledger,
        shop,
        community,
        member,
        member_account,
        shop_account,
        rice,
    }
}

fn basket(f: &Fixture, quantity: i64, expected: Option<i64>) -> Redeem {
    Redeem {
        community_id: f.community,
        redemption_id: RedemptionId::from_uuid(id(100)),
        member_id: f.member,
        clerk: Actor {
            user_id: crate::kernel::UserId::from_uuid(id(200)),
            member_id: None,
        },
        clerk_username: "clerk".into(),
        lines: vec![BasketLine {
            goods_id: f.rice,
            quantity,
        }],
        expected_total: expected.map(Points::from_hundredths),
        pay_from: None,
        idempotency: IdempotencyClaim {
            user_id: crate::kernel::UserId::from_uuid(id(200)),
            key: "k".into(),
            request_hash: "h".into(),
        },
    }
}

fn now() -> NaiveDateTime {
    NaiveDateTime::parse_from_str(NOW, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn plan(f: &Fixture, r: &Redeem) -> (Result<ShopOutcome, LedgerError>, Batch, ShopPending) {
    let mut batch = Batch::new(&TABLES, IdSource::Counter(1000));
    let mut pending = ShopPending::default();
    let result = Shop {
        ledger: &f.ledger,
        view: &f.shop,
        batch: &mut batch,
        pending: &mut pending,
        now: now(),
    }
    .redeem(r);
    (result, batch, pending)
}

#[test]
fn a_redemption_debits_the_member_credits_the_shop_and_takes_stock() {
    let f = fixture(5_000, 10);
    let (result, batch, pending) = plan(&f, &basket(&f, 3, Some(3_000)));
    let Ok(ShopOutcome::Redeemed {
        posted,
        redemption,
        lines,
    }) = result
    else {
        panic!("refused: {result:?}");
    };
    assert_eq!(posted.seq, 42, "the next link of the chain");
    assert_eq!(
        posted.journal_id.0,
        id(1001),
        "ids come from the batch's source"
    );
    assert_eq!(redemption.total, 3_000);
    assert_eq!(redemption.balance_after, 2_000);
    assert_eq!(
        redemption.local_day, "2026-12-01",
        "the community's day, not UTC's"
    );
    assert_eq!(redemption.member_name, "张三");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].line_total, 3_000);
    let member = &batch.accounts[&f.member_account];
    assert_eq!(
        (member.0, member.1.balance, member.1.last_seq),
        (7, 2_000, 1)
    );
    assert_eq!(batch.accounts[&f.shop_account].1.balance, 3_000);
    assert_eq!(
        pending.goods[&f.rice],
        (
            9,
            GoodsState {
                stock: 7,
                ..f.shop.goods[&f.rice].clone()
            }
        )
    );
    assert_eq!(batch.heads[&f.community].1.chain_seq, 42);
    assert!(batch
        .claimed_keys
        .contains(&(basket(&f, 3, None).idempotency.user_id, "k".into())));
}

#[test]
fn refusals_change_nothing_and_quote_the_figures() {
    let f = fixture(2_500, 2);
    let (result, batch, pending) = plan(&f, &basket(&f, 3, None));
    match result {
        Err(LedgerError::OutOfStock(short)) => {
            assert_eq!((short[0].requested, short[0].available), (3, 2))
        }
        other => panic!("{other:?}"),
    }
    assert!(batch.is_empty() && pending.goods.is_empty());
    let (result, batch, _) = plan(&f, &basket(&f, 2, Some(1_999)));
    assert_eq!(
        result,
        Err(LedgerError::PriceChanged {
            total: Points::from_hundredths(2_000)
        })
    );
    assert!(batch.is_empty());
    let f = fixture(1_000, 10);
    let (result, batch, _) = plan(&f, &basket(&f, 2, None));
    assert_eq!(
        result,
        Err(LedgerError::InsufficientBalance {
            member_id: Some(f.member),
            balance: Points::from_hundredths(1_000),
            required: Points::from_hundredths(2_000),
        })
    );
    assert!(batch.is_empty());
}

#[test]
fn nobody_redeems_for_their_own_passbook() {
    let f = fixture(5_000, 10);
    let mut r = basket(&f, 1, None);
    r.clerk.member_id = Some(f.member);
    let (result, batch, _) = plan(&f, &r);
    assert!(
        matches!(result, Err(LedgerError::SelfDealing(_))),
        "{result:?}"
    );
    assert!(batch.is_empty());
}

#[test]
fn the_same_plan_twice_is_the_same_batch() {
    let f = fixture(5_000, 10);
    let (a, batch_a, _) = plan(&f, &basket(&f, 1, None));
    let (b, batch_b, _) = plan(&f, &basket(&f, 1, None));
    assert_eq!(a, b);
    assert_eq!(format!("{:?}", batch_a.rows), format!("{:?}", batch_b.rows));
}
