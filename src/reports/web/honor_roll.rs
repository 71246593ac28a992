//! 光荣榜 as pages: a month (this month, community-local, by default), ranks shared by ties as
//! the JSON API ranks them, and a certificate-like A4 print for the notice wall.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{local_minute, render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::Person;
use crate::console::words;
use crate::http::state::AppState;
use crate::kernel::Permission;
use crate::reports::http::{honor_roll, HonorRoll};

/// One place on the roll, as the page writes it.
pub struct Place {
    pub rank: usize,
    pub member_no: String,
    pub member_name: String,
    pub earned: String,
}

/// The roll of one month.
pub struct Roll {
    pub community: String,
    /// `2026-12`, for the month picker and links.
    pub month: String,
    /// `2026年12月`, for the title.
    pub month_words: String,
    pub places: Vec<Place>,
    pub printed: String,
}

#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

fn month_words(month: &str) -> String {
    match month.split_once('-') {
        Some((year, m)) => format!("{year}年{}月", m.trim_start_matches('0')),
        None => month.to_string(),
    }
}

/// This month on the community's calendar, `2026-12`.
fn this_month(state: &AppState, person: &Person) -> String {
    person
        .community
        .calendar
        .local(state.clock.now())
        .format("%Y-%m")
        .to_string()
}

/// The roll of the month asked for, or of this month with the problem when the month is not one.
async fn roll_for(
    state: &AppState,
    person: &Person,
    asked: Option<&str>,
) -> Result<(Roll, FieldProblem), ConsoleError> {
    let now = state.clock.now();
    let this_month = this_month(state, person);
    let asked = asked.map(str::trim).filter(|m| !m.is_empty());
    let (roll, problem) =
        match honor_roll(state, &person.user, asked.unwrap_or(&this_month), None).await {
            Ok(roll) => (roll, FieldProblem::default()),
            Err(e) if e.status.is_client_error() => {
                let roll = honor_roll(state, &person.user, &this_month, None).await?;
                (roll, FieldProblem::on("month", words::MONTH_INVALID))
            }
            Err(e) => return Err(e.into()),
        };
    Ok((roll_of(person, roll, now), problem))
}

fn roll_of(person: &Person, roll: HonorRoll, now: chrono::NaiveDateTime) -> Roll {
    Roll {
        community: person.community.name.clone(),
        month_words: month_words(&roll.month),
        month: roll.month,
        places: roll
            .items
            .into_iter()
            .map(|p| Place {
                rank: p.rank,
                member_no: p.member_no.unwrap_or_default(),
                member_name: p.member_name,
                earned: p.earned,
            })
            .collect(),
        printed: local_minute(person.community.calendar, now),
    }
}

#[derive(Template)]
#[template(path = "console/honor-roll.html")]
struct HonorRollPage {
    chrome: Option<Chrome>,
    roll: Roll,
    /// Staff who read the roster also see passbook numbers.
    show_numbers: bool,
    asked: String,
    problem: FieldProblem,
}

#[derive(Template)]
#[template(path = "console/honor-roll-print.html")]
struct HonorRollPrint {
    roll: Roll,
    /// The signed head the print rests on (signed at print time if the community has none).
    board_head: Option<crate::trust::view::BoardHead>,
}

pub async fn show_honor_roll(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<MonthQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let (roll, problem) = roll_for(&state, &person, query.month.as_deref()).await?;
    let page = HonorRollPage {
        chrome: Some(Chrome::new(&person, "/honor-roll", state.clock.now())),
        show_numbers: person.may(Permission::ReadMembers),
        asked: if problem.field.is_empty() {
            roll.month.clone()
        } else {
            query.month.clone().unwrap_or_default()
        },
        roll,
        problem,
    };
    if page.problem.field.is_empty() {
        render(&page)
    } else {
        render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
    }
}

/// The A4 print of a month's roll; a month that is not one is a page that says so (4xx).
pub async fn print_honor_roll(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    person: Person,
    query: web::Query<MonthQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let month = match query.month.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => this_month(&state, &person),
    };
    let roll = honor_roll(&state, &person.user, &month, None).await?;
    let base = crate::trust::view::base_url(&req.connection_info());
    let (id, code, now) = (
        person.user.community_id,
        person.community.code.clone(),
        state.clock.now(),
    );
    let head = crate::http::with_conn(&state, move |conn| {
        Ok(crate::trust::view::board_head(conn, id, &code, now, true)?)
    })
    .await?;
    let calendar = person.community.calendar;
    render(&HonorRollPrint {
        roll: roll_of(&person, roll, state.clock.now()),
        board_head: head.map(|h| {
            crate::trust::view::BoardHead::of(&h, &base, |t| {
                crate::console::page::local_minute(calendar, t)
            })
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::month_words;

    #[test]
    fn a_month_is_written_as_people_write_it() {
        assert_eq!(month_words("2026-01"), "2026年1月");
        assert_eq!(month_words("2026-12"), "2026年12月");
    }
}
