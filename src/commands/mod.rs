//! Every command the ledger writer runs, one list: the concepts' own commands put together, with
//! the part of the view each needs, in the order their tables are written. A newcomer asking
//! "what can move coins or stock?" reads [`Command`]; "how is a redemption planned?" follows its
//! arm into `crate::shop::plan`.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::adjustments::plan::{plan_adjust, Adjust};
use crate::db::DbConn;
use crate::deeds::plan::{DeedCommand, DeedOutcome, DeedPending, Deeds};
use crate::deeds::view::DeedView;
use crate::deeds::write::{
    DEEDS, DEED_EVENTS, DEED_OBJECTIONS, OBJECTION_RULINGS, RECEIVABLES, RECEIVABLE_REPAYMENTS,
    RECEIVABLE_UPDATES,
};
use crate::expiry::plan::{plan_expire, Expire, ExpiryView};
use crate::fund::plan::{ApproveGrant, Donate, Fund, FundOutcome, FundPending, FundView};
use crate::fund::write::FUND_GRANT_DECISIONS;
use crate::kernel::{AccountId, CommunityId, GoodsId, RedemptionId};
use crate::ledger::batch::{ACCOUNTS, IDEMPOTENCY_KEYS, JOURNAL, LEDGER_TREE, POSTINGS};
use crate::ledger::store::TableWrite;
use crate::ledger::view::push_unique;
use crate::ledger::{Batch, IdempotencyClaim, LedgerError, Machine, Posted, View};
use crate::orders::plan::{Collect, Hold, OrderOutcome, OrderPending, Release};
use crate::orders::view::OrderView;
use crate::orders::write::{ORDERS, ORDER_ENDS, ORDER_LINES};
use crate::shop::plan::{Redeem, Restock, Shop, ShopOutcome, ShopPending, Void};
use crate::shop::view::{MonthlyKey, ShopView};
use crate::shop::write::{GOODS, REDEMPTIONS, REDEMPTION_LINES, STOCK_MOVEMENTS, VOIDS};

#[derive(Debug, Clone)]
pub enum Command {
    /// An opening balance or a correction (`crate::adjustments`).
    Adjust(Adjust),
    /// The counter (`crate::shop`).
    Redeem(Box<Redeem>),
    Void(Void),
    Restock(Restock),
    /// A step of the deed workflow (`crate::deeds`).
    Deed(DeedCommand),
    /// Reserved orders (`crate::orders`): placed, collected at the counter, released.
    Hold(Box<Hold>),
    Collect(Collect),
    Release(Release),
    /// Coins that expired by the community's rule (`crate::expiry`), run by the sweeper.
    Expire(Expire),
    /// The community fund (`crate::fund`).
    Donate(Donate),
    ApproveGrant(ApproveGrant),
    /// Answered after the batch it rides in commits: proves the writer and its database work.
    Ping,
}

/// One answer travels once from the writer to its request: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Posted(Posted),
    Shop(ShopOutcome),
    Deed(DeedOutcome),
    Order(Box<OrderOutcome>),
    Fund(FundOutcome),
    Pong,
}

/// A row of the view a refusal may rest on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Account(AccountId),
    Goods(GoodsId),
    Redemption(RedemptionId),
    Monthly(MonthlyKey),
}

/// The writer's state machine: the ledger's view and every concept's part of it.
#[derive(Debug, Default)]
pub struct Book {
    pub ledger: View,
    pub shop: ShopView,
    pub deeds: DeedView,
    pub orders: OrderView,
    pub expiry: ExpiryView,
    pub fund: FundView,
}

#[derive(Debug, Default)]
pub struct Pending {
    shop: ShopPending,
    deeds: DeedPending,
    orders: OrderPending,
    fund: FundPending,
}

/// The writer of this service.
pub type Engine = crate::ledger::Engine<Book>;

/// Referenced rows first: a posting names its transaction, a receipt line its redemption.
static TABLES: [&TableWrite; 21] = [
    &JOURNAL,
    &LEDGER_TREE,
    &POSTINGS,
    &ORDERS,
    &ORDER_LINES,
    &REDEMPTIONS,
    &REDEMPTION_LINES,
    &STOCK_MOVEMENTS,
    &IDEMPOTENCY_KEYS,
    &GOODS,
    &DEEDS,
    &RECEIVABLES,
    &RECEIVABLE_REPAYMENTS,
    &RECEIVABLE_UPDATES,
    &DEED_EVENTS,
    &DEED_OBJECTIONS,
    &OBJECTION_RULINGS,
    &VOIDS,
    &ORDER_ENDS,
    &FUND_GRANT_DECISIONS,
    &ACCOUNTS,
];

/// The commands of one batch, sorted by concept.
#[derive(Default)]
struct Sorted<'a> {
    adjusts: Vec<&'a Adjust>,
    redeems: Vec<&'a Redeem>,
    voids: Vec<&'a Void>,
    restocks: Vec<&'a Restock>,
    deeds: Vec<&'a DeedCommand>,
    holds: Vec<&'a Hold>,
    collects: Vec<&'a Collect>,
    releases: Vec<&'a Release>,
    expires: Vec<&'a Expire>,
    donations: Vec<&'a Donate>,
    approvals: Vec<&'a ApproveGrant>,
}

impl Sorted<'_> {
    /// The orders the batch collects or releases.
    fn orders_named(&self) -> Vec<crate::db::DbUuid> {
        self.collects
            .iter()
            .map(|c| c.order_id)
            .chain(self.releases.iter().map(|r| r.order_id))
            .map(crate::db::DbUuid)
            .collect()
    }
}

fn sort<'a>(commands: &[&'a Command]) -> Sorted<'a> {
    let mut sorted = Sorted::default();
    for command in commands {
        match command {
            Command::Adjust(a) => sorted.adjusts.push(a),
            Command::Redeem(r) => sorted.redeems.push(r),
            Command::Void(v) => sorted.voids.push(v),
            Command::Restock(r) => sorted.restocks.push(r),
            Command::Deed(d) => sorted.deeds.push(d),
            Command::Hold(h) => sorted.holds.push(h),
            Command::Collect(c) => sorted.collects.push(c),
            Command::Release(r) => sorted.releases.push(r),
            Command::Expire(e) => sorted.expires.push(e),
            Command::Donate(d) => sorted.donations.push(d),
            Command::ApproveGrant(a) => sorted.approvals.push(a),
            Command::Ping => {}
        }
    }
    sorted
}

impl Book {
    /// The accounts the commands post to, as far as the view can tell yet.
    fn wanted_accounts(&self, commands: &[&Command], sorted: &Sorted<'_>) -> Vec<AccountId> {
        let mut wanted = Vec::new();
        for a in &sorted.adjusts {
            push_unique(&mut wanted, a.member_account_id);
        }
        for r in &sorted.redeems {
            wanted.extend(self.ledger.member_accounts.get(&r.member_id).copied());
            wanted.extend(r.pay_from);
        }
        for v in &sorted.voids {
            if let Some(state) = self.shop.redemptions.get(&v.redemption_id) {
                push_unique(&mut wanted, state.row.account_id.into());
            }
        }
        for d in &sorted.deeds {
            if let Some(deed) = self.deeds.deeds.get(&d.deed_id) {
                push_unique(&mut wanted, deed.account_id.into());
            }
        }
        for h in &sorted.holds {
            wanted.extend(self.ledger.member_accounts.get(&h.member_id).copied());
        }
        for id in sorted.orders_named() {
            if let Some((order, _)) = self.orders.orders.get(&id) {
                push_unique(&mut wanted, order.account_id.into());
            }
        }
        for e in &sorted.expires {
            push_unique(&mut wanted, e.account_id);
        }
        for d in &sorted.donations {
            wanted.extend(self.ledger.member_accounts.get(&d.member_id).copied());
        }
        for a in &sorted.approvals {
            wanted.extend(self.fund.grant_account(a.grant_id));
        }
        for command in commands {
            if let Some(community) = Book::community(command) {
                wanted.extend(self.ledger.system_accounts(community));
            }
        }
        wanted
    }

    fn wanted_goods(&self, sorted: &Sorted<'_>) -> Vec<GoodsId> {
        let mut wanted = Vec::new();
        for r in &sorted.redeems {
            wanted.extend(r.lines.iter().map(|l| l.goods_id));
        }
        for v in &sorted.voids {
            if let Some(state) = self.shop.redemptions.get(&v.redemption_id) {
                wanted.extend(state.lines.iter().map(|l| GoodsId::from(l.goods_id)));
            }
        }
        wanted.extend(sorted.restocks.iter().map(|r| r.goods_id));
        for h in &sorted.holds {
            wanted.extend(h.lines.iter().map(|l| l.goods_id));
        }
        for r in &sorted.releases {
            if let Some((_, lines)) = self.orders.orders.get(&crate::db::DbUuid(r.order_id)) {
                wanted.extend(lines.iter().map(|l| GoodsId::from(l.goods_id)));
            }
        }
        wanted
    }

    /// The rows of the view a command's answer rests on.
    fn rows_behind(&self, command: &Command, now: NaiveDateTime) -> Vec<Key> {
        let mut keys = Vec::new();
        match command {
            Command::Adjust(a) => keys.push(Key::Account(a.member_account_id)),
            Command::Redeem(r) => {
                keys.extend(
                    self.ledger
                        .member_accounts
                        .get(&r.member_id)
                        .map(|a| Key::Account(*a)),
                );
                keys.extend(r.pay_from.map(Key::Account));
                let month = self
                    .ledger
                    .communities
                    .get(&r.community_id)
                    .map(|c| c.calendar().month_key(now));
                for line in &r.lines {
                    keys.push(Key::Goods(line.goods_id));
                    if let Some(month) = &month {
                        let key = (r.member_id, line.goods_id, month.clone());
                        if self.shop.monthly.contains_key(&key) {
                            keys.push(Key::Monthly(key));
                        }
                    }
                }
            }
            Command::Void(v) => {
                keys.push(Key::Redemption(v.redemption_id));
                if let Some(state) = self.shop.redemptions.get(&v.redemption_id) {
                    keys.push(Key::Account(state.row.account_id.into()));
                    keys.extend(state.lines.iter().map(|l| Key::Goods(l.goods_id.into())));
                }
            }
            Command::Restock(r) => keys.push(Key::Goods(r.goods_id)),
            Command::Hold(h) => {
                return self.rows_behind(&Command::Redeem(Box::new(h.as_redeem())), now);
            }
            Command::Collect(Collect { order_id, .. })
            | Command::Release(Release { order_id, .. }) => {
                if let Some((order, lines)) = self.orders.orders.get(&crate::db::DbUuid(*order_id))
                {
                    keys.push(Key::Account(order.account_id.into()));
                    keys.extend(lines.iter().map(|l| Key::Goods(l.goods_id.into())));
                }
            }
            Command::Deed(d) => {
                if let Some(deed) = self.deeds.deeds.get(&d.deed_id) {
                    keys.push(Key::Account(deed.account_id.into()));
                }
            }
            Command::Expire(e) => keys.push(Key::Account(e.account_id)),
            Command::Donate(d) => keys.extend(
                self.ledger
                    .member_accounts
                    .get(&d.member_id)
                    .map(|a| Key::Account(*a)),
            ),
            Command::ApproveGrant(a) => {
                let fund = self
                    .ledger
                    .communities
                    .get(&a.community_id)
                    .and_then(|c| c.fund_account);
                keys.extend(fund.map(Key::Account));
                keys.extend(self.fund.grant_account(a.grant_id).map(Key::Account));
            }
            Command::Ping => {}
        }
        keys
    }

    fn is_fresh(&self, key: &Key) -> bool {
        match key {
            Key::Account(id) => self.ledger.fresh_accounts.contains(id),
            Key::Goods(id) => self.shop.fresh_goods.contains(id),
            Key::Redemption(id) => self.shop.fresh_redemptions.contains(id),
            Key::Monthly(key) => self.shop.fresh_monthly.contains(key),
        }
    }
}

impl Machine for Book {
    type Command = Command;
    type Outcome = Outcome;
    type Pending = Pending;
    type Key = Key;

    fn tables() -> &'static [&'static TableWrite] {
        &TABLES
    }

    fn community(command: &Command) -> Option<CommunityId> {
        match command {
            Command::Adjust(a) => Some(a.community_id),
            Command::Redeem(r) => Some(r.community_id),
            Command::Void(v) => Some(v.community_id),
            Command::Restock(r) => Some(r.community_id),
            Command::Deed(d) => Some(d.community_id),
            Command::Hold(h) => Some(h.community_id),
            Command::Collect(c) => Some(c.community_id),
            Command::Release(r) => Some(r.community_id),
            Command::Expire(e) => Some(e.community_id),
            Command::Donate(d) => Some(d.community_id),
            Command::ApproveGrant(a) => Some(a.community_id),
            Command::Ping => None,
        }
    }

    fn idempotency(command: &Command) -> Option<&IdempotencyClaim> {
        match command {
            Command::Adjust(a) => Some(&a.idempotency),
            Command::Redeem(r) => Some(&r.idempotency),
            Command::Hold(h) => Some(&h.idempotency),
            Command::Donate(d) => Some(&d.idempotency),
            _ => None,
        }
    }

    fn view(&self) -> &View {
        &self.ledger
    }

    fn start_batch(&mut self) {
        self.ledger.start_batch();
        self.shop.start_batch();
        self.deeds.start_batch();
        self.orders.start_batch();
        self.expiry.start_batch();
        self.fund.start_batch();
    }

    /// What the batch needs and the view lacks, a few queries per batch. Deeds and redemptions to
    /// void first (they name accounts and goods), then chain heads, accounts, goods, and the
    /// month's sums and counts, which need all of those.
    fn load(
        &mut self,
        conn: &mut DbConn,
        commands: &[&Command],
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        let sorted = sort(commands);
        self.deeds.load_deeds(conn, &sorted.deeds)?;
        self.deeds.load_receivables(conn, &sorted.deeds)?;
        self.shop.load_redemptions(conn, &sorted.voids)?;
        self.orders.load(conn, &sorted.orders_named())?;
        self.expiry.load_done(conn, &sorted.expires)?;
        self.fund.load_grants(conn, &sorted.approvals)?;
        let mut communities = Vec::new();
        for command in commands {
            if let Some(community) = Book::community(command) {
                push_unique(&mut communities, community);
            }
        }
        self.ledger.load_communities(conn, &communities)?;
        let members: Vec<_> = sorted
            .redeems
            .iter()
            .map(|r| r.member_id)
            .chain(sorted.holds.iter().map(|h| h.member_id))
            .chain(sorted.donations.iter().map(|d| d.member_id))
            .collect();
        self.ledger.load_member_accounts(conn, &members)?;
        let claims: Vec<_> = commands
            .iter()
            .filter_map(|c| Book::idempotency(c))
            .collect();
        self.ledger.load_stored_keys(conn, &claims)?;
        let accounts = self.wanted_accounts(commands, &sorted);
        self.ledger.load_accounts(conn, &accounts)?;
        let goods = self.wanted_goods(&sorted);
        self.shop.load_goods(conn, &goods)?;
        self.deeds
            .load_cap_sums(conn, &self.ledger, &sorted.deeds)?;
        self.shop
            .load_monthly(conn, &self.ledger, &sorted.redeems, now)?;
        let holds: Vec<Redeem> = sorted.holds.iter().map(|h| h.as_redeem()).collect();
        let holds: Vec<&Redeem> = holds.iter().collect();
        self.shop.load_monthly(conn, &self.ledger, &holds, now)?;
        Ok(())
    }

    fn plan(
        &self,
        command: &Command,
        batch: &mut Batch,
        pending: &mut Pending,
        now: NaiveDateTime,
    ) -> Result<Outcome, LedgerError> {
        let mut shop = Shop {
            ledger: &self.ledger,
            view: &self.shop,
            batch,
            pending: &mut pending.shop,
            now,
        };
        match command {
            Command::Adjust(a) => {
                plan_adjust(a, &self.ledger, shop.batch, now).map(Outcome::Posted)
            }
            Command::Redeem(r) => shop.redeem(r).map(Outcome::Shop),
            Command::Void(v) => shop.void(v).map(Outcome::Shop),
            Command::Restock(r) => shop.restock(r).map(Outcome::Shop),
            Command::Hold(h) => shop
                .hold(h, &mut pending.orders)
                .map(|o| Outcome::Order(Box::new(o))),
            Command::Collect(c) => shop
                .collect(c, &self.orders, &mut pending.orders)
                .map(|o| Outcome::Order(Box::new(o))),
            Command::Release(r) => shop
                .release(r, &self.orders, &mut pending.orders)
                .map(|o| Outcome::Order(Box::new(o))),
            Command::Deed(d) => Deeds {
                ledger: &self.ledger,
                view: &self.deeds,
                batch: shop.batch,
                pending: &mut pending.deeds,
                now,
            }
            .run(d)
            .map(Outcome::Deed),
            Command::Expire(e) => {
                plan_expire(e, &self.ledger, &self.expiry, shop.batch, now).map(Outcome::Posted)
            }
            Command::Donate(d) => Fund {
                ledger: &self.ledger,
                view: &self.fund,
                batch: shop.batch,
                pending: &mut pending.fund,
                now,
            }
            .donate(d)
            .map(Outcome::Fund),
            Command::ApproveGrant(a) => Fund {
                ledger: &self.ledger,
                view: &self.fund,
                batch: shop.batch,
                pending: &mut pending.fund,
                now,
            }
            .approve(a)
            .map(Outcome::Fund),
            Command::Ping => Ok(Outcome::Pong),
        }
    }

    fn unconfirmed(&self, command: &Command, now: NaiveDateTime) -> Vec<Key> {
        self.rows_behind(command, now)
            .into_iter()
            .filter(|key| !self.is_fresh(key))
            .collect()
    }

    fn reread(&mut self, keys: &[Key]) {
        for key in keys {
            match key {
                Key::Account(id) => {
                    self.ledger.accounts.remove(id);
                }
                Key::Goods(id) => {
                    self.shop.goods.remove(id);
                }
                Key::Redemption(id) => {
                    self.shop.redemptions.remove(id);
                }
                Key::Monthly(key) => {
                    self.shop.monthly.remove(key);
                }
            }
        }
    }

    fn finish(&self, pending: &Pending, batch: &mut Batch) {
        pending.shop.push_updates(batch);
        pending.deeds.push_updates(batch);
        pending.orders.push_rows(batch);
    }

    fn adopt(&mut self, batch: Batch, pending: Pending) {
        batch.adopt_into(&mut self.ledger);
        pending.shop.adopt_into(&mut self.shop);
    }

    fn forget(&mut self) {
        *self = Book::default();
    }
}
