//! Members (residents) and their passbook numbers. Creating a member opens their account.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::models::AccountRow;
use crate::db::DbConn;
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{
    page_limit, parse_cursor, rfc3339, with_conn, with_reads, Freshness, SEARCH_CHARS_MAX,
};
use crate::kernel::Permission;
use crate::kernel::{ActiveStatus, MemberId, Points};
use crate::members::model::roster::{FieldProblem, Phone, RosterFields, RosterText};
use crate::members::model::{MemberName, MemberNo};
use crate::members::store::MemberRow;
use crate::members::store::{CreateMemberError, MemberFilter};
use chrono::NaiveDate;

pub mod roster;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub id: uuid::Uuid,
    /// Passbook number (存折号).
    #[schema(example = "M000001")]
    pub member_no: String,
    #[schema(example = "张三")]
    pub name: String,
    /// `active` or `inactive`.
    pub status: String,
    pub account_id: uuid::Uuid,
    /// Points as a decimal string with two places. An inactive member keeps theirs.
    #[schema(example = "12.50")]
    pub balance: String,
    /// What a reversal could not take because the coins were already spent, still owed: the
    /// member's next deed credits repay it before the coins are theirs to spend.
    #[schema(example = "0.00")]
    pub owed: String,
    pub created_at: String,
    /// The whole number for those who may register or edit members (they call residents) and
    /// for the resident themself; with its middle hidden (`138****5678`) for everyone else.
    #[schema(example = "13812345678")]
    pub phone: Option<String>,
    /// 楼栋.
    pub building: Option<String>,
    /// 单元.
    pub unit: Option<String>,
    /// 门牌.
    pub room: Option<String>,
    /// Free-text address, for villages without buildings.
    pub address: Option<String>,
    /// The address as one line: the free text, then building, unit and room.
    #[schema(example = "3栋2单元501")]
    pub address_line: String,
    /// The last four characters of the ID card; the whole number is never stored.
    #[schema(example = "002X")]
    pub id_last4: Option<String>,
    /// 居民小组 / 网格.
    pub group: Option<String>,
    /// The date the member joined, the community's local date.
    #[schema(example = "2026-12-02")]
    pub joined_on: String,
    pub note: Option<String>,
    /// How many other members of the community have exactly this name (0: the name is unique).
    /// Absent in `/me`. Namesakes are told apart by address, group, phone and `id_last4`.
    pub namesakes: Option<i64>,
    /// For an inactive member: the balance stays on the passbook, visible, and cannot be
    /// redeemed; it is settled by the household/expiry rules, not by hand.
    pub balance_note: Option<String>,
    /// Coins announced to expire by the community's rule (清零): how many and on which local
    /// day, shown `notice_days` before; null when none are due soon. An inactive member's coins
    /// expire by the same rule.
    pub expiring: Option<crate::expiry::http::ExpiringView>,
}

/// The member as they see themself: every field whole.
pub fn member_view(member: &MemberRow, account: &AccountRow, owed: i64) -> MemberView {
    let balance = Points::from_hundredths(account.balance);
    MemberView {
        id: member.id.0,
        member_no: member.member_no.clone(),
        name: member.name.clone(),
        status: member.status.as_str().to_string(),
        account_id: account.id.0,
        balance: balance.to_string(),
        owed: Points::from_hundredths(owed).to_string(),
        created_at: rfc3339(member.created_at),
        phone: member.phone.clone(),
        building: member.building.clone(),
        unit: member.unit.clone(),
        room: member.room.clone(),
        address: member.address.clone(),
        address_line: member.address_line.clone(),
        id_last4: member.id_last4.clone(),
        group: member.member_group.clone(),
        joined_on: member.joined_on.clone(),
        note: member.note.clone(),
        namesakes: None,
        balance_note: (member.status == ActiveStatus::Inactive).then(|| {
            format!(
                "inactive: the balance of {balance} stays on the passbook and stays visible; it \
                 cannot be redeemed while the member is inactive"
            )
        }),
        expiring: None,
    }
}

/// True when `user` may see this member's phone whole.
pub fn sees_whole_phone(user: &AuthUser, member: MemberId) -> bool {
    user.may(Permission::RegisterMembers)
        || user.may(Permission::EditMembers)
        || user.member_id == Some(member)
}

/// The member as `user` may see them, with the count of their namesakes.
pub fn member_view_for(
    user: &AuthUser,
    member: &MemberRow,
    account: &AccountRow,
    namesakes: i64,
    owed: i64,
) -> MemberView {
    let mut view = member_view(member, account, owed);
    if !sees_whole_phone(user, member.id.into()) {
        view.phone = member.phone.as_deref().map(Phone::masked);
    }
    view.namesakes = Some(namesakes);
    view
}

/// The view of one member, namesakes counted.
fn one_member_view(
    conn: &mut DbConn,
    user: &AuthUser,
    member: &MemberRow,
    account: &AccountRow,
    now: chrono::NaiveDateTime,
) -> Result<MemberView, ApiError> {
    let counts =
        crate::members::store::namesakes(conn, user.community_id, &[member.name.as_str()])?;
    let namesakes = counts.get(&member.name).copied().unwrap_or(0);
    let owed = crate::deeds::store::receivables::owed_by_member(
        conn,
        user.community_id,
        member.id.into(),
    )?;
    let mut view = member_view_for(user, member, account, namesakes, owed);
    view.expiring =
        crate::expiry::store::expiring(conn, user.community_id, account, now)?.map(Into::into);
    Ok(view)
}

/// The roster fields of a request, each checked; every problem is named, the first as `field`.
pub fn roster_fields(text: &RosterText, today: NaiveDate) -> Result<RosterFields, ApiError> {
    text.parse(today).map_err(field_problems)
}

pub fn field_problems(problems: Vec<FieldProblem>) -> ApiError {
    let first = problems.first().cloned().unwrap_or_else(|| {
        FieldProblem::new("body", "validation_failed", "the request is not valid")
    });
    let all: Vec<serde_json::Value> = problems
        .iter()
        .map(|p| serde_json::json!({"field": p.field, "code": p.code, "message": p.message}))
        .collect();
    ApiError::validation(first.message)
        .with("field", first.field)
        .with("reason", first.code)
        .with("problems", all)
}

/// The answer to a member write the database refused.
pub fn create_member_error(e: CreateMemberError) -> ApiError {
    match e {
        CreateMemberError::MemberNoTaken => ApiError::conflict(
            "member_no_taken",
            "another member already has this passbook number",
        )
        .with("field", "member_no"),
        CreateMemberError::PhoneTaken => ApiError::conflict(
            "phone_taken",
            "another member of the community already has this phone number",
        )
        .with("field", "phone"),
        CreateMemberError::NoFreeGeneratedNumber => ApiError::conflict(
            "member_no_required",
            "passbook numbers typed in by hand fill the next generated ones; give member_no",
        ),
        CreateMemberError::Database(e) => e.into(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMemberRequest {
    #[schema(example = "张三")]
    pub name: String,
    /// The number on the paper passbook; generated (M000001, …) when absent.
    pub member_no: Option<String>,
    /// A Chinese mobile (`138 1234 5678`, `+86…`) or a landline with area code
    /// (`0571-88886666`); stored normalised, unique in the community.
    #[schema(example = "138 1234 5678")]
    pub phone: Option<String>,
    /// 楼栋 (up to 16 characters); `3` is shown as `3栋`.
    #[schema(example = "3")]
    pub building: Option<String>,
    /// 单元 (up to 16 characters); `2` is shown as `2单元`.
    #[schema(example = "2")]
    pub unit: Option<String>,
    /// 门牌 (up to 16 characters).
    #[schema(example = "501")]
    pub room: Option<String>,
    /// Free-text address (up to 128 characters), for villages without buildings.
    pub address: Option<String>,
    /// An 18-character ID-card number (its check character is verified), a 15-digit old one, or
    /// just the last 4 characters. Only the last 4 are kept; the number is never stored or logged.
    #[schema(example = "002X")]
    pub id_card: Option<String>,
    /// 居民小组 / 网格 (up to 32 characters).
    #[schema(example = "第一网格")]
    pub group: Option<String>,
    /// The date joined (`2026-03-01`, `2026/3/1`, `2026年3月1日`); the community's today by default.
    pub joined_on: Option<String>,
    /// Up to 500 characters.
    pub note: Option<String>,
}

impl CreateMemberRequest {
    fn roster_text(&self) -> RosterText {
        RosterText {
            phone: self.phone.clone(),
            building: self.building.clone(),
            unit: self.unit.clone(),
            room: self.room.clone(),
            address: self.address.clone(),
            id_card: self.id_card.clone(),
            group: self.group.clone(),
            joined_on: self.joined_on.clone(),
            note: self.note.clone(),
        }
    }
}

/// Registers a resident and opens their passbook account (balance 0).
#[utoipa::path(tag = "members", operation_id = "create_member",
    security(("bearer" = [])),
    request_body = CreateMemberRequest,
    responses((status = 201, body = MemberView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        (status = 409, description = "member_no_taken (a member_no given that another member has), phone_taken (another member of the community has the phone), or member_no_required (hand-typed numbers fill the next 10000 generated ones)", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/members")]
pub async fn create_member(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = register_member(&state, &user, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Registers a resident: the JSON endpoint and the console's form.
pub async fn register_member(
    state: &AppState,
    user: &AuthUser,
    body: CreateMemberRequest,
) -> Result<MemberView, ApiError> {
    user.require(Permission::RegisterMembers)?;
    let name =
        MemberName::parse(&body.name).map_err(|e| ApiError::validation(e).with("field", "name"))?;
    let member_no = body
        .member_no
        .as_deref()
        .map(MemberNo::parse)
        .transpose()
        .map_err(|e| ApiError::validation(e).with("field", "member_no"))?;
    let text = body.roster_text();
    let community = user.community_id;
    let user = user.clone();
    let now = state.clock.now();
    let view = with_conn(state, move |conn| {
        let today = crate::members::store::community_today(conn, community, now)?;
        let fields = roster_fields(&text, today)?;
        let (member, account) = crate::db::write_transaction(conn, |conn| {
            crate::members::store::create_member_with(
                conn,
                community,
                &name,
                member_no.as_ref(),
                &fields,
                today,
            )
        })
        .map_err(create_member_error)?;
        one_member_view(conn, &user, &member, &account, now)
    })
    .await?;
    Ok(view)
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberListQuery {
    /// Exact passbook number, for the counter.
    pub member_no: Option<String>,
    /// Part of a name (as written, no pinyin), passbook number, phone (typed in any spelling) or
    /// address line (`3栋2单元`). The Latin letters A–Z match in either case; every other
    /// character matches only as written (on both backends).
    pub q: Option<String>,
    /// Items per page (1–200, default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<MemberView>,
    pub next_cursor: Option<String>,
}

/// Lists members with their balance, oldest first. A resident sees only themself. Each item
/// carries what tells namesakes apart: address, group, phone (masked unless the caller may
/// register or edit members), `id_last4`, and `namesakes`, the count of others with the name.
#[utoipa::path(tag = "members", operation_id = "list_members",
    security(("bearer" = [])),
    params(MemberListQuery),
    responses((status = 200, body = MemberPage),
        problems::BadRequest,
        problems::Unauthorized))]
#[get("/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<MemberListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    // A look-up of one passbook number is the counter finding the resident in front of it,
    // perhaps registered a moment ago: the primary. Browsing and searching may lag.
    let freshness = if query.member_no.is_some() {
        Freshness::Current
    } else {
        Freshness::MayLag
    };
    Ok(HttpResponse::Ok().json(member_page(&state, &user, query, freshness).await?))
}

/// The page of members `query` asks for, as `user` may see them (the JSON list and the
/// console's roster page), from where `freshness` allows.
pub async fn member_page(
    state: &AppState,
    user: &AuthUser,
    query: MemberListQuery,
    freshness: Freshness,
) -> Result<MemberPage, ApiError> {
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?.map(MemberId);
    for (field, value) in [("member_no", &query.member_no), ("q", &query.q)] {
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > SEARCH_CHARS_MAX)
        {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("{field} is longer than {SEARCH_CHARS_MAX} characters"),
            ));
        }
    }
    let only = if user.may(Permission::ReadMembers) {
        None
    } else {
        // A resident without a member record sees nobody.
        Some(user.member_id.unwrap_or(MemberId(uuid::Uuid::nil())))
    };
    let community = user.community_id;
    let now = state.clock.now();
    let (rows, namesakes) = with_reads(state, freshness, move |conn| {
        let rows = crate::members::store::list_members(
            conn,
            community,
            &MemberFilter {
                member_no: query.member_no.as_deref(),
                query: query.q.as_deref().filter(|q| !q.trim().is_empty()),
                only,
                after,
                limit,
            },
        )?;
        let names: Vec<&str> = rows.iter().map(|(m, _)| m.name.as_str()).collect();
        let namesakes = crate::members::store::namesakes(conn, community, &names)?;
        let accounts: Vec<_> = rows.iter().map(|(_, a)| a.id.into()).collect();
        let owed = crate::deeds::store::receivables::owed_by_accounts(conn, &accounts)?;
        let accounts: Vec<&AccountRow> = rows.iter().map(|(_, a)| a).collect();
        let expiring = crate::expiry::store::expiring_many(conn, community, &accounts, now)?;
        Ok((rows, (namesakes, owed, expiring)))
    })
    .await?;
    let (namesakes, owed, expiring) = namesakes;
    let next_cursor = crate::http::next_cursor(&rows, limit, |(m, _)| m.id.0);
    Ok(MemberPage {
        items: rows
            .iter()
            .zip(expiring)
            .map(|((m, a), expiring)| {
                let count = namesakes.get(&m.name).copied().unwrap_or(0);
                let owes = owed.get(&a.id.into()).copied().unwrap_or(0);
                let mut view = member_view_for(user, m, a, count, owes);
                view.expiring = expiring.map(Into::into);
                view
            })
            .collect(),
        next_cursor,
    })
}

/// One member with their account and balance. A resident may read only their own.
#[utoipa::path(tag = "members", operation_id = "get_member",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "member id")),
    responses((status = 200, body = MemberView),
        problems::Unauthorized,
        problems::NotFound))]
#[get("/members/{id}")]
pub async fn get_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(member_one(&state, &user, MemberId(path.into_inner())).await?))
}

/// One member as `user` may see them.
pub async fn member_one(
    state: &AppState,
    user: &AuthUser,
    member_id: MemberId,
) -> Result<MemberView, ApiError> {
    // Another resident's id answers exactly like an id that does not exist.
    if !user.may(Permission::ReadMembers) && user.member_id != Some(member_id) {
        return Err(ApiError::not_found("member"));
    }
    let community = user.community_id;
    let now = state.clock.now();
    let user = user.clone();
    let view = with_conn(
        state,
        move |conn| match crate::members::store::member_with_account(conn, community, member_id)? {
            Some((member, account)) => {
                one_member_view(conn, &user, &member, &account, now).map(Some)
            }
            None => Ok(None),
        },
    )
    .await?
    .ok_or_else(|| ApiError::not_found("member"))?;
    Ok(view)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    pub name: Option<String>,
    /// `active` or `inactive`; an inactive member cannot redeem, and keeps their balance.
    pub status: Option<String>,
    /// The roster fields as in `CreateMemberRequest`; absent leaves a field as it is, `""`
    /// clears it (`joined_on` cannot be cleared).
    pub phone: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub address: Option<String>,
    pub id_card: Option<String>,
    pub group: Option<String>,
    pub joined_on: Option<String>,
    pub note: Option<String>,
}

impl UpdateMemberRequest {
    fn changes_roster(&self) -> bool {
        [
            &self.phone,
            &self.building,
            &self.unit,
            &self.room,
            &self.address,
            &self.id_card,
            &self.group,
            &self.joined_on,
            &self.note,
        ]
        .iter()
        .any(|f| f.is_some())
    }

    /// The stored fields with this request's changes laid over them.
    fn over(&self, mut text: RosterText) -> RosterText {
        let lay = |into: &mut Option<String>, from: &Option<String>| {
            if let Some(value) = from {
                *into = Some(value.clone());
            }
        };
        lay(&mut text.phone, &self.phone);
        lay(&mut text.building, &self.building);
        lay(&mut text.unit, &self.unit);
        lay(&mut text.room, &self.room);
        lay(&mut text.address, &self.address);
        lay(&mut text.id_card, &self.id_card);
        lay(&mut text.group, &self.group);
        lay(&mut text.note, &self.note);
        if self
            .joined_on
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty())
        {
            text.joined_on = self.joined_on.clone();
        }
        text
    }
}

/// Renames a member, changes their roster fields, or (de)activates them (admin). Deactivating
/// keeps the balance on the passbook and visible; the answer says so in `balance_note`.
#[utoipa::path(tag = "members", operation_id = "update_member",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "member id")),
    request_body = UpdateMemberRequest,
    responses((status = 200, body = MemberView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound,
        (status = 409, description = "phone_taken: another member of the community has the phone", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[patch("/members/{id}")]
pub async fn update_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<UpdateMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = change_member(
        &state,
        &user,
        MemberId(path.into_inner()),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes a member's name, roster fields or status: the JSON endpoint and the console.
pub async fn change_member(
    state: &AppState,
    user: &AuthUser,
    member_id: MemberId,
    request: UpdateMemberRequest,
) -> Result<MemberView, ApiError> {
    user.require(Permission::EditMembers)?;
    let name = request
        .name
        .as_deref()
        .map(MemberName::parse)
        .transpose()
        .map_err(|e| ApiError::validation(e).with("field", "name"))?;
    let status = crate::http::parse_active(request.status.as_deref())?;
    if name.is_none() && status.is_none() && !request.changes_roster() {
        return Err(ApiError::validation("nothing to change"));
    }
    let community = user.community_id;
    let user = user.clone();
    let now = state.clock.now();
    let view = with_conn(state, move |conn| {
        let today = crate::members::store::community_today(conn, community, now)?;
        let found = crate::db::write_transaction(conn, |conn| {
            let Some((member, _)) =
                crate::members::store::member_with_account(conn, community, member_id)?
            else {
                return Ok(None);
            };
            if request.changes_roster() {
                let fields = roster_fields(&request.over(member.roster_text()), today)?;
                crate::members::store::set_roster(conn, community, &member, &fields)
                    .map_err(create_member_error)?;
            }
            crate::members::store::update_member(
                conn,
                community,
                member_id,
                name.as_ref().map(MemberName::as_str),
                status,
            )?;
            Ok::<_, ApiError>(crate::members::store::member_with_account(
                conn, community, member_id,
            )?)
        })?;
        match found {
            Some((member, account)) => {
                one_member_view(conn, &user, &member, &account, now).map(Some)
            }
            None => Ok(None),
        }
    })
    .await?
    .ok_or_else(|| ApiError::not_found("member"))?;
    Ok(view)
}
