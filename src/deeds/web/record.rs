//! Recording a deed for a resident (登记善行): find the resident, pick a rule of the published
//! schedule, and see the points it gives before confirming. The points are the concept's own
//! (`deeds::model::deed_points` on the rule version in force); the recording is `POST /deeds`'s.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{points, render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::deeds::http::deeds::{declare_deed, SubmitDeedRequest};
use crate::deeds::model::{deed_points, parse_quantity, Unit};
use crate::deeds::store;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::{ActiveStatus, MemberId, Permission, RuleId};
use crate::members::store::MemberFilter;

const MATCHES_MAX: i64 = 20;
const RULES_MAX: i64 = 200;

pub struct Found {
    pub id: String,
    pub member_no: String,
    pub name: String,
    pub group: String,
}

pub struct RuleOption {
    pub id: String,
    pub label: String,
    pub chosen: bool,
}

pub struct Category {
    pub name: String,
    pub rules: Vec<RuleOption>,
}

#[derive(Template)]
#[template(path = "console/desk-record.html")]
struct RecordPage {
    chrome: Option<Chrome>,
    query: String,
    matches: Vec<Found>,
    searched: bool,
    member_id: String,
    member: String,
    categories: Vec<Category>,
    quantity: String,
    occurred_on: String,
    description: String,
    evidence: String,
    /// The points the rule gives, once previewed.
    preview: String,
    problem: FieldProblem,
}

#[derive(Debug, Deserialize, Default)]
pub struct RecordQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    member: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct RecordForm {
    form_token: String,
    member: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    occurred_on: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    evidence: String,
    /// `preview` or `submit`.
    #[serde(default)]
    step: String,
}

/// The published schedule as the form's choices, grouped by category with points and unit; only
/// the rules that give points when `earn_only` (a resident declares no deductions).
pub fn schedule(
    rules: &[(store::RuleRow, store::RuleVersionRow)],
    chosen: &str,
    earn_only: bool,
) -> Vec<Category> {
    let mut categories: Vec<Category> = Vec::new();
    for (rule, version) in rules {
        if earn_only && version.direction != crate::deeds::model::Direction::Earn {
            continue;
        }
        let unit = if version.unit == Unit::Hour {
            "小时"
        } else {
            "次"
        };
        let option = RuleOption {
            id: rule.id.0.to_string(),
            label: format!(
                "{}（每{} {} 分）",
                version.name,
                unit,
                points(version.points)
            ),
            chosen: rule.id.0.to_string() == chosen,
        };
        match categories.iter_mut().find(|c| c.name == version.category) {
            Some(c) => c.rules.push(option),
            None => categories.push(Category {
                name: version.category.clone(),
                rules: vec![option],
            }),
        }
    }
    categories
}

/// The rules of the schedule in force, for the forms that offer them.
pub async fn rules_in_force(
    state: &AppState,
    community: crate::kernel::CommunityId,
) -> Result<Vec<(store::RuleRow, store::RuleVersionRow)>, ConsoleError> {
    Ok(with_conn(state, move |conn| {
        Ok(store::list_rules(
            conn,
            community,
            Some("active"),
            None,
            RULES_MAX,
        )?)
    })
    .await?)
}

/// What the form's rule and quantity are worth, computed as the deed will be (the rule version
/// in force, its per-deed cap): (rule, quantity, points in hundredths), or the problem beside
/// the field that is wrong.
pub async fn worth_of(
    state: &AppState,
    community: crate::kernel::CommunityId,
    rule: &str,
    quantity: &str,
) -> Result<Result<(uuid::Uuid, f64, i64), FieldProblem>, ConsoleError> {
    let Ok(rule) = uuid::Uuid::parse_str(rule) else {
        return Ok(Err(FieldProblem::on("rule", words::RECORD_RULE_REQUIRED)));
    };
    let Ok(quantity) = quantity.trim().parse::<f64>() else {
        return Ok(Err(FieldProblem::on(
            "quantity",
            words::RECORD_QUANTITY_INVALID,
        )));
    };
    let current = with_conn(state, move |conn| {
        Ok(store::rule_with_current(conn, community, RuleId(rule))?)
    })
    .await?;
    let Some((_, version)) = current else {
        return Ok(Err(FieldProblem::on("rule", words::RECORD_RULE_REQUIRED)));
    };
    let counted = parse_quantity("quantity", quantity, version.unit)
        .and_then(|q| deed_points(q, version.per_deed_cap, version.points));
    Ok(match counted {
        Ok((_, worth)) => Ok((rule, quantity, worth)),
        Err(_) => Err(FieldProblem::on("quantity", words::RECORD_QUANTITY_INVALID)),
    })
}

async fn blank(
    state: &AppState,
    person: &Person,
    member: Option<MemberId>,
    form: &RecordForm,
) -> Result<RecordPage, ConsoleError> {
    let community = person.user.community_id;
    let chosen = form.rule.clone();
    let (name, rules) = with_conn(state, move |conn| {
        let name = match member {
            Some(m) => crate::members::store::member_with_account(conn, community, m)?
                .map(|(m, _)| format!("{}（{}）", m.name, m.member_no)),
            None => None,
        };
        let rules = store::list_rules(conn, community, Some("active"), None, RULES_MAX)?;
        Ok((name, rules))
    })
    .await?;
    if member.is_some() && name.is_none() {
        return Err(ConsoleError::NotFound);
    }
    let categories = schedule(&rules, &chosen, false);
    let today = person.community.calendar.day_of(state.clock.now());
    Ok(RecordPage {
        chrome: Some(Chrome::new(person, "/desk/record", state.clock.now())),
        query: String::new(),
        matches: Vec::new(),
        searched: false,
        member_id: member.map(|m| m.0.to_string()).unwrap_or_default(),
        member: name.unwrap_or_default(),
        categories,
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
        evidence: form.evidence.clone(),
        preview: String::new(),
        problem: FieldProblem::default(),
    })
}

pub async fn show_record(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<RecordQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::DeclareForOthers)?;
    if let Ok(id) = uuid::Uuid::parse_str(&query.member) {
        let page = blank(&state, &person, Some(MemberId(id)), &RecordForm::default()).await?;
        return render(&page);
    }
    let mut page = blank(&state, &person, None, &RecordForm::default()).await?;
    let text = query.q.trim().to_string();
    page.query = text.clone();
    page.searched = !query.q.is_empty();
    if text.is_empty() {
        if page.searched {
            page.problem = FieldProblem::on("q", words::SEARCH_EMPTY);
        }
        return render(&page);
    }
    if text.chars().count() > crate::http::SEARCH_CHARS_MAX {
        page.problem = FieldProblem::on("q", words::SEARCH_NONE);
        return render(&page);
    }
    let community = person.user.community_id;
    let found = with_conn(&state, move |conn| {
        Ok(crate::members::store::list_members(
            conn,
            community,
            &MemberFilter {
                member_no: None,
                query: Some(&text),
                only: None,
                after: None,
                limit: MATCHES_MAX,
            },
        )?)
    })
    .await?;
    page.matches = found
        .iter()
        .filter(|(m, _)| m.status == ActiveStatus::Active)
        .map(|(m, _)| Found {
            id: m.id.0.to_string(),
            member_no: m.member_no.clone(),
            name: m.name.clone(),
            group: m.member_group.clone().unwrap_or_default(),
        })
        .collect();
    if page.matches.is_empty() {
        page.problem = FieldProblem::on("q", words::SEARCH_NONE);
    }
    render(&page)
}

pub async fn record(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<RecordForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::DeclareForOthers)?;
    person.check_form_token(&form.form_token)?;
    let member = uuid::Uuid::parse_str(&form.member)
        .map(MemberId)
        .map_err(|_| ConsoleError::BadForm)?;
    let mut page = blank(&state, &person, Some(member), &form).await?;
    let again = |mut page: RecordPage, problem: FieldProblem| {
        page.problem = problem;
        render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let community = person.user.community_id;
    let (rule, quantity, worth) =
        match worth_of(&state, community, &form.rule, &form.quantity).await? {
            Ok(found) => found,
            Err(problem) => return again(page, problem),
        };
    if form.step != "submit" {
        page.preview = points(worth);
        return render(&page);
    }
    let evidence: Vec<String> = form
        .evidence
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let request = SubmitDeedRequest {
        member_id: member.0,
        rule_id: rule,
        quantity,
        occurred_on: form.occurred_on.trim().to_string(),
        description: form.description.clone(),
        evidence: Some(evidence),
    };
    match declare_deed(&state, &person.user, request).await {
        Ok(view) => Ok(see_other(&format!("/desk/deeds/{}", view.id))),
        Err(e) if e.status.is_server_error() => Err(ConsoleError::Problem(e)),
        Err(e) => {
            let status = e.status;
            let mut problem = words::problem(&e);
            if problem.field.is_empty() {
                problem.field = "form".into();
            }
            page.problem = problem;
            page.preview = points(worth);
            render_with(status, &page)
        }
    }
}
