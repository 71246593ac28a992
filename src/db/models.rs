//! Rows as stored. Conversion into domain types happens at the edges that use them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::*;
use super::types::DbUuid;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = communities)]
pub struct CommunityRow {
    pub id: DbUuid,
    pub code: String,
    pub name: String,
    pub utc_offset_minutes: i32,
    pub chain_seq: i64,
    pub chain_hash: String,
    pub chain_version: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = members)]
pub struct MemberRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub member_no: String,
    pub name: String,
    pub status: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub kind: String,
    pub member_id: Option<DbUuid>,
    pub balance: i64,
    pub last_seq: i64,
    pub version: i64,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub credits_total: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub username: String,
    pub password_hash: String,
    pub roles: String,
    pub member_id: Option<DbUuid>,
    pub token_version: i64,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = journal)]
pub struct JournalRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub seq: i64,
    pub kind: String,
    pub reference_id: Option<DbUuid>,
    pub memo: String,
    pub actor_id: Option<DbUuid>,
    pub created_at: NaiveDateTime,
    pub prev_hash: String,
    pub hash: String,
    /// The canonical-bytes format the hash was computed in (`HashFormat`).
    pub hash_version: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = postings)]
pub struct PostingRow {
    pub id: DbUuid,
    pub journal_id: DbUuid,
    pub community_id: DbUuid,
    pub account_id: DbUuid,
    pub account_seq: i64,
    pub amount: i64,
    pub balance_after: i64,
    pub posted_at: NaiveDateTime,
    pub credits_after: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub user_id: DbUuid,
    pub idem_key: String,
    pub request_hash: String,
    /// The transaction the key posted, or none when the ledger refused it.
    pub journal_id: Option<DbUuid>,
    pub created_at: NaiveDateTime,
    /// The ledger's refusal, as stored by `LedgerError::to_stored`, when it refused.
    pub refusal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = goods)]
pub struct GoodsRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub sku: String,
    pub name: String,
    pub price: i64,
    pub stock: i64,
    pub status: String,
    pub monthly_limit: Option<i64>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = stock_movements)]
pub struct StockMovementRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub goods_id: DbUuid,
    pub kind: String,
    pub quantity: i64,
    pub stock_after: i64,
    pub reference_id: Option<DbUuid>,
    pub reason: String,
    pub actor_id: Option<DbUuid>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = redemptions)]
pub struct RedemptionRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub member_id: DbUuid,
    pub account_id: DbUuid,
    pub member_no: String,
    pub member_name: String,
    pub clerk_id: DbUuid,
    pub clerk_username: String,
    pub total: i64,
    pub balance_after: i64,
    pub status: String,
    pub local_day: String,
    pub local_month: String,
    pub journal_id: DbUuid,
    pub created_at: NaiveDateTime,
    pub void_journal_id: Option<DbUuid>,
    pub voided_at: Option<NaiveDateTime>,
    pub voided_by: Option<DbUuid>,
    pub void_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = redemption_lines)]
pub struct RedemptionLineRow {
    pub id: DbUuid,
    pub redemption_id: DbUuid,
    pub goods_id: DbUuid,
    pub line_no: i32,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_total: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = community_settings)]
pub struct SettingsRow {
    pub community_id: DbUuid,
    pub review_stages: i32,
    pub notice_days: i32,
    pub backdate_days: i32,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rules)]
pub struct RuleRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub code: String,
    pub current_version: i32,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rule_versions)]
pub struct RuleVersionRow {
    pub id: DbUuid,
    pub rule_id: DbUuid,
    pub version: i32,
    pub name: String,
    pub category: String,
    pub points: i64,
    pub unit: String,
    pub direction: String,
    pub monthly_cap: Option<i64>,
    pub per_deed_cap: Option<i64>,
    pub created_by: Option<DbUuid>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deeds)]
pub struct DeedRow {
    pub id: DbUuid,
    pub community_id: DbUuid,
    pub member_id: DbUuid,
    pub account_id: DbUuid,
    pub rule_id: DbUuid,
    pub rule_version_id: DbUuid,
    pub rule_name: String,
    pub direction: String,
    pub quantity: i64,
    pub counted_quantity: i64,
    pub points: i64,
    pub monthly_cap: Option<i64>,
    pub occurred_on: String,
    pub description: String,
    pub evidence: String,
    pub status: String,
    pub submitted_by: DbUuid,
    pub cap_month: Option<String>,
    pub notice_ends_at: Option<NaiveDateTime>,
    pub applied_points: Option<i64>,
    pub credit_journal_id: Option<DbUuid>,
    pub reversal_journal_id: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Who passed the first check (初审), so that someone else makes the decision.
    pub first_checked_by: Option<DbUuid>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deed_events)]
pub struct DeedEventRow {
    pub id: DbUuid,
    pub deed_id: DbUuid,
    pub community_id: DbUuid,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_id: Option<DbUuid>,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}
