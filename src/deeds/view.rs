//! What the writer reads about deeds: the deeds its commands name and the month's cap sums, both
//! read afresh for every batch (handlers submit deeds, another instance may move them).

use std::collections::HashMap;

use diesel::prelude::*;

use super::model::DeedStatus;
use super::plan::{DeedCommand, Step};
use super::store::receivables::{self, ReceivableRow};
use super::store::{DeedRow, ObjectionRow};
use crate::db::schema::{deed_objections, deeds};
use crate::db::{DbConn, DbUuid};
use crate::kernel::{AccountId, DeedId, MemberId, RuleId};
use crate::ledger::view::push_unique;
use crate::ledger::View;

/// Points of one rule approved or credited to a member in one local month.
pub type CapKey = (MemberId, RuleId, String);

#[derive(Debug, Default, Clone)]
pub struct DeedView {
    pub deeds: HashMap<DeedId, DeedRow>,
    pub cap_sums: HashMap<CapKey, i64>,
    /// Every objection to the deeds loaded, oldest first.
    pub objections: HashMap<DeedId, Vec<ObjectionRow>>,
    /// The open receivables of the accounts this batch's deeds may credit, oldest first: a credit
    /// repays them before the coins are the member's to spend.
    pub receivables: HashMap<AccountId, Vec<ReceivableRow>>,
    /// The names of the loaded deeds' members: a line on a household's passbook says who.
    pub member_names: HashMap<DbUuid, String>,
}

impl DeedView {
    pub fn start_batch(&mut self) {
        self.deeds.clear();
        self.cap_sums.clear();
        self.objections.clear();
        self.receivables.clear();
        self.member_names.clear();
    }

    pub fn load_deeds(&mut self, conn: &mut DbConn, commands: &[&DeedCommand]) -> QueryResult<()> {
        let mut ids: Vec<DbUuid> = Vec::new();
        for c in commands {
            if !self.deeds.contains_key(&c.deed_id) {
                push_unique(&mut ids, DbUuid::from(c.deed_id));
            }
        }
        if ids.is_empty() {
            return Ok(());
        }
        let rows: Vec<DeedRow> = deeds::table
            .filter(deeds::id.eq_any(&ids))
            .select(DeedRow::as_select())
            .load(conn)?;
        let people: Vec<DbUuid> = rows.iter().map(|d| d.member_id).collect();
        for row in rows {
            self.deeds.insert(row.id.into(), row);
        }
        let names: Vec<(DbUuid, String)> = crate::db::schema::members::table
            .filter(crate::db::schema::members::id.eq_any(&people))
            .select((
                crate::db::schema::members::id,
                crate::db::schema::members::name,
            ))
            .load(conn)?;
        self.member_names.extend(names);
        // Objections are read with their deeds: the deed's version guards them, since every
        // step that adds or rules on one also moves the deed's version.
        let objections: Vec<ObjectionRow> = deed_objections::table
            .filter(deed_objections::deed_id.eq_any(&ids))
            .order(deed_objections::id.asc())
            .select(ObjectionRow::as_select())
            .load(conn)?;
        for row in objections {
            self.objections
                .entry(row.deed_id.into())
                .or_default()
                .push(row);
        }
        Ok(())
    }

    /// Open receivables of the accounts the batch's approvals, creditings and reversals (a
    /// deduction reversed gives coins back) may credit. Read
    /// afresh for every batch; each one repaid is written under its version.
    pub fn load_receivables(
        &mut self,
        conn: &mut DbConn,
        commands: &[&DeedCommand],
    ) -> QueryResult<()> {
        let mut accounts: Vec<DbUuid> = Vec::new();
        for c in commands {
            if !matches!(
                c.step,
                Step::Approve { .. } | Step::CreditDue | Step::Reverse { .. }
            ) {
                continue;
            }
            if let Some(deed) = self.deeds.get(&c.deed_id) {
                let account = AccountId::from(deed.account_id);
                if !self.receivables.contains_key(&account) {
                    push_unique(&mut accounts, deed.account_id);
                }
            }
        }
        for account in &accounts {
            self.receivables.insert((*account).into(), Vec::new());
        }
        for row in receivables::open_for_accounts(conn, &accounts)? {
            self.receivables
                .entry(row.account_id.into())
                .or_default()
                .push(row);
        }
        Ok(())
    }

    /// Points already approved or credited this month, for deeds whose rule has a monthly cap.
    pub fn load_cap_sums(
        &mut self,
        conn: &mut DbConn,
        ledger: &View,
        commands: &[&DeedCommand],
    ) -> QueryResult<()> {
        for c in commands {
            if !matches!(c.step, Step::Approve { .. }) {
                continue;
            }
            let (Some(deed), Some(community)) = (
                self.deeds.get(&c.deed_id),
                ledger.communities.get(&c.community_id),
            ) else {
                continue;
            };
            if deed.monthly_cap.is_none() {
                continue;
            }
            let month = community.calendar().month_key(c.clock_now);
            let key = (deed.member_id.into(), deed.rule_id.into(), month.clone());
            if let std::collections::hash_map::Entry::Vacant(slot) = self.cap_sums.entry(key) {
                let counted: Vec<DeedStatus> = DeedStatus::ALL
                    .iter()
                    .copied()
                    .filter(|s| s.counts_against_cap())
                    .collect();
                let points: Vec<i64> = deeds::table
                    .filter(deeds::member_id.eq(deed.member_id))
                    .filter(deeds::rule_id.eq(deed.rule_id))
                    .filter(deeds::cap_month.eq(&month))
                    .filter(deeds::status.eq_any(counted))
                    .select(deeds::points)
                    .load(conn)?;
                slot.insert(points.iter().sum());
            }
        }
        Ok(())
    }
}
