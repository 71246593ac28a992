//! The orders' part of the ledger writer: placing an order (passbook → holds, goods off the
//! shelf), collecting it at the counter (holds → shop, a redemption with its receipt), and
//! releasing it, cancelled or expired (holds → passbook, goods back). Every check first, with
//! nothing changed; then every effect into the batch. An order ends exactly once: the end is
//! written only while the stored order is still held, and each end is a transaction of its own
//! kind referencing the order, unique in the journal.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::model::OrderStatus;
use super::store::{OrderLineRow, OrderRow, OrderWithLines};
use super::view::OrderView;
use super::write::OrderEnd;
use crate::db::DbUuid;
use crate::kernel::policy::refuse_self_dealing;
use crate::kernel::{
    AccountId, Act, Actor, BalancedTransaction, CommunityId, GoodsId, JournalKind, MemberId,
    Points, PostingDraft, RedemptionId, Subject,
};
use crate::ledger::{post, unbalanced, Batch, Draft, IdempotencyClaim, LedgerError, Posted};
use crate::shop::model::{RedemptionStatus, StockMovementKind};
use crate::shop::plan::{BasketLine, Redeem, Shop};
use crate::shop::store::{RedemptionLineRow, RedemptionRow, StockMovementRow};
use crate::shop::view::{GoodsState, RedemptionState};

/// Reserve a basket for a member: coins and goods held until collected, cancelled or expired.
#[derive(Debug, Clone)]
pub struct Hold {
    pub community_id: CommunityId,
    pub order_id: uuid::Uuid,
    pub member_id: MemberId,
    pub actor: Actor,
    pub actor_username: String,
    /// The member reserves for themself (a resident); otherwise a clerk for them, who may not
    /// be that member.
    pub own: bool,
    pub lines: Vec<BasketLine>,
    pub expected_total: Option<Points>,
    pub pickup_code: String,
    pub expires_at: NaiveDateTime,
    pub idempotency: IdempotencyClaim,
}

impl Hold {
    /// The basket as the shop's checks read it: the same member, goods and key.
    pub fn as_redeem(&self) -> Redeem {
        Redeem {
            community_id: self.community_id,
            redemption_id: RedemptionId(self.order_id),
            member_id: self.member_id,
            clerk: self.actor,
            clerk_username: self.actor_username.clone(),
            lines: self.lines.clone(),
            expected_total: self.expected_total,
            pay_from: None,
            idempotency: self.idempotency.clone(),
        }
    }
}

/// Hand a held order over at the counter.
#[derive(Debug, Clone)]
pub struct Collect {
    pub community_id: CommunityId,
    pub order_id: uuid::Uuid,
    pub clerk: Actor,
    pub clerk_username: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// By the resident or a clerk.
    Cancelled,
    /// By the sweeper, once the order's time ran out.
    Expired,
}

/// Give a held order's coins and goods back.
#[derive(Debug, Clone)]
pub struct Release {
    pub community_id: CommunityId,
    pub order_id: uuid::Uuid,
    pub actor: Option<Actor>,
    pub ending: Ending,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrderOutcome {
    Held {
        posted: Posted,
        order: OrderRow,
        lines: Vec<OrderLineRow>,
    },
    Collected {
        posted: Posted,
        order: OrderRow,
        lines: Vec<OrderLineRow>,
        redemption: Box<RedemptionRow>,
        /// The receipt's lines, as written.
        receipt: Vec<RedemptionLineRow>,
    },
    Released {
        posted: Posted,
        order: OrderRow,
        lines: Vec<OrderLineRow>,
    },
}

/// Orders placed or ended in this batch, as they stand at its end.
#[derive(Debug, Default)]
pub struct OrderPending {
    pub orders: HashMap<DbUuid, OrderWithLines>,
    /// Those read from the view and ended here (placed ones are inserted already ended).
    pub ended: Vec<DbUuid>,
    pub placed: Vec<DbUuid>,
}

impl OrderPending {
    fn order(&self, view: &OrderView, id: DbUuid) -> Option<OrderWithLines> {
        self.orders
            .get(&id)
            .or_else(|| view.orders.get(&id))
            .cloned()
    }

    /// New orders, then the ends of stored ones, in a fixed order.
    pub fn push_rows(&self, batch: &mut Batch) {
        for id in &self.placed {
            if let Some((order, lines)) = self.orders.get(id) {
                batch.rows.push(order);
                for line in lines {
                    batch.rows.push(line);
                }
            }
        }
        let mut ended = self.ended.clone();
        ended.sort();
        for id in ended {
            if let Some((order, _)) = self.orders.get(&id) {
                batch.rows.push(&OrderEnd { order });
            }
        }
    }
}

fn lines_memo(lines: &[OrderLineRow]) -> String {
    lines
        .iter()
        .map(|l| format!("{}×{}", l.name, l.quantity))
        .collect::<Vec<_>>()
        .join("，")
}

impl Shop<'_> {
    #[allow(clippy::too_many_arguments)]
    fn two_legs(
        &mut self,
        community_id: CommunityId,
        from: AccountId,
        to: AccountId,
        amount: Points,
        kind: JournalKind,
        reference: uuid::Uuid,
        memo: String,
        actor: Option<Actor>,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Posted, LedgerError> {
        let transaction = BalancedTransaction::new(vec![
            PostingDraft {
                account_id: from,
                amount: -amount,
            },
            PostingDraft {
                account_id: to,
                amount,
            },
        ])
        .map_err(unbalanced)?;
        post(
            Draft {
                community_id,
                kind,
                reference_id: Some(reference),
                memo,
                actor_id: actor.map(|a| a.user_id),
                transaction,
                idempotency,
            },
            self.ledger,
            self.batch,
            self.now,
        )
    }

    pub fn hold(
        &mut self,
        h: &Hold,
        pending: &mut OrderPending,
    ) -> Result<OrderOutcome, LedgerError> {
        let r = h.as_redeem();
        let community = self
            .batch
            .community(self.ledger, h.community_id)
            .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
        let holds = community
            .holds_account
            .ok_or_else(|| LedgerError::Unavailable("the community has no holds account".into()))?;
        let (member_account, _) = self.redeeming_member(&r, h.own)?;
        let month = community.calendar().month_key(self.now);
        let priced = self.price_basket(&r)?;
        let total = Points::from_hundredths(priced.total);
        if h.expected_total.is_some_and(|expected| expected != total) {
            return Err(LedgerError::PriceChanged { total });
        }
        self.check_monthly_limits(&r, &priced, &month)?;
        let memo = format!("预订 {}（取货码 {}）", priced.memo(), h.pickup_code);
        let posted = self.two_legs(
            h.community_id,
            member_account,
            holds,
            total,
            JournalKind::OrderHold,
            h.order_id,
            memo,
            Some(h.actor),
            Some(h.idempotency.clone()),
        )?;
        let reason = format!("预订（取货码 {}）", h.pickup_code);
        let taken = self.take_stock(&r, priced, &month, &reason);
        let id = DbUuid(h.order_id);
        let lines: Vec<OrderLineRow> = taken
            .into_iter()
            .map(|l| OrderLineRow {
                id: l.id,
                order_id: id,
                community_id: h.community_id.into(),
                goods_id: l.goods_id,
                line_no: l.line_no,
                sku: l.sku,
                name: l.name,
                quantity: l.quantity,
                unit_price: l.unit_price,
                line_total: l.line_total,
            })
            .collect();
        let order = OrderRow {
            id,
            community_id: h.community_id.into(),
            member_id: h.member_id.into(),
            account_id: member_account.into(),
            pickup_code: h.pickup_code.clone(),
            status: OrderStatus::Held,
            total: total.hundredths(),
            local_month: month,
            hold_journal_id: posted.journal_id.into(),
            end_journal_id: None,
            created_by: h.actor.user_id.into(),
            ended_by: None,
            end_reason: None,
            created_at: self.now,
            expires_at: h.expires_at,
            ended_at: None,
        };
        pending.placed.push(id);
        pending.orders.insert(id, (order.clone(), lines.clone()));
        Ok(OrderOutcome::Held {
            posted,
            order,
            lines,
        })
    }

    /// The order if it is this community's and still held.
    fn held_order(
        &self,
        view: &OrderView,
        pending: &OrderPending,
        community: CommunityId,
        id: uuid::Uuid,
    ) -> Result<OrderWithLines, LedgerError> {
        let (order, lines) = pending
            .order(view, DbUuid(id))
            .filter(|(o, _)| CommunityId::from(o.community_id) == community)
            .ok_or(LedgerError::OrderNotFound(id))?;
        if order.status != OrderStatus::Held {
            return Err(LedgerError::OrderEnded {
                status: order.status.as_str().to_string(),
            });
        }
        Ok((order, lines))
    }

    #[allow(clippy::too_many_arguments)]
    fn end(
        &mut self,
        pending: &mut OrderPending,
        mut order: OrderRow,
        lines: Vec<OrderLineRow>,
        status: OrderStatus,
        posted: &Posted,
        by: Option<Actor>,
        reason: Option<String>,
    ) -> OrderRow {
        order.status = status;
        order.end_journal_id = Some(posted.journal_id.into());
        order.ended_by = by.map(|a| a.user_id.into());
        order.end_reason = reason;
        order.ended_at = Some(self.now);
        if !pending.placed.contains(&order.id) && !pending.ended.contains(&order.id) {
            pending.ended.push(order.id);
        }
        pending.orders.insert(order.id, (order.clone(), lines));
        order
    }

    pub fn collect(
        &mut self,
        c: &Collect,
        view: &OrderView,
        pending: &mut OrderPending,
    ) -> Result<OrderOutcome, LedgerError> {
        let (order, lines) = self.held_order(view, pending, c.community_id, c.order_id)?;
        refuse_self_dealing(
            c.clerk,
            Act::Redeem,
            Subject {
                member_id: Some(order.member_id.into()),
                ..Subject::default()
            },
        )?;
        let community = self
            .batch
            .community(self.ledger, c.community_id)
            .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
        let (Some(holds), Some(shop)) = (community.holds_account, community.shop_account) else {
            return Err(LedgerError::Unavailable(
                "the community has no holds or shop account".into(),
            ));
        };
        let member_account = AccountId::from(order.account_id);
        let member = self
            .batch
            .account(self.ledger, member_account)
            .ok_or(LedgerError::AccountNotFound(member_account))?;
        let total = Points::from_hundredths(order.total);
        let memo = format!(
            "取货 {}（取货码 {}）",
            lines_memo(&lines),
            order.pickup_code
        );
        let posted = self.two_legs(
            c.community_id,
            holds,
            shop,
            total,
            JournalKind::Redemption,
            c.order_id,
            memo,
            Some(c.clerk),
            None,
        )?;
        let calendar = community.calendar();
        let redemption = RedemptionRow {
            id: order.id,
            community_id: order.community_id,
            member_id: order.member_id,
            account_id: order.account_id,
            member_no: member.member_no.clone(),
            member_name: member.member_name.clone(),
            clerk_id: c.clerk.user_id.into(),
            clerk_username: c.clerk_username.clone(),
            total: order.total,
            balance_after: member.balance,
            status: RedemptionStatus::Completed,
            local_day: calendar.day_key(self.now),
            local_month: calendar.month_key(self.now),
            journal_id: posted.journal_id.into(),
            created_at: self.now,
            void_journal_id: None,
            voided_at: None,
            voided_by: None,
            void_reason: None,
        };
        let receipt_lines: Vec<RedemptionLineRow> = lines
            .iter()
            .map(|l| RedemptionLineRow {
                id: DbUuid(self.batch.ids.next_id()),
                redemption_id: order.id,
                goods_id: l.goods_id,
                line_no: l.line_no,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                line_total: l.line_total,
                community_id: order.community_id,
            })
            .collect();
        self.batch.rows.push(&redemption);
        for line in &receipt_lines {
            self.batch.rows.push(line);
        }
        self.pending.redemptions.insert(
            RedemptionId(order.id.0),
            RedemptionState {
                row: redemption.clone(),
                lines: receipt_lines.clone(),
            },
        );
        let order = self.end(
            pending,
            order,
            lines.clone(),
            OrderStatus::Collected,
            &posted,
            Some(c.clerk),
            None,
        );
        Ok(OrderOutcome::Collected {
            posted,
            order,
            lines,
            redemption: Box::new(redemption),
            receipt: receipt_lines,
        })
    }

    pub fn release(
        &mut self,
        r: &Release,
        view: &OrderView,
        pending: &mut OrderPending,
    ) -> Result<OrderOutcome, LedgerError> {
        let (order, lines) = self.held_order(view, pending, r.community_id, r.order_id)?;
        if r.ending == Ending::Expired && order.expires_at > self.now {
            return Err(LedgerError::OrderNotDue);
        }
        let community = self
            .batch
            .community(self.ledger, r.community_id)
            .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
        let holds = community
            .holds_account
            .ok_or_else(|| LedgerError::Unavailable("the community has no holds account".into()))?;
        // The goods come back first in the checks: a stock that would overflow refuses here.
        let mut restored: Vec<(GoodsId, GoodsState, i64, i64)> = Vec::with_capacity(lines.len());
        for line in &lines {
            let goods_id = GoodsId::from(line.goods_id);
            let goods = self
                .pending
                .goods(self.view, goods_id)
                .ok_or(LedgerError::GoodsNotFound(goods_id))?;
            let stock = goods
                .stock
                .checked_add(line.quantity)
                .filter(|s| *s <= crate::shop::plan::STOCK_MAX)
                .ok_or(LedgerError::TooLarge)?;
            restored.push((goods_id, goods, stock, line.quantity));
        }
        let (status, words) = match r.ending {
            Ending::Cancelled => (OrderStatus::Cancelled, "预订取消"),
            Ending::Expired => (OrderStatus::Expired, "预订过期未取"),
        };
        let memo = format!(
            "{words}，退回 {}（取货码 {}）{}",
            lines_memo(&lines),
            order.pickup_code,
            if r.reason.is_empty() {
                String::new()
            } else {
                format!("：{}", r.reason)
            }
        );
        let member_account = AccountId::from(order.account_id);
        let posted = self.two_legs(
            r.community_id,
            holds,
            member_account,
            Points::from_hundredths(order.total),
            JournalKind::OrderRelease,
            r.order_id,
            memo,
            r.actor,
            None,
        )?;
        for (goods_id, goods, stock, quantity) in restored {
            let movement = StockMovementRow {
                id: DbUuid(self.batch.ids.next_id()),
                community_id: r.community_id.into(),
                goods_id: goods_id.into(),
                kind: StockMovementKind::Void,
                quantity,
                stock_after: stock,
                reference_id: Some(order.id),
                reason: words.to_string(),
                actor_id: r.actor.map(|a| a.user_id.into()),
                created_at: self.now,
            };
            self.batch.rows.push(&movement);
            let key = (
                MemberId::from(order.member_id),
                goods_id,
                order.local_month.clone(),
            );
            if let Some(already) = self.pending.monthly(self.view, &key) {
                self.pending
                    .monthly
                    .insert(key, (already - quantity).max(0));
            }
            self.pending
                .set_goods(self.view, goods_id, GoodsState { stock, ..goods });
        }
        let reason = (!r.reason.is_empty()).then(|| r.reason.clone());
        let order = self.end(
            pending,
            order,
            lines.clone(),
            status,
            &posted,
            r.actor,
            reason,
        );
        Ok(OrderOutcome::Released {
            posted,
            order,
            lines,
        })
    }
}
