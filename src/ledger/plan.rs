//! Planning: each command is checked against the batch's state and, when it passes, its rows are
//! appended to the batch. A refused command changes nothing; a planned one cannot fail later
//! except through the database's own guards.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;

use super::command::{
    BasketLine, Command, IdempotencyClaim, LedgerError, Outcome, Posted, PostedLine, Redemption,
    StockShortage,
};
use super::view::{
    local_day_and_month, AccountState, CommunityState, GoodsState, MonthlyKey, RedemptionState,
    View,
};
use super::ACCOUNT_KIND_MEMBER;
use crate::db::models::{
    IdempotencyRow, JournalRow, PostingRow, RedemptionLineRow, RedemptionRow, StockMovementRow,
};
use crate::db::{self, DbUuid};
use crate::domain::points::POINTS_ABS_MAX_HUNDREDTHS;
use crate::domain::transaction::ChainLink;
use crate::domain::{
    AccountId, BalancedTransaction, CommunityId, GoodsId, JournalId, Points, PostingDraft,
    RedemptionId, UserId,
};

/// Stock one goods may hold at most.
pub const STOCK_MAX: i64 = 1_000_000_000;

/// The rows one batch will write, and the versions its conditional updates expect.
#[derive(Default)]
pub(super) struct BatchWrites {
    pub journal: Vec<JournalRow>,
    pub postings: Vec<PostingRow>,
    pub idempotency: Vec<IdempotencyRow>,
    pub new_redemptions: Vec<RedemptionRow>,
    pub new_lines: Vec<RedemptionLineRow>,
    pub movements: Vec<StockMovementRow>,
    /// Redemptions voided in this batch, as they will be stored.
    pub voids: Vec<RedemptionRow>,
    /// Account → (version the view saw, new state).
    pub accounts: HashMap<AccountId, (i64, AccountState)>,
    /// Community → (chain version the view saw, new state).
    pub communities: HashMap<CommunityId, (i64, CommunityState)>,
    /// Goods → (version the view saw, new state).
    pub goods: HashMap<GoodsId, (i64, GoodsState)>,
    pub redemptions: HashMap<RedemptionId, RedemptionState>,
    pub monthly: HashMap<MonthlyKey, i64>,
    pub claimed_keys: HashSet<(UserId, String)>,
}

impl BatchWrites {
    pub fn account(&self, view: &View, id: AccountId) -> Option<AccountState> {
        self.accounts
            .get(&id)
            .map(|(_, s)| s.clone())
            .or_else(|| view.accounts.get(&id).cloned())
    }

    pub fn community(&self, view: &View, id: CommunityId) -> Option<CommunityState> {
        self.communities
            .get(&id)
            .map(|(_, s)| s.clone())
            .or_else(|| view.communities.get(&id).cloned())
    }

    fn goods(&self, view: &View, id: GoodsId) -> Option<GoodsState> {
        self.goods
            .get(&id)
            .map(|(_, s)| s.clone())
            .or_else(|| view.goods.get(&id).cloned())
    }

    fn redemption(&self, view: &View, id: RedemptionId) -> Option<RedemptionState> {
        self.redemptions
            .get(&id)
            .cloned()
            .or_else(|| view.redemptions.get(&id).cloned())
    }

    fn monthly(&self, view: &View, key: &MonthlyKey) -> Option<i64> {
        self.monthly
            .get(key)
            .copied()
            .or_else(|| view.monthly.get(key).copied())
    }

    fn set_goods(&mut self, view: &View, id: GoodsId, next: GoodsState) {
        let seen = self
            .goods
            .get(&id)
            .map(|(v, _)| *v)
            .or_else(|| view.goods.get(&id).map(|g| g.version))
            .unwrap_or(next.version);
        self.goods.insert(id, (seen, next));
    }

    pub fn is_empty(&self) -> bool {
        self.journal.is_empty() && self.movements.is_empty() && self.goods.is_empty()
    }

    /// Moves the batch's new states into the view after commit, with the versions now stored.
    pub fn adopt_into(self, view: &mut View) {
        for (id, (seen, mut state)) in self.accounts {
            state.version = seen + 1;
            view.accounts.insert(id, state);
        }
        for (id, (seen, mut state)) in self.communities {
            state.chain_version = seen + 1;
            view.communities.insert(id, state);
        }
        for (id, (seen, mut state)) in self.goods {
            state.version = seen + 1;
            view.goods.insert(id, state);
        }
        for (id, state) in self.redemptions {
            view.redemptions.insert(id, state);
        }
        for (key, count) in self.monthly {
            view.monthly.insert(key, count);
        }
    }
}

/// One journal transaction a command wants written.
struct Draft {
    community_id: CommunityId,
    kind: &'static str,
    reference_id: Option<uuid::Uuid>,
    memo: String,
    actor_id: Option<UserId>,
    transaction: BalancedTransaction,
    idempotency: Option<IdempotencyClaim>,
}

fn unbalanced(e: crate::domain::TransactionError) -> LedgerError {
    // Commands are validated before they reach the writer; this is a programmer error.
    tracing::error!(error = %e, "a command's transaction did not balance");
    LedgerError::Unavailable("the transaction could not be balanced".into())
}

/// Plans one command. On `Err` nothing in `writes` changed.
pub(super) fn plan(
    command: &Command,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Outcome, LedgerError> {
    match command {
        Command::Adjust {
            community_id,
            member_account_id,
            kind,
            amount,
            reason,
            actor_id,
            idempotency,
        } => {
            let member = writes
                .account(view, *member_account_id)
                .filter(|a| a.community_id == *community_id)
                .ok_or(LedgerError::AccountNotFound(*member_account_id))?;
            if member.kind != ACCOUNT_KIND_MEMBER {
                return Err(LedgerError::NotAMemberAccount(*member_account_id));
            }
            let issuance = writes
                .community(view, *community_id)
                .and_then(|c| c.issuance_account)
                .ok_or_else(|| {
                    LedgerError::Unavailable("the community has no issuance account".into())
                })?;
            let transaction = BalancedTransaction::new(vec![
                PostingDraft {
                    account_id: *member_account_id,
                    amount: *amount,
                },
                PostingDraft {
                    account_id: issuance,
                    amount: -*amount,
                },
            ])
            .map_err(unbalanced)?;
            post_transaction(
                Draft {
                    community_id: *community_id,
                    kind: kind.as_str(),
                    reference_id: None,
                    memo: reason.clone(),
                    actor_id: Some(*actor_id),
                    transaction,
                    idempotency: Some(idempotency.clone()),
                },
                view,
                writes,
                now,
            )
            .map(Outcome::Posted)
        }
        Command::Redeem(redemption) => plan_redemption(redemption, view, writes, now),
        Command::VoidRedemption {
            community_id,
            redemption_id,
            actor_id,
            reason,
            same_day_only,
        } => plan_void(
            *community_id,
            *redemption_id,
            *actor_id,
            reason,
            *same_day_only,
            view,
            writes,
            now,
        ),
        Command::Restock {
            community_id,
            goods_id,
            quantity,
            reason,
            actor_id,
        } => {
            let goods = writes
                .goods(view, *goods_id)
                .filter(|g| g.community_id == *community_id)
                .ok_or(LedgerError::GoodsNotFound(*goods_id))?;
            let stock = goods
                .stock
                .checked_add(*quantity)
                .filter(|s| *s <= STOCK_MAX)
                .ok_or(LedgerError::TooLarge)?;
            let movement = StockMovementRow {
                id: DbUuid(uuid::Uuid::now_v7()),
                community_id: (*community_id).into(),
                goods_id: (*goods_id).into(),
                kind: "restock".into(),
                quantity: *quantity,
                stock_after: stock,
                reference_id: None,
                reason: reason.clone(),
                actor_id: Some((*actor_id).into()),
                created_at: now,
            };
            writes.movements.push(movement.clone());
            writes.set_goods(view, *goods_id, GoodsState { stock, ..goods });
            Ok(Outcome::Restocked {
                goods_id: *goods_id,
                movement,
            })
        }
        Command::Ping => Ok(Outcome::Pong),
    }
}

fn plan_redemption(
    r: &Redemption,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Outcome, LedgerError> {
    let community = writes
        .community(view, r.community_id)
        .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
    let shop = community
        .shop_account
        .ok_or_else(|| LedgerError::Unavailable("the community has no shop account".into()))?;
    let member = writes
        .account(view, r.member_account_id)
        .filter(|a| a.community_id == r.community_id && a.kind == ACCOUNT_KIND_MEMBER)
        .ok_or(LedgerError::AccountNotFound(r.member_account_id))?;
    if !member.member_active {
        return Err(LedgerError::MemberInactive(r.member_id));
    }
    let (local_day, local_month) = local_day_and_month(now, community.utc_offset_minutes);

    // Every check first, with nothing changed.
    let mut shortages = Vec::new();
    let mut priced: Vec<(BasketLine, GoodsState, i64)> = Vec::with_capacity(r.lines.len());
    let mut total: i64 = 0;
    for line in &r.lines {
        debug_assert!(
            priced.iter().all(|(l, _, _)| l.goods_id != line.goods_id),
            "basket lines name distinct goods"
        );
        let goods = writes
            .goods(view, line.goods_id)
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
        priced.push((*line, goods, line_total));
    }
    if !shortages.is_empty() {
        return Err(LedgerError::OutOfStock(shortages));
    }
    let total_points = Points::from_hundredths(total);
    if r.expected_total
        .is_some_and(|expected| expected != total_points)
    {
        return Err(LedgerError::PriceChanged {
            total: total_points,
        });
    }
    for (line, goods, _) in &priced {
        if let Some(limit) = goods.monthly_limit {
            let key = (r.member_id, line.goods_id, local_month.clone());
            let already = writes.monthly(view, &key).ok_or_else(|| {
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
    }
    let memo = priced
        .iter()
        .map(|(line, goods, _)| format!("{}×{}", goods.name, line.quantity))
        .collect::<Vec<_>>()
        .join("，");
    let transaction = BalancedTransaction::new(vec![
        PostingDraft {
            account_id: r.member_account_id,
            amount: -total_points,
        },
        PostingDraft {
            account_id: shop,
            amount: total_points,
        },
    ])
    .map_err(unbalanced)?;
    // The balance check happens here; it too changes nothing when it refuses.
    let posted = post_transaction(
        Draft {
            community_id: r.community_id,
            kind: "redemption",
            reference_id: Some(r.redemption_id.0),
            memo,
            actor_id: Some(r.clerk_id),
            transaction,
            idempotency: Some(r.idempotency.clone()),
        },
        view,
        writes,
        now,
    )?;

    // Then every effect.
    let balance_after = posted
        .line_for(r.member_account_id)
        .map(|l| l.balance_after.hundredths())
        .ok_or_else(|| LedgerError::Unavailable("the member line is missing".into()))?;
    let mut lines = Vec::with_capacity(priced.len());
    for (index, (line, goods, line_total)) in priced.into_iter().enumerate() {
        let stock = goods.stock - line.quantity;
        assert!(stock >= 0, "stock never goes negative");
        lines.push(RedemptionLineRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            redemption_id: r.redemption_id.into(),
            goods_id: line.goods_id.into(),
            line_no: index as i32 + 1,
            sku: goods.sku.clone(),
            name: goods.name.clone(),
            quantity: line.quantity,
            unit_price: goods.price,
            line_total,
        });
        writes.movements.push(StockMovementRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            community_id: r.community_id.into(),
            goods_id: line.goods_id.into(),
            kind: "redemption".into(),
            quantity: -line.quantity,
            stock_after: stock,
            reference_id: Some(r.redemption_id.into()),
            reason: "兑换".into(),
            actor_id: Some(r.clerk_id.into()),
            created_at: now,
        });
        if goods.monthly_limit.is_some() {
            let key = (r.member_id, line.goods_id, local_month.clone());
            let already = writes.monthly(view, &key).unwrap_or(0);
            writes.monthly.insert(key, already + line.quantity);
        }
        writes.set_goods(view, line.goods_id, GoodsState { stock, ..goods });
    }
    let row = RedemptionRow {
        id: r.redemption_id.into(),
        community_id: r.community_id.into(),
        member_id: r.member_id.into(),
        account_id: r.member_account_id.into(),
        member_no: r.member_no.clone(),
        member_name: r.member_name.clone(),
        clerk_id: r.clerk_id.into(),
        clerk_username: r.clerk_username.clone(),
        total,
        balance_after,
        status: "completed".into(),
        local_day,
        local_month,
        journal_id: posted.journal_id.into(),
        created_at: now,
        void_journal_id: None,
        voided_at: None,
        voided_by: None,
        void_reason: None,
    };
    writes.new_redemptions.push(row.clone());
    writes.new_lines.extend(lines.iter().cloned());
    writes.redemptions.insert(
        r.redemption_id,
        RedemptionState {
            row: row.clone(),
            lines: lines.clone(),
        },
    );
    Ok(Outcome::Redeemed {
        posted,
        redemption: row,
        lines,
    })
}

#[allow(clippy::too_many_arguments)]
fn plan_void(
    community_id: CommunityId,
    redemption_id: RedemptionId,
    actor_id: UserId,
    reason: &str,
    same_day_only: bool,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Outcome, LedgerError> {
    let state = writes
        .redemption(view, redemption_id)
        .filter(|s| CommunityId::from(s.row.community_id) == community_id)
        .ok_or(LedgerError::RedemptionNotFound(redemption_id))?;
    if state.row.status != "completed" {
        return Err(LedgerError::AlreadyVoided(redemption_id));
    }
    let community = writes
        .community(view, community_id)
        .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
    if same_day_only {
        let (today, _) = local_day_and_month(now, community.utc_offset_minutes);
        if state.row.local_day != today {
            return Err(LedgerError::VoidWindowClosed);
        }
    }
    let shop = community
        .shop_account
        .ok_or_else(|| LedgerError::Unavailable("the community has no shop account".into()))?;
    let mut goods_states = Vec::with_capacity(state.lines.len());
    for line in &state.lines {
        let goods_id = GoodsId::from(line.goods_id);
        let goods = writes
            .goods(view, goods_id)
            .ok_or(LedgerError::GoodsNotFound(goods_id))?;
        let stock = goods
            .stock
            .checked_add(line.quantity)
            .filter(|s| *s <= STOCK_MAX)
            .ok_or(LedgerError::TooLarge)?;
        goods_states.push((goods_id, goods, stock, line.quantity));
    }
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
    let posted = post_transaction(
        Draft {
            community_id,
            kind: "redemption_void",
            reference_id: Some(redemption_id.0),
            memo: reason.to_string(),
            actor_id: Some(actor_id),
            transaction,
            idempotency: None,
        },
        view,
        writes,
        now,
    )?;
    for (goods_id, goods, stock, quantity) in goods_states {
        writes.movements.push(StockMovementRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            community_id: community_id.into(),
            goods_id: goods_id.into(),
            kind: "void".into(),
            quantity,
            stock_after: stock,
            reference_id: Some(redemption_id.into()),
            reason: reason.to_string(),
            actor_id: Some(actor_id.into()),
            created_at: now,
        });
        let key = (
            state.row.member_id.into(),
            goods_id,
            state.row.local_month.clone(),
        );
        if let Some(already) = writes.monthly(view, &key) {
            writes.monthly.insert(key, (already - quantity).max(0));
        }
        writes.set_goods(view, goods_id, GoodsState { stock, ..goods });
    }
    let mut row = state.row.clone();
    row.status = "voided".into();
    row.void_journal_id = Some(posted.journal_id.into());
    row.voided_at = Some(now);
    row.voided_by = Some(actor_id.into());
    row.void_reason = Some(reason.to_string());
    writes.voids.push(row.clone());
    writes.redemptions.insert(
        redemption_id,
        RedemptionState {
            row: row.clone(),
            lines: state.lines.clone(),
        },
    );
    Ok(Outcome::Voided {
        posted,
        redemption: row,
        lines: state.lines,
    })
}

/// Checks a draft against the batch's state (balances, freezes, claimed keys) and, when it
/// passes, appends its journal rows to the batch. Either every effect is applied or none.
fn post_transaction(
    draft: Draft,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Posted, LedgerError> {
    if let Some(claim) = &draft.idempotency {
        if writes
            .claimed_keys
            .contains(&(claim.user_id, claim.key.clone()))
        {
            return Err(LedgerError::IdempotencyKeyTaken);
        }
    }
    let community = writes
        .community(view, draft.community_id)
        .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
    // First every check, with nothing changed.
    let mut next_states = Vec::with_capacity(draft.transaction.postings().len());
    for posting in draft.transaction.postings() {
        let state = writes
            .account(view, posting.account_id)
            .filter(|a| a.community_id == draft.community_id)
            .ok_or(LedgerError::AccountNotFound(posting.account_id))?;
        if state.frozen {
            return Err(LedgerError::AccountFrozen(posting.account_id));
        }
        let balance_after = state
            .balance
            .checked_add(posting.amount.hundredths())
            .ok_or(LedgerError::TooLarge)?;
        if state.kind == ACCOUNT_KIND_MEMBER && balance_after < 0 {
            return Err(LedgerError::InsufficientBalance {
                member_id: state.member_id,
                balance: Points::from_hundredths(state.balance),
                required: -posting.amount,
            });
        }
        next_states.push((posting.account_id, state, balance_after));
    }
    // Then every effect.
    let journal_id = JournalId::new();
    let seq = community.chain_seq + 1;
    let mut lines = Vec::with_capacity(next_states.len());
    let mut chain_postings = Vec::with_capacity(next_states.len());
    for ((account_id, state, balance_after), posting) in
        next_states.into_iter().zip(draft.transaction.postings())
    {
        let original_version = writes
            .accounts
            .get(&account_id)
            .map(|(v, _)| *v)
            .unwrap_or(state.version);
        let mut next = state.clone();
        next.balance = balance_after;
        next.last_seq = state.last_seq + 1;
        assert_eq!(
            next.balance,
            state.balance + posting.amount.hundredths(),
            "new balance equals old plus amount"
        );
        assert!(
            next.kind != ACCOUNT_KIND_MEMBER || next.balance >= 0,
            "a member balance never goes negative"
        );
        writes.postings.push(PostingRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            journal_id: journal_id.into(),
            community_id: draft.community_id.into(),
            account_id: account_id.into(),
            account_seq: next.last_seq,
            amount: posting.amount.hundredths(),
            balance_after,
            posted_at: now,
        });
        chain_postings.push((
            account_id,
            next.last_seq,
            posting.amount.hundredths(),
            balance_after,
        ));
        lines.push(PostedLine {
            account_id,
            amount: posting.amount,
            balance_after: Points::from_hundredths(balance_after),
        });
        writes.accounts.insert(account_id, (original_version, next));
    }
    let hash = ChainLink {
        prev_hash: &community.chain_hash,
        community_id: draft.community_id,
        seq,
        journal_id,
        kind: draft.kind,
        reference_id: draft.reference_id,
        memo: &draft.memo,
        actor_id: draft.actor_id,
        created_at_micros: db::time_to_micros(now),
        postings: chain_postings,
    }
    .hash();
    writes.journal.push(JournalRow {
        id: journal_id.into(),
        community_id: draft.community_id.into(),
        seq,
        kind: draft.kind.to_string(),
        reference_id: draft.reference_id.map(DbUuid),
        memo: draft.memo,
        actor_id: draft.actor_id.map(Into::into),
        created_at: now,
        prev_hash: community.chain_hash.clone(),
        hash: hash.clone(),
    });
    if let Some(claim) = draft.idempotency {
        writes
            .claimed_keys
            .insert((claim.user_id, claim.key.clone()));
        writes.idempotency.push(IdempotencyRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            community_id: draft.community_id.into(),
            user_id: claim.user_id.into(),
            idem_key: claim.key,
            request_hash: claim.request_hash,
            journal_id: journal_id.into(),
            created_at: now,
        });
    }
    let original_chain_version = writes
        .communities
        .get(&draft.community_id)
        .map(|(v, _)| *v)
        .unwrap_or(community.chain_version);
    let mut next_community = community;
    next_community.chain_seq = seq;
    next_community.chain_hash = hash;
    writes
        .communities
        .insert(draft.community_id, (original_chain_version, next_community));
    Ok(Posted {
        journal_id,
        seq,
        lines,
        created_at: now,
    })
}
