//! A resident's own deeds: 我的申报 (each deed and where it stands, in plain words), one deed
//! with its history and objections, and 申报好事 (declaring a deed of one's own). Every read is
//! scoped to the person's own passbook; another resident's deed answers like one that does not
//! exist. The declaration is `POST /deeds`'s own (`declare_deed_as`), under an id made when the
//! form was drawn, so a double submit records one deed.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::record::{rules_in_force, schedule, worth_of, Category};
use crate::console::page::{
    local_minute, points, render, render_with, Chrome, ConsoleError, FieldProblem,
};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::deeds::http::deeds::{declare_deed_as, visible_deed, SubmitDeedRequest};
use crate::deeds::http::rules::hundredths_to_quantity;
use crate::deeds::model::{DeedStatus, Direction, ObjectionStatus, ReviewStages, Unit};
use crate::deeds::store::{self, DeedEventRow, DeedRow};
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::{DeedId, LocalCalendar, MemberId, Permission};
use crate::passbook::web::mine::own_member;

/// Deeds 我的申报 lists at most (the newest).
pub const MY_DEEDS_MAX: i64 = 200;
/// How old a declaration form's key may be: a form left open over a weekend is drawn again.
const DECLARE_KEY_AGE_SECONDS_MAX: u64 = 3 * 24 * 3600;

/// One of my deeds in the list.
pub struct MyDeed {
    pub id: String,
    pub rule: String,
    pub occurred_on: String,
    pub description: String,
    pub points: String,
    pub deduction: bool,
    pub standing: String,
    /// A class for the standing's colour: `waiting`, `notice`, `credited`, `refused`, `ended`.
    pub tone: &'static str,
}

/// Where a deed stands, said to the resident, and its tone.
fn standing(
    deed: &DeedRow,
    stages: ReviewStages,
    events: &[&DeedEventRow],
    open_objections: usize,
    calendar: LocalCalendar,
) -> (String, &'static str) {
    // The reason of the step that brought the deed where it is.
    let reason = events
        .iter()
        .rev()
        .find(|e| e.to_status == deed.status)
        .and_then(|e| e.reason.clone())
        .unwrap_or_default();
    let with_reason = |word: &str| {
        if reason.is_empty() {
            word.to_string()
        } else {
            format!("{word}：{reason}")
        }
    };
    match deed.status {
        DeedStatus::Submitted if stages == ReviewStages::Two => {
            (words::MY_DEED_FIRST_CHECK.to_string(), "waiting")
        }
        DeedStatus::Submitted | DeedStatus::Reviewed => {
            (words::MY_DEED_DECISION.to_string(), "waiting")
        }
        DeedStatus::Approved => {
            let until = deed
                .notice_ends_at
                .map(|t| local_minute(calendar, t))
                .unwrap_or_default();
            let mut text = format!("公示中，至 {until}");
            if open_objections > 0 {
                text.push_str(words::MY_DEED_OBJECTED);
            }
            (text, "notice")
        }
        DeedStatus::Credited if deed.direction == Direction::Deduct => (
            format!(
                "已扣分 {}",
                points(deed.applied_points.unwrap_or(deed.points))
            ),
            "refused",
        ),
        DeedStatus::Credited => (format!("已入账 {} 分", points(deed.points)), "credited"),
        DeedStatus::Returned => (with_reason("已退回"), "refused"),
        DeedStatus::Rejected => (with_reason("已驳回"), "refused"),
        DeedStatus::Withdrawn => ("已撤回".to_string(), "ended"),
        DeedStatus::Reversed => (with_reason("已冲销"), "ended"),
    }
}

#[derive(Template)]
#[template(path = "console/me-deeds.html")]
struct MyDeedsPage {
    chrome: Option<Chrome>,
    deeds: Vec<MyDeed>,
    may_declare: bool,
}

pub async fn show_my_deeds(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    let member = own_member(&person)?;
    let community = person.user.community_id;
    let (settings, deeds, events, open) = with_conn(&state, move |conn| {
        let settings = store::settings(conn, community)?;
        let deeds = store::member_deeds_newest(conn, community, member, MY_DEEDS_MAX)?;
        let ids: Vec<_> = deeds.iter().map(|d| d.id).collect();
        let events = store::events_of_deeds(conn, &ids)?;
        let open = store::open_objections(conn, &ids)?;
        Ok((settings, deeds, events, open))
    })
    .await?;
    let stages = ReviewStages::from_count(settings.review_stages);
    let calendar = person.community.calendar;
    let deeds = deeds
        .iter()
        .map(|d| {
            let mine: Vec<&DeedEventRow> = events.iter().filter(|e| e.deed_id == d.id).collect();
            let objections = open.iter().filter(|o| o.deed_id == d.id).count();
            let (standing, tone) = standing(d, stages, &mine, objections, calendar);
            let deduction = d.direction == Direction::Deduct;
            MyDeed {
                id: d.id.0.to_string(),
                rule: d.rule_name.clone(),
                occurred_on: d.occurred_on.clone(),
                description: d.description.clone(),
                points: format!("{}{}", if deduction { "-" } else { "+" }, points(d.points)),
                deduction,
                standing,
                tone,
            }
        })
        .collect();
    render(&MyDeedsPage {
        chrome: Some(Chrome::new(&person, "/me/deeds", state.clock.now())),
        deeds,
        may_declare: person.may(Permission::DeclareOwnDeeds),
    })
}

pub struct Step {
    pub at: String,
    pub who: String,
    pub what: &'static str,
    pub why: String,
}

pub struct Objection {
    pub raised_by: String,
    pub raised_at: String,
    pub reason: String,
    pub ruling: String,
}

#[derive(Template)]
#[template(path = "console/me-deed.html")]
struct MyDeedPage {
    chrome: Option<Chrome>,
    rule: String,
    quantity: String,
    points: String,
    deduction: bool,
    occurred_on: String,
    description: String,
    standing: String,
    tone: &'static str,
    notice: String,
    history: Vec<Step>,
    objections: Vec<Objection>,
    /// Just declared: the confirmation above the deed.
    declared: bool,
}

#[derive(Debug, Deserialize)]
pub struct MyDeedQuery {
    #[serde(default)]
    declared: Option<String>,
}

pub async fn show_my_deed(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
    query: web::Query<MyDeedQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let member = own_member(&person)?;
    let id = uuid::Uuid::parse_str(&path)
        .map(DeedId)
        .map_err(|_| ConsoleError::NotFound)?;
    let user = person.user.clone();
    let community = user.community_id;
    let (deed, events, objections, settings, names, unit) = with_conn(&state, move |conn| {
        let (deed, _, _) = visible_deed(conn, &user, id)?;
        // Staff who may read every deed still read only their own here.
        if MemberId::from(deed.member_id) != member {
            return Err(ApiError::not_found("deed"));
        }
        let events = store::events_of(conn, id)?;
        let objections = store::objections_of(conn, id)?;
        let settings = store::settings(conn, community)?;
        let mut ids: Vec<_> = events.iter().filter_map(|e| e.actor_id).collect();
        ids.extend(objections.iter().map(|o| o.raised_by));
        ids.extend(objections.iter().filter_map(|o| o.ruled_by));
        let names = store::usernames(conn, &ids)?;
        let unit = store::rule_versions_of(conn, deed.rule_id.into())?
            .into_iter()
            .find(|v| v.id == deed.rule_version_id)
            .map(|v| {
                if v.unit == Unit::Hour {
                    "小时"
                } else {
                    "次"
                }
            })
            .unwrap_or("");
        Ok((deed, events, objections, settings, names, unit))
    })
    .await?;
    let calendar = person.community.calendar;
    let who = |id: Option<crate::db::DbUuid>| match id {
        Some(id) => names.get(&id).cloned().unwrap_or_default(),
        None => words::ME_RECORDER_SYSTEM.to_string(),
    };
    let stages = ReviewStages::from_count(settings.review_stages);
    let all: Vec<&DeedEventRow> = events.iter().collect();
    let open = objections
        .iter()
        .filter(|o| o.status == ObjectionStatus::Open)
        .count();
    let (standing, tone) = standing(&deed, stages, &all, open, calendar);
    let deduction = deed.direction == Direction::Deduct;
    render(&MyDeedPage {
        chrome: Some(Chrome::new(&person, "/me/deeds", state.clock.now())),
        rule: deed.rule_name.clone(),
        quantity: format!("{} {unit}", hundredths_to_quantity(deed.quantity)),
        points: format!(
            "{}{}",
            if deduction { "-" } else { "+" },
            points(deed.points)
        ),
        deduction,
        occurred_on: deed.occurred_on.clone(),
        description: deed.description.clone(),
        standing,
        tone,
        notice: deed
            .notice_ends_at
            .map(|t| local_minute(calendar, t))
            .unwrap_or_default(),
        history: events
            .iter()
            .map(|e| Step {
                at: local_minute(calendar, e.created_at),
                who: who(e.actor_id),
                what: words::deed_action_name(e.action.as_str()),
                why: e.reason.clone().unwrap_or_default(),
            })
            .collect(),
        objections: objections
            .iter()
            .map(|o| Objection {
                raised_by: who(Some(o.raised_by)),
                raised_at: local_minute(calendar, o.raised_at),
                reason: o.reason.clone(),
                ruling: words::objection_ruling(
                    o.status,
                    &who(o.ruled_by),
                    &o.ruled_at
                        .map(|t| local_minute(calendar, t))
                        .unwrap_or_default(),
                    o.ruling_reason.as_deref(),
                ),
            })
            .collect(),
        declared: query.declared.is_some(),
    })
}

#[derive(Template)]
#[template(path = "console/me-declare.html")]
struct DeclarePage {
    chrome: Option<Chrome>,
    /// The deed's id to be, made when the form was first drawn.
    key: String,
    categories: Vec<Category>,
    quantity: String,
    occurred_on: String,
    description: String,
    /// The points the rule gives, once previewed.
    preview: String,
    problem: FieldProblem,
}

#[derive(Debug, Deserialize, Default)]
pub struct DeclareForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    occurred_on: String,
    #[serde(default)]
    description: String,
    /// `preview` or `submit`.
    #[serde(default)]
    step: String,
}

async fn declare_page(
    state: &AppState,
    person: &Person,
    form: &DeclareForm,
    key: String,
) -> Result<DeclarePage, ConsoleError> {
    let rules = rules_in_force(state, person.user.community_id).await?;
    let today = person.community.calendar.day_of(state.clock.now());
    Ok(DeclarePage {
        chrome: Some(Chrome::new(person, "/me/declare", state.clock.now())),
        key,
        categories: schedule(&rules, &form.rule, true),
        quantity: if form.quantity.is_empty() {
            "1".into()
        } else {
            form.quantity.clone()
        },
        occurred_on: if form.occurred_on.is_empty() {
            today.format("%Y-%m-%d").to_string()
        } else {
            form.occurred_on.clone()
        },
        description: form.description.clone(),
        preview: String::new(),
        problem: FieldProblem::default(),
    })
}

pub async fn show_declare(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    own_member(&person)?;
    person.require(Permission::DeclareOwnDeeds)?;
    let key = uuid::Uuid::now_v7().to_string();
    render(&declare_page(&state, &person, &DeclareForm::default(), key).await?)
}

/// The form's key as the deed's id: a UUIDv7 this server made lately (a key typed by hand or
/// kept for days is not one).
fn declaration_id(key: &str) -> Result<DeedId, ConsoleError> {
    let id = uuid::Uuid::parse_str(key.trim()).map_err(|_| ConsoleError::BadForm)?;
    let made = id
        .get_timestamp()
        .filter(|_| id.get_version_num() == 7)
        .map(|t| t.to_unix().0)
        .ok_or(ConsoleError::BadForm)?;
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    if made > now + 600 || now.saturating_sub(made) > DECLARE_KEY_AGE_SECONDS_MAX {
        return Err(ConsoleError::BadForm);
    }
    Ok(DeedId(id))
}

pub async fn declare(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<DeclareForm>,
) -> Result<HttpResponse, ConsoleError> {
    let member = own_member(&person)?;
    person.require(Permission::DeclareOwnDeeds)?;
    person.check_form_token(&form.form_token)?;
    let id = declaration_id(&form.key)?;
    let mut page = declare_page(&state, &person, &form, id.0.to_string()).await?;
    let community = person.user.community_id;
    let (rule, quantity, worth) =
        match worth_of(&state, community, &form.rule, &form.quantity).await? {
            Ok(found) => found,
            Err(problem) => {
                page.problem = problem;
                return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
        };
    page.preview = points(worth);
    if form.step != "submit" {
        return render(&page);
    }
    let request = SubmitDeedRequest {
        member_id: member.0,
        rule_id: rule,
        quantity,
        occurred_on: form.occurred_on.trim().to_string(),
        description: form.description.clone(),
        evidence: None,
    };
    match declare_deed_as(&state, &person.user, request, Some(id)).await {
        Ok(view) => Ok(see_other(&format!("/me/deeds/{}?declared=1", view.id))),
        Err(e) if e.status.is_server_error() => Err(ConsoleError::Problem(e)),
        Err(e) => {
            let status = e.status;
            page.problem = words::declare_problem(&e);
            render_with(status, &page)
        }
    }
}
