//! 账本核验 in the console: the auditor asks for the check (a GET: it only reads, as the JSON
//! API's `verify_ledger` does) and reads the result in Chinese, with each problem named.

use actix_web::http::StatusCode;
use actix_web::web::{get, ServiceConfig};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::http::verify;
use crate::console::page::{local_second, render_with, Chrome, ConsoleError};
use crate::console::session::Person;
use crate::console::{resource, words};
use crate::db::DbUuid;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::Permission;
use crate::reports::store::account_names;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/audit/verify").route(get().to(show_verify)));
}

#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    run: Option<String>,
}

pub struct ProblemLine {
    pub what: &'static str,
    pub kind: String,
    pub seq: String,
    pub account: String,
    pub detail: String,
}

pub struct Outcome {
    pub ok: bool,
    pub transactions: u64,
    pub postings: u64,
    pub problems: Vec<ProblemLine>,
    pub omitted: u64,
    pub checked_at: String,
}

#[derive(Template)]
#[template(path = "console/verify.html")]
struct VerifyPage {
    chrome: Option<Chrome>,
    community: String,
    outcome: Option<Outcome>,
}

/// The check's page; with `run=1` the check runs and the page says what it found.
pub async fn show_verify(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<VerifyQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::VerifyLedger)?;
    let now = state.clock.now();
    let outcome = if query.run.as_deref() == Some("1") {
        let report = verify(&state, &person.user).await?;
        let ids: Vec<DbUuid> = report
            .problems
            .iter()
            .filter_map(|p| p.account_id.map(DbUuid))
            .collect();
        let community = person.user.community_id;
        let names = with_conn(&state, move |conn| {
            Ok(account_names(conn, community, &ids)?)
        })
        .await?;
        Some(Outcome {
            ok: report.ok,
            transactions: report.checked_transactions,
            postings: report.checked_postings,
            problems: report
                .problems
                .iter()
                .map(|p| ProblemLine {
                    what: words::verify_problem_name(&p.kind),
                    kind: p.kind.clone(),
                    seq: p.journal_seq.map(|s| s.to_string()).unwrap_or_default(),
                    account: p
                        .account_id
                        .and_then(|a| names.get(&DbUuid(a)))
                        .map(|(kind, member)| words::account_name(*kind, member.as_ref()))
                        .unwrap_or_default(),
                    detail: p.detail.clone(),
                })
                .collect(),
            omitted: report.problems_omitted,
            checked_at: local_second(person.community.calendar, now),
        })
    } else {
        None
    };
    render_with(
        StatusCode::OK,
        &VerifyPage {
            chrome: Some(Chrome::new(&person, "/audit/verify", now)),
            community: person.community.name.clone(),
            outcome,
        },
    )
}
