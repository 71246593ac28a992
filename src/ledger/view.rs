//! What the writer believes about the rows it touches: balances, stock, chain heads, redemptions
//! and monthly counts. Loaded on first use; valid only while nobody else writes those rows, which
//! the version guards at write time check.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::command::Command;
use super::{ACCOUNT_KIND_DEDUCTIONS, ACCOUNT_KIND_ISSUANCE, ACCOUNT_KIND_SHOP};
use crate::db::models::{AccountRow, DeedRow, GoodsRow, RedemptionLineRow, RedemptionRow};
use crate::db::schema::{
    accounts, communities, deeds, goods, idempotency_keys, members, redemption_lines, redemptions,
};
use crate::db::{DbConn, DbUuid};
use crate::domain::{
    AccountId, CommunityId, DeedId, GoodsId, MemberId, RedemptionId, RuleId, UserId,
};

#[derive(Debug, Default, Clone)]
pub(super) struct View {
    pub accounts: HashMap<AccountId, AccountState>,
    pub communities: HashMap<CommunityId, CommunityState>,
    pub goods: HashMap<GoodsId, GoodsState>,
    pub redemptions: HashMap<RedemptionId, RedemptionState>,
    /// Items of one goods a member redeemed in one local month (not voided).
    pub monthly: HashMap<MonthlyKey, i64>,
    /// Deeds, read afresh for every batch: other requests move them through review.
    pub deeds: HashMap<DeedId, DeedRow>,
    /// Points of one rule approved or credited to a member in one local month, read afresh too.
    pub cap_sums: HashMap<CapKey, i64>,
    /// Each member's passbook account, for commands that name the member.
    pub member_accounts: HashMap<MemberId, AccountId>,
    /// Idempotency keys of this batch's commands that are already stored, read afresh per batch
    /// (another instance may have stored one): such a command answers what it answered first.
    pub stored_keys: HashSet<(UserId, String)>,
    /// The rows read inside the current transaction. Everything else in the view may be stale
    /// (changed by another instance or by a handler since), which a version guard catches for an
    /// accepted command but nothing catches for a refused one: a refusal that rests on a row not
    /// in here is confirmed by reading the row again before it is answered.
    pub fresh: Fresh,
}

/// What the view read inside the current transaction.
#[derive(Debug, Default, Clone)]
pub(super) struct Fresh {
    pub accounts: HashSet<AccountId>,
    pub goods: HashSet<GoodsId>,
    pub redemptions: HashSet<RedemptionId>,
    pub monthly: HashSet<MonthlyKey>,
}

/// One row (or count) of the view a command's answer rests on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum RowKey {
    Account(AccountId),
    Goods(GoodsId),
    Redemption(RedemptionId),
    Monthly(MonthlyKey),
}

impl View {
    pub fn is_fresh(&self, key: &RowKey) -> bool {
        match key {
            RowKey::Account(id) => self.fresh.accounts.contains(id),
            RowKey::Goods(id) => self.fresh.goods.contains(id),
            RowKey::Redemption(id) => self.fresh.redemptions.contains(id),
            RowKey::Monthly(key) => self.fresh.monthly.contains(key),
        }
    }

    /// Forgets rows so that the next `load_missing` reads them again.
    pub fn evict(&mut self, keys: &[RowKey]) {
        for key in keys {
            match key {
                RowKey::Account(id) => {
                    self.accounts.remove(id);
                }
                RowKey::Goods(id) => {
                    self.goods.remove(id);
                }
                RowKey::Redemption(id) => {
                    self.redemptions.remove(id);
                }
                RowKey::Monthly(key) => {
                    self.monthly.remove(key);
                }
            }
        }
    }
}

/// The rows of the view a command's answer rests on (deeds, cap sums and stored keys are read
/// afresh for every batch and are not listed).
pub(super) fn rows_behind(
    command: &Command,
    view: &View,
    now: chrono::NaiveDateTime,
) -> Vec<RowKey> {
    let mut keys = Vec::new();
    match command {
        Command::Adjust {
            member_account_id, ..
        } => keys.push(RowKey::Account(*member_account_id)),
        Command::Redeem(r) => {
            if let Some(account) = view.member_accounts.get(&r.member_id) {
                keys.push(RowKey::Account(*account));
            }
            let month = view
                .communities
                .get(&r.community_id)
                .map(|c| local_day_and_month(now, c.utc_offset_minutes).1);
            for line in &r.lines {
                keys.push(RowKey::Goods(line.goods_id));
                if let Some(month) = &month {
                    if view
                        .monthly
                        .contains_key(&(r.member_id, line.goods_id, month.clone()))
                    {
                        keys.push(RowKey::Monthly((r.member_id, line.goods_id, month.clone())));
                    }
                }
            }
        }
        Command::VoidRedemption { redemption_id, .. } => {
            keys.push(RowKey::Redemption(*redemption_id));
            if let Some(state) = view.redemptions.get(redemption_id) {
                keys.push(RowKey::Account(state.row.account_id.into()));
                keys.extend(state.lines.iter().map(|l| RowKey::Goods(l.goods_id.into())));
            }
        }
        Command::Restock { goods_id, .. } => keys.push(RowKey::Goods(*goods_id)),
        Command::ApproveDeed { deed_id, .. }
        | Command::CreditDueDeed { deed_id, .. }
        | Command::ReverseDeed { deed_id, .. } => {
            if let Some(deed) = view.deeds.get(deed_id) {
                keys.push(RowKey::Account(deed.account_id.into()));
            }
        }
        Command::MoveDeed(_) | Command::Ping => {}
    }
    keys
}

pub(super) type MonthlyKey = (MemberId, GoodsId, String);
pub(super) type CapKey = (MemberId, RuleId, String);

#[derive(Debug, Clone)]
pub(super) struct AccountState {
    pub community_id: CommunityId,
    pub kind: String,
    pub member_id: Option<MemberId>,
    pub member_active: bool,
    /// Passbook number and name of the member, for member accounts.
    pub member_no: String,
    pub member_name: String,
    pub frozen: bool,
    pub balance: i64,
    /// Sum of every credit ever posted; debits are `credits - balance`.
    pub credits: i64,
    pub last_seq: i64,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub(super) struct CommunityState {
    pub chain_seq: i64,
    pub chain_hash: String,
    pub chain_version: i64,
    pub utc_offset_minutes: i32,
    pub issuance_account: Option<AccountId>,
    pub shop_account: Option<AccountId>,
    pub deductions_account: Option<AccountId>,
}

#[derive(Debug, Clone)]
pub(super) struct GoodsState {
    pub community_id: CommunityId,
    pub sku: String,
    pub name: String,
    pub price: i64,
    pub stock: i64,
    pub active: bool,
    pub monthly_limit: Option<i64>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub(super) struct RedemptionState {
    pub row: RedemptionRow,
    pub lines: Vec<RedemptionLineRow>,
}

pub(super) fn community_of(command: &Command) -> Option<CommunityId> {
    match command {
        Command::Adjust { community_id, .. }
        | Command::VoidRedemption { community_id, .. }
        | Command::Restock { community_id, .. }
        | Command::ApproveDeed { community_id, .. }
        | Command::CreditDueDeed { community_id, .. }
        | Command::ReverseDeed { community_id, .. } => Some(*community_id),
        Command::Redeem(r) => Some(r.community_id),
        Command::MoveDeed(m) => Some(m.community_id),
        Command::Ping => None,
    }
}

/// A member's status, passbook number and name, read with their account.
type MemberFacts = (String, String, String);

fn adopt_account(view: &mut View, row: AccountRow, member: Option<MemberFacts>) {
    let member_id: Option<MemberId> = row.member_id.map(Into::into);
    if let Some(member_id) = member_id {
        view.member_accounts.insert(member_id, row.id.into());
    }
    view.fresh.accounts.insert(row.id.into());
    let (member_active, member_no, member_name) = match member {
        Some((status, no, name)) => (status != "inactive", no, name),
        None => (true, String::new(), String::new()),
    };
    view.accounts.insert(
        row.id.into(),
        AccountState {
            community_id: row.community_id.into(),
            kind: row.kind,
            member_id,
            member_active,
            member_no,
            member_name,
            frozen: row.status != "active",
            balance: row.balance,
            credits: row.credits_total,
            last_seq: row.last_seq,
            version: row.version,
        },
    );
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The local month ("2026-11") of a redemption made now in a community at this offset.
pub(super) fn local_day_and_month(
    now: chrono::NaiveDateTime,
    offset_minutes: i32,
) -> (String, String) {
    let local = now + chrono::Duration::minutes(offset_minutes as i64);
    (
        local.format("%Y-%m-%d").to_string(),
        local.format("%Y-%m").to_string(),
    )
}

/// Loads into the view whatever the commands need and it lacks, a few queries per batch.
pub(super) fn load_missing(
    conn: &mut DbConn,
    view: &mut View,
    commands: &[&Command],
    now: chrono::NaiveDateTime,
) -> QueryResult<()> {
    // Deeds first, always fresh: their rows name the account to load.
    let mut deed_ids: Vec<DbUuid> = Vec::new();
    for command in commands {
        let deed = match command {
            Command::ApproveDeed { deed_id, .. }
            | Command::CreditDueDeed { deed_id, .. }
            | Command::ReverseDeed { deed_id, .. } => deed_id,
            Command::MoveDeed(m) => &m.deed_id,
            _ => continue,
        };
        if !view.deeds.contains_key(deed) {
            push_unique(&mut deed_ids, DbUuid::from(*deed));
        }
    }
    if !deed_ids.is_empty() {
        let rows: Vec<DeedRow> = deeds::table
            .filter(deeds::id.eq_any(&deed_ids))
            .select(DeedRow::as_select())
            .load(conn)?;
        for row in rows {
            view.deeds.insert(row.id.into(), row);
        }
    }

    // Redemptions to void come next: their lines name the goods and account to load.
    let mut redemption_ids: Vec<DbUuid> = Vec::new();
    for command in commands {
        if let Command::VoidRedemption { redemption_id, .. } = command {
            if !view.redemptions.contains_key(redemption_id) {
                push_unique(&mut redemption_ids, DbUuid::from(*redemption_id));
            }
        }
    }
    if !redemption_ids.is_empty() {
        let rows: Vec<RedemptionRow> = redemptions::table
            .filter(redemptions::id.eq_any(&redemption_ids))
            .select(RedemptionRow::as_select())
            .load(conn)?;
        let mut lines: Vec<RedemptionLineRow> = redemption_lines::table
            .filter(redemption_lines::redemption_id.eq_any(&redemption_ids))
            .select(RedemptionLineRow::as_select())
            .load(conn)?;
        lines.sort_by_key(|l| (l.redemption_id, l.line_no));
        for row in rows {
            view.fresh.redemptions.insert(row.id.into());
            let own = lines
                .iter()
                .filter(|l| l.redemption_id == row.id)
                .cloned()
                .collect();
            view.redemptions
                .insert(row.id.into(), RedemptionState { row, lines: own });
        }
    }

    let mut community_ids: Vec<DbUuid> = Vec::new();
    for command in commands {
        if let Some(id) = community_of(command) {
            if !view.communities.contains_key(&id) {
                push_unique(&mut community_ids, DbUuid::from(id));
            }
        }
    }
    if !community_ids.is_empty() {
        let heads: Vec<(DbUuid, i64, String, i64, i32)> = communities::table
            .filter(communities::id.eq_any(&community_ids))
            .select((
                communities::id,
                communities::chain_seq,
                communities::chain_hash,
                communities::chain_version,
                communities::utc_offset_minutes,
            ))
            .load(conn)?;
        let system: Vec<(DbUuid, DbUuid, String)> = accounts::table
            .filter(accounts::community_id.eq_any(&community_ids))
            .filter(accounts::kind.eq_any([
                ACCOUNT_KIND_ISSUANCE,
                ACCOUNT_KIND_SHOP,
                ACCOUNT_KIND_DEDUCTIONS,
            ]))
            .select((accounts::id, accounts::community_id, accounts::kind))
            .load(conn)?;
        for (id, chain_seq, chain_hash, chain_version, utc_offset_minutes) in heads {
            let find = |kind: &str| {
                system
                    .iter()
                    .find(|(_, community, k)| *community == id && k == kind)
                    .map(|(account, _, _)| AccountId::from(*account))
            };
            view.communities.insert(
                id.into(),
                CommunityState {
                    chain_seq,
                    chain_hash,
                    chain_version,
                    utc_offset_minutes,
                    issuance_account: find(ACCOUNT_KIND_ISSUANCE),
                    shop_account: find(ACCOUNT_KIND_SHOP),
                    deductions_account: find(ACCOUNT_KIND_DEDUCTIONS),
                },
            );
        }
    }

    // Redemptions name the member; their passbook account is looked up by member.
    let mut member_ids: Vec<DbUuid> = Vec::new();
    for command in commands {
        if let Command::Redeem(r) = command {
            if !view.member_accounts.contains_key(&r.member_id) {
                push_unique(&mut member_ids, DbUuid::from(r.member_id));
            }
        }
    }
    if !member_ids.is_empty() {
        let rows: Vec<(AccountRow, MemberFacts)> = accounts::table
            .inner_join(members::table)
            .filter(members::id.eq_any(&member_ids))
            .select((
                AccountRow::as_select(),
                (members::status, members::member_no, members::name),
            ))
            .load(conn)?;
        for (row, member) in rows {
            adopt_account(view, row, Some(member));
        }
    }

    // Keys already stored answer their first answer; one query for the whole batch.
    view.stored_keys.clear();
    let mut claims: HashMap<UserId, Vec<&str>> = HashMap::new();
    for command in commands {
        let claim = match command {
            Command::Adjust { idempotency, .. } => idempotency,
            Command::Redeem(r) => &r.idempotency,
            _ => continue,
        };
        claims
            .entry(claim.user_id)
            .or_default()
            .push(claim.key.as_str());
    }
    if !claims.is_empty() {
        let mut query = idempotency_keys::table
            .select((idempotency_keys::user_id, idempotency_keys::idem_key))
            .into_boxed();
        for (user, keys) in &claims {
            query = query.or_filter(
                idempotency_keys::user_id
                    .eq(DbUuid::from(*user))
                    .and(idempotency_keys::idem_key.eq_any(keys.clone())),
            );
        }
        let stored: Vec<(DbUuid, String)> = query.load(conn)?;
        view.stored_keys
            .extend(stored.into_iter().map(|(user, key)| (user.into(), key)));
    }

    let mut goods_ids: Vec<DbUuid> = Vec::new();
    let mut account_ids: Vec<DbUuid> = Vec::new();
    for command in commands {
        let mut wanted_goods = Vec::new();
        let mut wanted_accounts = Vec::new();
        match command {
            Command::Adjust {
                member_account_id, ..
            } => wanted_accounts.push(*member_account_id),
            Command::Redeem(r) => {
                wanted_accounts.extend(view.member_accounts.get(&r.member_id).copied());
                wanted_goods.extend(r.lines.iter().map(|l| l.goods_id));
            }
            Command::VoidRedemption { redemption_id, .. } => {
                if let Some(state) = view.redemptions.get(redemption_id) {
                    wanted_accounts.push(state.row.account_id.into());
                    wanted_goods.extend(state.lines.iter().map(|l| GoodsId::from(l.goods_id)));
                }
            }
            Command::Restock { goods_id, .. } => wanted_goods.push(*goods_id),
            Command::ApproveDeed { deed_id, .. }
            | Command::CreditDueDeed { deed_id, .. }
            | Command::ReverseDeed { deed_id, .. } => {
                if let Some(deed) = view.deeds.get(deed_id) {
                    wanted_accounts.push(deed.account_id.into());
                }
            }
            Command::MoveDeed(_) | Command::Ping => {}
        }
        if let Some(community) = community_of(command).and_then(|c| view.communities.get(&c)) {
            wanted_accounts.extend(community.issuance_account);
            wanted_accounts.extend(community.shop_account);
            wanted_accounts.extend(community.deductions_account);
        }
        for id in wanted_accounts {
            if !view.accounts.contains_key(&id) {
                push_unique(&mut account_ids, DbUuid::from(id));
            }
        }
        for id in wanted_goods {
            if !view.goods.contains_key(&id) {
                push_unique(&mut goods_ids, DbUuid::from(id));
            }
        }
    }
    if !account_ids.is_empty() {
        let rows: Vec<(AccountRow, Option<MemberFacts>)> = accounts::table
            .left_join(members::table)
            .filter(accounts::id.eq_any(&account_ids))
            .select((
                AccountRow::as_select(),
                (members::status, members::member_no, members::name).nullable(),
            ))
            .load(conn)?;
        for (row, member) in rows {
            adopt_account(view, row, member);
        }
    }
    if !goods_ids.is_empty() {
        let rows: Vec<GoodsRow> = goods::table
            .filter(goods::id.eq_any(&goods_ids))
            .select(GoodsRow::as_select())
            .load(conn)?;
        for row in rows {
            view.fresh.goods.insert(row.id.into());
            view.goods.insert(
                row.id.into(),
                GoodsState {
                    community_id: row.community_id.into(),
                    sku: row.sku,
                    name: row.name,
                    price: row.price,
                    stock: row.stock,
                    active: row.status == "active",
                    monthly_limit: row.monthly_limit,
                    version: row.version,
                },
            );
        }
    }

    // Points already approved or credited this month, for deeds whose rule has a monthly cap.
    for command in commands {
        let Command::ApproveDeed {
            community_id,
            deed_id,
            clock_now,
            ..
        } = command
        else {
            continue;
        };
        let (Some(deed), Some(community)) =
            (view.deeds.get(deed_id), view.communities.get(community_id))
        else {
            continue;
        };
        if deed.monthly_cap.is_none() {
            continue;
        }
        let (_, month) = local_day_and_month(*clock_now, community.utc_offset_minutes);
        let key = (deed.member_id.into(), deed.rule_id.into(), month.clone());
        if let std::collections::hash_map::Entry::Vacant(slot) = view.cap_sums.entry(key) {
            let points: Vec<i64> = deeds::table
                .filter(deeds::member_id.eq(deed.member_id))
                .filter(deeds::rule_id.eq(deed.rule_id))
                .filter(deeds::cap_month.eq(&month))
                .filter(deeds::status.eq_any(["approved", "credited"]))
                .select(deeds::points)
                .load(conn)?;
            slot.insert(points.iter().sum());
        }
    }

    // Monthly counts, only for goods that have a limit.
    for command in commands {
        let Command::Redeem(r) = command else {
            continue;
        };
        let Some(community) = view.communities.get(&r.community_id) else {
            continue;
        };
        let (_, month) = local_day_and_month(now, community.utc_offset_minutes);
        for line in &r.lines {
            let limited = view
                .goods
                .get(&line.goods_id)
                .is_some_and(|g| g.monthly_limit.is_some());
            let key = (r.member_id, line.goods_id, month.clone());
            if limited && !view.monthly.contains_key(&key) {
                let quantities: Vec<i64> = redemption_lines::table
                    .inner_join(redemptions::table)
                    .filter(redemptions::member_id.eq(DbUuid::from(r.member_id)))
                    .filter(redemptions::local_month.eq(&month))
                    .filter(redemptions::status.eq("completed"))
                    .filter(redemption_lines::goods_id.eq(DbUuid::from(line.goods_id)))
                    .select(redemption_lines::quantity)
                    .load(conn)?;
                view.fresh.monthly.insert(key.clone());
                view.monthly.insert(key, quantities.iter().sum());
            }
        }
    }
    Ok(())
}
