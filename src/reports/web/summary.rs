//! 报表: the period summary (community-local dates, this month unless asked otherwise) as a
//! table, with the months before it as charts, on screen and on A4.

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use crate::console::page::{local_minute, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::Person;
use crate::console::words;
use crate::http::state::AppState;
use crate::kernel::{LocalCalendar, Permission, PointsTotal};
use crate::reports::http::{monthly_series, summary, Summary};
use crate::reports::store::{MonthFigures, SummaryFigures};

use super::chart::{category_bars, month_line, paired_bars, MonthLabel};

/// Months the charts show, ending with the period's last month.
pub const CHART_MONTHS: usize = 12;

#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// One line of the summary table; `id` names its figure for tests and links.
pub struct FigureRow {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    pub note: &'static str,
}

pub struct MonthRow {
    pub month: String,
    pub issued: String,
    pub redeemed: String,
    pub outstanding: String,
}

pub struct CategoryRow {
    pub category: String,
    pub issued: String,
}

/// The report of one period, ready for the page and its print.
pub struct Report {
    pub period: String,
    pub rows: Vec<FigureRow>,
    pub categories: Vec<CategoryRow>,
    pub months: Vec<MonthRow>,
    pub months_span: String,
    pub issuance_svg: String,
    pub categories_svg: String,
    pub outstanding_svg: String,
}

/// A quick choice of period above the form.
pub struct QuickPeriod {
    pub label: &'static str,
    pub href: String,
}

#[derive(Template)]
#[template(path = "console/report.html")]
struct ReportPage {
    chrome: Option<Chrome>,
    community: String,
    from: String,
    to: String,
    query: String,
    quick: Vec<QuickPeriod>,
    report: Option<Report>,
    problem: FieldProblem,
    printed: String,
}

#[derive(Template)]
#[template(path = "console/report-print.html")]
struct ReportPrint {
    community: String,
    query: String,
    report: Report,
    printed: String,
}

/// The period the query asks for, as typed: this month up to today when it names none.
fn asked_period(query: &PeriodQuery, today: NaiveDate) -> (String, String) {
    if query.from.is_none() && query.to.is_none() {
        let first = LocalCalendar::first_of_month(today);
        return (first.to_string(), today.to_string());
    }
    let text = |t: &Option<String>| t.as_deref().unwrap_or("").trim().to_string();
    (text(&query.from), text(&query.to))
}

fn present(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

fn period_query(from: &str, to: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    // Dates stay readable in the address (2026-12-01); anything else typed is encoded.
    const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-');
    format!(
        "from={}&to={}",
        utf8_percent_encode(from, QUERY_VALUE),
        utf8_percent_encode(to, QUERY_VALUE)
    )
}

fn quick_periods(today: NaiveDate) -> Vec<QuickPeriod> {
    let first = LocalCalendar::first_of_month(today);
    let last_month_end = first.pred_opt().unwrap_or(first);
    let last_month = LocalCalendar::first_of_month(last_month_end);
    let new_year = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(first);
    let link = |from: String, to: String| format!("/reports?{}", period_query(&from, &to));
    vec![
        QuickPeriod {
            label: "本月",
            href: link(first.to_string(), today.to_string()),
        },
        QuickPeriod {
            label: "上月",
            href: link(last_month.to_string(), last_month_end.to_string()),
        },
        QuickPeriod {
            label: "今年",
            href: link(new_year.to_string(), today.to_string()),
        },
        QuickPeriod {
            label: "开始至今",
            href: link(String::new(), String::new()),
        },
    ]
}

fn month_labels(series: &[MonthFigures]) -> Vec<MonthLabel> {
    series
        .iter()
        .enumerate()
        .map(|(i, m)| MonthLabel {
            month: format!("{}月", m.month.month()),
            year: (i == 0 || m.month.month() == 1).then(|| format!("{}年", m.month.year())),
        })
        .collect()
}

const ISSUANCE_TITLE: &str = "每月发放与兑换（分）";
const CATEGORIES_TITLE: &str = "本期按类别发放（分）";
const OUTSTANDING_TITLE: &str = "每月末居民结存（分）";

fn issuance_chart(id: &str, series: &[MonthFigures]) -> String {
    let issued: Vec<PointsTotal> = series.iter().map(|m| m.issued).collect();
    let redeemed: Vec<PointsTotal> = series.iter().map(|m| m.redeemed_net).collect();
    paired_bars(
        id,
        ISSUANCE_TITLE,
        &month_labels(series),
        [("发放", &issued), ("兑换（扣除撤销）", &redeemed)],
    )
}

fn categories_chart(id: &str, figures: &SummaryFigures) -> String {
    category_bars(id, CATEGORIES_TITLE, &figures.issued_by_category)
}

fn outstanding_chart(id: &str, series: &[MonthFigures]) -> String {
    let held: Vec<PointsTotal> = series.iter().map(|m| m.outstanding_end).collect();
    month_line(
        id,
        OUTSTANDING_TITLE,
        &month_labels(series),
        "月末结存",
        &held,
    )
}

fn figure_rows(s: &Summary) -> Vec<FigureRow> {
    let row = |id, label, value: &String, note| FigureRow {
        id,
        label,
        value: value.clone(),
        note,
    };
    vec![
        row(
            "issued",
            "发放积分",
            &s.issued,
            "好人好事审核通过后记入存折",
        ),
        row("deducted", "扣分", &s.deducted, "违反公约扣除"),
        row(
            "reversed",
            "冲正收回",
            &s.reversed,
            "已发放的积分因有误收回",
        ),
        row(
            "reversed_deductions",
            "冲正退回",
            &s.reversed_deductions,
            "扣错的分退回存折",
        ),
        row("adjusted_in", "调整增加", &s.adjusted_in, "期初结转、更正"),
        row("adjusted_out", "调整减少", &s.adjusted_out, "更正"),
        row("redeemed", "兑换支出", &s.redeemed, "在积分超市兑换商品"),
        row("voided", "兑换撤销退回", &s.voided, "撤销的兑换退回存折"),
        row("donated", "爱心捐赠", &s.donated, "居民捐入爱心基金"),
        row("granted", "基金救助", &s.granted, "爱心基金救助居民"),
        row(
            "expired",
            "过期清零",
            &s.expired,
            "按社区规定到期作废的积分",
        ),
        row(
            "outstanding",
            "期末居民结存",
            &s.outstanding,
            "本期结束时居民存折上的积分合计",
        ),
        row(
            "shop_stock_value",
            "超市库存价值",
            &s.shop_stock_value,
            "在售商品 单价×库存，按现在计",
        ),
    ]
}

fn period_words(s: &Summary) -> String {
    format!(
        "{} 至 {}",
        s.from.as_deref().unwrap_or("开始"),
        s.to.as_deref().unwrap_or("今天")
    )
}

/// The report of `from` … `to` (either may be empty: open), or the problem with the dates.
async fn report(
    state: &AppState,
    person: &Person,
    from: &str,
    to: &str,
    ids: &str,
) -> Result<Result<Report, (StatusCode, FieldProblem)>, ConsoleError> {
    let (summary, figures) = match summary(state, &person.user, present(from), present(to)).await {
        Ok(found) => found,
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            return Ok(Err((e.status, words::problem(&e))));
        }
        Err(e) => return Err(e.into()),
    };
    let today = person.community.calendar.day_of(state.clock.now());
    let through = summary
        .to
        .as_deref()
        .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        .unwrap_or(today);
    let series = monthly_series(state, &person.user, through, CHART_MONTHS).await?;
    let months_span = match (series.first(), series.last()) {
        (Some(a), Some(b)) => format!("{} 至 {}", a.month.format("%Y-%m"), b.month.format("%Y-%m")),
        _ => String::new(),
    };
    Ok(Ok(Report {
        period: period_words(&summary),
        rows: figure_rows(&summary),
        categories: summary
            .by_category
            .iter()
            .map(|c| CategoryRow {
                category: c.category.clone(),
                issued: c.issued.clone(),
            })
            .collect(),
        months: series
            .iter()
            .map(|m| MonthRow {
                month: m.month.format("%Y-%m").to_string(),
                issued: m.issued.to_string(),
                redeemed: m.redeemed_net.to_string(),
                outstanding: m.outstanding_end.to_string(),
            })
            .collect(),
        months_span,
        issuance_svg: issuance_chart(&format!("{ids}issuance"), &series),
        categories_svg: categories_chart(&format!("{ids}categories"), &figures),
        outstanding_svg: outstanding_chart(&format!("{ids}outstanding"), &series),
    }))
}

/// The report page: the period form, the figures and the charts.
pub async fn show_report(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReadReports)?;
    let now = state.clock.now();
    let calendar = person.community.calendar;
    let today = calendar.day_of(now);
    let (from, to) = asked_period(&query, today);
    let found = report(&state, &person, &from, &to, "chart-").await?;
    let (status, report, problem) = match found {
        Ok(report) => (StatusCode::OK, Some(report), FieldProblem::default()),
        Err((status, problem)) => (status, None, problem),
    };
    render_with(
        status,
        &ReportPage {
            chrome: Some(Chrome::new(&person, "/reports", now)),
            community: person.community.name.clone(),
            query: period_query(&from, &to),
            from,
            to,
            quick: quick_periods(today),
            report,
            problem,
            printed: local_minute(calendar, now),
        },
    )
}

/// The report on A4, a page of its own.
pub async fn print_report(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReadReports)?;
    let now = state.clock.now();
    let calendar = person.community.calendar;
    let (from, to) = asked_period(&query, calendar.day_of(now));
    let report = match report(&state, &person, &from, &to, "print-").await? {
        Ok(report) => report,
        // The print is reached from a report that showed; bad dates typed into its address get
        // the screen page, which says what is wrong beside the field.
        Err(_) => {
            return Ok(crate::console::session::see_other(&format!(
                "/reports?{}",
                period_query(&from, &to)
            )))
        }
    };
    render_with(
        StatusCode::OK,
        &ReportPrint {
            community: person.community.name.clone(),
            query: period_query(&from, &to),
            report,
            printed: local_minute(calendar, now),
        },
    )
}

/// One chart as an SVG file of its own (`issuance`, `categories`, `outstanding`).
pub async fn chart_svg(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<String>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReadReports)?;
    let chart = path.into_inner();
    if !matches!(chart.as_str(), "issuance" | "categories" | "outstanding") {
        return Err(ConsoleError::NotFound);
    }
    let today = person.community.calendar.day_of(state.clock.now());
    let (from, to) = asked_period(&query, today);
    let report = match report(&state, &person, &from, &to, "").await? {
        Ok(report) => report,
        Err((status, problem)) => {
            // The problem's words are the console's own sentences, never what was typed.
            return Ok(HttpResponse::build(status)
                .content_type(ContentType::html())
                .body(format!(
                    "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>{}</title><p>{}</p></html>",
                    words::TITLE_PROBLEM,
                    problem.message
                )));
        }
    };
    let svg = match chart.as_str() {
        "issuance" => report.issuance_svg,
        "categories" => report.categories_svg,
        _ => report.outstanding_svg,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"))
        .body(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{svg}\n"
        )))
}
