//! The day's register (兑换登记本) and totals: today by default, any day, printable on A4.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{
    local_minute, points, render, render_with, Chrome, ConsoleError, FieldProblem,
};
use crate::console::session::Person;
use crate::http::state::AppState;
use crate::kernel::Permission;
use crate::shop::http::redemptions::day_register;
use crate::shop::model::RedemptionStatus;

use super::counter::receipt_number;

pub struct RegisterRow {
    pub id: String,
    pub number: String,
    pub time: String,
    pub member_no: String,
    pub member_name: String,
    pub items: String,
    pub total: String,
    pub clerk: String,
    pub voided: bool,
}

pub struct ItemTotal {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
}

#[derive(Template)]
#[template(path = "console/register.html")]
struct RegisterPage {
    chrome: Option<Chrome>,
    community: String,
    day: String,
    rows: Vec<RegisterRow>,
    standing: i64,
    voided: i64,
    coins: String,
    items: Vec<ItemTotal>,
    printed: String,
    problem: FieldProblem,
}

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    day: Option<String>,
}

pub async fn show_register(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<DayQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReadRegister)?;
    let now = state.clock.now();
    let calendar = person.community.calendar;
    let asked = query
        .day
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let (totals, rows, problem) = match day_register(&state, &person.user, asked).await {
        Ok((totals, rows)) => (totals, rows, FieldProblem::default()),
        Err(e) if e.status.is_client_error() => {
            let (totals, rows) = day_register(&state, &person.user, None).await?;
            let problem = FieldProblem::on("day", crate::console::words::DAY_INVALID);
            (totals, rows, problem)
        }
        Err(e) => return Err(e.into()),
    };
    let page = RegisterPage {
        chrome: Some(Chrome::new(&person, "/counter/register", now)),
        community: person.community.name.clone(),
        day: totals.day.clone(),
        rows: rows
            .iter()
            .map(|(row, lines)| RegisterRow {
                id: row.id.0.to_string(),
                number: receipt_number(row.id.0),
                time: local_minute(calendar, row.created_at)
                    .split(' ')
                    .nth(1)
                    .unwrap_or_default()
                    .to_string(),
                member_no: row.member_no.clone(),
                member_name: row.member_name.clone(),
                items: lines
                    .iter()
                    .map(|l| format!("{}×{}", l.name, l.quantity))
                    .collect::<Vec<_>>()
                    .join("、"),
                total: points(row.total),
                clerk: row.clerk_username.clone(),
                voided: row.status != RedemptionStatus::Completed,
            })
            .collect(),
        standing: totals.redemptions,
        voided: totals.voided,
        coins: totals.coins_taken.clone(),
        items: totals
            .items
            .iter()
            .map(|i| ItemTotal {
                sku: i.sku.clone(),
                name: i.name.clone(),
                quantity: i.quantity,
            })
            .collect(),
        printed: local_minute(calendar, now),
        problem,
    };
    if page.problem.field.is_empty() {
        render(&page)
    } else {
        render_with(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page)
    }
}
