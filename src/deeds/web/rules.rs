//! The points schedule (积分细则) for the committee: every rule grouped by category with its
//! points, unit and caps; a new rule; a change (a new version, the old ones listed); a rule
//! taken out of use and back; and the workflow settings. Every change goes through the same
//! `deeds::http::rules` functions as the JSON API.

use actix_web::http::StatusCode;
use actix_web::web::{get, post, ServiceConfig};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::resource;
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::deeds::http::rules::{
    self as concept, CreateRuleRequest, RuleListQuery, RuleView, Settings, UpdateRuleRequest,
};
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::kernel::{Permission, RuleId};

/// Rules the schedule page lists.
pub const RULE_LIST_ROWS_MAX: i64 = 200;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(
        resource("/rules")
            .route(get().to(show_rules))
            .route(post().to(create_rule)),
    )
    .service(resource("/rules/settings").route(post().to(save_settings)))
    .service(
        resource("/rules/{id}")
            .route(get().to(show_rule))
            .route(post().to(change_rule)),
    )
    .service(resource("/rules/{id}/status").route(post().to(set_status)));
}

pub struct RuleLine {
    pub id: String,
    pub code: String,
    pub name: String,
    pub points: String,
    pub unit: &'static str,
    pub monthly_cap: String,
    pub per_deed_cap: String,
    pub active: bool,
}

pub struct Category {
    pub name: String,
    pub rules: Vec<RuleLine>,
}

fn unit_name(unit: &str) -> &'static str {
    if unit == "hour" {
        words::RULE_UNIT_HOUR
    } else {
        words::RULE_UNIT_EVENT
    }
}

fn rule_line(r: &RuleView) -> RuleLine {
    let sign = if r.direction == "deduct" { "−" } else { "+" };
    RuleLine {
        id: r.id.to_string(),
        code: r.code.clone(),
        name: r.name.clone(),
        points: format!("{sign}{}", r.points),
        unit: unit_name(&r.unit),
        monthly_cap: r
            .monthly_cap
            .clone()
            .unwrap_or_else(|| words::GOODS_NO_LIMIT.into()),
        per_deed_cap: r
            .per_deed_cap
            .map(|c| c.to_string())
            .unwrap_or_else(|| words::GOODS_NO_LIMIT.into()),
        active: r.status == "active",
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewRuleForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    monthly_cap: String,
    #[serde(default)]
    per_deed_cap: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    review_stages: String,
    #[serde(default)]
    notice_days: String,
    #[serde(default)]
    backdate_days: String,
}

#[derive(Template)]
#[template(path = "console/rules.html")]
struct RulesPage {
    chrome: Option<Chrome>,
    categories: Vec<Category>,
    form: NewRuleForm,
    settings: SettingsForm,
    notice: &'static str,
    problem: FieldProblem,
}

async fn rules_page(
    state: &AppState,
    person: &Person,
    form: NewRuleForm,
    settings: Option<SettingsForm>,
    notice: &'static str,
    problem: FieldProblem,
) -> Result<RulesPage, ConsoleError> {
    let query = RuleListQuery {
        status: None,
        limit: Some(RULE_LIST_ROWS_MAX),
        cursor: None,
    };
    let page = concept::rule_page(state, &person.user, query).await?;
    let mut categories: Vec<Category> = Vec::new();
    for rule in &page.items {
        match categories.iter_mut().find(|c| c.name == rule.category) {
            Some(c) => c.rules.push(rule_line(rule)),
            None => categories.push(Category {
                name: rule.category.clone(),
                rules: vec![rule_line(rule)],
            }),
        }
    }
    let settings = match settings {
        Some(s) => s,
        None => {
            let s = concept::settings(state, &person.user).await?;
            SettingsForm {
                form_token: String::new(),
                review_stages: s.review_stages.to_string(),
                notice_days: s.notice_days.to_string(),
                backdate_days: s.backdate_days.to_string(),
            }
        }
    };
    Ok(RulesPage {
        chrome: Some(Chrome::new(person, "/rules", state.clock.now())),
        categories,
        form,
        settings,
        notice,
        problem,
    })
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    saved: Option<u8>,
}

pub async fn show_rules(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageRules)?;
    let notice = if query.saved.is_some() {
        words::RULE_SETTINGS_SAVED
    } else {
        ""
    };
    let page = rules_page(
        &state,
        &person,
        NewRuleForm::default(),
        None,
        notice,
        FieldProblem::default(),
    )
    .await?;
    render(&page)
}

/// A refusal the form shows beside its field (a server failure stays an error page).
fn refusal(e: ApiError) -> Result<(FieldProblem, StatusCode), ConsoleError> {
    if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND {
        let status = e.status;
        Ok((words::rule_problem(&e), status))
    } else {
        Err(e.into())
    }
}

/// An optional number typed: empty is none.
fn optional_quantity(field: &str, text: &str) -> Result<Option<f64>, FieldProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>()
        .map(Some)
        .map_err(|_| FieldProblem::on(field, words::RULE_CAP_INVALID))
}

fn optional_text(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

pub async fn create_rule(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<NewRuleForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageRules)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let (problem, status) = match optional_quantity("per_deed_cap", &form.per_deed_cap) {
        Err(problem) => (problem, StatusCode::UNPROCESSABLE_ENTITY),
        Ok(per_deed_cap) => {
            let request = CreateRuleRequest {
                code: form.code.clone(),
                name: form.name.clone(),
                category: form.category.clone(),
                points: form.points.trim().to_string(),
                unit: form.unit.clone(),
                direction: form.direction.clone(),
                monthly_cap: optional_text(&form.monthly_cap),
                per_deed_cap,
            };
            match concept::create(&state, &person.user, request).await {
                Ok(view) => return Ok(see_other(&format!("/rules/{}?created=1", view.id))),
                Err(e) => refusal(e)?,
            }
        }
    };
    let page = rules_page(&state, &person, form, None, "", problem).await?;
    render_with(status, &page)
}

pub async fn save_settings(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageRules)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let number = |field: &str, text: &str| {
        text.trim()
            .parse::<i32>()
            .map_err(|_| FieldProblem::on(field, words::RULE_SETTING_INVALID))
    };
    let typed = number("review_stages", &form.review_stages).and_then(|review_stages| {
        Ok(Settings {
            review_stages,
            notice_days: number("notice_days", &form.notice_days)?,
            backdate_days: number("backdate_days", &form.backdate_days)?,
        })
    });
    let (problem, status) = match typed {
        Err(problem) => (problem, StatusCode::UNPROCESSABLE_ENTITY),
        Ok(settings) => match concept::save_settings(&state, &person.user, settings).await {
            Ok(_) => return Ok(see_other("/rules?saved=1")),
            Err(e) => refusal(e)?,
        },
    };
    let page = rules_page(
        &state,
        &person,
        NewRuleForm::default(),
        Some(form),
        "",
        problem,
    )
    .await?;
    render_with(status, &page)
}

pub struct VersionLine {
    pub version: i32,
    pub name: String,
    pub category: String,
    pub points: String,
    pub monthly_cap: String,
    pub per_deed_cap: String,
    pub when: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ChangeRuleForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    monthly_cap: String,
    #[serde(default)]
    per_deed_cap: String,
}

#[derive(Template)]
#[template(path = "console/rule.html")]
struct RulePage {
    chrome: Option<Chrome>,
    rule: RuleLine,
    category: String,
    direction: &'static str,
    versions: Vec<VersionLine>,
    change: ChangeRuleForm,
    notice: &'static str,
    problem: FieldProblem,
}

async fn rule_page(
    state: &AppState,
    person: &Person,
    id: RuleId,
    change: Option<ChangeRuleForm>,
    notice: &'static str,
    problem: FieldProblem,
) -> Result<RulePage, ConsoleError> {
    let found = concept::rule_with_versions(state, &person.user, id).await?;
    let r = &found.rule;
    let calendar = person.community.calendar;
    let change = change.unwrap_or_else(|| ChangeRuleForm {
        form_token: String::new(),
        name: r.name.clone(),
        category: r.category.clone(),
        points: r.points.clone(),
        monthly_cap: r.monthly_cap.clone().unwrap_or_default(),
        per_deed_cap: r.per_deed_cap.map(|c| c.to_string()).unwrap_or_default(),
    });
    Ok(RulePage {
        chrome: Some(Chrome::new(person, "/rules", state.clock.now())),
        rule: rule_line(r),
        category: r.category.clone(),
        direction: if r.direction == "deduct" {
            words::RULE_DEDUCT
        } else {
            words::RULE_EARN
        },
        versions: found
            .versions
            .iter()
            .rev()
            .map(|v| VersionLine {
                version: v.version,
                name: v.name.clone(),
                category: v.category.clone(),
                points: v.points.clone(),
                monthly_cap: v
                    .monthly_cap
                    .clone()
                    .unwrap_or_else(|| words::GOODS_NO_LIMIT.into()),
                per_deed_cap: v
                    .per_deed_cap
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| words::GOODS_NO_LIMIT.into()),
                when: chrono::DateTime::parse_from_rfc3339(&v.created_at)
                    .map(|t| crate::console::page::local_minute(calendar, t.naive_utc()))
                    .unwrap_or_else(|_| v.created_at.clone()),
            })
            .collect(),
        change,
        notice,
        problem,
    })
}

#[derive(Debug, Deserialize)]
pub struct RuleDoneQuery {
    created: Option<u8>,
    changed: Option<u8>,
    status: Option<u8>,
}

pub async fn show_rule(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    query: web::Query<RuleDoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageRules)?;
    let notice = if query.created.is_some() {
        words::RULE_CREATED
    } else if query.changed.is_some() {
        words::RULE_CHANGED
    } else if query.status.is_some() {
        words::RULE_STATUS_CHANGED
    } else {
        ""
    };
    let id = RuleId(path.into_inner());
    render(&rule_page(&state, &person, id, None, notice, FieldProblem::default()).await?)
}

pub async fn change_rule(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<ChangeRuleForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageRules)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let id = RuleId(path.into_inner());
    let (problem, status) = match optional_quantity("per_deed_cap", &form.per_deed_cap) {
        Err(problem) => (problem, StatusCode::UNPROCESSABLE_ENTITY),
        Ok(per_deed_cap) => {
            let request = UpdateRuleRequest {
                name: Some(form.name.clone()),
                category: Some(form.category.clone()),
                points: Some(form.points.trim().to_string()),
                monthly_cap: Some(optional_text(&form.monthly_cap)),
                per_deed_cap: Some(per_deed_cap),
                status: None,
            };
            match concept::update(&state, &person.user, id, request).await {
                Ok(_) => return Ok(see_other(&format!("/rules/{}?changed=1", id.0))),
                Err(e) => refusal(e)?,
            }
        }
    };
    let page = rule_page(&state, &person, id, Some(form), "", problem).await?;
    render_with(status, &page)
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    active: String,
}

/// Takes a rule out of use (no new deeds under it) or back into use.
pub async fn set_status(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageRules)?;
    person.check_form_token(&form.form_token)?;
    let id = RuleId(path.into_inner());
    let request = UpdateRuleRequest {
        name: None,
        category: None,
        points: None,
        monthly_cap: None,
        per_deed_cap: None,
        status: Some(
            if form.active == "1" {
                "active"
            } else {
                "inactive"
            }
            .into(),
        ),
    };
    concept::update(&state, &person.user, id, request).await?;
    Ok(see_other(&format!("/rules/{}?status=1", id.0)))
}
