//! The passbook as a download from the console: `/passbook/{account_id}/statement.csv` and
//! `.xlsx`, with `from` and `to` (local dates, both optional). The file is the JSON API's
//! (`passbook::http::statements::statement_file`), and so is the rule of who may have it: the
//! account's holder, or a user who may read statements; anyone else gets the 404 page.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::console::page::ConsoleError;
use crate::console::session::Person;
use crate::http::query_period;
use crate::http::state::AppState;
use crate::kernel::AccountId;
use crate::passbook::export::ExportFormat;
use crate::passbook::http::statements::statement_file;

/// The period of a download. An empty box of a date form means no bound.
#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

pub async fn statement_csv(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ConsoleError> {
    download(
        &state,
        &person,
        path.into_inner(),
        &query,
        ExportFormat::Csv,
    )
    .await
}

pub async fn statement_xlsx(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ConsoleError> {
    download(
        &state,
        &person,
        path.into_inner(),
        &query,
        ExportFormat::Xlsx,
    )
    .await
}

async fn download(
    state: &AppState,
    person: &Person,
    account_id: uuid::Uuid,
    query: &PeriodQuery,
    format: ExportFormat,
) -> Result<HttpResponse, ConsoleError> {
    let given = |text: &Option<String>| {
        text.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let (from, to) = (given(&query.from), given(&query.to));
    let (from, to) = query_period(from.as_deref(), to.as_deref())?;
    let file = statement_file(state, &person.user, AccountId(account_id), from, to, format).await?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((header::CONTENT_DISPOSITION, file.disposition))
        .body(file.bytes))
}

#[cfg(test)]
mod tests {
    use crate::http::problem::ApiError;

    #[test]
    fn a_period_too_long_to_export_is_said_in_chinese_with_the_limit() {
        let refusal = ApiError::validation("the period holds more than 20000 lines")
            .with("lines_max", 20_000);
        let message = crate::console::words::problem(&refusal).message;
        assert_eq!(
            message,
            "这段时间的流水超过 20000 行，一个文件装不下。请缩短起止日期，分几次导出。"
        );
    }
}
