//! Planning: each command is checked against the batch's state and, when it passes, its rows are
//! appended to the batch. A refused command changes nothing; a planned one cannot fail later
//! except through the database's own guards.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;

use super::command::{
    BasketLine, Command, DeedMove, DeedStep, IdempotencyClaim, LedgerError, Outcome, Posted,
    PostedLine, Redemption, StockShortage,
};
use super::view::{
    local_day_and_month, AccountState, CapKey, CommunityState, GoodsState, MonthlyKey,
    RedemptionState, View,
};
use super::ACCOUNT_KIND_MEMBER;
use crate::db::models::{
    DeedEventRow, DeedRow, IdempotencyRow, JournalRow, PostingRow, RedemptionLineRow,
    RedemptionRow, StockMovementRow,
};
use crate::db::{self, DbUuid};
use crate::domain::points::POINTS_ABS_MAX_HUNDREDTHS;
use crate::domain::policy::refuse_self_dealing;
use crate::domain::{
    AccountId, Act, Actor, BalancedTransaction, ChainLink, ChainPosting, CommunityId, DeedId,
    GoodsId, HashFormat, JournalId, MemberId, Points, PostingDraft, RedemptionId, Subject, UserId,
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
    /// Deed → (version the view saw, new state).
    pub deeds: HashMap<DeedId, (i64, DeedRow)>,
    pub deed_events: Vec<DeedEventRow>,
    pub cap_sums: HashMap<CapKey, i64>,
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

    fn deed(&self, view: &View, id: DeedId) -> Option<DeedRow> {
        self.deeds
            .get(&id)
            .map(|(_, d)| d.clone())
            .or_else(|| view.deeds.get(&id).cloned())
    }

    fn cap_sum(&self, view: &View, key: &CapKey) -> Option<i64> {
        self.cap_sums
            .get(key)
            .copied()
            .or_else(|| view.cap_sums.get(key).copied())
    }

    fn set_deed(&mut self, view: &View, next: DeedRow) {
        let id = DeedId::from(next.id);
        let seen = self
            .deeds
            .get(&id)
            .map(|(v, _)| *v)
            .or_else(|| view.deeds.get(&id).map(|d| d.version))
            .unwrap_or(next.version);
        self.deeds.insert(id, (seen, next));
    }

    fn deed_event(
        &mut self,
        deed: &DeedRow,
        action: &str,
        from: &str,
        actor: Option<UserId>,
        reason: Option<String>,
        now: NaiveDateTime,
    ) {
        self.deed_events.push(DeedEventRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            deed_id: deed.id,
            community_id: deed.community_id,
            action: action.to_string(),
            from_status: Some(from.to_string()),
            to_status: deed.status.clone(),
            actor_id: actor.map(Into::into),
            reason,
            created_at: now,
        });
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
        self.journal.is_empty()
            && self.movements.is_empty()
            && self.goods.is_empty()
            && self.deeds.is_empty()
            && self.idempotency.is_empty()
    }

    /// Keeps a final refusal as the answer to its idempotency key, in this batch's transaction,
    /// so a retry of the key hears it again however the ledger has moved since.
    fn record_refusal(
        &mut self,
        community_id: CommunityId,
        claim: &IdempotencyClaim,
        refusal: &LedgerError,
        now: NaiveDateTime,
    ) {
        self.claimed_keys.insert((claim.user_id, claim.key.clone()));
        self.idempotency.push(IdempotencyRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            community_id: community_id.into(),
            user_id: claim.user_id.into(),
            idem_key: claim.key.clone(),
            request_hash: claim.request_hash.clone(),
            journal_id: None,
            created_at: now,
            refusal: Some(refusal.to_stored()),
        });
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

/// Plans one command. On `Err` nothing in `writes` changed but, for a final refusal of a command
/// with an idempotency key, the key and its refusal.
pub(super) fn plan(
    command: &Command,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Outcome, LedgerError> {
    let result = plan_effects(command, view, writes, now);
    if let Err(refusal) = &result {
        let claimed = match command {
            Command::Adjust {
                community_id,
                idempotency,
                ..
            } => Some((*community_id, idempotency)),
            Command::Redeem(r) => Some((r.community_id, &r.idempotency)),
            _ => None,
        };
        if let (Some((community_id, claim)), true) = (claimed, refusal.is_final()) {
            writes.record_refusal(community_id, claim, refusal, now);
        }
    }
    result
}

fn plan_effects(
    command: &Command,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Outcome, LedgerError> {
    // A key already used answers its first answer, whatever the ledger looks like now.
    let claim = match command {
        Command::Adjust { idempotency, .. } => Some(idempotency),
        Command::Redeem(r) => Some(&r.idempotency),
        _ => None,
    };
    if let Some(claim) = claim {
        // Stored by an earlier batch (or another instance), or claimed earlier in this one.
        let key = (claim.user_id, claim.key.clone());
        if view.stored_keys.contains(&key) || writes.claimed_keys.contains(&key) {
            return Err(LedgerError::IdempotencyKeyTaken);
        }
    }
    match command {
        Command::Adjust {
            community_id,
            member_account_id,
            kind,
            amount,
            reason,
            actor,
            idempotency,
        } => {
            let member = writes
                .account(view, *member_account_id)
                .filter(|a| a.community_id == *community_id)
                .ok_or(LedgerError::AccountNotFound(*member_account_id))?;
            if member.kind != ACCOUNT_KIND_MEMBER {
                return Err(LedgerError::NotAMemberAccount(*member_account_id));
            }
            refuse_self_dealing(
                *actor,
                Act::Adjust,
                Subject {
                    member_id: member.member_id,
                    ..Subject::default()
                },
            )?;
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
                    actor_id: Some(actor.user_id),
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
            actor,
            reason,
            same_day_only,
        } => plan_void(
            *community_id,
            *redemption_id,
            *actor,
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
        Command::ApproveDeed {
            community_id,
            deed_id,
            actor,
            clock_now,
            review_stages,
            notice_days,
        } => plan_approval(
            Approval {
                community_id: *community_id,
                deed_id: *deed_id,
                actor: *actor,
                clock_now: *clock_now,
                review_stages: *review_stages,
                notice_days: *notice_days,
            },
            view,
            writes,
            now,
        ),
        Command::CreditDueDeed {
            community_id,
            deed_id,
            clock_now,
        } => {
            let deed = writes
                .deed(view, *deed_id)
                .filter(|d| CommunityId::from(d.community_id) == *community_id)
                .ok_or(LedgerError::DeedNotFound(*deed_id))?;
            if deed.status != "approved" {
                return Err(LedgerError::invalid_transition(&deed.status, "credited"));
            }
            if deed.notice_ends_at.is_none_or(|end| end > *clock_now) {
                return Err(LedgerError::NoticeNotOver);
            }
            let (credited, posted) = credit_deed(deed.clone(), None, view, writes, now)?;
            writes.deed_event(&credited, "credit", &deed.status, None, None, now);
            writes.set_deed(view, credited.clone());
            Ok(Outcome::Deed {
                deed: Box::new(credited),
                posted,
            })
        }
        Command::ReverseDeed {
            community_id,
            deed_id,
            actor,
            reason,
        } => plan_reversal(*community_id, *deed_id, *actor, reason, view, writes, now),
        Command::MoveDeed(step) => plan_deed_move(step, view, writes, now),
        Command::Ping => Ok(Outcome::Pong),
    }
}

/// Whom a decision on this deed concerns, for the separation of duties.
fn deed_subject(deed: &DeedRow) -> Subject {
    Subject {
        member_id: Some(deed.member_id.into()),
        submitted_by: Some(deed.submitted_by.into()),
        first_checked_by: deed.first_checked_by.map(Into::into),
    }
}

/// The coinless steps of the workflow: where a deed may go from where it is, and who may take it.
fn plan_deed_move(
    m: &DeedMove,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Outcome, LedgerError> {
    let deed = writes
        .deed(view, m.deed_id)
        .filter(|d| CommunityId::from(d.community_id) == m.community_id)
        .ok_or(LedgerError::DeedNotFound(m.deed_id))?;
    let mut next = deed.clone();
    let action = match m.step {
        DeedStep::Pass | DeedStep::Return => {
            if m.review_stages < 2 {
                return Err(LedgerError::SingleStageReview);
            }
            if deed.status != "submitted" {
                return Err(LedgerError::invalid_transition(&deed.status, "reviewed"));
            }
            refuse_self_dealing(m.actor, Act::FirstCheck, deed_subject(&deed))?;
            if m.step == DeedStep::Pass {
                next.status = "reviewed".into();
                next.first_checked_by = Some(m.actor.user_id.into());
                "review_pass"
            } else {
                next.status = "returned".into();
                "review_return"
            }
        }
        DeedStep::Reject => {
            if deed.status != "submitted" && deed.status != "reviewed" {
                return Err(LedgerError::invalid_transition(&deed.status, "rejected"));
            }
            refuse_self_dealing(m.actor, Act::Decide, deed_subject(&deed))?;
            next.status = "rejected".into();
            "reject"
        }
        DeedStep::Withdraw => {
            if UserId::from(deed.submitted_by) != m.actor.user_id {
                return Err(LedgerError::NotTheSubmitter);
            }
            if !matches!(deed.status.as_str(), "submitted" | "reviewed" | "returned") {
                return Err(LedgerError::invalid_transition(&deed.status, "withdrawn"));
            }
            next.status = "withdrawn".into();
            "withdraw"
        }
        DeedStep::Object => {
            let on_notice = deed.status == "approved"
                && deed.notice_ends_at.is_some_and(|end| m.clock_now < end);
            if !on_notice {
                return Err(LedgerError::invalid_transition(&deed.status, "objected to"));
            }
            // Back to review from the start: the approval no longer counts against the cap.
            if let (Some(month), Some(_)) = (&deed.cap_month, deed.monthly_cap) {
                let key = (
                    MemberId::from(deed.member_id),
                    crate::domain::RuleId::from(deed.rule_id),
                    month.clone(),
                );
                if let Some(used) = writes.cap_sum(view, &key) {
                    writes.cap_sums.insert(key, (used - deed.points).max(0));
                }
            }
            next.status = "submitted".into();
            next.notice_ends_at = None;
            next.cap_month = None;
            next.first_checked_by = None;
            "object"
        }
    };
    next.updated_at = now;
    writes.deed_event(
        &next,
        action,
        &deed.status,
        Some(m.actor.user_id),
        m.reason.clone(),
        now,
    );
    writes.set_deed(view, next.clone());
    Ok(Outcome::Deed {
        deed: Box::new(next),
        posted: None,
    })
}

struct Approval {
    community_id: CommunityId,
    deed_id: DeedId,
    actor: Actor,
    clock_now: NaiveDateTime,
    review_stages: i32,
    notice_days: i32,
}

fn plan_approval(
    a: Approval,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Outcome, LedgerError> {
    let deed = writes
        .deed(view, a.deed_id)
        .filter(|d| CommunityId::from(d.community_id) == a.community_id)
        .ok_or(LedgerError::DeedNotFound(a.deed_id))?;
    // Two stages: only a checked deed is decided. One stage: a deed checked while the community
    // still reviewed in two stages is not stranded by the switch.
    let approvable = match deed.status.as_str() {
        "reviewed" => true,
        "submitted" => a.review_stages < 2,
        _ => false,
    };
    if !approvable {
        return Err(LedgerError::invalid_transition(&deed.status, "approved"));
    }
    refuse_self_dealing(a.actor, Act::Decide, deed_subject(&deed))?;
    let community = writes
        .community(view, a.community_id)
        .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
    let (_, month) = local_day_and_month(a.clock_now, community.utc_offset_minutes);
    let cap_key = (
        MemberId::from(deed.member_id),
        crate::domain::RuleId::from(deed.rule_id),
        month.clone(),
    );
    if let (Some(cap), "earn") = (deed.monthly_cap, deed.direction.as_str()) {
        let used = writes
            .cap_sum(view, &cap_key)
            .ok_or_else(|| LedgerError::Unavailable("the monthly sum was not loaded".into()))?;
        if used + deed.points > cap {
            return Err(LedgerError::MonthlyCapExceeded {
                cap: Points::from_hundredths(cap),
                used: Points::from_hundredths(used),
                remaining: Points::from_hundredths((cap - used).max(0)),
            });
        }
    }
    let mut next = deed.clone();
    next.cap_month = Some(month);
    next.updated_at = now;
    let posted = if a.notice_days > 0 {
        next.status = "approved".into();
        next.notice_ends_at = Some(a.clock_now + chrono::Duration::days(a.notice_days as i64));
        writes.deed_event(
            &next,
            "approve",
            &deed.status,
            Some(a.actor.user_id),
            None,
            now,
        );
        if deed.monthly_cap.is_some() {
            // No coins move yet, but the cap sum was read: touching the chain head (same seq and
            // hash, next version) serialises this with every other writer of the community, so
            // another instance's approval in between makes this batch replay on a fresh sum.
            let seen = writes
                .communities
                .get(&a.community_id)
                .map(|(v, _)| *v)
                .unwrap_or(community.chain_version);
            let head = writes
                .community(view, a.community_id)
                .unwrap_or_else(|| community.clone());
            writes.communities.insert(a.community_id, (seen, head));
        }
        None
    } else {
        let (credited, posted) = credit_deed(next, Some(a.actor.user_id), view, writes, now)?;
        let mut approved = credited.clone();
        approved.status = "approved".into();
        writes.deed_event(
            &approved,
            "approve",
            &deed.status,
            Some(a.actor.user_id),
            None,
            now,
        );
        writes.deed_event(
            &credited,
            "credit",
            "approved",
            Some(a.actor.user_id),
            None,
            now,
        );
        next = credited;
        posted
    };
    if deed.monthly_cap.is_some() && deed.direction == "earn" {
        let used = writes.cap_sum(view, &cap_key).unwrap_or(0);
        writes.cap_sums.insert(cap_key, used + deed.points);
    }
    writes.set_deed(view, next.clone());
    Ok(Outcome::Deed {
        deed: Box::new(next),
        posted,
    })
}

/// What a deed's passbook line says: the rule, then the deed in the resident's words.
fn deed_memo(deed: &DeedRow) -> String {
    let description: String = deed.description.chars().take(200).collect();
    format!("{}：{}", deed.rule_name, description)
}

/// Posts a deed's coins: issuance → member for an earning deed; member → deductions for a
/// deduction, never more than the balance holds (both amounts are kept). Changes nothing on `Err`.
fn credit_deed(
    mut deed: DeedRow,
    actor: Option<UserId>,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<(DeedRow, Option<Posted>), LedgerError> {
    let community_id = CommunityId::from(deed.community_id);
    let community = writes
        .community(view, community_id)
        .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
    let member_account = AccountId::from(deed.account_id);
    let (kind, memo, applied, counter) = if deed.direction == "earn" {
        let issuance = community
            .issuance_account
            .ok_or_else(|| LedgerError::Unavailable("no issuance account".into()))?;
        ("deed_credit", deed_memo(&deed), deed.points, issuance)
    } else {
        let deductions = community
            .deductions_account
            .ok_or_else(|| LedgerError::Unavailable("no deductions account".into()))?;
        let balance = writes
            .account(view, member_account)
            .map(|a| a.balance)
            .ok_or(LedgerError::AccountNotFound(member_account))?;
        let applied = deed.points.min(balance.max(0));
        let memo = format!(
            "{}（应扣 {}，实扣 {}）",
            deed_memo(&deed),
            Points::from_hundredths(deed.points),
            Points::from_hundredths(applied)
        );
        ("deed_deduction", memo, applied, deductions)
    };
    let posted = if applied > 0 {
        let signed = if deed.direction == "earn" {
            applied
        } else {
            -applied
        };
        let transaction = BalancedTransaction::new(vec![
            PostingDraft {
                account_id: member_account,
                amount: Points::from_hundredths(signed),
            },
            PostingDraft {
                account_id: counter,
                amount: Points::from_hundredths(-signed),
            },
        ])
        .map_err(unbalanced)?;
        Some(post_transaction(
            Draft {
                community_id,
                kind,
                reference_id: Some(deed.id.0),
                memo,
                actor_id: actor,
                transaction,
                idempotency: None,
            },
            view,
            writes,
            now,
        )?)
    } else {
        None
    };
    deed.status = "credited".into();
    deed.applied_points = Some(applied);
    deed.credit_journal_id = posted.as_ref().map(|p| p.journal_id.into());
    deed.updated_at = now;
    Ok((deed, posted))
}

fn plan_reversal(
    community_id: CommunityId,
    deed_id: DeedId,
    actor: Actor,
    reason: &str,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Outcome, LedgerError> {
    let actor_id = actor.user_id;
    let deed = writes
        .deed(view, deed_id)
        .filter(|d| CommunityId::from(d.community_id) == community_id)
        .ok_or(LedgerError::DeedNotFound(deed_id))?;
    if deed.status != "credited" {
        return Err(LedgerError::invalid_transition(&deed.status, "reversed"));
    }
    refuse_self_dealing(actor, Act::Reverse, deed_subject(&deed))?;
    let community = writes
        .community(view, community_id)
        .ok_or_else(|| LedgerError::Unavailable("unknown community".into()))?;
    let applied = deed.applied_points.unwrap_or(0);
    let posted = if applied > 0 {
        let (signed, counter) = if deed.direction == "earn" {
            (-applied, community.issuance_account)
        } else {
            (applied, community.deductions_account)
        };
        let counter =
            counter.ok_or_else(|| LedgerError::Unavailable("no system account".into()))?;
        let transaction = BalancedTransaction::new(vec![
            PostingDraft {
                account_id: deed.account_id.into(),
                amount: Points::from_hundredths(signed),
            },
            PostingDraft {
                account_id: counter,
                amount: Points::from_hundredths(-signed),
            },
        ])
        .map_err(unbalanced)?;
        Some(post_transaction(
            Draft {
                community_id,
                kind: "deed_reversal",
                reference_id: Some(deed.id.0),
                memo: format!("冲正 {}：{}", deed.rule_name, reason),
                actor_id: Some(actor_id),
                transaction,
                idempotency: None,
            },
            view,
            writes,
            now,
        )?)
    } else {
        None
    };
    let mut next = deed.clone();
    next.status = "reversed".into();
    next.reversal_journal_id = posted.as_ref().map(|p| p.journal_id.into());
    next.updated_at = now;
    writes.deed_event(
        &next,
        "reverse",
        &deed.status,
        Some(actor_id),
        Some(reason.to_string()),
        now,
    );
    writes.set_deed(view, next.clone());
    Ok(Outcome::Deed {
        deed: Box::new(next),
        posted,
    })
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
    let member_account_id = view
        .member_accounts
        .get(&r.member_id)
        .copied()
        .ok_or(LedgerError::MemberNotFound(r.member_id))?;
    let member = writes
        .account(view, member_account_id)
        .filter(|a| a.community_id == r.community_id && a.kind == ACCOUNT_KIND_MEMBER)
        .ok_or(LedgerError::MemberNotFound(r.member_id))?;
    refuse_self_dealing(
        r.clerk,
        Act::Redeem,
        Subject {
            member_id: Some(r.member_id),
            ..Subject::default()
        },
    )?;
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
            account_id: member_account_id,
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
            actor_id: Some(r.clerk.user_id),
            transaction,
            idempotency: Some(r.idempotency.clone()),
        },
        view,
        writes,
        now,
    )?;

    // Then every effect.
    let balance_after = posted
        .line_for(member_account_id)
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
            actor_id: Some(r.clerk.user_id.into()),
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
        account_id: member_account_id.into(),
        member_no: member.member_no.clone(),
        member_name: member.member_name.clone(),
        clerk_id: r.clerk.user_id.into(),
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
    actor: Actor,
    reason: &str,
    same_day_only: bool,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Outcome, LedgerError> {
    let actor_id = actor.user_id;
    let state = writes
        .redemption(view, redemption_id)
        .filter(|s| CommunityId::from(s.row.community_id) == community_id)
        .ok_or(LedgerError::RedemptionNotFound(redemption_id))?;
    refuse_self_dealing(
        actor,
        Act::Void,
        Subject {
            member_id: Some(state.row.member_id.into()),
            ..Subject::default()
        },
    )?;
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

/// Checks a draft against the batch's state (balances, freezes) and, when it passes, appends its
/// journal rows to the batch and claims its idempotency key (`plan` checked the key first). Either every effect is applied or none.
fn post_transaction(
    draft: Draft,
    view: &View,
    writes: &mut BatchWrites,
    now: NaiveDateTime,
) -> Result<Posted, LedgerError> {
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
        next.credits = state.credits + posting.amount.hundredths().max(0);
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
        let row = PostingRow {
            id: DbUuid(uuid::Uuid::now_v7()),
            journal_id: journal_id.into(),
            community_id: draft.community_id.into(),
            account_id: account_id.into(),
            account_seq: next.last_seq,
            amount: posting.amount.hundredths(),
            balance_after,
            posted_at: now,
            credits_after: next.credits,
        };
        chain_postings.push(ChainPosting {
            posting_id: row.id.0,
            account_id,
            account_seq: row.account_seq,
            amount: row.amount,
            balance_after: row.balance_after,
            credits_after: row.credits_after,
            posted_at_micros: db::time_to_micros(row.posted_at),
        });
        writes.postings.push(row);
        lines.push(PostedLine {
            account_id,
            amount: posting.amount,
            balance_after: Points::from_hundredths(balance_after),
        });
        writes.accounts.insert(account_id, (original_version, next));
    }
    let hash = ChainLink {
        format: HashFormat::CURRENT,
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
        hash_version: HashFormat::CURRENT.number(),
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
            journal_id: Some(journal_id.into()),
            created_at: now,
            refusal: None,
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
