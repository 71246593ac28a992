//! What a basket will cost and what would refuse it, before it goes to the writer: the counter's
//! basket page shows it, with the true figures. The writer checks again on the rows of its batch
//! (a price, the stock or the balance may move in between), so this is a forecast for the clerk,
//! never the decision. Its refusals are the writer's own [`LedgerError`]s, so the counter words
//! them as it words the writer's.

use std::collections::HashMap;

use crate::kernel::{ActiveStatus, GoodsId, MemberId, Points};
use crate::ledger::{LedgerError, StockShortage};
use crate::shop::store::GoodsRow;

/// One line of the basket, priced at today's price.
#[derive(Debug, Clone)]
pub struct PricedLine {
    pub goods: GoodsRow,
    pub quantity: i64,
    pub line_total: i64,
}

#[derive(Debug, Clone)]
pub struct Preview {
    pub lines: Vec<PricedLine>,
    /// Hundredths of a point.
    pub total: i64,
    pub balance_after: i64,
    /// Every refusal the writer would give today, in the order it checks.
    pub refusals: Vec<LedgerError>,
}

/// The member as the counter read them: whether they may redeem, and their balance.
#[derive(Debug, Clone, Copy)]
pub struct Redeemer {
    pub member_id: MemberId,
    pub active: bool,
    pub balance: i64,
}

/// Prices `basket` (goods and quantity) for `redeemer`, who took `taken_this_month` of each
/// goods this month, and lists what would refuse it.
pub fn preview(
    redeemer: Redeemer,
    basket: Vec<(GoodsRow, i64)>,
    taken_this_month: &HashMap<GoodsId, i64>,
) -> Preview {
    let mut refusals = Vec::new();
    if !redeemer.active {
        refusals.push(LedgerError::MemberInactive(redeemer.member_id));
    }
    let mut lines = Vec::with_capacity(basket.len());
    let mut total: Option<i64> = Some(0);
    for (goods, quantity) in basket {
        let line_total = goods.price.checked_mul(quantity);
        total = total.zip(line_total).and_then(|(t, l)| t.checked_add(l));
        lines.push(PricedLine {
            line_total: line_total.unwrap_or(i64::MAX),
            goods,
            quantity,
        });
    }
    for line in &lines {
        if line.goods.status != ActiveStatus::Active {
            refusals.push(LedgerError::GoodsInactive {
                goods_id: line.goods.id.into(),
                sku: line.goods.sku.clone(),
            });
        }
    }
    for line in &lines {
        let Some(limit) = line.goods.monthly_limit else {
            continue;
        };
        let already = taken_this_month
            .get(&GoodsId::from(line.goods.id))
            .copied()
            .unwrap_or(0);
        if already + line.quantity > limit {
            refusals.push(LedgerError::MonthlyLimit {
                goods_id: line.goods.id.into(),
                sku: line.goods.sku.clone(),
                limit,
                already,
                requested: line.quantity,
            });
        }
    }
    let Some(total) = total else {
        refusals.push(LedgerError::TooLarge);
        return Preview {
            lines,
            total: 0,
            balance_after: redeemer.balance,
            refusals,
        };
    };
    if total > redeemer.balance {
        refusals.push(LedgerError::InsufficientBalance {
            member_id: Some(redeemer.member_id),
            balance: Points::from_hundredths(redeemer.balance),
            required: Points::from_hundredths(total),
        });
    }
    let shortages: Vec<StockShortage> = lines
        .iter()
        .filter(|l| l.quantity > l.goods.stock)
        .map(|l| StockShortage {
            goods_id: l.goods.id.into(),
            sku: l.goods.sku.clone(),
            requested: l.quantity,
            available: l.goods.stock,
        })
        .collect();
    if !shortages.is_empty() {
        refusals.push(LedgerError::OutOfStock(shortages));
    }
    Preview {
        lines,
        total,
        balance_after: redeemer.balance - total,
        refusals,
    }
}
