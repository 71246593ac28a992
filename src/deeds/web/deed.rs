//! A deed's page at the review desk: what was declared, under which rule version, its history
//! (who, when, what, why), the notice period and its objections, and the decisions the person may
//! take, each offered only when the transition table and the separation of duties allow it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{local_minute, points, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::deeds::http::decide::{approve_one, move_deed, rule_on_objection};
use crate::deeds::http::deeds::visible_deed;
use crate::deeds::http::rules::hundredths_to_quantity;
use crate::deeds::model::{DeedAction, ObjectionStatus, ReviewStages};
use crate::deeds::store::{self, DeedRow};
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::policy::{refuse_self_dealing, Act, Subject};
use crate::kernel::{DeedId, Permission};
use crate::ledger::command::MEMO_CHARS_MAX;

pub struct Step {
    pub at: String,
    pub who: String,
    pub what: &'static str,
    pub why: String,
}

pub struct Objection {
    pub id: String,
    pub raised_by: String,
    pub raised_at: String,
    pub reason: String,
    pub open: bool,
    pub ruling: String,
}

/// A decision button: offered, or absent with the reason said.
pub struct Offer {
    pub offered: bool,
    pub reason: &'static str,
}

#[derive(Template)]
#[template(path = "console/desk-deed.html")]
struct DeedPage {
    chrome: Option<Chrome>,
    id: String,
    member: String,
    member_no: String,
    rule: String,
    rule_version: String,
    quantity: String,
    points: String,
    occurred_on: String,
    description: String,
    evidence: Vec<String>,
    status: &'static str,
    notice: String,
    history: Vec<Step>,
    objections: Vec<Objection>,
    open_objections: usize,
    first_check: Offer,
    decision: Offer,
    /// Approval is one of the decisions from here (a submitted deed of a two-stage review may
    /// only be rejected).
    approvable: bool,
    ruling: Offer,
    problem: FieldProblem,
}

const NOT_OFFERED: Offer = Offer {
    offered: false,
    reason: "",
};

/// Whether the person may take `act` on this deed by their roles and the separation of duties
/// (the kernel's policy decides; this only says it before the click).
fn policy_offer(person: &Person, deed: &DeedRow, permission: Permission, act: Act) -> Offer {
    if !person.may(permission) {
        return Offer {
            offered: false,
            reason: words::ONLY_ADMINS_DECIDE,
        };
    }
    let subject = Subject {
        member_id: Some(deed.member_id.into()),
        submitted_by: Some(deed.submitted_by.into()),
        first_checked_by: deed.first_checked_by.map(Into::into),
    };
    match refuse_self_dealing(person.user.actor(), act, subject) {
        Ok(()) => Offer {
            offered: true,
            reason: "",
        },
        Err(_) if deed.first_checked_by == Some(person.user.user_id.into()) => Offer {
            offered: false,
            reason: words::CHECKED_IT_FIRST,
        },
        Err(_) => Offer {
            offered: false,
            reason: words::OWN_DEED,
        },
    }
}

/// A step offered when the transition table allows one of `actions` from where the deed is.
fn offer(
    person: &Person,
    deed: &DeedRow,
    stages: ReviewStages,
    actions: &[DeedAction],
    permission: Permission,
    act: Act,
) -> Offer {
    if actions
        .iter()
        .all(|a| deed.status.after(*a, stages, true).is_none())
    {
        return NOT_OFFERED;
    }
    policy_offer(person, deed, permission, act)
}

async fn page(
    state: &AppState,
    person: &Person,
    id: DeedId,
    problem: FieldProblem,
) -> Result<DeedPage, ConsoleError> {
    let user = person.user.clone();
    let community = user.community_id;
    let (deed, no, name, events, objections, settings, version, names) =
        with_conn(state, move |conn| {
            let (deed, no, name) = visible_deed(conn, &user, id)?;
            let events = store::events_of(conn, id)?;
            let objections = store::objections_of(conn, id)?;
            let settings = store::settings(conn, community)?;
            let version = store::rule_versions_of(conn, deed.rule_id.into())?
                .into_iter()
                .find(|v| v.id == deed.rule_version_id);
            let mut ids: Vec<_> = events.iter().filter_map(|e| e.actor_id).collect();
            ids.extend(objections.iter().map(|o| o.raised_by));
            ids.extend(objections.iter().filter_map(|o| o.ruled_by));
            let names = store::usernames(conn, &ids)?;
            Ok((deed, no, name, events, objections, settings, version, names))
        })
        .await?;
    let calendar = person.community.calendar;
    let who = |id: Option<crate::db::DbUuid>| match id {
        Some(id) => names.get(&id).cloned().unwrap_or_default(),
        None => "系统（公示期满）".to_string(),
    };
    let stages = ReviewStages::from_count(settings.review_stages);
    let unit = version
        .as_ref()
        .map(|v| {
            if v.unit.as_str() == "hour" {
                "小时"
            } else {
                "次"
            }
        })
        .unwrap_or("");
    Ok(DeedPage {
        chrome: Some(Chrome::new(person, "/desk", state.clock.now())),
        id: deed.id.0.to_string(),
        member: name,
        member_no: no,
        rule: deed.rule_name.clone(),
        rule_version: version
            .as_ref()
            .map(|v| {
                format!(
                    "第 {} 版：每{}{} 分（{}）",
                    v.version,
                    unit,
                    points(v.points),
                    v.category
                )
            })
            .unwrap_or_default(),
        quantity: format!("{} {}", hundredths_to_quantity(deed.quantity), unit),
        points: points(deed.points),
        occurred_on: deed.occurred_on.clone(),
        description: deed.description.clone(),
        evidence: serde_json::from_str(&deed.evidence).unwrap_or_default(),
        status: words::deed_status_name(deed.status.as_str()),
        notice: deed
            .notice_ends_at
            .map(|end| format!("公示至 {}", local_minute(calendar, end)))
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
                id: o.id.0.to_string(),
                raised_by: who(Some(o.raised_by)),
                raised_at: local_minute(calendar, o.raised_at),
                reason: o.reason.clone(),
                open: o.status == ObjectionStatus::Open,
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
        open_objections: objections
            .iter()
            .filter(|o| o.status == ObjectionStatus::Open)
            .count(),
        first_check: offer(
            person,
            &deed,
            stages,
            &[DeedAction::Pass, DeedAction::Return],
            Permission::FirstCheck,
            Act::FirstCheck,
        ),
        decision: offer(
            person,
            &deed,
            stages,
            &[DeedAction::Approve, DeedAction::Reject],
            Permission::DecideDeeds,
            Act::Decide,
        ),
        approvable: deed
            .status
            .after(DeedAction::Approve, stages, true)
            .is_some(),
        ruling: if objections.iter().any(|o| o.status == ObjectionStatus::Open) {
            offer(
                person,
                &deed,
                stages,
                &[DeedAction::UpholdObjection],
                Permission::DecideDeeds,
                Act::Decide,
            )
        } else {
            NOT_OFFERED
        },
        problem,
    })
}

fn deed_id(path: &str) -> Result<DeedId, ConsoleError> {
    uuid::Uuid::parse_str(path)
        .map(DeedId)
        .map_err(|_| ConsoleError::NotFound)
}

pub async fn show_deed(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::FirstCheck)?;
    let id = deed_id(&path)?;
    let page = page(&state, &person, id, FieldProblem::default()).await?;
    render_with(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    form_token: String,
    /// `pass`, `return`, `approve` or `reject`.
    action: String,
    #[serde(default)]
    reason: String,
}

fn reason_of(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Shows the deed again with the refusal next to the form, nothing changed.
async fn refused(
    state: &AppState,
    person: &Person,
    id: DeedId,
    e: ApiError,
) -> Result<HttpResponse, ConsoleError> {
    if e.status.is_server_error() {
        return Err(ConsoleError::Problem(e));
    }
    let status = e.status;
    let page = page(state, person, id, words::problem(&e)).await?;
    render_with(status, &page)
}

pub async fn decide(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
    form: web::Form<DecideForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::FirstCheck)?;
    person.check_form_token(&form.form_token)?;
    let id = deed_id(&path)?;
    let reason = reason_of(&form.reason);
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MEMO_CHARS_MAX)
    {
        let page = page(
            &state,
            &person,
            id,
            FieldProblem::on("reason", words::DESK_REASON_REQUIRED),
        )
        .await?;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let needs_reason = matches!(form.action.as_str(), "return" | "reject");
    if needs_reason && reason.is_none() {
        let page = page(
            &state,
            &person,
            id,
            FieldProblem::on("reason", words::DESK_REASON_REQUIRED),
        )
        .await?;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let user = &person.user;
    let outcome = match form.action.as_str() {
        "pass" | "return" => {
            if !person.may(Permission::FirstCheck) {
                return Err(ConsoleError::Forbidden);
            }
            let action = if form.action == "pass" {
                DeedAction::Pass
            } else {
                DeedAction::Return
            };
            move_deed(&state, user, id, action, reason, true)
                .await
                .map(|_| ())
        }
        "approve" => approve_one(&state, user, id).await.map(|_| ()),
        "reject" => {
            if !person.may(Permission::DecideDeeds) {
                return Err(ConsoleError::Forbidden);
            }
            move_deed(&state, user, id, DeedAction::Reject, reason, true)
                .await
                .map(|_| ())
        }
        _ => return Err(ConsoleError::BadForm),
    };
    match outcome {
        Ok(()) => Ok(see_other(&format!("/desk/deeds/{}", id.0))),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(ConsoleError::NotFound),
        Err(e) => refused(&state, &person, id, e).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct RulingForm {
    form_token: String,
    /// `uphold` or `dismiss`.
    decision: String,
    #[serde(default)]
    reason: String,
}

pub async fn rule(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<(String, String)>,
    form: web::Form<RulingForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::DecideDeeds)?;
    person.check_form_token(&form.form_token)?;
    let (deed, objection) = path.into_inner();
    let id = deed_id(&deed)?;
    let objection = uuid::Uuid::parse_str(&objection).map_err(|_| ConsoleError::NotFound)?;
    let uphold = match form.decision.as_str() {
        "uphold" => true,
        "dismiss" => false,
        _ => return Err(ConsoleError::BadForm),
    };
    let reason = reason_of(&form.reason);
    if !uphold && reason.is_none() {
        let page = page(
            &state,
            &person,
            id,
            FieldProblem::on("reason", words::DESK_REASON_REQUIRED),
        )
        .await?;
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    match rule_on_objection(&state, &person.user, id, objection, uphold, reason).await {
        Ok(_) => Ok(see_other(&format!("/desk/deeds/{}", id.0))),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(ConsoleError::NotFound),
        Err(e) => refused(&state, &person, id, e).await,
    }
}
