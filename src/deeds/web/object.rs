//! Objecting to a deed on the notice board (提出异议): the notice, a required reason, and the
//! objection raised by `POST /deeds/{id}/objections`'s own function. Whom the concept lets object
//! (anyone of the community while the notice runs) and its refusals are the concept's; this page
//! only says them in Chinese.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::board::{rows_of, BoardRow};
use crate::console::page::{render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::deeds::http::board::notice_board;
use crate::deeds::http::decide::raise_objection;
use crate::http::state::AppState;
use crate::kernel::DeedId;
use crate::ledger::command::MEMO_CHARS_MAX;

#[derive(Template)]
#[template(path = "console/board-object.html")]
struct ObjectPage {
    chrome: Option<Chrome>,
    deed_id: String,
    /// The notice as the board shows it to this person; `None` once it is off the board.
    notice: Option<BoardRow>,
    reason: String,
    problem: FieldProblem,
}

fn deed_id(path: &str) -> Result<DeedId, ConsoleError> {
    uuid::Uuid::parse_str(path)
        .map(DeedId)
        .map_err(|_| ConsoleError::NotFound)
}

/// The notice of `id` as the board shows it to the person, if it is on the board now.
async fn notice_of(
    state: &AppState,
    person: &Person,
    id: DeedId,
) -> Result<Option<BoardRow>, ConsoleError> {
    let notices = notice_board(state, &person.user).await?;
    let on_board: Vec<_> = notices.into_iter().filter(|n| n.deed_id == id).collect();
    Ok(rows_of(&on_board, person.community.calendar)
        .into_iter()
        .next())
}

pub async fn show_object(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = deed_id(&path)?;
    let notice = notice_of(&state, &person, id).await?;
    let Some(notice) = notice else {
        return Err(ConsoleError::NotFound);
    };
    render(&ObjectPage {
        chrome: Some(Chrome::new(&person, "/board", state.clock.now())),
        deed_id: id.0.to_string(),
        notice: Some(notice),
        reason: String::new(),
        problem: FieldProblem::default(),
    })
}

#[derive(Debug, Deserialize)]
pub struct ObjectForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    reason: String,
}

pub async fn object(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
    form: web::Form<ObjectForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.check_form_token(&form.form_token)?;
    let id = deed_id(&path)?;
    let reason = form.reason.trim().to_string();
    let again = |notice: Option<BoardRow>, status: StatusCode, problem: FieldProblem| {
        render_with(
            status,
            &ObjectPage {
                chrome: Some(Chrome::new(&person, "/board", state.clock.now())),
                deed_id: id.0.to_string(),
                notice,
                reason: form.reason.clone(),
                problem,
            },
        )
    };
    if reason.is_empty() || reason.chars().count() > MEMO_CHARS_MAX {
        let notice = notice_of(&state, &person, id).await?;
        return again(
            notice,
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldProblem::on("reason", words::OBJECTION_REASON_REQUIRED),
        );
    }
    match raise_objection(&state, &person.user, id, reason).await {
        Ok(_) => Ok(see_other("/board?objected=1")),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(ConsoleError::NotFound),
        Err(e) if e.status.is_server_error() => Err(ConsoleError::Problem(e)),
        Err(e) => {
            let notice = notice_of(&state, &person, id).await?;
            again(notice, e.status, words::objection_problem(&e))
        }
    }
}
