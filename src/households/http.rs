//! The JSON face of households: create one with its head, list and read them with their members
//! (past ones too) and passbook, move a member in, and the community's household rules.

use actix_web::{get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{CreditTo, HouseholdRules, NAME_CHARS_MAX};
use super::store::{self, HouseholdError, HouseholdRow};
use crate::db::models::AccountRow;
use crate::db::{write_transaction, DbUuid};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{required_text, rfc3339, with_conn};
use crate::kernel::{MemberId, Permission, Points};

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdMemberView {
    pub member_id: uuid::Uuid,
    pub member_no: String,
    pub name: String,
    pub joined_at: String,
    /// When the member moved out; null while they belong.
    pub left_at: Option<String>,
    pub head: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdView {
    pub id: uuid::Uuid,
    /// 户名: 张家, 3栋201.
    pub name: String,
    pub head_member_id: Option<uuid::Uuid>,
    /// The household's passbook (kind `household`): its statement is
    /// `GET /accounts/{account_id}/statement`.
    pub account_id: uuid::Uuid,
    #[schema(example = "35.00")]
    pub balance: String,
    /// Everyone who belongs or belonged, oldest first.
    pub members: Vec<HouseholdMemberView>,
    pub created_at: String,
}

fn view(row: &HouseholdRow, account: &AccountRow, members: &[store::MemberLine]) -> HouseholdView {
    HouseholdView {
        id: row.id.0,
        name: row.name.clone(),
        head_member_id: row.head_member_id.map(|m| m.0),
        account_id: account.id.0,
        balance: Points::from_hundredths(account.balance).to_string(),
        members: members
            .iter()
            .map(|(m, no, name)| HouseholdMemberView {
                member_id: m.member_id.0,
                member_no: no.clone(),
                name: name.clone(),
                joined_at: rfc3339(m.joined_at),
                left_at: m.left_at.map(rfc3339),
                head: m.left_at.is_none() && row.head_member_id == Some(m.member_id),
            })
            .collect(),
        created_at: rfc3339(row.created_at),
    }
}

fn refused(e: HouseholdError) -> ApiError {
    match e {
        HouseholdError::NameTaken => ApiError::conflict(
            "household_name_taken",
            "another household of the community has this name",
        )
        .with("field", "name"),
        HouseholdError::MemberNotFound => ApiError::not_found("member"),
        HouseholdError::Db(e) => e.into(),
    }
}

async fn read(state: &AppState, user: &AuthUser, id: DbUuid) -> Result<HouseholdView, ApiError> {
    let community = user.community_id;
    with_conn(state, move |conn| {
        let (row, account) = store::household(conn, community, id)?
            .ok_or_else(|| ApiError::not_found("household"))?;
        let members = store::memberships(conn, row.id)?;
        Ok(view(&row, &account, &members))
    })
    .await
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHousehold {
    /// 1–40 characters, unique in the community.
    pub name: String,
    /// The head (户主), moved into the household as its first member.
    pub head_member_id: uuid::Uuid,
}

/// Creates a household with its own passbook, its head as first member (moved out of any other
/// household; their history stays where it was made).
#[utoipa::path(tag = "households", operation_id = "create_household",
    security(("bearer" = [])),
    request_body = NewHousehold,
    responses((status = 201, body = HouseholdView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "household_name_taken", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
#[post("/households")]
pub async fn create_household(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<NewHousehold>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::RegisterMembers)?;
    let name = required_text("name", &body.name, NAME_CHARS_MAX)?;
    let head = MemberId(body.head_member_id);
    let (community, by, now) = (user.community_id, user.user_id, state.clock.now());
    let id = with_conn(&state, move |conn| {
        write_transaction(conn, |conn| {
            store::create(conn, community, &name, head, by, now).map_err(refused)
        })
        .map(|row| row.id)
    })
    .await?;
    Ok(HttpResponse::Created().json(read(&state, &user, id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdPage {
    /// By name, at most 500.
    pub items: Vec<HouseholdView>,
}

/// The community's households with their members and balances (staff).
#[utoipa::path(tag = "households", operation_id = "list_households",
    security(("bearer" = [])),
    responses((status = 200, body = HouseholdPage),
        problems::Unauthorized,
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json")))]
#[get("/households")]
pub async fn list_households(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadMembers)?;
    let community = user.community_id;
    let items = with_conn(&state, move |conn| {
        let rows = store::list(conn, community)?;
        let mut items = Vec::with_capacity(rows.len());
        for (row, account) in rows {
            let members = store::memberships(conn, row.id)?;
            items.push(view(&row, &account, &members));
        }
        Ok(items)
    })
    .await?;
    Ok(HttpResponse::Ok().json(HouseholdPage { items }))
}

/// One household. A resident may read their own.
#[utoipa::path(tag = "households", operation_id = "get_household",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "household id")),
    responses((status = 200, body = HouseholdView), problems::Unauthorized, problems::NotFound))]
#[get("/households/{id}")]
pub async fn get_household(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let found = read(&state, &user, DbUuid(path.into_inner())).await?;
    let belongs = user.member_id.is_some_and(|m| {
        found
            .members
            .iter()
            .any(|h| h.member_id == m.0 && h.left_at.is_none())
    });
    if !user.may(Permission::ReadMembers) && !belongs {
        return Err(ApiError::not_found("household"));
    }
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveMember {
    pub member_id: uuid::Uuid,
}

/// Moves a member into the household. Their passbook and the lines their deeds brought into an
/// earlier household stay where they were made; from now on their deeds credit this one (when
/// the community credits households).
#[utoipa::path(tag = "households", operation_id = "add_household_member",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "household id")),
    request_body = MoveMember,
    responses((status = 200, body = HouseholdView),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        problems::NotFound,
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
#[post("/households/{id}/members")]
pub async fn add_household_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<MoveMember>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::RegisterMembers)?;
    let id = DbUuid(path.into_inner());
    let member = MemberId(body.member_id);
    let (community, by, now) = (user.community_id, user.user_id, state.clock.now());
    with_conn(&state, move |conn| {
        write_transaction(conn, |conn| {
            store::household(conn, community, id)?
                .ok_or_else(|| ApiError::not_found("household"))?;
            store::move_member(conn, community, id, member, by, now).map_err(refused)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(read(&state, &user, id).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdSettings {
    /// `member` (the default) or `household`: whose passbook an approved deed credits. A member
    /// in no household is credited themself either way.
    #[schema(example = "household")]
    pub credit_to: String,
    /// Whether members may pay at the counter from their household's passbook
    /// (`"pay_from": "household"` on a redemption).
    pub members_redeem: bool,
}

fn settings_view(rules: HouseholdRules) -> HouseholdSettings {
    HouseholdSettings {
        credit_to: rules.credit_to.as_str().to_string(),
        members_redeem: rules.members_redeem,
    }
}

/// The community's household rules.
#[utoipa::path(tag = "households", operation_id = "get_household_settings",
    security(("bearer" = [])),
    responses((status = 200, body = HouseholdSettings), problems::Unauthorized))]
#[get("/household-settings")]
pub async fn get_household_settings(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let community = user.community_id;
    let rules = with_conn(&state, move |conn| Ok(store::rules(conn, community)?)).await?;
    Ok(HttpResponse::Ok().json(settings_view(rules)))
}

/// Sets the household rules (admin). Deeds submitted from now on follow them; earlier ones keep
/// the passbook they were recorded for.
#[utoipa::path(tag = "households", operation_id = "update_household_settings",
    security(("bearer" = [])),
    request_body = HouseholdSettings,
    responses((status = 200, body = HouseholdSettings),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
#[put("/household-settings")]
pub async fn update_household_settings(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<HouseholdSettings>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageRules)?;
    let credit_to = CreditTo::parse(body.credit_to.trim()).ok_or_else(|| {
        ApiError::validation("credit_to: member or household").with("field", "credit_to")
    })?;
    let rules = HouseholdRules {
        credit_to,
        members_redeem: body.members_redeem,
    };
    let (community, now) = (user.community_id, state.clock.now());
    with_conn(&state, move |conn| {
        Ok(store::set_rules(conn, community, rules, now)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(settings_view(rules)))
}
