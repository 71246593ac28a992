//! 户籍 (households) in the console: the committee's list of households with their members and
//! passbook balances, a form to set one up with its head, and a form to move a resident in — each
//! resident named by passbook number, the way the paper register names them.

use actix_web::http::StatusCode;
use actix_web::web::{get, post, ServiceConfig};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::model::{CreditTo, NAME_CHARS_MAX};
use super::store::{self, HouseholdError};
use crate::console::page::{points, render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::resource;
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::db::{write_transaction, DbConn, DbUuid};
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::{CommunityId, MemberId, Permission};
use crate::members::store::MemberFilter;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(
        resource("/households")
            .route(get().to(show))
            .route(post().to(create)),
    )
    .service(resource("/households/{id}/members").route(post().to(move_in)));
}

pub struct Resident {
    pub no: String,
    pub name: String,
    pub head: bool,
}

pub struct Shown {
    pub id: String,
    pub name: String,
    pub balance: String,
    pub account_id: String,
    pub members: Vec<Resident>,
    /// Those who moved out, as one line.
    pub left: String,
}

#[derive(Template)]
#[template(path = "console/households.html")]
struct Page {
    chrome: Option<Chrome>,
    households: Vec<Shown>,
    credit_words: &'static str,
    name: String,
    head_no: String,
    /// The household whose move-in form the problem belongs to.
    for_household: String,
    member_no: String,
    problem: FieldProblem,
    done: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn page(
    state: &AppState,
    person: &Person,
    problem: FieldProblem,
    form: (String, String, String, String),
    done: String,
) -> Result<Page, ConsoleError> {
    let community = person.user.community_id;
    let (rows, rules) = with_conn(state, move |conn| {
        let mut rows = Vec::new();
        for (household, account) in store::list(conn, community)? {
            let members = store::memberships(conn, household.id)?;
            rows.push((household, account, members));
        }
        Ok((rows, store::rules(conn, community)?))
    })
    .await?;
    let households = rows
        .iter()
        .map(|(h, a, members)| Shown {
            id: h.id.0.to_string(),
            name: h.name.clone(),
            balance: points(a.balance),
            account_id: a.id.0.to_string(),
            members: members
                .iter()
                .filter(|(m, _, _)| m.left_at.is_none())
                .map(|(m, no, name)| Resident {
                    no: no.clone(),
                    name: name.clone(),
                    head: h.head_member_id == Some(m.member_id),
                })
                .collect(),
            left: members
                .iter()
                .filter(|(m, _, _)| m.left_at.is_some())
                .map(|(_, no, name)| format!("{name}（{no}）"))
                .collect::<Vec<_>>()
                .join("、"),
        })
        .collect();
    let (name, head_no, for_household, member_no) = form;
    Ok(Page {
        chrome: Some(Chrome::new(person, "/households", state.clock.now())),
        households,
        credit_words: match rules.credit_to {
            CreditTo::Household => words::HOUSEHOLD_CREDITS_HOUSEHOLD,
            CreditTo::Member => words::HOUSEHOLD_CREDITS_MEMBER,
        },
        name,
        head_no,
        for_household,
        member_no,
        problem,
        done,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::RegisterMembers)?;
    let done = match query.done.as_deref() {
        Some("created") => words::HOUSEHOLD_CREATED.to_string(),
        Some("moved") => words::HOUSEHOLD_MOVED.to_string(),
        _ => String::new(),
    };
    render(
        &page(
            &state,
            &person,
            FieldProblem::default(),
            Default::default(),
            done,
        )
        .await?,
    )
}

/// The member with this passbook number in the community, if any.
fn by_number(
    conn: &mut DbConn,
    community: CommunityId,
    no: &str,
) -> Result<Option<MemberId>, ApiError> {
    let found = crate::members::store::list_members(
        conn,
        community,
        &MemberFilter {
            member_no: Some(no),
            query: None,
            only: None,
            after: None,
            limit: 2,
        },
    )?;
    Ok(match found.as_slice() {
        [(member, _)] => Some(member.id.into()),
        _ => None,
    })
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    form_token: String,
    name: String,
    head_no: String,
}

pub async fn create(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::RegisterMembers)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let name = form.name.trim().to_string();
    let head_no = form.head_no.trim().to_string();
    let problem = if name.is_empty() || name.chars().count() > NAME_CHARS_MAX {
        Some(FieldProblem::on("name", words::HOUSEHOLD_NAME_INVALID))
    } else {
        let (community, by, now) = (
            person.user.community_id,
            person.user.user_id,
            state.clock.now(),
        );
        let (name, no) = (name.clone(), head_no.clone());
        with_conn(&state, move |conn| {
            let Some(head) = by_number(conn, community, &no)? else {
                return Ok(Some(FieldProblem::on(
                    "head_no",
                    words::HOUSEHOLD_NO_SUCH_RESIDENT,
                )));
            };
            write_transaction(conn, |conn| {
                match store::create(conn, community, &name, head, by, now) {
                    Ok(_) => Ok(None),
                    Err(HouseholdError::NameTaken) => {
                        Ok(Some(FieldProblem::on("name", words::HOUSEHOLD_NAME_TAKEN)))
                    }
                    Err(HouseholdError::MemberNotFound) => Ok(Some(FieldProblem::on(
                        "head_no",
                        words::HOUSEHOLD_NO_SUCH_RESIDENT,
                    ))),
                    Err(HouseholdError::Db(e)) => Err(ApiError::from(e)),
                }
            })
        })
        .await?
    };
    match problem {
        None => Ok(see_other("/households?done=created")),
        Some(problem) => render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(
                &state,
                &person,
                problem,
                (name, head_no, String::new(), String::new()),
                String::new(),
            )
            .await?,
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    form_token: String,
    member_no: String,
}

pub async fn move_in(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::RegisterMembers)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let id = DbUuid(path.into_inner());
    let no = form.member_no.trim().to_string();
    let (community, by, now) = (
        person.user.community_id,
        person.user.user_id,
        state.clock.now(),
    );
    let looked = no.clone();
    let problem = with_conn(&state, move |conn| {
        if store::household(conn, community, id)?.is_none() {
            return Err(ApiError::not_found("household"));
        }
        let Some(member) = by_number(conn, community, &looked)? else {
            return Ok(Some(FieldProblem::on(
                "member_no",
                words::HOUSEHOLD_NO_SUCH_RESIDENT,
            )));
        };
        write_transaction(conn, |conn| {
            match store::move_member(conn, community, id, member, by, now) {
                Ok(()) => Ok(None),
                Err(HouseholdError::Db(e)) => Err(ApiError::from(e)),
                Err(_) => Ok(Some(FieldProblem::on(
                    "member_no",
                    words::HOUSEHOLD_NO_SUCH_RESIDENT,
                ))),
            }
        })
    })
    .await?;
    match problem {
        None => Ok(see_other("/households?done=moved")),
        Some(problem) => render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(
                &state,
                &person,
                problem,
                (String::new(), String::new(), id.0.to_string(), no),
                String::new(),
            )
            .await?,
        ),
    }
}
