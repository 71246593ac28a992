//! The passbook as a file an accountant opens in Excel or WPS: CSV (UTF-8 with BOM, CRLF) or
//! .xlsx. Both hold the same rows: a header naming the community, the holder, the passbook
//! number, the period, its balances and totals and when the file was made; a blank row; then the
//! lines with local dates, amounts and running balances. The JSON API and the console's download
//! links both send what [`passbook_file`] writes.
//!
//! Pure: the caller reads the statement and hands over local times; nothing here touches the
//! database or HTTP.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::kernel::dates::month_last_day;
use crate::kernel::{Points, PointsTotal};

pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Characters of the holder's name kept in a file name; a name is never longer in practice, and a
/// file name must stay short enough for every file system.
const FILE_NAME_PART_CHARS_MAX: usize = 40;

/// The table's columns, as the header row names them.
pub const COLUMNS: [&str; 8] = [
    "日期",
    "类型",
    "摘要",
    "收入",
    "支出",
    "余额",
    "行号",
    "经办人",
];

/// Column widths of the .xlsx, in Excel's units (about one Latin character; a Chinese character
/// takes two).
const XLSX_COLUMN_WIDTHS: [f64; 8] = [17.0, 16.0, 36.0, 11.0, 11.0, 13.0, 7.0, 12.0];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => CSV_CONTENT_TYPE,
            ExportFormat::Xlsx => XLSX_CONTENT_TYPE,
        }
    }
}

/// A statement as the export writes it: every time on the community's wall clock.
#[derive(Debug, Clone)]
pub struct PassbookSheet {
    pub community: String,
    /// The passbook number; a system account's kind (`shop`) when it has none.
    pub member_no: String,
    /// Empty for a system account.
    pub member_name: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub opening: Points,
    pub closing: Points,
    pub total_in: PointsTotal,
    pub total_out: PointsTotal,
    /// When the file was made.
    pub exported_at: NaiveDateTime,
    pub lines: Vec<SheetLine>,
}

#[derive(Debug, Clone)]
pub struct SheetLine {
    pub at: NaiveDateTime,
    pub kind: &'static str,
    pub description: String,
    /// Zero on a line that takes points out.
    pub amount_in: Points,
    /// Zero on a line that brings points in.
    pub amount_out: Points,
    pub balance: Points,
    /// The line's number in the passbook (account sequence).
    pub seq: i64,
    /// 经办人: who recorded the line; empty for the notice sweeper.
    pub recorder: String,
}

/// A file ready to send.
#[derive(Debug, Clone)]
pub struct PassbookFile {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    /// The Content-Disposition header's value: a Chinese name (RFC 5987) and an ASCII fallback.
    pub disposition: String,
}

/// One header row's value: text, an amount, or a moment.
#[derive(Debug, Clone)]
enum HeaderValue {
    Text(String),
    Amount(PointsTotal),
    Moment(NaiveDateTime),
}

/// The file for `sheet` in `format`, with its name.
pub fn passbook_file(sheet: &PassbookSheet, format: ExportFormat) -> Result<PassbookFile, String> {
    let bytes = match format {
        ExportFormat::Csv => write_csv(sheet),
        ExportFormat::Xlsx => write_xlsx(sheet)?,
    };
    Ok(PassbookFile {
        bytes,
        content_type: format.content_type(),
        disposition: disposition(sheet, format),
    })
}

/// The period as the header says it: `2026-12-01 至 2026-12-31`, or 全部. An open end is the day
/// the file was made; an open start is the day the passbook was opened (开户).
pub fn period_text(sheet: &PassbookSheet) -> String {
    match (sheet.from, sheet.to) {
        (None, None) => "全部".to_string(),
        (from, to) => format!(
            "{} 至 {}",
            from.map_or_else(|| "开户".to_string(), |d| d.to_string()),
            to.unwrap_or(sheet.exported_at.date())
        ),
    }
}

fn header_rows(sheet: &PassbookSheet) -> Vec<(&'static str, HeaderValue)> {
    vec![
        ("社区", HeaderValue::Text(sheet.community.clone())),
        ("户名", HeaderValue::Text(sheet.member_name.clone())),
        ("存折号", HeaderValue::Text(sheet.member_no.clone())),
        ("期间", HeaderValue::Text(period_text(sheet))),
        ("期初余额", HeaderValue::Amount(sheet.opening.into())),
        ("期末余额", HeaderValue::Amount(sheet.closing.into())),
        ("收入合计", HeaderValue::Amount(sheet.total_in)),
        ("支出合计", HeaderValue::Amount(sheet.total_out)),
        ("导出时间", HeaderValue::Moment(sheet.exported_at)),
    ]
}

/// A local time as Excel and WPS read a date and time typed into a cell.
fn minute_text(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// An amount for a passbook column: blank when nothing moved that way, as on the paper.
fn amount_text(amount: Points) -> String {
    if amount == Points::ZERO {
        String::new()
    } else {
        amount.to_string()
    }
}

fn csv_field(text: &str) -> String {
    // Quote every field; a leading =, +, - or @ is prefixed so a spreadsheet never runs it.
    let guarded = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn push_csv_row(out: &mut String, fields: &[String]) {
    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&row.join(","));
    out.push_str("\r\n");
}

/// UTF-8 with a BOM (so Excel on Chinese Windows reads it as UTF-8), CRLF, every field quoted.
pub fn write_csv(sheet: &PassbookSheet) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    for (label, value) in header_rows(sheet) {
        let value = match value {
            HeaderValue::Text(text) => text,
            HeaderValue::Amount(amount) => amount.to_string(),
            HeaderValue::Moment(at) => minute_text(at),
        };
        push_csv_row(&mut out, &[label.to_string(), value]);
    }
    out.push_str("\r\n");
    push_csv_row(&mut out, &COLUMNS.map(str::to_string));
    for line in &sheet.lines {
        push_csv_row(
            &mut out,
            &[
                minute_text(line.at),
                line.kind.to_string(),
                line.description.clone(),
                amount_text(line.amount_in),
                amount_text(line.amount_out),
                line.balance.to_string(),
                line.seq.to_string(),
                line.recorder.clone(),
            ],
        );
    }
    out.into_bytes()
}

/// An amount as the number a spreadsheet adds up. Hundredths below 2^53 convert exactly, and
/// the division gives the double nearest the decimal amount.
fn amount_number(hundredths: i128) -> f64 {
    hundredths as f64 / 100.0
}

/// A local time as an Excel date-time; `None` past what Excel can hold (the year 9999).
fn excel_time(at: NaiveDateTime) -> Option<rust_xlsxwriter::ExcelDateTime> {
    let year = u16::try_from(at.year()).ok()?;
    rust_xlsxwriter::ExcelDateTime::from_ymd(year, at.month() as u8, at.day() as u8)
        .and_then(|d| d.and_hms(at.hour() as u16, at.minute() as u8, at.second()))
        .ok()
}

/// The .xlsx: amounts as numbers (format 0.00), dates as date-times (yyyy-mm-dd hh:mm), a bold
/// column header frozen under the statement's header, filters on the table, and a print layout
/// one page wide that repeats the column header on every page.
pub fn write_xlsx(sheet: &PassbookSheet) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet();
    ws.set_name("存折明细").map_err(e)?;
    let label = Format::new().set_bold();
    let column_header = Format::new()
        .set_bold()
        .set_background_color("F3E6E6")
        .set_border_bottom(FormatBorder::Thin);
    // The header's figures and time read as a list beside their labels, not as table columns.
    let header_money = Format::new()
        .set_num_format("0.00")
        .set_align(FormatAlign::Left);
    let header_minute = Format::new()
        .set_num_format("yyyy-mm-dd hh:mm")
        .set_align(FormatAlign::Left);
    // A line whose long 摘要 wraps stays level: every cell of the table sits at the top.
    let cell = || Format::new().set_align(FormatAlign::Top);
    let money = cell().set_num_format("0.00");
    let minute = cell()
        .set_num_format("yyyy-mm-dd hh:mm")
        .set_align(FormatAlign::Left);
    let whole = cell().set_num_format("0");
    let memo = cell().set_text_wrap();
    let plain = cell();
    let mut row: u32 = 0;
    for (text, value) in header_rows(sheet) {
        ws.write_string_with_format(row, 0, text, &label)
            .map_err(e)?;
        match value {
            HeaderValue::Text(text) => {
                ws.write_string(row, 1, text).map_err(e)?;
            }
            HeaderValue::Amount(amount) => {
                ws.write_number_with_format(
                    row,
                    1,
                    amount_number(amount.hundredths()),
                    &header_money,
                )
                .map_err(e)?;
            }
            HeaderValue::Moment(at) => match excel_time(at) {
                Some(time) => {
                    ws.write_datetime_with_format(row, 1, time, &header_minute)
                        .map_err(e)?;
                }
                None => {
                    ws.write_string(row, 1, minute_text(at)).map_err(e)?;
                }
            },
        }
        row += 1;
    }
    // A blank row, then the table.
    row += 1;
    let header_row = row;
    for (col, name) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(header_row, col as u16, *name, &column_header)
            .map_err(e)?;
    }
    for line in &sheet.lines {
        row += 1;
        match excel_time(line.at) {
            Some(time) => {
                ws.write_datetime_with_format(row, 0, time, &minute)
                    .map_err(e)?;
            }
            None => {
                ws.write_string_with_format(row, 0, minute_text(line.at), &plain)
                    .map_err(e)?;
            }
        }
        ws.write_string_with_format(row, 1, line.kind, &plain)
            .map_err(e)?;
        ws.write_string_with_format(row, 2, &line.description, &memo)
            .map_err(e)?;
        for (col, amount) in [(3, line.amount_in), (4, line.amount_out)] {
            if amount != Points::ZERO {
                ws.write_number_with_format(
                    row,
                    col,
                    amount_number(amount.hundredths().into()),
                    &money,
                )
                .map_err(e)?;
            }
        }
        ws.write_number_with_format(
            row,
            5,
            amount_number(line.balance.hundredths().into()),
            &money,
        )
        .map_err(e)?;
        ws.write_number_with_format(row, 6, line.seq as f64, &whole)
            .map_err(e)?;
        if !line.recorder.is_empty() {
            ws.write_string_with_format(row, 7, &line.recorder, &plain)
                .map_err(e)?;
        }
    }
    for (col, width) in XLSX_COLUMN_WIDTHS.iter().enumerate() {
        ws.set_column_width(col as u16, *width).map_err(e)?;
    }
    ws.set_freeze_panes(header_row + 1, 0).map_err(e)?;
    ws.autofilter(header_row, 0, row, COLUMNS.len() as u16 - 1)
        .map_err(e)?;
    // A4, one page wide, the column header on every page, pages numbered.
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(header_row, header_row).map_err(e)?;
    ws.set_footer("&C第 &P 页 / 共 &N 页");
    workbook.save_to_buffer().map_err(e)
}

/// The period as a file name says it: (Chinese, ASCII).
fn period_names(sheet: &PassbookSheet) -> (String, String) {
    let to = sheet.to.unwrap_or(sheet.exported_at.date());
    match (sheet.from, sheet.to) {
        (None, None) => ("全部".into(), "all".into()),
        (None, Some(to)) => (format!("开户至{to}"), format!("start_{to}")),
        (Some(from), _) if from.day() == 1 && to == month_last_day(from) => {
            let month = from.format("%Y-%m").to_string();
            (month.clone(), month)
        }
        (Some(from), _) if from == to => (from.to_string(), from.to_string()),
        (Some(from), _) => (format!("{from}至{to}"), format!("{from}_{to}")),
    }
}

/// Zero-width and direction-changing characters: they could make a name look like another
/// (`张三\u{202e}txt.exe`) in a download bar.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// A name fit for a file name: no quotes, slashes, control or invisible characters, nothing a
/// file system refuses; short; never starting with a dot.
pub fn file_name_part(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .map(|c| match c {
            '"' | '\'' | '/' | '\\' | ':' | '*' | '?' | '<' | '>' | '|' | '%' | ';' => '_',
            c => c,
        })
        .take(FILE_NAME_PART_CHARS_MAX)
        .collect();
    cleaned.trim().trim_start_matches('.').trim().to_string()
}

/// The file's names: `存折-M000004-张三-2026-12.csv` and the ASCII
/// `statement-M000004-2026-12.csv` for clients that cannot read the first.
pub fn file_names(sheet: &PassbookSheet, format: ExportFormat) -> (String, String) {
    let (period, period_ascii) = period_names(sheet);
    let extension = format.extension();
    let number = file_name_part(&sheet.member_no);
    let name = file_name_part(&sheet.member_name);
    let chinese = if name.is_empty() {
        format!("存折-{number}-{period}.{extension}")
    } else {
        format!("存折-{number}-{name}-{period}.{extension}")
    };
    let number_ascii: String = sheet
        .member_no
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        chinese,
        format!("statement-{number_ascii}-{period_ascii}.{extension}"),
    )
}

/// What RFC 5987 lets stand unencoded in `filename*` (attr-char).
const ATTR_CHAR_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="statement-M000004-2026-12.csv"; filename*=UTF-8''%E5%AD%98…` (RFC
/// 6266): browsers take the second, older clients the first.
pub fn disposition(sheet: &PassbookSheet, format: ExportFormat) -> String {
    let (chinese, ascii) = file_names(sheet, format);
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        utf8_percent_encode(&chinese, ATTR_CHAR_ESCAPED)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn sheet(from: Option<&str>, to: Option<&str>) -> PassbookSheet {
        PassbookSheet {
            community: "幸福社区".into(),
            member_no: "M000004".into(),
            member_name: "张三".into(),
            from: from.map(date),
            to: to.map(date),
            opening: Points::ZERO,
            closing: Points::from_hundredths(1250),
            total_in: PointsTotal::from(1250),
            total_out: PointsTotal::ZERO,
            exported_at: date("2026-12-20").and_hms_opt(19, 40, 0).unwrap(),
            lines: Vec::new(),
        }
    }

    #[test]
    fn a_whole_month_is_named_by_the_month_and_other_periods_by_their_days() {
        let names = |from, to| file_names(&sheet(from, to), ExportFormat::Csv);
        assert_eq!(
            names(Some("2026-12-01"), Some("2026-12-31")),
            (
                "存折-M000004-张三-2026-12.csv".to_string(),
                "statement-M000004-2026-12.csv".to_string()
            )
        );
        assert_eq!(
            names(Some("2026-12-01"), Some("2026-12-15")).0,
            "存折-M000004-张三-2026-12-01至2026-12-15.csv"
        );
        assert_eq!(
            names(Some("2026-02-01"), Some("2026-02-28")).0,
            "存折-M000004-张三-2026-02.csv"
        );
        assert_eq!(names(None, None).0, "存折-M000004-张三-全部.csv");
        assert_eq!(names(None, None).1, "statement-M000004-all.csv");
        assert_eq!(
            names(Some("2026-12-05"), None).0,
            "存折-M000004-张三-2026-12-05至2026-12-20.csv",
            "an open end is the day of the export"
        );
    }

    #[test]
    fn names_lose_what_a_file_name_must_not_hold() {
        assert_eq!(file_name_part("导出, \"引号\""), "导出, _引号_");
        assert_eq!(file_name_part("../a/b\\c"), "_a_b_c");
        assert_eq!(file_name_part("张三\u{202e}txt.exe\r\n"), "张三txt.exe");
        let mut s = sheet(None, None);
        s.member_name = "\"; filename=evil.exe".into();
        let header = disposition(&s, ExportFormat::Xlsx);
        assert!(header
            .starts_with("attachment; filename=\"statement-M000004-all.xlsx\"; filename*=UTF-8''"));
        assert_eq!(header.matches('"').count(), 2, "{header}");
        let encoded = header.split("filename*=").nth(1).unwrap();
        assert!(!encoded.contains([' ', ';', '"']), "{header}");
    }

    #[test]
    fn the_csv_dates_are_local_minutes_and_formulas_are_defused() {
        let mut s = sheet(Some("2026-12-01"), Some("2026-12-31"));
        s.lines.push(SheetLine {
            at: date("2026-12-02").and_hms_opt(2, 34, 30).unwrap(),
            kind: "更正",
            description: "=SUM(A1)".into(),
            amount_in: Points::ZERO,
            amount_out: Points::from_hundredths(230),
            balance: Points::from_hundredths(-230),
            seq: 7,
            recorder: "admin".into(),
        });
        let text = String::from_utf8(write_csv(&s)).unwrap();
        assert!(
            text.starts_with("\u{feff}\"社区\",\"幸福社区\"\r\n"),
            "{text}"
        );
        assert!(text.contains("\"期间\",\"2026-12-01 至 2026-12-31\"\r\n"));
        assert!(text.contains("\"导出时间\",\"2026-12-20 19:40\"\r\n\r\n\"日期\""));
        assert!(text.ends_with(
            "\"2026-12-02 02:34\",\"更正\",\"'=SUM(A1)\",\"\",\"2.30\",\"-2.30\",\"7\",\"admin\"\r\n"
        ));
    }
}
