//! The points schedule (积分细则) and the community's workflow settings.

use actix_web::{get, patch, post, put, web, HttpResponse};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::deeds::model::{Direction, Unit};
use crate::deeds::store::{self as store, CreateRuleError, RuleTerms};
use crate::deeds::store::{RuleRow, RuleVersionRow, SettingsRow};
use crate::http::extract::AuthUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{page_limit, parse_cursor, required_text, rfc3339, with_conn};
use crate::kernel::Permission;
use crate::kernel::{Points, RuleId};

pub const RULE_CODE_CHARS_MAX: usize = 32;
pub const RULE_TEXT_CHARS_MAX: usize = 64;

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: uuid::Uuid,
    #[schema(example = "VOLUNTEER_HOUR")]
    pub code: String,
    /// The current version; deeds keep the version they were submitted under.
    pub version: i32,
    #[schema(example = "志愿服务")]
    pub name: String,
    #[schema(example = "志愿服务")]
    pub category: String,
    /// Points per unit.
    #[schema(example = "10.00")]
    pub points: String,
    /// `event` or `hour` (hours count in halves).
    pub unit: String,
    /// `earn` or `deduct` (扣分).
    pub direction: String,
    /// Points one member may earn from this rule per local month.
    pub monthly_cap: Option<String>,
    /// Units counted for one deed at most.
    pub per_deed_cap: Option<f64>,
    /// `active` or `inactive`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

pub fn hundredths_to_quantity(hundredths: i64) -> f64 {
    hundredths as f64 / 100.0
}

pub fn rule_view(rule: &RuleRow, version: &RuleVersionRow) -> RuleView {
    RuleView {
        id: rule.id.0,
        code: rule.code.clone(),
        version: version.version,
        name: version.name.clone(),
        category: version.category.clone(),
        points: Points::from_hundredths(version.points).to_string(),
        unit: version.unit.as_str().to_string(),
        direction: version.direction.as_str().to_string(),
        monthly_cap: version
            .monthly_cap
            .map(|c| Points::from_hundredths(c).to_string()),
        per_deed_cap: version.per_deed_cap.map(hundredths_to_quantity),
        status: rule.status.as_str().to_string(),
        created_at: rfc3339(rule.created_at),
        updated_at: rfc3339(rule.updated_at),
    }
}

/// A quantity in hundredths (see `model::parse_quantity`), refused as a 422 naming the field.
pub fn parse_quantity(field: &'static str, value: f64, unit: Unit) -> Result<i64, ApiError> {
    crate::deeds::model::parse_quantity(field, value, unit)
        .map_err(|e| ApiError::validation(e.to_string()).with("field", field))
}

fn parse_code(text: &str) -> Result<String, ApiError> {
    let code = text.trim();
    if code.is_empty()
        || code.chars().count() > RULE_CODE_CHARS_MAX
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::validation(format!(
            "code must be 1-{RULE_CODE_CHARS_MAX} letters, digits, '-' or '_'"
        ))
        .with("field", "code"));
    }
    Ok(code.to_ascii_uppercase())
}

fn parse_points(field: &str, text: &str) -> Result<i64, ApiError> {
    Points::parse_positive(text)
        .map(Points::hundredths)
        .map_err(|e| ApiError::validation(format!("{field}: {e}")).with("field", field.to_string()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRuleRequest {
    #[schema(example = "VOLUNTEER_HOUR")]
    pub code: String,
    #[schema(example = "志愿服务（每小时）")]
    pub name: String,
    #[schema(example = "志愿服务")]
    pub category: String,
    /// Points per unit, positive, at most two decimals.
    #[schema(example = "10.00")]
    pub points: String,
    /// `event` or `hour`.
    pub unit: String,
    /// `earn` or `deduct`.
    pub direction: String,
    pub monthly_cap: Option<String>,
    pub per_deed_cap: Option<f64>,
}

/// Publishes a rule of the points schedule (admin).
#[utoipa::path(tag = "rules", operation_id = "create_rule",
    security(("bearer" = [])),
    request_body = CreateRuleRequest,
    responses((status = 201, body = RuleView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        (status = 409, description = "rule_code_taken", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/rules")]
pub async fn create_rule(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateRuleRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = create(&state, &user, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Publishes a rule: the JSON endpoint and the console's form.
pub async fn create(
    state: &AppState,
    user: &AuthUser,
    r: CreateRuleRequest,
) -> Result<RuleView, ApiError> {
    user.require(Permission::ManageRules)?;
    let code = parse_code(&r.code)?;
    let unit = Unit::parse(&r.unit)
        .ok_or_else(|| ApiError::validation("unit must be event or hour").with("field", "unit"))?;
    let direction = Direction::parse(&r.direction).ok_or_else(|| {
        ApiError::validation("direction must be earn or deduct").with("field", "direction")
    })?;
    let terms = RuleTerms {
        name: required_text("name", &r.name, RULE_TEXT_CHARS_MAX)?,
        category: required_text("category", &r.category, RULE_TEXT_CHARS_MAX)?,
        points: parse_points("points", &r.points)?,
        monthly_cap: r
            .monthly_cap
            .as_deref()
            .map(|c| parse_points("monthly_cap", c))
            .transpose()?,
        per_deed_cap: r
            .per_deed_cap
            .map(|c| parse_quantity("per_deed_cap", c, unit))
            .transpose()?,
        unit,
        direction,
    };
    let (community, actor) = (user.community_id, user.user_id);
    let (rule, version) = with_conn(state, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            store::create_rule(conn, community, &code, &terms, actor)
        })
        .map_err(|e| match e {
            CreateRuleError::CodeTaken => {
                ApiError::conflict("rule_code_taken", "another rule already has this code")
            }
            CreateRuleError::Database(e) => e.into(),
        })
    })
    .await?;
    Ok(rule_view(&rule, &version))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RuleListQuery {
    /// `active` or `inactive`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulePage {
    pub items: Vec<RuleView>,
    pub next_cursor: Option<String>,
}

/// The points schedule, every user of the community may read it.
#[utoipa::path(tag = "rules", operation_id = "list_rules",
    security(("bearer" = [])),
    params(RuleListQuery),
    responses((status = 200, body = RulePage),
        problems::BadRequest,
        problems::Unauthorized))]
#[get("/rules")]
pub async fn list_rules(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<RuleListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rule_page(&state, &user, query.into_inner()).await?))
}

/// A page of the points schedule: the JSON list and the console's rules page.
pub async fn rule_page(
    state: &AppState,
    user: &AuthUser,
    query: RuleListQuery,
) -> Result<RulePage, ApiError> {
    let limit = page_limit(query.limit)?;
    let after = parse_cursor(query.cursor.as_deref())?.map(RuleId);
    if let Some(status) = &query.status {
        if status != "active" && status != "inactive" {
            return Err(ApiError::bad_request(
                "invalid_query",
                "status must be active or inactive",
            ));
        }
    }
    let community = user.community_id;
    let rows = with_conn(state, move |conn| {
        Ok(store::list_rules(
            conn,
            community,
            query.status.as_deref(),
            after,
            limit,
        )?)
    })
    .await?;
    let next_cursor = crate::http::next_cursor(&rows, limit, |(r, _)| r.id.0);
    Ok(RulePage {
        items: rows.iter().map(|(r, v)| rule_view(r, v)).collect(),
        next_cursor,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleWithVersions {
    #[serde(flatten)]
    pub rule: RuleView,
    /// Every version, oldest first.
    pub versions: Vec<RuleVersionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleVersionView {
    pub version: i32,
    pub name: String,
    pub category: String,
    pub points: String,
    pub monthly_cap: Option<String>,
    pub per_deed_cap: Option<f64>,
    pub created_at: String,
}

/// One rule with its version history.
#[utoipa::path(tag = "rules", operation_id = "get_rule",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "rule id")),
    responses((status = 200, body = RuleWithVersions),
        problems::Unauthorized,
        problems::NotFound))]
#[get("/rules/{id}")]
pub async fn get_rule(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(
        HttpResponse::Ok()
            .json(rule_with_versions(&state, &user, RuleId(path.into_inner())).await?),
    )
}

/// One rule with every version it had.
pub async fn rule_with_versions(
    state: &AppState,
    user: &AuthUser,
    id: RuleId,
) -> Result<RuleWithVersions, ApiError> {
    let community = user.community_id;
    let (rule, current, versions) = with_conn(state, move |conn| {
        let Some((rule, current)) = store::rule_with_current(conn, community, id)? else {
            return Err(ApiError::not_found("rule"));
        };
        let versions = store::rule_versions_of(conn, id)?;
        Ok((rule, current, versions))
    })
    .await?;
    Ok(RuleWithVersions {
        rule: rule_view(&rule, &current),
        versions: versions
            .iter()
            .map(|v| RuleVersionView {
                version: v.version,
                name: v.name.clone(),
                category: v.category.clone(),
                points: Points::from_hundredths(v.points).to_string(),
                monthly_cap: v
                    .monthly_cap
                    .map(|c| Points::from_hundredths(c).to_string()),
                per_deed_cap: v.per_deed_cap.map(hundredths_to_quantity),
                created_at: rfc3339(v.created_at),
            })
            .collect(),
    })
}

fn double_option_string<'de, D>(deserializer: D) -> Result<Option<Option<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<String>::deserialize(deserializer).map(Some)
}

fn double_option_f64<'de, D>(deserializer: D) -> Result<Option<Option<f64>>, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<f64>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRuleRequest {
    pub name: Option<String>,
    pub category: Option<String>,
    pub points: Option<String>,
    /// A value sets the cap; `null` removes it; absent keeps it.
    #[serde(default, deserialize_with = "double_option_string")]
    #[schema(value_type = Option<String>)]
    pub monthly_cap: Option<Option<String>>,
    /// A value sets the cap; `null` removes it; absent keeps it.
    #[serde(default, deserialize_with = "double_option_f64")]
    #[schema(value_type = Option<f64>)]
    pub per_deed_cap: Option<Option<f64>>,
    /// `active` or `inactive`. Rules are deactivated, never deleted.
    pub status: Option<String>,
}

/// Changes a rule (admin). New terms become a new version; deeds already submitted keep theirs.
#[utoipa::path(tag = "rules", operation_id = "update_rule",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "rule id")),
    request_body = UpdateRuleRequest,
    responses((status = 200, body = RuleView),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[patch("/rules/{id}")]
pub async fn update_rule(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<uuid::Uuid>,
    body: web::Json<UpdateRuleRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = update(&state, &user, RuleId(path.into_inner()), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes a rule (a new version) or its status: the JSON endpoint and the console.
pub async fn update(
    state: &AppState,
    user: &AuthUser,
    id: RuleId,
    r: UpdateRuleRequest,
) -> Result<RuleView, ApiError> {
    user.require(Permission::ManageRules)?;
    let status = crate::http::parse_active(r.status.as_deref())?;
    let name = r
        .name
        .as_deref()
        .map(|n| required_text("name", n, RULE_TEXT_CHARS_MAX))
        .transpose()?;
    let category = r
        .category
        .as_deref()
        .map(|c| required_text("category", c, RULE_TEXT_CHARS_MAX))
        .transpose()?;
    let points = r
        .points
        .as_deref()
        .map(|p| parse_points("points", p))
        .transpose()?;
    let monthly_cap = r
        .monthly_cap
        .map(|c| {
            c.as_deref()
                .map(|c| parse_points("monthly_cap", c))
                .transpose()
        })
        .transpose()?;
    let per_deed_cap = r.per_deed_cap;
    let changes_terms = name.is_some()
        || category.is_some()
        || points.is_some()
        || monthly_cap.is_some()
        || per_deed_cap.is_some();
    if !changes_terms && status.is_none() {
        return Err(ApiError::validation("nothing to change"));
    }
    let (community, actor) = (user.community_id, user.user_id);
    let (rule, version) = with_conn(state, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            let Some((rule, current)) = store::rule_with_current(conn, community, id)? else {
                return Err(ApiError::not_found("rule"));
            };
            let mut version = current.clone();
            if changes_terms {
                let per_deed_cap = match per_deed_cap {
                    None => current.per_deed_cap,
                    Some(None) => None,
                    Some(Some(c)) => Some(parse_quantity("per_deed_cap", c, current.unit)?),
                };
                let terms = RuleTerms {
                    name: name.unwrap_or(current.name.clone()),
                    category: category.unwrap_or(current.category.clone()),
                    points: points.unwrap_or(current.points),
                    unit: current.unit,
                    direction: current.direction,
                    monthly_cap: monthly_cap.unwrap_or(current.monthly_cap),
                    per_deed_cap,
                };
                version =
                    store::add_rule_version(conn, &rule, &terms, actor).map_err(|e| match e {
                        diesel::result::Error::NotFound => ApiError::conflict(
                            "concurrent_update",
                            "the rule changed meanwhile; read it again",
                        ),
                        e => e.into(),
                    })?;
            }
            if let Some(status) = &status {
                store::set_rule_status(conn, rule.id, *status)?;
            }
            let Some((rule, _)) = store::rule_with_current(conn, community, id)? else {
                return Err(ApiError::not_found("rule"));
            };
            Ok((rule, version))
        })
    })
    .await?;
    Ok(rule_view(&rule, &version))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// 1: an admin decides; 2: a reviewer checks first (初审), then an admin decides.
    pub review_stages: i32,
    /// Days of public notice (公示) after approval before coins are credited; 0 credits at once.
    pub notice_days: i32,
    /// How many days back a deed may be dated.
    pub backdate_days: i32,
}

fn settings_view(row: &SettingsRow) -> Settings {
    Settings {
        review_stages: row.review_stages,
        notice_days: row.notice_days,
        backdate_days: row.backdate_days,
    }
}

/// The community's workflow settings.
#[utoipa::path(tag = "rules", operation_id = "get_settings",
    security(("bearer" = [])),
    responses((status = 200, body = Settings),
        problems::Unauthorized))]
#[get("/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(settings(&state, &user).await?))
}

/// The community's workflow settings.
pub async fn settings(state: &AppState, user: &AuthUser) -> Result<Settings, ApiError> {
    let community = user.community_id;
    let row = with_conn(state, move |conn| Ok(store::settings(conn, community)?)).await?;
    Ok(settings_view(&row))
}

/// Sets the workflow (admin): review stages, notice days, how far back deeds may be dated.
#[utoipa::path(tag = "rules", operation_id = "update_settings",
    security(("bearer" = [])),
    request_body = Settings,
    responses((status = 200, body = Settings),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[put("/settings")]
pub async fn update_settings(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<Settings>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(save_settings(&state, &user, body.into_inner()).await?))
}

/// Saves the workflow settings: the JSON endpoint and the console's form.
pub async fn save_settings(
    state: &AppState,
    user: &AuthUser,
    s: Settings,
) -> Result<Settings, ApiError> {
    user.require(Permission::ManageRules)?;
    if !(1..=2).contains(&s.review_stages) {
        return Err(
            ApiError::validation("review_stages must be 1 or 2").with("field", "review_stages")
        );
    }
    if !(0..=30).contains(&s.notice_days) {
        return Err(ApiError::validation("notice_days must be 0-30").with("field", "notice_days"));
    }
    if !(0..=366).contains(&s.backdate_days) {
        return Err(
            ApiError::validation("backdate_days must be 0-366").with("field", "backdate_days")
        );
    }
    let row = SettingsRow {
        community_id: user.community_id.into(),
        review_stages: s.review_stages,
        notice_days: s.notice_days,
        backdate_days: s.backdate_days,
        updated_at: crate::db::now_utc(),
    };
    let saved = with_conn(state, move |conn| {
        crate::db::write_transaction(conn, |conn| store::save_settings(conn, &row))?;
        Ok(row)
    })
    .await?;
    Ok(settings_view(&saved))
}
