//! One resident on the roster: registered by hand, their name, phone, address, group and note
//! changed, their passbook stopped and restarted. Through the same `members::http` functions
//! as the JSON API.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::kernel::{MemberId, Permission};
use crate::members::http::{
    change_member, member_one, register_member, CreateMemberRequest, UpdateMemberRequest,
};

/// The roster fields of the form, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    member_no: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    building: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    note: String,
}

fn typed(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

#[derive(Template)]
#[template(path = "console/member-edit.html")]
struct MemberPage {
    chrome: Option<Chrome>,
    /// Empty for a new resident.
    id: String,
    title: String,
    balance: String,
    active: bool,
    may_edit: bool,
    form: MemberForm,
    notice: &'static str,
    problem: FieldProblem,
}

fn refusal(e: ApiError) -> Result<(FieldProblem, StatusCode), ConsoleError> {
    if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND {
        let status = e.status;
        Ok((words::member_problem(&e), status))
    } else {
        Err(e.into())
    }
}

pub async fn show_new(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::RegisterMembers)?;
    render(&MemberPage {
        chrome: Some(Chrome::new(&person, "/members", state.clock.now())),
        id: String::new(),
        title: words::MEMBER_NEW_TITLE.into(),
        balance: String::new(),
        active: true,
        may_edit: true,
        form: MemberForm::default(),
        notice: "",
        problem: FieldProblem::default(),
    })
}

pub async fn create(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::RegisterMembers)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let request = CreateMemberRequest {
        name: form.name.clone(),
        member_no: typed(&form.member_no),
        phone: typed(&form.phone),
        building: typed(&form.building),
        unit: typed(&form.unit),
        room: typed(&form.room),
        address: typed(&form.address),
        id_card: None,
        group: typed(&form.group),
        joined_on: None,
        note: typed(&form.note),
    };
    match register_member(&state, &person.user, request).await {
        Ok(view) => Ok(see_other(&format!("/members/{}?saved=1", view.id))),
        Err(e) => {
            let (problem, status) = refusal(e)?;
            render_with(
                status,
                &MemberPage {
                    chrome: Some(Chrome::new(&person, "/members", state.clock.now())),
                    id: String::new(),
                    title: words::MEMBER_NEW_TITLE.into(),
                    balance: String::new(),
                    active: true,
                    may_edit: true,
                    form,
                    notice: "",
                    problem,
                },
            )
        }
    }
}

async fn member_page(
    state: &AppState,
    person: &Person,
    id: MemberId,
    form: Option<MemberForm>,
    notice: &'static str,
    problem: FieldProblem,
) -> Result<MemberPage, ConsoleError> {
    let m = member_one(state, &person.user, id).await?;
    let form = form.unwrap_or_else(|| MemberForm {
        form_token: String::new(),
        member_no: m.member_no.clone(),
        name: m.name.clone(),
        phone: m.phone.clone().unwrap_or_default(),
        building: m.building.clone().unwrap_or_default(),
        unit: m.unit.clone().unwrap_or_default(),
        room: m.room.clone().unwrap_or_default(),
        address: m.address.clone().unwrap_or_default(),
        group: m.group.clone().unwrap_or_default(),
        note: m.note.clone().unwrap_or_default(),
    });
    Ok(MemberPage {
        chrome: Some(Chrome::new(person, "/members", state.clock.now())),
        id: m.id.to_string(),
        title: format!("{} · {}", m.name, m.member_no),
        balance: m.balance.clone(),
        active: m.status == "active",
        may_edit: person.may(Permission::EditMembers),
        form,
        notice,
        problem,
    })
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    saved: Option<u8>,
}

pub async fn show_member(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::RegisterMembers)?;
    let notice = if query.saved.is_some() {
        words::USER_CHANGED
    } else {
        ""
    };
    let id = MemberId(path.into_inner());
    render(&member_page(&state, &person, id, None, notice, FieldProblem::default()).await?)
}

pub async fn edit(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::EditMembers)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let id = MemberId(path.into_inner());
    // Every field is sent: an emptied one is cleared.
    let request = UpdateMemberRequest {
        name: Some(form.name.clone()),
        status: None,
        phone: Some(form.phone.trim().to_string()),
        building: Some(form.building.trim().to_string()),
        unit: Some(form.unit.trim().to_string()),
        room: Some(form.room.trim().to_string()),
        address: Some(form.address.trim().to_string()),
        id_card: None,
        group: Some(form.group.trim().to_string()),
        joined_on: None,
        note: Some(form.note.trim().to_string()),
    };
    match change_member(&state, &person.user, id, request).await {
        Ok(_) => Ok(see_other(&format!("/members/{}?saved=1", id.0))),
        Err(e) => {
            let (problem, status) = refusal(e)?;
            render_with(
                status,
                &member_page(&state, &person, id, Some(form), "", problem).await?,
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    active: String,
}

/// Stops a passbook (the balance stays, visible, not redeemable) or restarts it.
pub async fn set_status(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::EditMembers)?;
    person.check_form_token(&form.form_token)?;
    let id = MemberId(path.into_inner());
    let request = UpdateMemberRequest {
        name: None,
        status: Some(
            if form.active == "1" {
                "active"
            } else {
                "inactive"
            }
            .into(),
        ),
        phone: None,
        building: None,
        unit: None,
        room: None,
        address: None,
        id_card: None,
        group: None,
        joined_on: None,
        note: None,
    };
    change_member(&state, &person.user, id, request).await?;
    Ok(see_other(&format!("/members/{}?saved=1", id.0)))
}
