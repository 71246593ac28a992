//! The queues: deeds waiting for the first check, for a decision, on notice, returned; filtered
//! by group, rule, date and who recorded them; and the bulk approval of the ones ticked.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::console::page::{points, render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::Person;
use crate::console::words;
use crate::deeds::http::decide::{approve_many, BULK_APPROVAL_IDS_MAX};
use crate::deeds::model::{DeedStatus, ReviewStages};
use crate::deeds::store::{self, QueueFilter};
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::{Permission, RuleId};

/// Deeds one queue page lists at most (as many as one bulk approval takes).
const QUEUE_ROWS_MAX: i64 = BULK_APPROVAL_IDS_MAX as i64;

/// "3 天前": how long a deed has waited since it was recorded.
pub fn age(recorded: NaiveDateTime, now: NaiveDateTime) -> String {
    let waited = now - recorded;
    if waited.num_days() >= 1 {
        format!("{} 天前", waited.num_days())
    } else if waited.num_hours() >= 1 {
        format!("{} 小时前", waited.num_hours())
    } else {
        "刚才".to_string()
    }
}

pub struct Tab {
    pub key: &'static str,
    pub label: &'static str,
    pub active: bool,
}

pub struct Row {
    pub id: String,
    pub member: String,
    pub member_no: String,
    pub group: String,
    pub rule: String,
    pub points: String,
    pub occurred_on: String,
    pub submitter: String,
    pub age: String,
    /// On notice with an undecided objection: not credited until an admin rules.
    pub objected: bool,
}

pub struct RuleChoice {
    pub id: String,
    pub label: String,
    pub chosen: bool,
}

#[derive(Template)]
#[template(path = "console/desk-queue.html")]
struct QueuePage {
    chrome: Option<Chrome>,
    tabs: Vec<Tab>,
    queue: String,
    rows: Vec<Row>,
    groups: Vec<String>,
    rules: Vec<RuleChoice>,
    group: String,
    from: String,
    to: String,
    submitter: String,
    /// Ticking and the bulk approval are offered (an admin, in the decision queue).
    bulk: bool,
    /// Why no bulk approval is offered here, when it is the decision queue.
    bulk_note: &'static str,
    problem: FieldProblem,
}

#[derive(Debug, Deserialize, Default)]
pub struct QueueQuery {
    #[serde(default)]
    queue: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    submitter: String,
}

/// Which deeds a queue holds, in a community reviewing in `stages`.
fn queue_status(queue: &str, stages: ReviewStages) -> DeedStatus {
    match (queue, stages) {
        ("notice", _) => DeedStatus::Approved,
        ("returned", _) => DeedStatus::Returned,
        ("first", _) => DeedStatus::Submitted,
        (_, ReviewStages::Two) => DeedStatus::Reviewed,
        (_, ReviewStages::One) => DeedStatus::Submitted,
    }
}

pub async fn show_queue(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::FirstCheck)?;
    let q = query.into_inner();
    let community = person.user.community_id;
    let settings = with_conn(&state, move |conn| Ok(store::settings(conn, community)?)).await?;
    let stages = ReviewStages::from_count(settings.review_stages);
    let mut keys: Vec<(&'static str, &'static str)> = Vec::new();
    if stages == ReviewStages::Two {
        keys.push(("first", words::QUEUE_FIRST));
    }
    keys.extend([
        ("decision", words::QUEUE_DECISION),
        ("notice", words::QUEUE_NOTICE),
        ("returned", words::QUEUE_RETURNED),
    ]);
    let queue = keys
        .iter()
        .find(|(k, _)| *k == q.queue)
        .map(|(k, _)| *k)
        .unwrap_or(keys[0].0);
    let mut problem = FieldProblem::default();
    let mut date = |field: &str, text: &str| -> Option<String> {
        if text.is_empty() {
            return None;
        }
        match crate::kernel::dates::parse_date(text) {
            Ok(d) => Some(d.format("%Y-%m-%d").to_string()),
            Err(_) => {
                problem = FieldProblem::on(field, words::DESK_DATE_INVALID);
                None
            }
        }
    };
    let from = date("from", q.from.trim());
    let to = date("to", q.to.trim());
    let rule = uuid::Uuid::parse_str(&q.rule).ok().map(RuleId);
    let status = queue_status(queue, stages);
    let group = Some(q.group.trim().to_string()).filter(|g| !g.is_empty());
    let submitter = Some(q.submitter.trim().to_string()).filter(|s| !s.is_empty());
    let (rows, groups, rules, objected) = with_conn(&state, move |conn| {
        let rows = store::queue(
            conn,
            community,
            &QueueFilter {
                status,
                group: group.as_deref(),
                rule,
                from: from.as_deref(),
                to: to.as_deref(),
                submitter: submitter.as_deref(),
                limit: QUEUE_ROWS_MAX,
            },
        )?;
        let groups = store::member_groups(conn, community)?;
        let rules = store::list_rules(conn, community, None, None, 200)?;
        let ids: Vec<_> = rows.iter().map(|r| r.deed.id).collect();
        let objected: std::collections::HashSet<_> = store::open_objections(conn, &ids)?
            .into_iter()
            .map(|o| o.deed_id)
            .collect();
        Ok((rows, groups, rules, objected))
    })
    .await?;
    let now = state.clock.now();
    let is_admin = person.may(Permission::DecideDeeds);
    let page = QueuePage {
        chrome: Some(Chrome::new(&person, "/desk", now)),
        tabs: keys
            .iter()
            .map(|(key, label)| Tab {
                key,
                label,
                active: *key == queue,
            })
            .collect(),
        queue: queue.to_string(),
        rows: rows
            .iter()
            .map(|r| Row {
                id: r.deed.id.0.to_string(),
                member: r.member_name.clone(),
                member_no: r.member_no.clone(),
                group: r.member_group.clone().unwrap_or_default(),
                rule: r.deed.rule_name.clone(),
                points: points(r.deed.points),
                occurred_on: r.deed.occurred_on.clone(),
                submitter: r.submitter.clone(),
                age: age(r.deed.created_at, now),
                objected: objected.contains(&r.deed.id),
            })
            .collect(),
        groups,
        rules: rules
            .iter()
            .map(|(r, v)| RuleChoice {
                id: r.id.0.to_string(),
                label: format!("{} · {}", v.category, v.name),
                chosen: rule.is_some_and(|id| id.0 == r.id.0),
            })
            .collect(),
        group: q.group.trim().to_string(),
        from: q.from.trim().to_string(),
        to: q.to.trim().to_string(),
        submitter: q.submitter.trim().to_string(),
        bulk: queue == "decision" && is_admin,
        bulk_note: if queue == "decision" && !is_admin {
            words::ONLY_ADMINS_DECIDE
        } else {
            ""
        },
        problem,
    };
    let status = if page.problem.message.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with(status, &page)
}

/// One deed's answer in a bulk approval.
pub struct Approved {
    pub id: String,
    pub member: String,
    pub rule: String,
    pub points: String,
    pub status: String,
    pub refusal: String,
}

#[derive(Template)]
#[template(path = "console/desk-approved.html")]
struct ApprovedPage {
    chrome: Option<Chrome>,
    done: usize,
    refused: usize,
    results: Vec<Approved>,
    problem: &'static str,
}

/// The bulk approval of the ticked deeds, in one ledger batch through the JSON API's function;
/// the page answers per deed, refusals with their reasons. It is the answer to the POST (not a
/// redirect), since the refusals are of this one request.
pub async fn approve_chosen(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::DecideDeeds)?;
    let fields = form.into_inner();
    let token = fields
        .iter()
        .find(|(k, _)| k == "form_token")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    person.check_form_token(token)?;
    let mut ids = Vec::new();
    for (key, value) in &fields {
        if key == "deed" {
            let id = uuid::Uuid::parse_str(value).map_err(|_| ConsoleError::BadForm)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        let page = ApprovedPage {
            chrome: Some(Chrome::new(&person, "/desk", state.clock.now())),
            done: 0,
            refused: 0,
            results: Vec::new(),
            problem: words::DESK_NONE_CHOSEN,
        };
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    if ids.len() > BULK_APPROVAL_IDS_MAX {
        return Err(ConsoleError::BadForm);
    }
    let outcomes = approve_many(&state, &person.user, &ids).await?;
    let community = person.user.community_id;
    let wanted = ids.clone();
    let labels = with_conn(&state, move |conn| {
        let mut labels = std::collections::HashMap::new();
        for id in wanted {
            if let Some(d) = store::deed_by_id(conn, community, crate::kernel::DeedId(id))? {
                let name = crate::members::store::member_with_account(
                    conn,
                    community,
                    d.member_id.into(),
                )?
                .map(|(m, _)| m.name)
                .unwrap_or_default();
                labels.insert(id, (name, d.rule_name.clone(), points(d.points)));
            }
        }
        Ok(labels)
    })
    .await?;
    let results: Vec<Approved> = ids
        .iter()
        .zip(outcomes)
        .map(|(id, outcome)| {
            let (member, rule, pts) = labels.get(id).cloned().unwrap_or_default();
            let (status, refusal) = match outcome {
                Ok(deed) => (
                    words::deed_status_name(deed.status.as_str()).to_string(),
                    String::new(),
                ),
                Err(e) => (String::new(), words::problem(&e).message),
            };
            Approved {
                id: id.to_string(),
                member,
                rule,
                points: pts,
                status,
                refusal,
            }
        })
        .collect();
    let refused = results.iter().filter(|r| !r.refusal.is_empty()).count();
    render(&ApprovedPage {
        chrome: Some(Chrome::new(&person, "/desk", state.clock.now())),
        done: results.len() - refused,
        refused,
        results,
        problem: "",
    })
}
