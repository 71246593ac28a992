//! Reports: the honor roll (光荣榜) for everyone in the community; a period summary and the
//! journal change feed for the committee and the auditor.

use actix_web::{get, web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::models::{JournalRow, PostingRow};
use crate::db::schema::{journal, postings};
use crate::db::{DbConn, DbUuid};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::{query_month, query_period, rfc3339, with_replica};
use crate::kernel::dates::{day_start_utc, month_last_day, period_end_utc};
use crate::kernel::Permission;
use crate::kernel::{CommunityId, Points};
use crate::reports::store;

/// Members on the honor roll by default and at most (ties at the cut are all shown).
pub const HONOR_ROLL_DEFAULT: usize = 10;
pub const HONOR_ROLL_MAX: usize = 100;
/// Journal transactions per change-feed page at most.
pub const JOURNAL_PAGE_MAX: i64 = 500;

fn offset_of(conn: &mut DbConn, community: CommunityId) -> Result<i32, ApiError> {
    Ok(crate::communities::store::community_by_id(conn, community)?
        .ok_or_else(|| ApiError::internal("the user's community is missing"))?
        .utc_offset_minutes)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HonorRollQuery {
    /// A local month, YYYY-MM, 2000-01 … 9999-12.
    pub month: String,
    /// Places shown (1–100, default 10); members tied with the last place are all shown.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HonorRollEntry {
    /// 1 for the most; tied members share a rank and the next rank skips (1, 1, 3).
    pub rank: usize,
    /// Only for users who may read the roster; a resident reads names and figures, as on the wall.
    pub member_id: Option<uuid::Uuid>,
    /// Only for users who may read the roster (a passbook number is what the counter finds a
    /// resident by; it is not put on the notice wall).
    pub member_no: Option<String>,
    pub member_name: String,
    /// Coins earned from deeds credited in the month, less reversals of such credits.
    pub earned: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HonorRoll {
    pub month: String,
    pub items: Vec<HonorRollEntry>,
}

/// The honor roll of a local month (`YYYY-MM`) for `user`'s community, down to rank `limit`
/// (default [`HONOR_ROLL_DEFAULT`]). Every signed-in user of the community may read it: it is
/// what the committee pins to the notice wall. The JSON API and the console both call this.
pub async fn honor_roll(
    state: &AppState,
    user: &AuthUser,
    month: &str,
    limit: Option<usize>,
) -> Result<HonorRoll, ApiError> {
    let first = query_month("month", month)?;
    let limit = limit.unwrap_or(HONOR_ROLL_DEFAULT);
    if !(1..=HONOR_ROLL_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {HONOR_ROLL_MAX}"),
        ));
    }
    let last = month_last_day(first);
    let community = user.community_id;
    let roster = user.may(Permission::ReadMembers);
    let entries = with_replica(state, move |conn| {
        let offset = offset_of(conn, community)?;
        let ranked = store::honor_roll(
            conn,
            community,
            Some(day_start_utc(first, offset)),
            period_end_utc(last, offset),
            limit,
        )?;
        Ok(ranked
            .into_iter()
            .map(|r| HonorRollEntry {
                rank: r.rank,
                member_id: roster.then_some(r.member_id.0),
                member_no: roster.then_some(r.member_no),
                member_name: r.member_name,
                earned: r.earned.to_string(),
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HonorRoll {
        month: month.to_string(),
        items: entries,
    })
}

/// 光荣榜: members by coins earned in a local month (not by balance), ties sharing a rank.
///
/// Every user of the community may read it: it is what goes on the notice wall.
#[utoipa::path(tag = "reports", operation_id = "get_honor_roll",
    security(("bearer" = [])),
    params(HonorRollQuery),
    responses((status = 200, body = HonorRoll),
        problems::BadRequest,
        problems::Unauthorized))]
#[get("/reports/honor-roll")]
pub async fn get_honor_roll(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<HonorRollQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let roll = honor_roll(&state, &user, &q.month, q.limit).await?;
    Ok(HttpResponse::Ok().json(roll))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// First local date, YYYY-MM-DD (inclusive), 2000-01-01 … 9999-12-31; the beginning when
    /// absent.
    pub from: Option<String>,
    /// Last local date, YYYY-MM-DD (inclusive), 2000-01-01 … 9999-12-31; up to now when absent.
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryTotal {
    pub category: String,
    pub issued: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    pub from: Option<String>,
    pub to: Option<String>,
    /// Coins credited for deeds.
    pub issued: String,
    /// Coins added and removed by admin adjustments (opening balances, corrections).
    pub adjusted_in: String,
    pub adjusted_out: String,
    /// Coins spent at the shop, and given back by voids.
    pub redeemed: String,
    pub voided: String,
    /// Coins taken back by reversing credited deeds, and returned by reversing deductions.
    pub reversed: String,
    pub reversed_deductions: String,
    pub deducted: String,
    /// Coins that expired by the community's rule (过期清零).
    pub expired: String,
    /// Coins residents gave to the community fund, and coins it granted to residents.
    pub donated: String,
    pub granted: String,
    /// What residents hold at the end of the period.
    pub outstanding: String,
    /// Deed credits by rule category.
    pub by_category: Vec<CategoryTotal>,
    /// Price × stock of the goods on sale now.
    pub shop_stock_value: String,
}

/// Coins issued, redeemed, voided, reversed, deducted and outstanding in a period.
#[utoipa::path(tag = "reports", operation_id = "get_summary",
    security(("bearer" = [])),
    params(SummaryQuery),
    responses((status = 200, body = Summary),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden))]
#[get("/reports/summary")]
pub async fn get_summary(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let (summary, _) = summary(&state, &user, q.from.as_deref(), q.to.as_deref()).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// The period summary the JSON API answers and the console shows, and its figures as numbers
/// (for the console's charts): `from` and `to` are local dates as the query writes them.
pub async fn summary(
    state: &AppState,
    user: &AuthUser,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Summary, store::SummaryFigures), ApiError> {
    user.require(Permission::ReadReports)?;
    let (from, to) = query_period(from, to)?;
    let community = user.community_id;
    let figures = with_replica(state, move |conn| {
        let offset = offset_of(conn, community)?;
        let start = from.map(|d| day_start_utc(d, offset));
        // A period that ends after any time that can be stored is open-ended.
        let end = to.and_then(|d| period_end_utc(d, offset));
        Ok(store::summary(conn, community, start, end)?)
    })
    .await?;
    let m = &figures.movements;
    let summary = Summary {
        from: from.map(|d| d.to_string()),
        to: to.map(|d| d.to_string()),
        issued: m.issued.to_string(),
        adjusted_in: m.adjusted_in.to_string(),
        adjusted_out: m.adjusted_out.to_string(),
        redeemed: m.redeemed.to_string(),
        voided: m.voided.to_string(),
        reversed: m.reversed.to_string(),
        reversed_deductions: m.reversed_deductions.to_string(),
        deducted: m.deducted.to_string(),
        expired: m.expired.to_string(),
        donated: m.donated.to_string(),
        granted: m.granted.to_string(),
        outstanding: figures.outstanding.to_string(),
        by_category: figures
            .issued_by_category
            .iter()
            .map(|(category, amount)| CategoryTotal {
                category: category.clone(),
                issued: amount.to_string(),
            })
            .collect(),
        shop_stock_value: figures.shop_stock_value.to_string(),
    };
    Ok((summary, figures))
}

/// Months a monthly series covers at most.
pub const MONTHLY_SERIES_MONTHS_MAX: usize = 36;

/// What moved in each of the `months` local months that end with the month of `through`, oldest
/// first, and what residents held at each month's end (for the console's charts).
pub async fn monthly_series(
    state: &AppState,
    user: &AuthUser,
    through: chrono::NaiveDate,
    months: usize,
) -> Result<Vec<store::MonthFigures>, ApiError> {
    user.require(Permission::ReadReports)?;
    let months = months.clamp(1, MONTHLY_SERIES_MONTHS_MAX);
    let community = user.community_id;
    with_replica(state, move |conn| {
        let offset = offset_of(conn, community)?;
        Ok(store::monthly(conn, community, offset, through, months)?)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// Transactions after this community sequence number (0 for the beginning).
    pub after_seq: Option<i64>,
    /// Transactions per page (1–500, default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPosting {
    pub account_id: uuid::Uuid,
    pub account_seq: i64,
    pub amount: String,
    pub balance_after: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedTransaction {
    pub seq: i64,
    pub id: uuid::Uuid,
    pub kind: String,
    pub reference_id: Option<uuid::Uuid>,
    pub memo: String,
    pub actor_id: Option<uuid::Uuid>,
    pub created_at: String,
    pub prev_hash: String,
    pub hash: String,
    pub postings: Vec<FeedPosting>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JournalPage {
    pub items: Vec<FeedTransaction>,
    /// Pass as `after_seq` for the next page; equal to the request's when nothing is new.
    pub next_after_seq: i64,
}

/// The journal in order, with postings and hashes, for replication into other systems (auditor).
#[utoipa::path(tag = "ledger", operation_id = "list_journal",
    security(("bearer" = [])),
    params(JournalQuery),
    responses((status = 200, body = JournalPage),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden))]
#[get("/journal")]
pub async fn list_journal(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<JournalQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = journal_page(&state, &user, query.after_seq, query.limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One page of the journal feed, after the community sequence number `after_seq` (0 when
/// `None`), `limit` transactions (100 when `None`): what the JSON feed answers and the console's
/// 流水账 shows.
pub async fn journal_page(
    state: &AppState,
    user: &AuthUser,
    after_seq: Option<i64>,
    limit: Option<i64>,
) -> Result<JournalPage, ApiError> {
    user.require(Permission::ReadJournal)?;
    let after = after_seq.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "after_seq must not be negative",
        ));
    }
    let limit = match limit {
        None => 100,
        Some(n) if (1..=JOURNAL_PAGE_MAX).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_limit",
                format!("limit must be between 1 and {JOURNAL_PAGE_MAX}"),
            ))
        }
    };
    let community = user.community_id;
    with_replica(state, move |conn| {
        let entries: Vec<JournalRow> = journal::table
            .filter(journal::community_id.eq(DbUuid::from(community)))
            .filter(journal::seq.gt(after))
            .order(journal::seq.asc())
            .limit(limit)
            .select(JournalRow::as_select())
            .load(conn)?;
        let ids: Vec<DbUuid> = entries.iter().map(|e| e.id).collect();
        let lines: Vec<PostingRow> = postings::table
            .filter(postings::journal_id.eq_any(&ids))
            .order((postings::journal_id, postings::account_id))
            .select(PostingRow::as_select())
            .load(conn)?;
        let next_after_seq = entries.last().map(|e| e.seq).unwrap_or(after);
        let items = entries
            .into_iter()
            .map(|e| FeedTransaction {
                seq: e.seq,
                id: e.id.0,
                kind: e.kind.as_str().to_string(),
                reference_id: e.reference_id.map(|r| r.0),
                memo: e.memo.clone(),
                actor_id: e.actor_id.map(|a| a.0),
                created_at: rfc3339(e.created_at),
                prev_hash: e.prev_hash.clone(),
                hash: e.hash.clone(),
                postings: lines
                    .iter()
                    .filter(|p| p.journal_id == e.id)
                    .map(|p| FeedPosting {
                        account_id: p.account_id.0,
                        account_seq: p.account_seq,
                        amount: Points::from_hundredths(p.amount).to_string(),
                        balance_after: Points::from_hundredths(p.balance_after).to_string(),
                    })
                    .collect(),
            })
            .collect();
        Ok(JournalPage {
            items,
            next_after_seq,
        })
    })
    .await
}
