//! The roster file in the console: upload a CSV or .xlsx, see the dry run's report (every
//! problem as a table row, in Chinese, or the residents it would create), then import for real;
//! and the export links.
//!
//! The upload is a multipart form read whole with the JSON endpoint's [`read_body`] (the same
//! 8 MiB limit), and checked and imported by the same [`import_roster_file`]. A checked file
//! travels back with the confirmation form (hex in a hidden field) with an Idempotency-Key drawn
//! when it was checked, so a double click on 导入 imports once.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::kernel::Permission;
use crate::members::http::roster::{
    import_roster_file, read_body, roster_file, ImportPreview, RosterImport,
};
use crate::members::model::sheet::{Column, RowProblem};

/// Residents the check page lists before "and N more".
pub const PREVIEW_ROWS_SHOWN_MAX: usize = 200;

/// One part of a multipart form.
#[derive(Debug)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| at + from)
}

/// The boundary a `multipart/form-data` Content-Type names.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

/// A parameter of a Content-Disposition header line: `name="file"`.
fn disposition_param(line: &str, key: &str) -> Option<String> {
    line.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The parts of a multipart body (RFC 7578), or None when it is not one.
pub fn parts(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(parts);
        }
        if body.get(at..at + 2) != Some(b"\r\n") {
            return None;
        }
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = std::str::from_utf8(&body[head_start..head_end]).ok()?;
        let data_start = head_end + 4;
        let data_end = find(body, &next_delimiter, data_start)?;
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            data: body[data_start..data_end].to_vec(),
        };
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                part.name = disposition_param(value, "name").unwrap_or_default();
                part.filename = disposition_param(value, "filename").filter(|f| !f.is_empty());
            } else if key.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_string());
            }
        }
        parts.push(part);
        at = data_end + next_delimiter.len();
    }
}

/// A row of the problem table.
pub struct ProblemLine {
    pub row: String,
    pub column: String,
    pub message: String,
}

/// A resident the import would create.
pub struct PreviewLine {
    pub row: u32,
    pub member_no: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub group: String,
    pub opening_balance: String,
}

#[derive(Template)]
#[template(path = "console/roster-import.html")]
struct ImportPage {
    chrome: Option<Chrome>,
    /// The file's name as uploaded, once one was.
    file_name: String,
    rows: usize,
    problems: Vec<ProblemLine>,
    preview: Vec<PreviewLine>,
    more: usize,
    would_create: usize,
    opening_total: String,
    /// For the confirmation form: the checked file, its type and the import's key.
    sheet: String,
    sheet_type: String,
    key: String,
    problem: FieldProblem,
}

impl ImportPage {
    fn empty(person: &Person, state: &AppState) -> ImportPage {
        ImportPage {
            chrome: Some(Chrome::new(person, "/members", state.clock.now())),
            file_name: String::new(),
            rows: 0,
            problems: Vec::new(),
            preview: Vec::new(),
            more: 0,
            would_create: 0,
            opening_total: String::new(),
            sheet: String::new(),
            sheet_type: String::new(),
            key: String::new(),
            problem: FieldProblem::default(),
        }
    }
}

pub async fn show_import(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::RegisterMembers)?;
    render(&ImportPage::empty(&person, &state))
}

/// A column as the problem table names it: the header the file has, or the roster's own.
fn column_name(problem: &RowProblem) -> String {
    if let Some(header) = problem.header.as_ref().filter(|h| !h.is_empty()) {
        return header.clone();
    }
    match problem.column.as_deref().and_then(Column::parse) {
        Some(column) => column.header().to_string(),
        None => String::new(),
    }
}

fn problem_line(problem: &RowProblem) -> ProblemLine {
    ProblemLine {
        row: if problem.row == 0 {
            words::ROSTER_WHOLE_FILE.to_string()
        } else {
            format!("第 {} 行", problem.row)
        },
        column: column_name(problem),
        message: words::roster_problem(&problem.code, &problem.message),
    }
}

/// The problems a refused real import carries (its `problems`, as the JSON answer has them).
fn refused_problems(e: &ApiError) -> Vec<RowProblem> {
    let Some(serde_json::Value::Array(items)) = e.extra.get("problems") else {
        return Vec::new();
    };
    items
        .iter()
        .map(|p| RowProblem {
            row: p["row"].as_u64().unwrap_or(0) as u32,
            column: p["column"].as_str().map(str::to_string),
            header: p["header"].as_str().map(str::to_string),
            code: p["code"].as_str().unwrap_or("").to_string(),
            message: p["message"].as_str().unwrap_or("").to_string(),
        })
        .collect()
}

fn fill_preview(page: &mut ImportPage, preview: &ImportPreview) {
    page.rows = preview.rows;
    page.would_create = preview.would_create;
    page.opening_total = preview.opening_total.clone();
    page.problems = preview.problems.iter().map(problem_line).collect();
    page.more = preview.items.len().saturating_sub(PREVIEW_ROWS_SHOWN_MAX);
    page.preview = preview
        .items
        .iter()
        .take(PREVIEW_ROWS_SHOWN_MAX)
        .map(|r| PreviewLine {
            row: r.row,
            member_no: r
                .member_no
                .clone()
                .unwrap_or_else(|| words::ROSTER_NUMBER_GENERATED.to_string()),
            name: r.name.clone(),
            phone: r.phone.clone().unwrap_or_default(),
            address: r.address_line.clone(),
            group: r.group.clone().unwrap_or_default(),
            opening_balance: r.opening_balance.clone(),
        })
        .collect();
}

/// What the upload form sent.
struct Upload {
    form_token: String,
    step: String,
    file: Option<Part>,
    sheet: Option<Vec<u8>>,
    sheet_type: String,
    file_name: String,
    key: String,
}

fn read_upload(content_type: &str, body: &[u8]) -> Option<Upload> {
    let parts = parts(body, &boundary(content_type)?)?;
    let text = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.data).trim().to_string())
            .unwrap_or_default()
    };
    let sheet = text("sheet");
    let mut upload = Upload {
        form_token: text("form_token"),
        step: text("step"),
        sheet: if sheet.is_empty() {
            None
        } else {
            Some(hex::decode(&sheet).ok()?)
        },
        sheet_type: text("sheet_type"),
        file_name: text("file_name"),
        key: text("key"),
        file: None,
    };
    upload.file = parts
        .into_iter()
        .find(|p| p.name == "file" && p.filename.is_some() && !p.data.is_empty());
    Some(upload)
}

/// The upload: `step=check` runs the dry run and shows its report; `step=import` imports the
/// file the check page carried, under the key drawn when it was checked.
pub async fn import(
    state: web::Data<AppState>,
    person: Person,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::RegisterMembers)?;
    let mut page = ImportPage::empty(&person, &state);
    let body = match read_body(payload).await {
        Ok(body) => body,
        Err(e) if e.status == StatusCode::PAYLOAD_TOO_LARGE => {
            page.problem = FieldProblem::on("file", words::ROSTER_TOO_LARGE);
            return render_with(StatusCode::PAYLOAD_TOO_LARGE, &page);
        }
        Err(_) => return Err(ConsoleError::BadForm),
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let upload = read_upload(content_type, &body).ok_or(ConsoleError::BadForm)?;
    drop(body);
    person.check_form_token(&upload.form_token)?;
    let (bytes, file_type, file_name, key) = match (upload.step.as_str(), upload.file, upload.sheet)
    {
        ("import", _, Some(sheet)) if !upload.key.is_empty() => {
            (sheet, upload.sheet_type, upload.file_name, Some(upload.key))
        }
        (_, Some(file), _) => (
            file.data,
            file.content_type.unwrap_or_default(),
            file.filename.unwrap_or_default(),
            None,
        ),
        _ => {
            page.problem = FieldProblem::on("file", words::ROSTER_FILE_REQUIRED);
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    page.file_name = file_name.clone();
    // A browser names a .csv `text/csv`, or `application/vnd.ms-excel` on Windows; the file's
    // bytes decide when the type says nothing useful.
    let given_type = Some(file_type.as_str()).filter(|t| t.starts_with("text/csv"));
    let sheet = bytes.clone();
    match import_roster_file(&state, &person.user, key, bytes, given_type).await {
        Ok(RosterImport::Imported(summary)) => {
            Ok(see_other(&format!("/members?imported={}", summary.created)))
        }
        Ok(RosterImport::Preview(preview)) => {
            fill_preview(&mut page, &preview);
            if preview.problems.is_empty() && preview.would_create > 0 {
                page.sheet = hex::encode(&sheet);
                page.sheet_type = file_type;
                page.key = uuid::Uuid::now_v7().to_string();
                render(&page)
            } else {
                if preview.would_create == 0 && preview.problems.is_empty() {
                    page.problem = FieldProblem::on("file", words::ROSTER_NO_ROWS);
                }
                render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
            }
        }
        Err(e) if e.status.is_client_error() => {
            let problems = refused_problems(&e);
            if problems.is_empty() {
                page.problem = words::problem(&e);
                page.problem.field = "file".into();
            } else {
                page.problems = problems.iter().map(problem_line).collect();
            }
            render_with(e.status, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
}

/// The roster file, as the JSON export writes it.
pub async fn export(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::RegisterMembers)?;
    let format = query.format.as_deref().unwrap_or("xlsx");
    let file = roster_file(&state, &person.user, format).await?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((header::CONTENT_DISPOSITION, file.disposition))
        .body(file.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_body_gives_its_fields_and_file() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"form_token\"\r\n\r\nabc\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\nContent-Type: text/csv\r\n\r\n\
\xe5\xa7\x93\xe5\x90\x8d\r\n\xe7\x8e\x8b\r\n\r\n--XyZ--\r\n";
        let ct = "multipart/form-data; boundary=XyZ";
        let parts = parts(body, &boundary(ct).unwrap()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "form_token");
        assert_eq!(parts[0].data, b"abc");
        assert_eq!(parts[1].filename.as_deref(), Some("r.csv"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/csv"));
        assert_eq!(parts[1].data, "姓名\r\n王\r\n".as_bytes());
    }

    #[test]
    fn a_body_that_is_not_multipart_is_none() {
        assert!(boundary("application/x-www-form-urlencoded").is_none());
        assert!(parts(b"--XyZ\r\nno end", "XyZ").is_none());
        assert!(parts(b"nothing", "XyZ").is_none());
    }
}
