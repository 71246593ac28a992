//! What the writer believes about goods, recent redemptions and monthly counts. Kept across
//! batches; stock and prices are guarded by the goods' version at write time, and a refusal that
//! rests on a row not read in the current transaction is confirmed by reading it again.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::model::RedemptionStatus;
use super::plan::{Redeem, Void};
use super::store::{GoodsRow, RedemptionLineRow, RedemptionRow};
use crate::db::schema::{goods, redemption_lines, redemptions};
use crate::db::{DbConn, DbUuid};
use crate::kernel::{ActiveStatus, CommunityId, GoodsId, MemberId, RedemptionId};
use crate::ledger::view::push_unique;
use crate::ledger::View;

/// Monthly redemption counts the writer keeps at most before it drops them all.
const VIEW_MONTHLY_ENTRIES_MAX: usize = 100_000;
/// Recent redemptions the writer keeps at most before it drops them all.
const VIEW_REDEMPTIONS_MAX: usize = 10_000;

/// Items of one goods a member redeemed in one local month: (member, goods, "2026-11").
pub type MonthlyKey = (MemberId, GoodsId, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsState {
    pub community_id: CommunityId,
    pub sku: String,
    pub name: String,
    pub price: i64,
    pub stock: i64,
    pub active: bool,
    pub monthly_limit: Option<i64>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedemptionState {
    pub row: RedemptionRow,
    pub lines: Vec<RedemptionLineRow>,
}

#[derive(Debug, Default, Clone)]
pub struct ShopView {
    pub goods: HashMap<GoodsId, GoodsState>,
    /// Kept so a void right after a redemption needs no read.
    pub redemptions: HashMap<RedemptionId, RedemptionState>,
    /// Items of one goods a member redeemed in one local month (not voided).
    pub monthly: HashMap<MonthlyKey, i64>,
    /// What was read inside the current transaction.
    pub fresh_goods: HashSet<GoodsId>,
    pub fresh_redemptions: HashSet<RedemptionId>,
    pub fresh_monthly: HashSet<MonthlyKey>,
}

impl ShopView {
    pub fn start_batch(&mut self) {
        self.fresh_goods.clear();
        self.fresh_redemptions.clear();
        self.fresh_monthly.clear();
        if self.monthly.len() > VIEW_MONTHLY_ENTRIES_MAX {
            // Counts are reloaded on demand; dropping them bounds memory across months.
            self.monthly.clear();
        }
        if self.redemptions.len() > VIEW_REDEMPTIONS_MAX {
            // Older ones are read on demand. Without this bound every redemption of a long run
            // stayed in memory.
            self.redemptions.clear();
        }
    }

    /// The redemptions to void, with their lines: they name the goods and account to load.
    pub fn load_redemptions(&mut self, conn: &mut DbConn, voids: &[&Void]) -> QueryResult<()> {
        let mut ids: Vec<DbUuid> = Vec::new();
        for v in voids {
            if !self.redemptions.contains_key(&v.redemption_id) {
                push_unique(&mut ids, DbUuid::from(v.redemption_id));
            }
        }
        if ids.is_empty() {
            return Ok(());
        }
        let rows: Vec<RedemptionRow> = redemptions::table
            .filter(redemptions::id.eq_any(&ids))
            .select(RedemptionRow::as_select())
            .load(conn)?;
        let mut lines: Vec<RedemptionLineRow> = redemption_lines::table
            .filter(redemption_lines::redemption_id.eq_any(&ids))
            .select(RedemptionLineRow::as_select())
            .load(conn)?;
        lines.sort_by_key(|l| (l.redemption_id, l.line_no));
        for row in rows {
            self.fresh_redemptions.insert(row.id.into());
            let own = lines
                .iter()
                .filter(|l| l.redemption_id == row.id)
                .cloned()
                .collect();
            self.redemptions
                .insert(row.id.into(), RedemptionState { row, lines: own });
        }
        Ok(())
    }

    pub fn load_goods(&mut self, conn: &mut DbConn, wanted: &[GoodsId]) -> QueryResult<()> {
        let ids: Vec<DbUuid> = wanted
            .iter()
            .filter(|g| !self.goods.contains_key(g))
            .map(|g| DbUuid::from(*g))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let rows: Vec<GoodsRow> = goods::table
            .filter(goods::id.eq_any(&ids))
            .select(GoodsRow::as_select())
            .load(conn)?;
        for row in rows {
            self.fresh_goods.insert(row.id.into());
            self.goods.insert(
                row.id.into(),
                GoodsState {
                    community_id: row.community_id.into(),
                    sku: row.sku,
                    name: row.name,
                    price: row.price,
                    stock: row.stock,
                    active: row.status == ActiveStatus::Active,
                    monthly_limit: row.monthly_limit,
                    version: row.version,
                },
            );
        }
        Ok(())
    }

    /// Monthly counts, only for goods that have a limit.
    pub fn load_monthly(
        &mut self,
        conn: &mut DbConn,
        ledger: &View,
        redemptions: &[&Redeem],
        now: chrono::NaiveDateTime,
    ) -> QueryResult<()> {
        for r in redemptions {
            let Some(community) = ledger.communities.get(&r.community_id) else {
                continue;
            };
            let month = community.calendar().month_key(now);
            for line in &r.lines {
                let limited = self
                    .goods
                    .get(&line.goods_id)
                    .is_some_and(|g| g.monthly_limit.is_some());
                let key = (r.member_id, line.goods_id, month.clone());
                if limited && !self.monthly.contains_key(&key) {
                    let quantities: Vec<i64> = redemption_lines::table
                        .inner_join(
                            redemptions::table.on(redemptions::id
                                .eq(redemption_lines::redemption_id)
                                .and(redemptions::community_id.eq(redemption_lines::community_id))),
                        )
                        .filter(redemptions::member_id.eq(DbUuid::from(r.member_id)))
                        .filter(redemptions::local_month.eq(&month))
                        .filter(redemptions::status.eq(RedemptionStatus::Completed))
                        .filter(redemption_lines::goods_id.eq(DbUuid::from(line.goods_id)))
                        .select(redemption_lines::quantity)
                        .load(conn)?;
                    // Open reserved orders count as taken: a hold is a redemption waiting.
                    let held = crate::orders::store::held_quantities(
                        conn,
                        r.member_id,
                        DbUuid::from(line.goods_id),
                        &month,
                    )?;
                    self.fresh_monthly.insert(key.clone());
                    self.monthly
                        .insert(key, quantities.iter().sum::<i64>() + held);
                }
            }
        }
        Ok(())
    }
}
