//! The roster as a spreadsheet: reading an uploaded CSV or .xlsx into rows of cells, the columns a
//! roster may have (Chinese or English headers), each row parsed into a member to create, and the
//! export written back with the same headers so an export imports again.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use super::roster::{FieldProblem, RosterFields, RosterText};
use super::{MemberName, MemberNo};
use crate::kernel::Points;

/// Data rows one import takes at most.
pub const IMPORT_ROWS_MAX: usize = 10_000;
/// Characters one cell may hold at most (longer than any field; beyond it the file is not a roster).
pub const CELL_CHARS_MAX: usize = 1_000;

pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Every .xlsx is a zip archive, and every zip archive starts so.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

crate::stored_words! {
    /// A column of a roster, named by its API field.
    pub enum Column {
        MemberNo = "member_no",
        Name = "name",
        Phone = "phone",
        Building = "building",
        Unit = "unit",
        Room = "room",
        Address = "address",
        IdCard = "id_card",
        Group = "group",
        JoinedOn = "joined_on",
        Note = "note",
        OpeningBalance = "opening_balance",
    }
}

impl Column {
    /// The header an export writes (the first of the Chinese names).
    pub fn header(self) -> &'static str {
        self.aliases()[0]
    }

    /// The headers read as this column, besides its API name (matched case-insensitively).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::MemberNo => &["存折号", "存折编号", "编号", "passbook_no"],
            Column::Name => &["姓名", "名字"],
            Column::Phone => &["电话", "手机", "手机号", "手机号码", "联系电话", "mobile"],
            Column::Building => &["楼栋", "楼号", "栋"],
            Column::Unit => &["单元"],
            Column::Room => &["门牌", "门牌号", "房号", "室"],
            Column::Address => &["地址", "住址", "家庭住址"],
            Column::IdCard => &[
                "身份证后4位",
                "身份证",
                "身份证号",
                "身份证号码",
                "身份证后四位",
                "id_last4",
                "id_number",
            ],
            Column::Group => &["小组", "网格", "居民小组", "组别"],
            Column::JoinedOn => &["入册日期", "加入日期", "登记日期"],
            Column::Note => &["备注"],
            Column::OpeningBalance => &["期初积分", "期初余额", "积分余额", "opening"],
        }
    }

    pub fn from_header(text: &str) -> Option<Column> {
        let header = text.trim().to_lowercase();
        Column::ALL.iter().copied().find(|c| {
            c.as_str() == header || c.aliases().iter().any(|a| a.to_lowercase() == header)
        })
    }
}

/// One problem of an import: the row as the spreadsheet numbers it (the header is row 1), the
/// column, a stable code and words for a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    /// The spreadsheet's row number (header = 1); 0 for the file as a whole.
    pub row: u32,
    /// The API field name (`phone`, …), or null for a whole-row or whole-file problem.
    pub column: Option<String>,
    /// The header as written in the file, when the problem is in one column.
    pub header: Option<String>,
    pub code: String,
    pub message: String,
}

impl RowProblem {
    pub fn file(code: &str, message: impl Into<String>) -> RowProblem {
        RowProblem {
            row: 0,
            column: None,
            header: None,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A spreadsheet read into text cells: the header row and the data rows with their numbers.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub header_row: u32,
    pub headers: Vec<String>,
    /// Non-blank rows: (the spreadsheet's row number, cells).
    pub rows: Vec<(u32, Vec<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Csv,
    Xlsx,
}

/// An .xlsx when the client says so or the bytes are a zip archive; otherwise CSV.
pub fn sheet_format(bytes: &[u8], content_type: Option<&str>) -> SheetFormat {
    let said_xlsx = content_type
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .is_some_and(|t| t.eq_ignore_ascii_case(XLSX_CONTENT_TYPE));
    if said_xlsx || bytes.starts_with(ZIP_MAGIC) {
        SheetFormat::Xlsx
    } else {
        SheetFormat::Csv
    }
}

/// Reads the first sheet of an .xlsx, or a CSV in UTF-8 (with or without BOM) or GB18030.
pub fn read_sheet(bytes: &[u8], format: SheetFormat) -> Result<Sheet, RowProblem> {
    let (header_row, mut rows) = match format {
        SheetFormat::Xlsx => read_xlsx(bytes)?,
        SheetFormat::Csv => read_csv(&decode_text(bytes)?)?,
    };
    rows.retain(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    if rows.is_empty() {
        return Err(RowProblem::file("roster_empty", "the file has no rows"));
    }
    let (number, headers) = rows.remove(0);
    if rows.len() > IMPORT_ROWS_MAX {
        return Err(RowProblem::file(
            "roster_too_long",
            format!("one import takes at most {IMPORT_ROWS_MAX} rows; split the file"),
        ));
    }
    let header_line = (number, headers);
    let too_long = std::iter::once(&header_line)
        .chain(rows.iter())
        .find(|(_, cells)| cells.iter().any(|c| c.chars().count() > CELL_CHARS_MAX))
        .map(|(row, _)| *row);
    let (number, headers) = header_line;
    if let Some(row) = too_long {
        return Err(RowProblem {
            row,
            ..RowProblem::file(
                "cell_too_long",
                format!("a cell holds more than {CELL_CHARS_MAX} characters"),
            )
        });
    }
    debug_assert!(number >= header_row, "the header is the first row read");
    Ok(Sheet {
        header_row: number,
        headers,
        rows,
    })
}

/// UTF-8 when the bytes are valid UTF-8 (a BOM is dropped), else GB18030, else a problem.
pub fn decode_text(bytes: &[u8]) -> Result<String, RowProblem> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
        .ok_or_else(|| {
            RowProblem::file(
                "roster_unreadable",
                "the CSV is neither UTF-8 nor GB18030; save it again as CSV (UTF-8)",
            )
        })
}

type RawRows = (u32, Vec<(u32, Vec<String>)>);

fn read_csv(text: &str) -> Result<RawRows, RowProblem> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let row = e.position().map(|p| p.line() as u32).unwrap_or(0);
            RowProblem {
                row,
                ..RowProblem::file("roster_unreadable", format!("the CSV cannot be read: {e}"))
            }
        })?;
        let line = record.position().map(|p| p.line() as u32).unwrap_or(0);
        rows.push((line, record.iter().map(str::to_string).collect()));
        if rows.len() > IMPORT_ROWS_MAX + 1 {
            break;
        }
    }
    Ok((1, rows))
}

fn read_xlsx(bytes: &[u8]) -> Result<RawRows, RowProblem> {
    use calamine::Reader;
    let unreadable = |e: &dyn std::fmt::Display| {
        RowProblem::file(
            "roster_unreadable",
            format!("the .xlsx file cannot be read: {e}"),
        )
    };
    let mut workbook =
        calamine::Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| RowProblem::file("roster_empty", "the workbook has no sheet"))?
        .map_err(|e| unreadable(&e))?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        // Columns left of the used range are empty; keep them so headers and cells line up.
        let mut cells: Vec<String> = vec![String::new(); first_col as usize];
        cells.extend(row.iter().map(cell_text));
        rows.push((first_row + i as u32 + 1, cells));
        if rows.len() > IMPORT_ROWS_MAX + 1 {
            break;
        }
    }
    Ok((first_row + 1, rows))
}

/// A cell as the text a person sees: whole numbers without ".0" (a phone typed as a number),
/// dates as YYYY-MM-DD.
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => t.date().format("%Y-%m-%d").to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_string(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Which column of the file each field is in.
#[derive(Debug, Clone)]
pub struct Layout {
    columns: Vec<Option<Column>>,
    headers: Vec<String>,
}

impl Layout {
    /// Maps the header row; unknown, repeated or missing columns are problems. A header cell left
    /// empty is ignored when its column holds nothing (Excel keeps such columns around).
    pub fn from_sheet(sheet: &Sheet) -> Result<Layout, Vec<RowProblem>> {
        let mut problems = Vec::new();
        let mut seen: HashMap<Column, usize> = HashMap::new();
        let mut columns = Vec::new();
        for (i, header) in sheet.headers.iter().enumerate() {
            let problem = |code: &str, message: String| RowProblem {
                row: sheet.header_row,
                column: None,
                header: Some(header.trim().to_string()),
                code: code.into(),
                message,
            };
            if header.trim().is_empty() {
                let used = sheet
                    .rows
                    .iter()
                    .any(|(_, cells)| cells.get(i).is_some_and(|c| !c.trim().is_empty()));
                if used {
                    problems.push(problem(
                        "unknown_column",
                        format!("column {} has data but no header", column_letters(i)),
                    ));
                }
                columns.push(None);
                continue;
            }
            match Column::from_header(header) {
                None => {
                    problems.push(problem(
                        "unknown_column",
                        format!(
                            "column {} is headed {:?}, which is not a roster column; use {}",
                            column_letters(i),
                            header.trim(),
                            Column::ALL
                                .iter()
                                .map(|c| c.header())
                                .collect::<Vec<_>>()
                                .join("、")
                        ),
                    ));
                    columns.push(None);
                }
                Some(column) => {
                    if let Some(earlier) = seen.insert(column, i) {
                        problems.push(problem(
                            "duplicate_column",
                            format!(
                                "columns {} and {} are both {}",
                                column_letters(earlier),
                                column_letters(i),
                                column.as_str()
                            ),
                        ));
                    }
                    columns.push(Some(column));
                }
            }
        }
        if !seen.contains_key(&Column::Name) {
            problems.push(RowProblem {
                row: sheet.header_row,
                column: Some(Column::Name.as_str().into()),
                header: None,
                code: "missing_column".into(),
                message: "the roster needs a 姓名 (name) column".into(),
            });
        }
        if problems.is_empty() {
            Ok(Layout {
                columns,
                headers: sheet.headers.iter().map(|h| h.trim().to_string()).collect(),
            })
        } else {
            Err(problems)
        }
    }

    fn cell<'a>(&self, cells: &'a [String], column: Column) -> Option<&'a str> {
        let at = self.columns.iter().position(|c| *c == Some(column))?;
        cells.get(at).map(|c| c.trim()).filter(|c| !c.is_empty())
    }

    fn header(&self, column: Column) -> Option<String> {
        let at = self.columns.iter().position(|c| *c == Some(column))?;
        self.headers.get(at).cloned()
    }

    /// A problem in one column of one row.
    pub fn problem(&self, row: u32, column: Column, code: &str, message: String) -> RowProblem {
        RowProblem {
            row,
            column: Some(column.as_str().into()),
            header: self.header(column),
            code: code.into(),
            message,
        }
    }

    /// Parses one data row into a member to create, or every problem the row has.
    pub fn parse_row(
        &self,
        row: u32,
        cells: &[String],
        today: NaiveDate,
    ) -> Result<ImportRow, Vec<RowProblem>> {
        let mut problems = Vec::new();
        let cell = |c| self.cell(cells, c).map(str::to_string);
        let name = match MemberName::parse(self.cell(cells, Column::Name).unwrap_or("")) {
            Ok(name) => Some(name),
            Err(message) => {
                problems.push(self.problem(row, Column::Name, "invalid_name", message));
                None
            }
        };
        let member_no = match self.cell(cells, Column::MemberNo).map(MemberNo::parse) {
            Some(Err(message)) => {
                problems.push(self.problem(row, Column::MemberNo, "invalid_member_no", message));
                None
            }
            Some(Ok(no)) => Some(no),
            None => None,
        };
        let opening = match self.cell(cells, Column::OpeningBalance).map(Points::parse) {
            None => Some(Points::ZERO),
            Some(Ok(p)) if p.is_negative() => {
                problems.push(self.problem(
                    row,
                    Column::OpeningBalance,
                    "invalid_amount",
                    "an opening balance cannot be negative".into(),
                ));
                None
            }
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                problems.push(self.problem(
                    row,
                    Column::OpeningBalance,
                    "invalid_amount",
                    format!("opening_balance: {e}"),
                ));
                None
            }
        };
        let text = RosterText {
            phone: cell(Column::Phone),
            building: cell(Column::Building),
            unit: cell(Column::Unit),
            room: cell(Column::Room),
            address: cell(Column::Address),
            id_card: cell(Column::IdCard),
            group: cell(Column::Group),
            joined_on: cell(Column::JoinedOn),
            note: cell(Column::Note),
        };
        let fields = match text.parse(today) {
            Ok(fields) => Some(fields),
            Err(field_problems) => {
                for FieldProblem {
                    field,
                    code,
                    message,
                } in field_problems
                {
                    let column = Column::parse(field).unwrap_or(Column::Name);
                    problems.push(self.problem(row, column, code, message));
                }
                None
            }
        };
        match (name, opening, fields) {
            (Some(name), Some(opening_balance), Some(fields)) if problems.is_empty() => {
                Ok(ImportRow {
                    row,
                    member_no,
                    name,
                    fields,
                    opening_balance,
                })
            }
            _ => Err(problems),
        }
    }
}

/// One member an import would create.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub row: u32,
    /// Generated when absent.
    pub member_no: Option<MemberNo>,
    pub name: MemberName,
    pub fields: RosterFields,
    /// Zero: no opening balance is posted.
    pub opening_balance: Points,
}

/// `A`, `B`, … `Z`, `AA`: a column as a spreadsheet names it.
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8_lossy(&letters).into_owned()
}

/// One member as an export writes them (and an import reads them back).
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub member_no: String,
    pub name: String,
    pub phone: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub address: Option<String>,
    pub id_last4: Option<String>,
    pub group: Option<String>,
    pub joined_on: NaiveDate,
    pub note: Option<String>,
    /// The balance now, carried into another database as its opening balance.
    pub balance: Points,
}

impl ExportRow {
    fn texts(&self) -> [String; 12] {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            self.member_no.clone(),
            self.name.clone(),
            o(&self.phone),
            o(&self.building),
            o(&self.unit),
            o(&self.room),
            o(&self.address),
            o(&self.id_last4),
            o(&self.group),
            self.joined_on.format("%Y-%m-%d").to_string(),
            o(&self.note),
            self.balance.to_string(),
        ]
    }
}

/// CSV in UTF-8 with a BOM, so Excel and WPS open the Chinese correctly.
pub fn write_csv(rows: &[ExportRow]) -> Result<Vec<u8>, String> {
    let mut out = UTF8_BOM.to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer
            .write_record(Column::ALL.iter().map(|c| c.header()))
            .map_err(|e| e.to_string())?;
        for row in rows {
            writer
                .write_record(row.texts())
                .map_err(|e| e.to_string())?;
        }
        writer.flush().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// An .xlsx workbook: text as text (a phone keeps its leading 0), the date as a date and the
/// balance as a number with two places.
pub fn write_xlsx(rows: &[ExportRow]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("花名册").map_err(e)?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let points = Format::new().set_num_format("0.00");
    for (col, column) in Column::ALL.iter().enumerate() {
        sheet
            .write_string_with_format(0, col as u16, column.header(), &bold)
            .map_err(e)?;
    }
    for (i, row) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        for (col, text) in row.texts().iter().enumerate() {
            let col = col as u16;
            match Column::ALL[col as usize] {
                Column::JoinedOn => {
                    let day = ExcelDateTime::from_ymd(
                        row.joined_on.year() as u16,
                        row.joined_on.month() as u8,
                        row.joined_on.day() as u8,
                    )
                    .map_err(e)?;
                    sheet
                        .write_datetime_with_format(r, col, &day, &date)
                        .map_err(e)?;
                }
                Column::OpeningBalance => {
                    let value = row.balance.hundredths() as f64 / 100.0;
                    sheet
                        .write_number_with_format(r, col, value, &points)
                        .map_err(e)?;
                }
                _ if text.is_empty() => {}
                _ => {
                    sheet.write_string(r, col, text).map_err(e)?;
                }
            }
        }
    }
    sheet.set_column_width(1, 10).map_err(e)?;
    sheet.set_column_width(2, 14).map_err(e)?;
    sheet.set_column_width(6, 24).map_err(e)?;
    workbook.save_to_buffer().map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_chinese_or_english_name_the_same_column() {
        assert_eq!(Column::from_header(" 姓名 "), Some(Column::Name));
        assert_eq!(Column::from_header("Phone"), Some(Column::Phone));
        assert_eq!(Column::from_header("手机"), Some(Column::Phone));
        assert_eq!(
            Column::from_header("期初积分"),
            Some(Column::OpeningBalance)
        );
        assert_eq!(Column::from_header("年龄"), None);
        for column in Column::ALL {
            assert_eq!(Column::from_header(column.header()), Some(*column));
        }
    }

    #[test]
    fn gb18030_and_bom_decode_to_the_same_text() {
        let (gbk, _, _) = encoding_rs::GB18030.encode("姓名,电话\n王芳,13812345678\n");
        let from_gbk = decode_text(&gbk).unwrap();
        let mut bom = UTF8_BOM.to_vec();
        bom.extend_from_slice("姓名,电话\n王芳,13812345678\n".as_bytes());
        assert_eq!(decode_text(&bom).unwrap(), from_gbk);
    }

    #[test]
    fn columns_are_lettered_as_spreadsheets_do() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
    }
}
