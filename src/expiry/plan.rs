//! Expiry's part of the ledger writer: a member's coins earned before a cutoff and still unspent
//! go to the community's `expired` account, once.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::unspent_before;
use crate::db::schema::journal;
use crate::db::{DbConn, DbUuid};
use crate::kernel::{
    AccountId, AccountKind, BalancedTransaction, CommunityId, JournalKind, Points, PostingDraft,
};
use crate::ledger::{post, unbalanced, Batch, Draft, LedgerError, Posted, View};

/// Expire one account's old coins. `credits_before` is the account's credits before the
/// cutoff, which no later posting changes; the amount itself is judged against the batch's
/// view of the account when the command runs.
#[derive(Debug, Clone)]
pub struct Expire {
    pub community_id: CommunityId,
    pub account_id: AccountId,
    /// Derived from the account and the cutoff (`Expiry::reference`): the same on every instance.
    pub reference: uuid::Uuid,
    pub credits_before: i64,
    pub memo: String,
}

/// The expiries of this batch's commands already in the journal, read afresh per batch (another
/// instance may have written one).
#[derive(Debug, Default)]
pub struct ExpiryView {
    pub done: HashSet<uuid::Uuid>,
}

impl ExpiryView {
    pub fn start_batch(&mut self) {
        self.done.clear();
    }

    pub fn load_done(&mut self, conn: &mut DbConn, commands: &[&Expire]) -> QueryResult<()> {
        self.done.clear();
        if commands.is_empty() {
            return Ok(());
        }
        let references: Vec<DbUuid> = commands.iter().map(|c| DbUuid(c.reference)).collect();
        let found: Vec<Option<DbUuid>> = journal::table
            .filter(journal::kind.eq(JournalKind::Expiry))
            .filter(journal::reference_id.eq_any(&references))
            .select(journal::reference_id)
            .load(conn)?;
        self.done.extend(found.into_iter().flatten().map(|r| r.0));
        Ok(())
    }
}

pub fn plan_expire(
    e: &Expire,
    view: &View,
    expiry: &ExpiryView,
    batch: &mut Batch,
    now: NaiveDateTime,
) -> Result<Posted, LedgerError> {
    if expiry.done.contains(&e.reference) {
        return Err(LedgerError::NothingToExpire(e.account_id));
    }
    let member = batch
        .account(view, e.account_id)
        .filter(|s| s.community_id == e.community_id)
        .ok_or(LedgerError::AccountNotFound(e.account_id))?;
    if member.kind != AccountKind::Member {
        return Err(LedgerError::NotAMemberAccount(e.account_id));
    }
    // The balance may have moved since the sweeper looked: judge again on the view.
    let amount = unspent_before(e.credits_before, member.credits, member.balance);
    if amount <= 0 {
        return Err(LedgerError::NothingToExpire(e.account_id));
    }
    let expired = batch
        .community(view, e.community_id)
        .and_then(|c| c.expired_account)
        .ok_or_else(|| LedgerError::Unavailable("the community has no expired account".into()))?;
    let amount = Points::from_hundredths(amount);
    let transaction = BalancedTransaction::new(vec![
        PostingDraft {
            account_id: e.account_id,
            amount: -amount,
        },
        PostingDraft {
            account_id: expired,
            amount,
        },
    ])
    .map_err(unbalanced)?;
    post(
        Draft {
            community_id: e.community_id,
            kind: JournalKind::Expiry,
            reference_id: Some(e.reference),
            memo: e.memo.clone(),
            actor_id: None,
            transaction,
            idempotency: None,
        },
        view,
        batch,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::view::{AccountState, CommunityState};
    use crate::ledger::IdSource;

    static TABLES: [&crate::ledger::store::TableWrite; 4] = [
        &crate::ledger::batch::JOURNAL,
        &crate::ledger::batch::LEDGER_TREE,
        &crate::ledger::batch::POSTINGS,
        &crate::ledger::batch::ACCOUNTS,
    ];

    fn id(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    fn now() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2027-01-01 17:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn account(
        community: CommunityId,
        kind: AccountKind,
        balance: i64,
        credits: i64,
    ) -> AccountState {
        AccountState {
            community_id: community,
            kind,
            member_id: None,
            member_active: false,
            member_no: String::new(),
            member_name: String::new(),
            frozen: false,
            balance,
            credits,
            last_seq: 3,
            version: 7,
        }
    }

    /// A member with `balance` of `credits` ever credited, and the expired account.
    fn view(balance: i64, credits: i64) -> View {
        let community = CommunityId::from_uuid(id(1));
        let mut view = View::default();
        view.accounts.insert(
            AccountId::from_uuid(id(3)),
            account(community, AccountKind::Member, balance, credits),
        );
        view.accounts.insert(
            AccountId::from_uuid(id(4)),
            account(community, AccountKind::Expired, 0, 0),
        );
        view.communities.insert(
            community,
            CommunityState {
                chain_seq: 41,
                chain_hash: "ab".repeat(32),
                chain_version: 3,
                tree: Default::default(),
                utc_offset_minutes: 480,
                issuance_account: None,
                shop_account: None,
                deductions_account: None,
                holds_account: None,
                fund_account: None,
                expired_account: Some(AccountId::from_uuid(id(4))),
            },
        );
        view
    }

    fn expire(credits_before: i64) -> Expire {
        Expire {
            community_id: CommunityId::from_uuid(id(1)),
            account_id: AccountId::from_uuid(id(3)),
            reference: id(99),
            credits_before,
            memo: "2026年底前获得的积分清零".into(),
        }
    }

    #[test]
    fn the_amount_is_judged_on_the_view_not_on_what_the_sweeper_read() {
        // 100 earned before the cutoff; 30 spent since (the sweeper may have read 100).
        let view = view(7000, 10000);
        let mut batch = Batch::new(&TABLES, IdSource::Counter(1000));
        let posted = plan_expire(
            &expire(10000),
            &view,
            &ExpiryView::default(),
            &mut batch,
            now(),
        )
        .unwrap();
        let member = posted.line_for(AccountId::from_uuid(id(3))).unwrap();
        assert_eq!(member.amount, Points::from_hundredths(-7000));
        assert_eq!(member.balance_after, Points::ZERO);
        let expired = posted.line_for(AccountId::from_uuid(id(4))).unwrap();
        assert_eq!(expired.amount, Points::from_hundredths(7000));
        // The same command again in the batch finds nothing left: the expiry was a debit.
        assert_eq!(
            plan_expire(
                &expire(10000),
                &view,
                &ExpiryView::default(),
                &mut batch,
                now()
            ),
            Err(LedgerError::NothingToExpire(AccountId::from_uuid(id(3))))
        );
    }

    #[test]
    fn an_expiry_in_the_journal_already_is_refused() {
        let view = view(5000, 5000);
        let mut done = ExpiryView::default();
        done.done.insert(id(99));
        let mut batch = Batch::new(&TABLES, IdSource::Counter(1000));
        assert_eq!(
            plan_expire(&expire(5000), &view, &done, &mut batch, now()),
            Err(LedgerError::NothingToExpire(AccountId::from_uuid(id(3))))
        );
    }

    #[test]
    fn coins_spent_since_leave_nothing_to_expire() {
        // 40 old coins, then 60 new, then 30 spent: 10 old left; 90 spent: none.
        let mut batch = Batch::new(&TABLES, IdSource::Counter(1000));
        let posted = plan_expire(
            &expire(4000),
            &view(7000, 10000),
            &ExpiryView::default(),
            &mut batch,
            now(),
        )
        .unwrap();
        assert_eq!(
            posted.line_for(AccountId::from_uuid(id(3))).unwrap().amount,
            Points::from_hundredths(-1000)
        );
        let mut batch = Batch::new(&TABLES, IdSource::Counter(1000));
        assert_eq!(
            plan_expire(
                &expire(4000),
                &view(1000, 10000),
                &ExpiryView::default(),
                &mut batch,
                now()
            ),
            Err(LedgerError::NothingToExpire(AccountId::from_uuid(id(3))))
        );
    }
}
