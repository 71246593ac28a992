//! Background work of the service: crediting deeds whose public notice ended, expiring coins by
//! the community's rule, and signing the ledger heads of communities whose journal grew.

use std::collections::HashMap;

use actix_web::web;

use crate::commands::Command;
use crate::deeds::http::decide::BULK_APPROVAL_IDS_MAX;
use crate::deeds::plan::{DeedCommand, Step};
use crate::deeds::store;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::with_conn;

/// Credits deeds whose public notice ended: once at start (nothing due is left behind by a
/// restart), then on a timer. It runs on the server's runtime and stops with it.
pub fn spawn_notice_sweeper(state: web::Data<AppState>, interval_ms: u64) {
    actix_web::rt::spawn(async move {
        let mut ticks =
            tokio::time::interval(std::time::Duration::from_millis(interval_ms.max(10)));
        loop {
            ticks.tick().await;
            if let Err(e) = sweep_notices(&state).await {
                tracing::warn!(error = %e, "notice sweep failed; will retry");
            }
            if let Err(e) = sweep_orders(&state).await {
                tracing::warn!(error = %e, "order sweep failed; will retry");
            }
        }
    });
}

/// Credits every deed whose notice ended unopposed. Runs on a timer and once at start, so a
/// restart never leaves a due deed behind; crediting is exactly once in the engine.
pub async fn sweep_notices(state: &AppState) -> Result<usize, ApiError> {
    let now = state.clock.now();
    let due = with_conn(state, move |conn| {
        Ok(store::due_deeds(conn, now, BULK_APPROVAL_IDS_MAX as i64)?)
    })
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let commands = due
        .iter()
        .map(|(community, deed)| {
            Command::Deed(DeedCommand {
                community_id: (*community).into(),
                deed_id: (*deed).into(),
                step: Step::CreditDue,
                clock_now: now,
            })
        })
        .collect();
    let outcomes = state.engine.execute_many(commands).await?;
    let credited = outcomes.iter().filter(|o| o.is_ok()).count();
    for ((_, deed), outcome) in due.iter().zip(&outcomes) {
        if let Err(e) = outcome {
            tracing::info!(deed = %deed.0, error = %e, "sweeper left a deed");
        }
    }
    tracing::info!(credited, "notice sweeper credited deeds");
    Ok(credited)
}

/// Releases every reserved order whose time ran out: coins back to the passbook, goods back on
/// the shelf. Exactly once however many instances sweep: the writer releases only an order still
/// held, and the database writes an order's end only while it is.
pub async fn sweep_orders(state: &AppState) -> Result<usize, ApiError> {
    let now = state.clock.now();
    let due = with_conn(state, move |conn| {
        Ok(crate::orders::store::due(
            conn,
            now,
            BULK_APPROVAL_IDS_MAX as i64,
        )?)
    })
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let commands = due
        .iter()
        .map(|(community, order)| {
            Command::Release(crate::orders::plan::Release {
                community_id: (*community).into(),
                order_id: order.0,
                actor: None,
                ending: crate::orders::plan::Ending::Expired,
                reason: String::new(),
            })
        })
        .collect();
    let outcomes = state.engine.execute_many(commands).await?;
    let released = outcomes.iter().filter(|o| o.is_ok()).count();
    for ((_, order), outcome) in due.iter().zip(&outcomes) {
        if let Err(e) = outcome {
            tracing::info!(order = %order.0, error = %e, "sweeper left an order");
        }
    }
    tracing::info!(released, "order sweeper released expired orders");
    Ok(released)
}

/// What this instance's expiry sweeper has finished: per community, the expiry (by its due day)
/// and the rule it ran under. Nothing older can come due again (a later credit is never older
/// than a cutoff in the past), so a finished expiry is not looked at again until the next one;
/// another instance, or a restart, looks once more and finds nothing.
pub type SweptExpiries = HashMap<crate::kernel::CommunityId, (chrono::NaiveDate, String)>;

/// Expires coins due by each community's rule: once at start, then on a timer.
pub fn spawn_expiry_sweeper(state: web::Data<AppState>, interval_ms: u64) {
    actix_web::rt::spawn(async move {
        let mut swept = SweptExpiries::new();
        let mut ticks =
            tokio::time::interval(std::time::Duration::from_millis(interval_ms.max(10)));
        loop {
            ticks.tick().await;
            if let Err(e) = sweep_expiries(&state, &mut swept).await {
                tracing::warn!(error = %e, "expiry sweep failed; will retry");
            }
        }
    });
}

/// Sends an `Expire` command for every member account (active or not) holding coins due to
/// expire; answers how many expiries were posted. Exactly once however many instances run: each
/// command carries a reference derived from the account and the cutoff, which the writer checks
/// and the journal's unique index guards, and the writer judges the amount again on the rows.
pub async fn sweep_expiries(
    state: &AppState,
    swept: &mut SweptExpiries,
) -> Result<usize, ApiError> {
    use crate::expiry::plan::Expire;
    use crate::expiry::store as expiry;
    let now = state.clock.now();
    let communities = with_conn(state, move |conn| {
        Ok(expiry::communities_with_expiry(conn)?)
    })
    .await?;
    let mut posted = 0;
    for (community, calendar, settings) in communities {
        let Some(due) = settings.due_now(calendar, now) else {
            continue;
        };
        let mark = (due.due, format!("{:?}", settings.settings.rule));
        if swept.get(&community) == Some(&mark) {
            continue;
        }
        let rule = settings.settings.rule;
        let accounts = with_conn(state, move |conn| {
            Ok(expiry::due_accounts(conn, community, calendar, rule, due)?)
        })
        .await?;
        let complete = (accounts.len() as i64) < expiry::EXPIRY_SWEEP_ACCOUNTS_MAX;
        let commands = accounts
            .iter()
            .map(|a| {
                Command::Expire(Expire {
                    community_id: a.community_id,
                    account_id: a.account_id,
                    reference: a.expiry.reference(a.account_id),
                    credits_before: a.credits_before,
                    memo: a.expiry.memo(a.rule),
                })
            })
            .collect();
        let outcomes = if accounts.is_empty() {
            Vec::new()
        } else {
            state.engine.execute_many(commands).await?
        };
        let mut settled = true;
        for (account, outcome) in accounts.iter().zip(&outcomes) {
            match outcome {
                Ok(_) => posted += 1,
                Err(crate::ledger::LedgerError::NothingToExpire(_)) => {}
                Err(e) => {
                    settled &= e.is_final();
                    tracing::info!(account = %account.account_id.0, error = %e, "expiry left an account");
                }
            }
        }
        if complete && settled {
            swept.insert(community, mark);
        }
    }
    if posted > 0 {
        tracing::info!(posted, "expiry sweeper expired coins");
    }
    Ok(posted)
}

/// Signs a ledger head for every community whose journal grew since its last head, every
/// `interval_ms` (the first time one interval after start). Several instances may each sign one:
/// two heads of the same size and root are both true.
pub fn spawn_head_signer(state: web::Data<AppState>, interval_ms: u64) {
    actix_web::rt::spawn(async move {
        let period = std::time::Duration::from_millis(interval_ms.max(10));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            ticks.tick().await;
            if let Err(e) = sign_heads(&state).await {
                tracing::warn!(error = %e, "signing ledger heads failed; will retry");
            }
        }
    });
}

/// Signs the heads due now; answers how many.
pub async fn sign_heads(state: &AppState) -> Result<usize, ApiError> {
    let now = state.clock.now();
    let made = with_conn(state, move |conn| {
        Ok(crate::trust::store::sign_changed(conn, now)?)
    })
    .await?;
    if !made.is_empty() {
        tracing::info!(heads = made.len(), "ledger heads signed");
    }
    Ok(made.len())
}
