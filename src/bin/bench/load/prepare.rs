//! The fixture the load scenarios run on: clerks, members with large opening balances, one item of
//! goods with stock that never runs out, and submitted deeds for the mint scenario to approve.

use moralbank::adjustments::plan::AdjustmentKind;
use moralbank::app::config::Config;
use moralbank::db::{self, DbConn, DbUuid};
use moralbank::deeds::model::{DeedAction, DeedStatus, Direction, Unit};
use moralbank::deeds::store::{
    self as deed_store, DeedEventRow, DeedRow, RuleRow, RuleTerms, RuleVersionRow,
};
use moralbank::kernel::{AccountId, DeedId, Role, RoleSet};
use moralbank::members::model::MemberName;
use moralbank::shop::store as shop;

use crate::shared::{self, Admin, PASSWORD};

/// Starting balance of every member: enough that redemptions never run dry in a run.
const MEMBER_BALANCE: i64 = 1_000_000 * 100;
/// Price of the one item of goods, in hundredths.
pub(super) const ITEM_PRICE: i64 = 100;
/// Stock of the goods: more than any run redeems.
const GOODS_STOCK: i64 = 1_000_000_000;
/// Points of the deed rule per event, and so of every deed, in hundredths.
const DEED_POINTS: i64 = 100;
/// Every deed is one event (quantities are in hundredths).
const DEED_QUANTITY: i64 = 100;
/// The bench community's offset from UTC in hours (China): deeds happen on its today.
const COMMUNITY_UTC_OFFSET_HOURS: i64 = 8;

/// What the fixture made: ids the scenarios use.
pub(super) struct Fixture {
    /// The members' accounts, in the order of `member_ids`.
    pub accounts: Vec<AccountId>,
    pub member_ids: Vec<uuid::Uuid>,
    pub goods: uuid::Uuid,
    /// Submitted deeds, waiting for approval.
    pub deeds: Vec<uuid::Uuid>,
    /// Clerks' usernames; their password is the bench password.
    pub clerks: Vec<String>,
}

/// The members, their accounts in the same order.
struct Members {
    accounts: Vec<AccountId>,
    ids: Vec<uuid::Uuid>,
}

/// Bootstraps the database and makes the fixture: `members` members, `deeds` submitted deeds and
/// `clerks` clerks. Balances go through the ledger engine, so the ledger is real.
pub(super) fn prepare(
    config: &Config,
    members: usize,
    deeds: usize,
    clerks: usize,
) -> Result<Fixture, String> {
    let (admin, mut conn) = shared::bootstrap(config)?;
    let clerks = add_clerks(&mut conn, admin, clerks)?;
    let members = add_members(&mut conn, admin, members)?;
    let goods = add_goods(&mut conn, admin)?;
    let deeds = submit_deeds(&mut conn, admin, &members, deeds)?;
    drop(conn);
    open_balances(config, admin, &members.accounts)?;
    shared::analyze(config)?;
    Ok(Fixture {
        accounts: members.accounts,
        member_ids: members.ids,
        goods,
        deeds,
        clerks,
    })
}

/// A store error inside a transaction, as the transaction's error type.
fn in_transaction(e: impl ToString) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(e.to_string().into())
}

/// `count` users with the clerk role and the bench password; their usernames.
fn add_clerks(conn: &mut DbConn, admin: Admin, count: usize) -> Result<Vec<String>, String> {
    let hash = moralbank::auth::password::hash_password(PASSWORD)?;
    let mut names = Vec::new();
    for i in 0..count {
        let name = format!("bench-clerk-{i}");
        let mut roles = RoleSet::default();
        roles.insert(Role::Clerk);
        moralbank::users::store::insert_user(
            conn,
            &moralbank::users::store::NewUser {
                community: admin.community,
                username: &name,
                password_hash: &hash,
                roles,
                member: None,
                display_name: None,
            },
        )
        .map_err(|e| e.to_string())?;
        names.push(name);
    }
    Ok(names)
}

/// `count` members, each with an account, in one transaction.
fn add_members(conn: &mut DbConn, admin: Admin, count: usize) -> Result<Members, String> {
    let mut members = Members {
        accounts: Vec::with_capacity(count),
        ids: Vec::with_capacity(count),
    };
    db::write_transaction(conn, |conn| {
        for i in 0..count {
            let name = MemberName::parse(&format!("压测居民{i}")).map_err(in_transaction)?;
            let (m, a) =
                moralbank::members::store::create_member(conn, admin.community, &name, None)
                    .map_err(in_transaction)?;
            members.accounts.push(AccountId::from(a.id));
            members.ids.push(m.id.0);
        }
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(|e| e.to_string())?;
    Ok(members)
}

/// The one item of goods every redemption takes; its id.
fn add_goods(conn: &mut DbConn, admin: Admin) -> Result<uuid::Uuid, String> {
    let goods = db::write_transaction(conn, |conn| {
        shop::create_goods(
            conn,
            &shop::NewGoods {
                community: admin.community,
                sku: "BENCH",
                name: "压测商品",
                price: ITEM_PRICE,
                stock: GOODS_STOCK,
                monthly_limit: None,
                actor: admin.user,
            },
        )
        .map_err(in_transaction)
    })
    .map_err(|e| e.to_string())?;
    Ok(goods.id.0)
}

/// A deed rule and `count` deeds under it, submitted today for the members in turn, in one
/// transaction; the deeds' ids.
fn submit_deeds(
    conn: &mut DbConn,
    admin: Admin,
    members: &Members,
    count: usize,
) -> Result<Vec<uuid::Uuid>, String> {
    let rule = add_rule(conn, admin)?;
    let today = (db::now_utc() + chrono::Duration::hours(COMMUNITY_UTC_OFFSET_HOURS))
        .date()
        .to_string();
    let mut ids = Vec::with_capacity(count);
    db::write_transaction(conn, |conn| {
        for i in 0..count {
            let member = i % members.ids.len();
            let (deed, event) = submitted_deed(admin, &rule, members, member, &today);
            deed_store::insert_deed(conn, &deed, &event)?;
            ids.push(deed.id.0);
        }
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(|e| e.to_string())?;
    Ok(ids)
}

/// The rule the deeds are done under: an earning rule of [`DEED_POINTS`] an event, uncapped.
fn add_rule(conn: &mut DbConn, admin: Admin) -> Result<(RuleRow, RuleVersionRow), String> {
    db::write_transaction(conn, |conn| {
        deed_store::create_rule(
            conn,
            admin.community,
            "BENCH",
            &RuleTerms {
                name: "压测好事".into(),
                category: "压测".into(),
                points: DEED_POINTS,
                unit: Unit::Event,
                direction: Direction::Earn,
                monthly_cap: None,
                per_deed_cap: None,
            },
            admin.user,
        )
        .map_err(in_transaction)
    })
    .map_err(|e| e.to_string())
}

/// A deed of member number `member`, submitted by the admin and occurred on `today`, with the
/// event that records its submission.
fn submitted_deed(
    admin: Admin,
    (rule, version): &(RuleRow, RuleVersionRow),
    members: &Members,
    member: usize,
    today: &str,
) -> (DeedRow, DeedEventRow) {
    let now = db::now_utc();
    let deed = DeedRow {
        id: DeedId::new().into(),
        community_id: admin.community.into(),
        member_id: DbUuid(members.ids[member]),
        account_id: members.accounts[member].into(),
        rule_id: rule.id,
        rule_version_id: version.id,
        rule_name: version.name.clone(),
        direction: Direction::Earn,
        quantity: DEED_QUANTITY,
        counted_quantity: DEED_QUANTITY,
        points: DEED_POINTS,
        monthly_cap: None,
        occurred_on: today.to_string(),
        description: "压测".into(),
        evidence: "[]".into(),
        status: DeedStatus::Submitted,
        submitted_by: DbUuid::from(admin.user),
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
        id: DbUuid(uuid::Uuid::now_v7()),
        deed_id: deed.id,
        community_id: admin.community.into(),
        action: DeedAction::Submit,
        from_status: None,
        to_status: DeedStatus::Submitted,
        actor_id: Some(admin.user.into()),
        reason: None,
        created_at: now,
    };
    (deed, event)
}

/// Every member's opening balance of [`MEMBER_BALANCE`], through the ledger engine.
fn open_balances(config: &Config, admin: Admin, accounts: &[AccountId]) -> Result<(), String> {
    let openings = accounts.iter().map(|a| {
        let key = format!("open-{}", a.0);
        admin.adjustment(*a, AdjustmentKind::OpeningBalance, MEMBER_BALANCE, key)
    });
    shared::write_through_engine(config, [openings])
}
