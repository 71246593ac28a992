//! The shop's part of the ledger writer: redeeming a basket, voiding a redemption, restocking.
//! Every check first, with nothing changed; then every effect into the batch.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::model::{RedemptionStatus, StockMovementKind};
use super::store::{RedemptionLineRow, RedemptionRow, StockMovementRow};
use super::view::{GoodsState, MonthlyKey, RedemptionState, ShopView};
use super::write::{GoodsUpdate, VoidUpdate};
use crate::db::DbUuid;
use crate::kernel::points::POINTS_ABS_MAX_HUNDREDTHS;
use crate::kernel::policy::refuse_self_dealing;
use crate::kernel::{
    AccountId, AccountKind, Act, Actor, BalancedTransaction, CommunityId, GoodsId, JournalKind,
    MemberId, Points, PostingDraft, RedemptionId, Subject,
};
use crate::ledger::view::AccountState;
use crate::ledger::{
    post, unbalanced, Batch, Draft, IdempotencyClaim, LedgerError, Posted, StockShortage, View,
};

/// Stock one goods may hold at most.
pub const STOCK_MAX: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasketLine {
    pub goods_id: GoodsId,
    pub quantity: i64,
}

/// The shop counter: member −total, shop +total, stock down, redemption recorded.
#[derive(Debug, Clone)]
pub struct Redeem {
    pub community_id: CommunityId,
    pub redemption_id: RedemptionId,
    /// The writer finds the member's passbook account, number and name.
    pub member_id: MemberId,
    pub clerk: Actor,
    pub clerk_username: String,
    /// Distinct goods, each at most once.
    pub lines: Vec<BasketLine>,
    /// What the counter showed; a different server total is refused with the new total.
    pub expected_total: Option<Points>,
    /// Pay from this household passbook instead of the member's own (the handler checked that
    /// the member belongs to it and the community allows it).
    pub pay_from: Option<AccountId>,
    pub idempotency: IdempotencyClaim,
}

/// The exact mirror of a redemption, once: coins and stock come back.
#[derive(Debug, Clone)]
pub struct Void {
    pub community_id: CommunityId,
    pub redemption_id: RedemptionId,
    pub actor: Actor,
    pub reason: String,
    /// A clerk may void only on the redemption's own local day; an admin any time.
    pub same_day_only: bool,
}

/// More goods on the shelf. No coins move, but stock is the writer's to change.
#[derive(Debug, Clone)]
pub struct Restock {
    pub community_id: CommunityId,
    pub goods_id: GoodsId,
    pub quantity: i64,
    pub reason: String,
    pub actor: Actor,
}

/// What the shop's commands answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ShopOutcome {
    Redeemed {
        posted: Posted,
        redemption: RedemptionRow,
        lines: Vec<RedemptionLineRow>,
    },
    Voided {
        posted: Posted,
        redemption: RedemptionRow,
        lines: Vec<RedemptionLineRow>,
    },
    Restocked {
        goods_id: GoodsId,
        movement: StockMovementRow,
    },
}

/// The goods, redemptions and monthly counts a batch changes, over the view.
#[derive(Debug, Default)]
pub struct ShopPending {
    /// Goods → (version the view saw, new state).
    pub goods: HashMap<GoodsId, (i64, GoodsState)>,
    pub redemptions: HashMap<RedemptionId, RedemptionState>,
    pub monthly: HashMap<MonthlyKey, i64>,
}

impl ShopPending {
    pub(crate) fn goods(&self, view: &ShopView, id: GoodsId) -> Option<GoodsState> {
        self.goods
            .get(&id)
            .map(|(_, g)| g.clone())
            .or_else(|| view.goods.get(&id).cloned())
    }

    pub(crate) fn set_goods(&mut self, view: &ShopView, id: GoodsId, next: GoodsState) {
        let seen = self
            .goods
            .get(&id)
            .map(|(v, _)| *v)
            .or_else(|| view.goods.get(&id).map(|g| g.version))
            .unwrap_or(next.version);
        self.goods.insert(id, (seen, next));
    }

    fn redemption(&self, view: &ShopView, id: RedemptionId) -> Option<RedemptionState> {
        self.redemptions
            .get(&id)
            .cloned()
            .or_else(|| view.redemptions.get(&id).cloned())
    }

    pub(crate) fn monthly(&self, view: &ShopView, key: &MonthlyKey) -> Option<i64> {
        self.monthly
            .get(key)
            .copied()
            .or_else(|| view.monthly.get(key).copied())
    }

    /// The changed goods as guarded updates, in a fixed order.
    pub fn push_updates(&self, batch: &mut Batch) {
        let mut goods: Vec<_> = self.goods.iter().collect();
        goods.sort_by_key(|(id, _)| **id);
        for (id, (seen, state)) in goods {
            batch.rows.push(&GoodsUpdate {
                id: (*id).into(),
                seen: *seen,
                stock: state.stock,
            });
        }
    }

    /// Takes the committed states into the view, with the versions now stored.
    pub fn adopt_into(self, view: &mut ShopView) {
        for (id, (seen, mut state)) in self.goods {
            state.version = seen + 1;
            view.goods.insert(id, state);
        }
        view.redemptions.extend(self.redemptions);
        view.monthly.extend(self.monthly);
    }
}

/// Everything the shop's planning reads: the ledger's view, the shop's, and the batch so far.
pub struct Shop<'a> {
    pub ledger: &'a View,
    pub view: &'a ShopView,
    pub batch: &'a mut Batch,
    pub pending: &'a mut ShopPending,
    pub now: NaiveDateTime,
}

/// A basket priced against the goods as they stand, with the total.
pub(crate) struct Priced {
    pub(crate) lines: Vec<(BasketLine, GoodsState, i64)>,
    pub(crate) total: i64,
}

impl Priced {
    /// What the passbook line says: 大米×2，肥皂×1.
    pub(crate) fn memo(&self) -> String {
        self.lines
            .iter()
            .map(|(line, goods, _)| format!("{}×{}", goods.name, line.quantity))
            .collect::<Vec<_>>()
            .join("，")
    }
}

impl Shop<'_> {
    pub(crate) fn price_basket(&self, r: &Redeem) -> Result<Priced, LedgerError> {
        let mut shortages = Vec::new();
        let mut lines = Vec::with_capacity(r.lines.len());
        let mut total: i64 = 0;
        for line in &r.lines {
            debug_assert!(
                lines
                    .iter()
                    .all(|(l, _, _): &(BasketLine, GoodsState, i64)| l.goods_id != line.goods_id),
                "basket lines name distinct goods"
            );
            let goods = self
                .pending
                .goods(self.view, line.goods_id)
                .filter(|g| g.community_id == r.community_id)
                .ok_or(LedgerError::GoodsNotFound(line.goods_id))?;
            if !goods.active {
                return Err(LedgerError::GoodsInactive {
                    goods_id: line.goods_id,
                    sku: goods.sku,
                });
            }
            if goods.stock < line.quantity {
                shortages.push(StockShortage {
                    goods_id: line.goods_id,
                    sku: goods.sku.clone(),
                    requested: line.quantity,
                    available: goods.stock,
                });
            }
            let line_total = goods
                .price
                .checked_mul(line.quantity)
                .ok_or(LedgerError::TooLarge)?;
            total = total
                .checked_add(line_total)
                .filter(|t| *t <= POINTS_ABS_MAX_HUNDREDTHS)
                .ok_or(LedgerError::TooLarge)?;
            lines.push((*line, goods, line_total));
        }
        if !shortages.is_empty() {
            return Err(LedgerError::OutOfStock(shortages));
        }
        Ok(Priced { lines, total })
    }

    pub(crate) fn check_monthly_limits(
        &self,
        r: &Redeem,
        priced: &Priced,
        month: &str,
    ) -> Result<(), LedgerError> {
        for (line, goods, _) in &priced.lines {
            let Some(limit) = goods.monthly_limit else {
                continue;
            };
            let key = (r.member_id, line.goods_id, month.to_string());
            let already = self.pending.monthly(self.view, &key).ok_or_else(|| {
                LedgerError::Unavailable("the monthly count was not loaded".into())
            })?;
            if already + line.quantity > limit {
                return Err(LedgerError::MonthlyLimit {
                    goods_id: line.goods_id,
                    sku: goods.sku.clone(),
                    limit,
                    already,
                    requested: line.quantity,
                });
            }
        }
        Ok(())
    }

    /// The member's passbook account and state, if the member may redeem now. `own`: the member
    /// acts for themself (a resident reserving), not a clerk at the counter for them.
    pub(crate) fn redeeming_member(
        &self,
        r: &Redeem,
        own: bool,
    ) -> Result<(AccountId, AccountState), LedgerError> {
        let member_account = self
            .ledger
            .member_accounts
            .get(&r.member_id)
            .copied()
            .ok_or(LedgerError::MemberNotFound(r.member_id))?;
        let member = self
            .batch
            .account(self.ledger, member_account)
            .filter(|a| a.community_id == r.community_id && a.kind == AccountKind::Member)
            .ok_or(LedgerError::MemberNotFound(r.member_id))?;
        if !own {
            refuse_self_dealing(
                r.clerk,
                Act::Redeem,
                Subject {
                    member_id: Some(r.member_id),
                    ..Subject::default()
                },
            )?;
        }
        if !member.member_active {
            return Err(LedgerError::MemberInactive(r.member_id));
        }
        if let Some(household) = r.pay_from {
            let paying = self
                .batch
                .account(self.ledger, household)
                .filter(|a| a.community_id == r.community_id && a.kind == AccountKind::Household)
                .ok_or(LedgerError::AccountNotFound(household))?;
            return Ok((household, paying));
        }
        Ok((member_account, member))
    }

    pub fn redeem(&mut self, r: &Redeem) -> Result<ShopOutcome, LedgerError> {
        let community = self
            .batch
            .community(self.ledger, r.community_id)
            .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
        let shop = community
            .shop_account
            .ok_or_else(|| LedgerError::Unavailable("the community has no shop account".into()))?;
        let (member_account, member) = self.redeeming_member(r, false)?;
        // The member's own facts for the receipt; a household's passbook line says who it was.
        let (member_no, member_name) = match r.pay_from {
            Some(_) => self
                .ledger
                .member_accounts
                .get(&r.member_id)
                .and_then(|a| self.batch.account(self.ledger, *a))
                .map(|m| (m.member_no, m.member_name))
                .unwrap_or_default(),
            None => (member.member_no.clone(), member.member_name.clone()),
        };
        let who = if r.pay_from.is_some() {
            format!("【{member_name}】")
        } else {
            String::new()
        };
        let calendar = community.calendar();
        let (local_day, local_month) = (calendar.day_key(self.now), calendar.month_key(self.now));
        let priced = self.price_basket(r)?;
        let total = Points::from_hundredths(priced.total);
        if r.expected_total.is_some_and(|expected| expected != total) {
            return Err(LedgerError::PriceChanged { total });
        }
        self.check_monthly_limits(r, &priced, &local_month)?;
        let transaction = BalancedTransaction::new(vec![
            PostingDraft {
                account_id: member_account,
                amount: -total,
            },
            PostingDraft {
                account_id: shop,
                amount: total,
            },
        ])
        .map_err(unbalanced)?;
        // The balance check happens here; it too changes nothing when it refuses.
        let draft = Draft {
            community_id: r.community_id,
            kind: JournalKind::Redemption,
            reference_id: Some(r.redemption_id.0),
            memo: format!("{who}{}", priced.memo()),
            actor_id: Some(r.clerk.user_id),
            transaction,
            idempotency: Some(r.idempotency.clone()),
        };
        let posted = post(draft, self.ledger, self.batch, self.now)?;
        let balance_after = posted
            .line_for(member_account)
            .map(|l| l.balance_after.hundredths())
            .ok_or_else(|| LedgerError::Unavailable("the member line is missing".into()))?;
        let lines = self.take_stock(r, priced, &local_month, "兑换");
        let row = RedemptionRow {
            id: r.redemption_id.into(),
            community_id: r.community_id.into(),
            member_id: r.member_id.into(),
            account_id: member_account.into(),
            member_no,
            member_name,
            clerk_id: r.clerk.user_id.into(),
            clerk_username: r.clerk_username.clone(),
            total: total.hundredths(),
            balance_after,
            status: RedemptionStatus::Completed,
            local_day,
            local_month,
            journal_id: posted.journal_id.into(),
            created_at: self.now,
            void_journal_id: None,
            voided_at: None,
            voided_by: None,
            void_reason: None,
        };
        Ok(self.receipt(r, posted, row, lines))
    }

    /// The redemption and its lines into the batch, and the answer.
    fn receipt(
        &mut self,
        r: &Redeem,
        posted: Posted,
        row: RedemptionRow,
        lines: Vec<RedemptionLineRow>,
    ) -> ShopOutcome {
        self.batch.rows.push(&row);
        for line in &lines {
            self.batch.rows.push(line);
        }
        self.pending.redemptions.insert(
            r.redemption_id,
            RedemptionState {
                row: row.clone(),
                lines: lines.clone(),
            },
        );
        ShopOutcome::Redeemed {
            posted,
            redemption: row,
            lines,
        }
    }

    /// The basket leaves the shelf: lines of the receipt, stock movements, monthly counts.
    pub(crate) fn take_stock(
        &mut self,
        r: &Redeem,
        priced: Priced,
        month: &str,
        reason: &str,
    ) -> Vec<RedemptionLineRow> {
        let mut lines = Vec::with_capacity(priced.lines.len());
        for (index, (line, goods, line_total)) in priced.lines.into_iter().enumerate() {
            let stock = goods.stock - line.quantity;
            assert!(stock >= 0, "stock never goes negative");
            lines.push(RedemptionLineRow {
                id: DbUuid(self.batch.ids.next_id()),
                redemption_id: r.redemption_id.into(),
                goods_id: line.goods_id.into(),
                line_no: index as i32 + 1,
                sku: goods.sku.clone(),
                name: goods.name.clone(),
                quantity: line.quantity,
                unit_price: goods.price,
                line_total,
                community_id: r.community_id.into(),
            });
            let movement = StockMovementRow {
                id: DbUuid(self.batch.ids.next_id()),
                community_id: r.community_id.into(),
                goods_id: line.goods_id.into(),
                kind: StockMovementKind::Redemption,
                quantity: -line.quantity,
                stock_after: stock,
                reference_id: Some(r.redemption_id.into()),
                reason: reason.into(),
                actor_id: Some(r.clerk.user_id.into()),
                created_at: self.now,
            };
            self.batch.rows.push(&movement);
            if goods.monthly_limit.is_some() {
                let key = (r.member_id, line.goods_id, month.to_string());
                let already = self.pending.monthly(self.view, &key).unwrap_or(0);
                self.pending.monthly.insert(key, already + line.quantity);
            }
            self.pending
                .set_goods(self.view, line.goods_id, GoodsState { stock, ..goods });
        }
        lines
    }

    pub fn void(&mut self, v: &Void) -> Result<ShopOutcome, LedgerError> {
        let state = self
            .pending
            .redemption(self.view, v.redemption_id)
            .filter(|s| CommunityId::from(s.row.community_id) == v.community_id)
            .ok_or(LedgerError::RedemptionNotFound(v.redemption_id))?;
        refuse_self_dealing(
            v.actor,
            Act::Void,
            Subject {
                member_id: Some(state.row.member_id.into()),
                ..Subject::default()
            },
        )?;
        if state.row.status != RedemptionStatus::Completed {
            return Err(LedgerError::AlreadyVoided(v.redemption_id));
        }
        let community = self
            .batch
            .community(self.ledger, v.community_id)
            .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
        if v.same_day_only && state.row.local_day != community.calendar().day_key(self.now) {
            return Err(LedgerError::VoidWindowClosed);
        }
        let shop = community
            .shop_account
            .ok_or_else(|| LedgerError::Unavailable("the community has no shop account".into()))?;
        let restored = self.stock_coming_back(&state)?;
        let total = Points::from_hundredths(state.row.total);
        let account_id = AccountId::from(state.row.account_id);
        let transaction = BalancedTransaction::new(vec![
            PostingDraft {
                account_id,
                amount: total,
            },
            PostingDraft {
                account_id: shop,
                amount: -total,
            },
        ])
        .map_err(unbalanced)?;
        let posted = post(
            Draft {
                community_id: v.community_id,
                kind: JournalKind::RedemptionVoid,
                reference_id: Some(v.redemption_id.0),
                memo: v.reason.clone(),
                actor_id: Some(v.actor.user_id),
                transaction,
                idempotency: None,
            },
            self.ledger,
            self.batch,
            self.now,
        )?;
        for (goods_id, goods, stock, quantity) in restored {
            self.restore_stock(v, &state, goods_id, goods, stock, quantity);
        }
        let mut row = state.row.clone();
        row.status = RedemptionStatus::Voided;
        row.void_journal_id = Some(posted.journal_id.into());
        row.voided_at = Some(self.now);
        row.voided_by = Some(v.actor.user_id.into());
        row.void_reason = Some(v.reason.clone());
        self.batch.rows.push(&VoidUpdate { row: &row });
        self.pending.redemptions.insert(
            v.redemption_id,
            RedemptionState {
                row: row.clone(),
                lines: state.lines.clone(),
            },
        );
        Ok(ShopOutcome::Voided {
            posted,
            redemption: row,
            lines: state.lines,
        })
    }

    /// Each line's goods with the stock they will have once the line comes back.
    fn stock_coming_back(
        &self,
        state: &RedemptionState,
    ) -> Result<Vec<(GoodsId, GoodsState, i64, i64)>, LedgerError> {
        let mut restored = Vec::with_capacity(state.lines.len());
        for line in &state.lines {
            let goods_id = GoodsId::from(line.goods_id);
            let goods = self
                .pending
                .goods(self.view, goods_id)
                .ok_or(LedgerError::GoodsNotFound(goods_id))?;
            let stock = goods
                .stock
                .checked_add(line.quantity)
                .filter(|s| *s <= STOCK_MAX)
                .ok_or(LedgerError::TooLarge)?;
            restored.push((goods_id, goods, stock, line.quantity));
        }
        Ok(restored)
    }

    fn restore_stock(
        &mut self,
        v: &Void,
        state: &RedemptionState,
        goods_id: GoodsId,
        goods: GoodsState,
        stock: i64,
        quantity: i64,
    ) {
        let movement = StockMovementRow {
            id: DbUuid(self.batch.ids.next_id()),
            community_id: v.community_id.into(),
            goods_id: goods_id.into(),
            kind: StockMovementKind::Void,
            quantity,
            stock_after: stock,
            reference_id: Some(v.redemption_id.into()),
            reason: v.reason.clone(),
            actor_id: Some(v.actor.user_id.into()),
            created_at: self.now,
        };
        self.batch.rows.push(&movement);
        let key = (
            state.row.member_id.into(),
            goods_id,
            state.row.local_month.clone(),
        );
        if let Some(already) = self.pending.monthly(self.view, &key) {
            self.pending
                .monthly
                .insert(key, (already - quantity).max(0));
        }
        self.pending
            .set_goods(self.view, goods_id, GoodsState { stock, ..goods });
    }

    pub fn restock(&mut self, r: &Restock) -> Result<ShopOutcome, LedgerError> {
        let goods = self
            .pending
            .goods(self.view, r.goods_id)
            .filter(|g| g.community_id == r.community_id)
            .ok_or(LedgerError::GoodsNotFound(r.goods_id))?;
        let stock = goods
            .stock
            .checked_add(r.quantity)
            .filter(|s| *s <= STOCK_MAX)
            .ok_or(LedgerError::TooLarge)?;
        let movement = StockMovementRow {
            id: DbUuid(self.batch.ids.next_id()),
            community_id: r.community_id.into(),
            goods_id: r.goods_id.into(),
            kind: StockMovementKind::Restock,
            quantity: r.quantity,
            stock_after: stock,
            reference_id: None,
            reason: r.reason.clone(),
            actor_id: Some(r.actor.user_id.into()),
            created_at: self.now,
        };
        self.batch.rows.push(&movement);
        self.pending
            .set_goods(self.view, r.goods_id, GoodsState { stock, ..goods });
        Ok(ShopOutcome::Restocked {
            goods_id: r.goods_id,
            movement,
        })
    }
}

pub mod preview;
#[cfg(test)]
mod tests;
