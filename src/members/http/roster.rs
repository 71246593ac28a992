//! The roster (花名册) as a file: import a CSV or .xlsx of residents (with a dry run that names
//! every problem), and export the roster in the same columns so an export imports again.
//!
//! A real import is all or nothing. Its members and accounts are inserted in one database
//! transaction together with the import record (who, which Idempotency-Key, the body's hash, the
//! summary); then every opening balance goes to the ledger as one job, one ledger transaction,
//! each adjustment under a key derived from the import and the row. A retry with the same key and
//! body finds the record, answers its summary, and posts whatever a crash left unposted: the
//! derived keys make each opening balance exactly-once.

use std::collections::{HashMap, HashSet};

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::adjustments::plan::{Adjust, AdjustmentKind};
use crate::commands::{Command, Outcome};
use crate::db::DbConn;
use crate::http::extract::AuthUser;
use crate::http::idempotency::{idempotency_key, key_reused};
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{with_conn, with_replica};
use crate::kernel::{AccountId, CommunityId, Permission, Points, UserId};
use crate::ledger::{IdempotencyClaim, LedgerError};
use crate::members::model::roster::Phone;
use crate::members::model::sheet::{
    read_sheet, sheet_format, Column, ExportRow, ImportRow, Layout, RowProblem, SheetFormat,
    XLSX_CONTENT_TYPE,
};
use crate::members::store::import::{self as store, RosterImportRow};

/// Largest roster file accepted, in bytes: 5,000 rows of CSV take about 0.6 MiB, an .xlsx less.
pub const ROSTER_IMPORT_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Members one export writes at most.
pub const ROSTER_EXPORT_ROWS_MAX: i64 = 100_000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true`: check every row against the file and the database and answer what would be
    /// created and every problem, writing nothing (no Idempotency-Key needed).
    pub dry_run: Option<bool>,
}

/// One member an import created.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportedMember {
    /// The spreadsheet's row number.
    pub row: u32,
    pub member_id: uuid::Uuid,
    pub member_no: String,
    pub name: String,
    pub account_id: uuid::Uuid,
    #[schema(example = "35.50")]
    pub opening_balance: String,
}

/// What an import did; a retry with the same key and body answers this again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    pub import_id: uuid::Uuid,
    /// Members (and passbook accounts) created.
    pub created: usize,
    /// Opening balances posted through the ledger (rows with a balance above zero).
    pub opening_balances: usize,
    #[schema(example = "1234.50")]
    pub opening_total: String,
    pub members: Vec<ImportedMember>,
}

/// One row a dry run would create.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportPreviewRow {
    pub row: u32,
    /// Null: a number will be generated.
    pub member_no: Option<String>,
    pub name: String,
    /// Normalised.
    pub phone: Option<String>,
    pub address_line: String,
    pub id_last4: Option<String>,
    pub group: Option<String>,
    /// Null: the day of the import.
    pub joined_on: Option<String>,
    pub opening_balance: String,
}

/// A dry run's answer: what would be created and every problem. Nothing was written.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportPreview {
    pub dry_run: bool,
    /// Data rows read (blank rows are skipped).
    pub rows: usize,
    /// Rows without a problem; a real run creates them only when `problems` is empty.
    pub would_create: usize,
    pub opening_total: String,
    pub problems: Vec<RowProblem>,
    pub items: Vec<ImportPreviewRow>,
}

/// The body, refused with 413 once it passes the limit (the console's upload form reads its
/// multipart body with this too).
pub async fn read_body(payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    match payload.to_bytes_limited(ROSTER_IMPORT_BYTES_MAX).await {
        Ok(Ok(bytes)) => Ok(bytes.to_vec()),
        Ok(Err(_)) => Err(ApiError::bad_request(
            "malformed_request",
            "the body could not be read",
        )),
        Err(_) => Err(ApiError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("a roster file may have at most {ROSTER_IMPORT_BYTES_MAX} bytes; split it"),
        )),
    }
}

/// The fingerprint of an import: the endpoint and the file's bytes.
fn import_hash(body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"POST /api/v1/members/import\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// The rows of the file that parse, and every problem of the file and its rows.
fn parse_file(
    body: &[u8],
    format: SheetFormat,
    today: chrono::NaiveDate,
) -> (usize, Vec<ImportRow>, Vec<RowProblem>) {
    let sheet = match read_sheet(body, format) {
        Ok(sheet) => sheet,
        Err(problem) => return (0, Vec::new(), vec![problem]),
    };
    let layout = match Layout::from_sheet(&sheet) {
        Ok(layout) => layout,
        Err(problems) => return (sheet.rows.len(), Vec::new(), problems),
    };
    let mut rows = Vec::with_capacity(sheet.rows.len());
    let mut problems = Vec::new();
    for (number, cells) in &sheet.rows {
        match layout.parse_row(*number, cells, today) {
            Ok(row) => rows.push(row),
            Err(found) => problems.extend(found),
        }
    }
    // Duplicates inside the file: the later row is the one named.
    let mut numbers: HashMap<&str, u32> = HashMap::new();
    let mut phones: HashMap<&str, u32> = HashMap::new();
    for row in &rows {
        if let Some(no) = &row.member_no {
            if let Some(first) = numbers.insert(no.as_str(), row.row) {
                numbers.insert(no.as_str(), first);
                problems.push(layout.problem(
                    row.row,
                    Column::MemberNo,
                    "duplicate_member_no",
                    format!("passbook number {no} is also on row {first}"),
                ));
            }
        }
        if let Some(phone) = &row.fields.phone {
            if let Some(first) = phones.insert(phone.as_str(), row.row) {
                phones.insert(phone.as_str(), first);
                problems.push(layout.problem(
                    row.row,
                    Column::Phone,
                    "duplicate_phone",
                    format!("phone {} is also on row {first}", phone.as_str()),
                ));
            }
        }
    }
    (sheet.rows.len(), rows, problems)
}

/// The problems of rows whose number or phone a member of the community already has.
fn check_against_roster(
    rows: &[ImportRow],
    numbers: &HashSet<String>,
    phones: &HashSet<String>,
) -> Vec<RowProblem> {
    let problem = |row: u32, column: Column, code: &str, message: String| RowProblem {
        row,
        column: Some(column.as_str().into()),
        header: None,
        code: code.into(),
        message,
    };
    let mut problems = Vec::new();
    for row in rows {
        if let Some(no) = row
            .member_no
            .as_ref()
            .filter(|no| numbers.contains(no.as_str()))
        {
            problems.push(problem(
                row.row,
                Column::MemberNo,
                "member_no_taken",
                format!("a member already has passbook number {no}"),
            ));
        }
        if let Some(phone) = row
            .fields
            .phone
            .as_ref()
            .filter(|p| phones.contains(p.as_str()))
        {
            problems.push(problem(
                row.row,
                Column::Phone,
                "phone_taken",
                format!("a member already has phone {}", phone.as_str()),
            ));
        }
    }
    problems
}

fn sorted(mut problems: Vec<RowProblem>) -> Vec<RowProblem> {
    let place = |p: &RowProblem| {
        p.column
            .as_deref()
            .and_then(Column::parse)
            .and_then(|c| Column::ALL.iter().position(|x| *x == c))
            .unwrap_or(0)
    };
    problems.sort_by_key(|p| (p.row, place(p)));
    problems
}

fn refused(problems: Vec<RowProblem>) -> ApiError {
    let rows: HashSet<u32> = problems.iter().map(|p| p.row).collect();
    ApiError::validation(format!(
        "the roster was not imported: {} problems in {} rows; nothing was written. Fix them \
         (a dry run lists them too) and send the file again",
        problems.len(),
        rows.len()
    ))
    .with(
        "problems",
        serde_json::to_value(&problems).unwrap_or_default(),
    )
}

fn total(rows: impl Iterator<Item = Points>) -> Points {
    Points::from_hundredths(rows.map(Points::hundredths).sum())
}

fn preview(read: usize, rows: &[ImportRow], problems: Vec<RowProblem>) -> ImportPreview {
    let troubled: HashSet<u32> = problems.iter().map(|p| p.row).collect();
    let clean: Vec<&ImportRow> = rows.iter().filter(|r| !troubled.contains(&r.row)).collect();
    ImportPreview {
        dry_run: true,
        rows: read,
        would_create: clean.len(),
        opening_total: total(clean.iter().map(|r| r.opening_balance)).to_string(),
        problems: sorted(problems),
        items: clean
            .iter()
            .map(|r| ImportPreviewRow {
                row: r.row,
                member_no: r.member_no.as_ref().map(|n| n.as_str().to_string()),
                name: r.name.as_str().to_string(),
                phone: r.fields.phone.as_ref().map(|p| p.as_str().to_string()),
                address_line: r.fields.address_line(),
                id_last4: r.fields.id_last4.as_ref().map(|i| i.as_str().to_string()),
                group: r.fields.group.clone(),
                joined_on: r.fields.joined_on.map(|d| d.format("%Y-%m-%d").to_string()),
                opening_balance: r.opening_balance.to_string(),
            })
            .collect(),
    }
}

enum Checked {
    Preview(ImportPreview),
    /// This user's key was used already (a retry, or a concurrent request that won).
    Earlier(RosterImportRow),
    Created(ImportSummary),
}

/// Imports a roster (花名册) file: CSV (UTF-8, with or without BOM, or GB18030) or .xlsx.
///
/// Columns (Chinese or English headers, any order): 存折号/member_no, 姓名/name (required),
/// 电话/手机/phone, 楼栋/building, 单元/unit, 门牌/room, 地址/address, 身份证/id_card, 小组/网格/group,
/// 入册日期/joined_on, 备注/note, 期初积分/opening_balance. Rows are numbered as the spreadsheet
/// shows them (the header is row 1). With `dry_run=true` nothing is written and the answer lists
/// what would be created and every problem. A real run needs an Idempotency-Key and is refused
/// whole (422 with every problem) if any row has one; otherwise every member is created and every
/// opening balance is posted, all or nothing.
#[utoipa::path(tag = "members", operation_id = "import_roster",
    security(("bearer" = [])),
    params(ImportQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "required unless dry_run: a retry with the same key and file returns the first summary")),
    request_body(content = String, description = "the file's bytes: text/csv or an .xlsx (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)", content_type = "text/csv"),
    responses(
        (status = 200, body = ImportPreview, description = "dry run: what would be created and every problem"),
        (status = 201, body = ImportSummary),
        (status = 400, description = "idempotency_key_missing", body = Problem, content_type = "application/problem+json"),
        problems::Unauthorized,
        problems::Forbidden,
        (status = 409, description = "member_no_taken, phone_taken (another writer took one meanwhile; nothing was written), idempotency_key_in_use", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "payload_too_large: more than 8 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed with `problems` (row, column, header, code, message), or idempotency_key_reused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the ledger is busy: members are created, some opening balances are not posted yet; retry with the same key and file", body = Problem, content_type = "application/problem+json")))]
#[post("/members/import")]
pub async fn import_roster(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let dry_run = query.dry_run.unwrap_or(false);
    user.require(Permission::RegisterMembers)?;
    let key = if dry_run {
        None
    } else {
        Some(idempotency_key(&req)?)
    };
    let body = read_body(payload).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match import_roster_file(&state, &user, key, body, content_type.as_deref()).await? {
        RosterImport::Preview(preview) => Ok(HttpResponse::Ok().json(preview)),
        RosterImport::Imported(summary) => Ok(HttpResponse::Created().json(summary)),
    }
}

/// What [`import_roster_file`] answered: a dry run's report, or the import done.
pub enum RosterImport {
    Preview(ImportPreview),
    Imported(ImportSummary),
}

/// Checks (no `key`: a dry run, writing nothing) or imports (under the Idempotency-Key `key`)
/// the roster file `body`; `content_type` helps tell CSV from .xlsx. The JSON endpoint and the
/// console's upload form both come here.
pub async fn import_roster_file(
    state: &AppState,
    user: &AuthUser,
    key: Option<String>,
    body: Vec<u8>,
    content_type: Option<&str>,
) -> Result<RosterImport, ApiError> {
    user.require(Permission::RegisterMembers)?;
    if body.len() > ROSTER_IMPORT_BYTES_MAX {
        return Err(ApiError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("a roster file may have at most {ROSTER_IMPORT_BYTES_MAX} bytes; split it"),
        ));
    }
    let format = sheet_format(&body, content_type);
    let hash = import_hash(&body);
    let (community, user_id, now) = (user.community_id, user.user_id, state.clock.now());
    let request_hash = hash.clone();
    let checked = with_conn(state, move |conn| {
        if let Some(key) = &key {
            if let Some(record) = store::import_by_key(conn, community, user_id, key)? {
                return Ok(Checked::Earlier(record));
            }
        }
        let today = crate::members::store::community_today(conn, community, now)?;
        let (read, rows, mut problems) = parse_file(&body, format, today);
        let Some(key) = key else {
            let (numbers, phones) = store::taken_numbers_and_phones(conn, community)?;
            problems.extend(check_against_roster(&rows, &numbers, &phones));
            return Ok(Checked::Preview(preview(read, &rows, problems)));
        };
        if !problems.is_empty() {
            // Refused whole, with every problem: those against the roster too.
            let (numbers, phones) = store::taken_numbers_and_phones(conn, community)?;
            problems.extend(check_against_roster(&rows, &numbers, &phones));
            return Err(refused(sorted(problems)));
        }
        crate::db::write_transaction(conn, |conn| {
            create_all(
                conn,
                (community, user_id),
                &key,
                &request_hash,
                &rows,
                today,
                now,
            )
        })
    })
    .await?;
    match checked {
        Checked::Preview(preview) => Ok(RosterImport::Preview(preview)),
        Checked::Earlier(record) => {
            if record.request_hash != hash {
                return Err(key_reused());
            }
            let summary: ImportSummary = serde_json::from_str(&record.summary)
                .map_err(|e| ApiError::internal(format!("unreadable import summary: {e}")))?;
            post_opening_balances(state, user, &summary, &hash).await?;
            Ok(RosterImport::Imported(summary))
        }
        Checked::Created(summary) => {
            post_opening_balances(state, user, &summary, &hash).await?;
            Ok(RosterImport::Imported(summary))
        }
    }
}

/// Inside the write transaction: checks the rows against the roster as it is now, then inserts
/// every member and account and the import record.
fn create_all(
    conn: &mut DbConn,
    (community, user_id): (CommunityId, UserId),
    key: &str,
    hash: &str,
    rows: &[ImportRow],
    today: chrono::NaiveDate,
    now: chrono::NaiveDateTime,
) -> Result<Checked, ApiError> {
    // A request with this key that committed while this one was being read.
    if let Some(record) = store::import_by_key(conn, community, user_id, key)? {
        return Ok(Checked::Earlier(record));
    }
    let (mut numbers, phones) = store::taken_numbers_and_phones(conn, community)?;
    let problems = check_against_roster(rows, &numbers, &phones);
    if !problems.is_empty() {
        return Err(refused(sorted(problems)));
    }
    numbers.extend(
        rows.iter()
            .filter_map(|r| r.member_no.as_ref().map(|n| n.as_str().to_string())),
    );
    let created = store::insert_rows(conn, community, rows, today, now, &numbers)
        .map_err(super::create_member_error)?;
    let import_id = uuid::Uuid::now_v7();
    let members: Vec<ImportedMember> = rows
        .iter()
        .zip(&created)
        .map(|(row, (member, account))| ImportedMember {
            row: row.row,
            member_id: member.id.0,
            member_no: member.member_no.clone(),
            name: member.name.clone(),
            account_id: account.id.0,
            opening_balance: row.opening_balance.to_string(),
        })
        .collect();
    let summary = ImportSummary {
        import_id,
        created: members.len(),
        opening_balances: rows
            .iter()
            .filter(|r| r.opening_balance > Points::ZERO)
            .count(),
        opening_total: total(rows.iter().map(|r| r.opening_balance)).to_string(),
        members,
    };
    store::insert_import(
        conn,
        &RosterImportRow {
            id: crate::db::DbUuid(import_id),
            community_id: community.into(),
            user_id: user_id.into(),
            idem_key: key.to_string(),
            request_hash: hash.to_string(),
            rows_created: summary.created as i32,
            summary: serde_json::to_string(&summary).map_err(ApiError::internal)?,
            created_at: now,
        },
    )
    .map_err(|e| match crate::db::violated_constraint(&e) {
        Some((diesel::result::DatabaseErrorKind::UniqueViolation, _)) => ApiError::conflict(
            "idempotency_key_in_use",
            "another request with this Idempotency-Key is being processed; retry shortly",
        ),
        _ => e.into(),
    })?;
    Ok(Checked::Created(summary))
}

/// Posts every opening balance of the import as one ledger job (one transaction). Each carries a
/// key derived from the import and the row, so one already posted answers "key taken" and is
/// not posted again.
async fn post_opening_balances(
    state: &AppState,
    user: &AuthUser,
    summary: &ImportSummary,
    hash: &str,
) -> Result<(), ApiError> {
    let mut commands = Vec::new();
    for member in &summary.members {
        let amount = Points::parse(&member.opening_balance)
            .map_err(|e| ApiError::internal(format!("import summary amount: {e}")))?;
        if amount <= Points::ZERO {
            continue;
        }
        let row_hash = hex::encode(Sha256::digest(format!("{hash}:{}", member.row)));
        commands.push(Command::Adjust(Adjust {
            community_id: user.community_id,
            member_account_id: AccountId(member.account_id),
            kind: AdjustmentKind::OpeningBalance,
            amount,
            reason: format!("花名册导入期初积分（第{}行）", member.row),
            actor: user.actor(),
            idempotency: IdempotencyClaim {
                user_id: user.user_id,
                key: format!("roster-import:{}:{}", summary.import_id, member.row),
                request_hash: row_hash,
            },
        }));
    }
    if commands.is_empty() {
        return Ok(());
    }
    let answers = state.engine.execute_many(commands).await?;
    let unposted: Vec<LedgerError> = answers
        .into_iter()
        .filter_map(|answer| match answer {
            Ok(Outcome::Posted(_)) | Err(LedgerError::IdempotencyKeyTaken) => None,
            Ok(other) => Some(LedgerError::Unavailable(format!(
                "the ledger answered an opening balance with {other:?}"
            ))),
            Err(e) => Some(e),
        })
        .collect();
    match unposted.into_iter().next() {
        None => Ok(()),
        Some(LedgerError::Unavailable(why)) => {
            tracing::warn!(why = %why, "roster import: opening balances not all posted");
            Err(ApiError::unavailable(
                "the members were created but not every opening balance was posted yet; send the \
                 same file with the same Idempotency-Key again to finish",
            ))
        }
        Some(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `xlsx` (default) or `csv` (UTF-8 with BOM, for Excel/WPS).
    pub format: Option<String>,
}

/// The whole roster as a file with the columns an import reads, balances as 期初积分, so an export
/// imports into another database. Phones are masked for those who see them masked (such an
/// export does not import again: a masked phone is not a phone).
#[utoipa::path(tag = "members", operation_id = "export_roster",
    security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "the roster as .xlsx or CSV, with Content-Disposition", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        problems::BadRequest,
        problems::Unauthorized,
        problems::Forbidden,
        (status = 422, description = "the roster has more members than one export writes", body = Problem, content_type = "application/problem+json")))]
#[get("/members/export")]
pub async fn export_roster(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = query.format.as_deref().unwrap_or("xlsx");
    let file = roster_file(&state, &user, format).await?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((header::CONTENT_DISPOSITION, file.disposition))
        .body(file.bytes))
}

/// A roster export: the bytes and how to send them.
pub struct RosterFile {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    /// The Content-Disposition header's value.
    pub disposition: String,
}

/// The whole roster as `format` (`xlsx` or `csv`), for the JSON endpoint and the console's link.
pub async fn roster_file(
    state: &AppState,
    user: &AuthUser,
    format: &str,
) -> Result<RosterFile, ApiError> {
    user.require(Permission::ReadMembers)?;
    let format = match format {
        "xlsx" => SheetFormat::Xlsx,
        "csv" => SheetFormat::Csv,
        _ => {
            return Err(
                ApiError::bad_request("invalid_query", "format must be xlsx or csv")
                    .with("field", "format"),
            )
        }
    };
    let community = user.community_id;
    let now = state.clock.now();
    let user = user.clone();
    let (bytes, today) = with_replica(state, move |conn| {
        let today = crate::members::store::community_today(conn, community, now)?;
        let members = store::roster(conn, community, ROSTER_EXPORT_ROWS_MAX + 1)?;
        if members.len() as i64 > ROSTER_EXPORT_ROWS_MAX {
            return Err(ApiError::validation(format!(
                "the roster has more than {ROSTER_EXPORT_ROWS_MAX} members; one export writes at most that many"
            )));
        }
        let rows: Vec<ExportRow> = members
            .iter()
            .map(|(m, a)| ExportRow {
                member_no: m.member_no.clone(),
                name: m.name.clone(),
                phone: m.phone.as_deref().map(|p| {
                    if super::sees_whole_phone(&user, m.id.into()) {
                        p.to_string()
                    } else {
                        Phone::masked(p)
                    }
                }),
                building: m.building.clone(),
                unit: m.unit.clone(),
                room: m.room.clone(),
                address: m.address.clone(),
                id_last4: m.id_last4.clone(),
                group: m.member_group.clone(),
                joined_on: chrono::NaiveDate::parse_from_str(&m.joined_on, "%Y-%m-%d")
                    .unwrap_or_else(|_| m.created_at.date()),
                note: m.note.clone(),
                balance: Points::from_hundredths(a.balance),
            })
            .collect();
        let bytes = match format {
            SheetFormat::Xlsx => crate::members::model::sheet::write_xlsx(&rows),
            SheetFormat::Csv => crate::members::model::sheet::write_csv(&rows),
        }
        .map_err(ApiError::internal)?;
        Ok((bytes, today))
    })
    .await?;
    let (content_type, extension) = match format {
        SheetFormat::Xlsx => (XLSX_CONTENT_TYPE, "xlsx"),
        SheetFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    Ok(RosterFile {
        bytes,
        content_type,
        disposition: format!(
            "attachment; filename=\"roster-{today}.{extension}\"; \
             filename*=UTF-8''%E8%8A%B1%E5%90%8D%E5%86%8C-{today}.{extension}"
        ),
    })
}
