//! What a committee keeps on its roster (花名册) besides the name: phone, address, the last four
//! characters of the ID card, group, date joined, note. Each is parsed here, once, for the JSON
//! API and for a roster import alike.

use chrono::NaiveDate;

/// Longest building (楼栋), unit (单元) and room (门牌) accepted, in characters.
pub const ADDRESS_PART_CHARS_MAX: usize = 16;
/// Longest free-text address (for villages without buildings), in characters.
pub const ADDRESS_CHARS_MAX: usize = 128;
/// Longest group (居民小组 / 网格) name, in characters.
pub const GROUP_CHARS_MAX: usize = 32;
/// Longest note, in characters.
pub const NOTE_CHARS_MAX: usize = 500;
/// The earliest date a member may have joined: older paper rosters are carried over, not invented.
pub const JOINED_ON_MIN: NaiveDate = match NaiveDate::from_ymd_opt(1950, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// A phone number, normalised: a mobile as 11 digits (`13812345678`), a landline as area code,
/// hyphen, number (`0571-88886666`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces, hyphens, brackets and a `+86`/`0086` prefix around a Chinese mobile number
    /// (`1[3-9]` and 9 more digits) or a landline (`0`, a 2–3 digit area code, 7–8 digits).
    /// Area codes are 010 and 02x (3 digits with the 0) or 4 digits with the 0 elsewhere, so the
    /// split needs no separator.
    pub fn parse(text: &str) -> Result<Phone, String> {
        const WHY: &str = "phone must be a Chinese mobile number (11 digits starting 13–19) or a \
                           landline with its area code (e.g. 0571-88886666)";
        let mut digits: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '\u{3000}'))
            .collect();
        let international = if let Some(rest) = digits.strip_prefix("+86") {
            digits = rest.to_string();
            true
        } else if let Some(rest) = digits.strip_prefix("0086") {
            digits = rest.to_string();
            true
        } else {
            false
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WHY.into());
        }
        let bytes = digits.as_bytes();
        if bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]) {
            return Ok(Phone(digits));
        }
        // From abroad a landline is dialled without its leading 0.
        if international && bytes[0] != b'0' {
            digits.insert(0, '0');
        }
        let bytes = digits.as_bytes();
        if bytes[0] != b'0' || bytes.len() < 3 {
            return Err(WHY.into());
        }
        let area = if matches!(bytes[1], b'1' | b'2') {
            3
        } else {
            4
        };
        let number_len = digits.len().saturating_sub(area);
        if bytes[1] == b'0' || !(7..=8).contains(&number_len) {
            return Err(WHY.into());
        }
        Ok(Phone(format!("{}-{}", &digits[..area], &digits[area..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle hidden: `138****5678`, `0571-****6666`.
    pub fn masked(stored: &str) -> String {
        let chars: Vec<char> = stored.chars().collect();
        if chars.len() < 8 {
            return "*".repeat(chars.len());
        }
        let tail: String = chars[chars.len() - 4..].iter().collect();
        match stored.split_once('-') {
            Some((area, _)) => format!("{area}-****{tail}"),
            None => format!("{}****{tail}", chars[..3].iter().collect::<String>()),
        }
    }
}

/// The last four characters of an ID card (身份证). The whole number is checked when given and
/// then forgotten: it is never stored, logged or echoed in an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdLast4(String);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK_CHARS: &[u8; 11] = b"10X98765432";

impl IdLast4 {
    /// An 18-character number (ISO 7064 MOD 11-2 check character, `X` allowed), a 15-digit
    /// number of the first generation, or just the last four characters.
    pub fn parse(text: &str) -> Result<IdLast4, String> {
        let id: Vec<u8> = text
            .trim()
            .bytes()
            .filter(|b| *b != b' ')
            .map(|b| b.to_ascii_uppercase())
            .collect();
        let digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
        let last_ok = |b: u8| b.is_ascii_digit() || b == b'X';
        match id.len() {
            18 => {
                if !digits(&id[..17]) || !last_ok(id[17]) {
                    return Err(
                        "an 18-character ID-card number has 17 digits and a digit or X".into(),
                    );
                }
                let sum: u32 = id[..17]
                    .iter()
                    .zip(ID_WEIGHTS)
                    .map(|(d, w)| u32::from(d - b'0') * w)
                    .sum();
                if ID_CHECK_CHARS[(sum % 11) as usize] != id[17] {
                    return Err(
                        "the ID-card number's check character is wrong; check for a typo".into(),
                    );
                }
            }
            15 if digits(&id) => {}
            4 if digits(&id[..3]) && last_ok(id[3]) => {}
            _ => {
                return Err(
                    "id_card must be an 18-character ID-card number, a 15-digit old one, \
                            or its last 4 characters"
                        .into(),
                )
            }
        }
        Ok(IdLast4(
            String::from_utf8_lossy(&id[id.len() - 4..]).into_owned(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bounded single-line text: trimmed, no control characters; empty means absent.
pub fn optional_text(field: &str, text: &str, max: usize) -> Result<Option<String>, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(Some(trimmed.to_string()))
}

/// A date as people write it on a roster: `2026-03-01`, `2026/3/1`, `2026.3.1`, `2026年3月1日`.
pub fn parse_roster_date(text: &str) -> Result<NaiveDate, String> {
    const WHY: &str = "joined_on must be a date such as 2026-03-01";
    let normal: String = text
        .trim()
        .trim_end_matches('日')
        .chars()
        .map(|c| match c {
            '/' | '.' | '年' | '月' => '-',
            c => c,
        })
        .collect();
    let parts: Vec<&str> = normal.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(WHY.into());
    };
    let number = |s: &str, len: std::ops::RangeInclusive<usize>| {
        (len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (number(y, 4..=4), number(m, 1..=2), number(d, 1..=2)) else {
        return Err(WHY.into());
    };
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(|| WHY.to_string())
}

/// The roster fields as typed (JSON strings or spreadsheet cells); `None` or empty is absent.
#[derive(Debug, Clone, Default)]
pub struct RosterText {
    pub phone: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub address: Option<String>,
    pub id_card: Option<String>,
    pub group: Option<String>,
    pub joined_on: Option<String>,
    pub note: Option<String>,
}

/// The roster fields, each valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RosterFields {
    pub phone: Option<Phone>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub address: Option<String>,
    pub id_last4: Option<IdLast4>,
    pub group: Option<String>,
    /// Absent: the community's local today, chosen by the caller.
    pub joined_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// What is wrong with one field: the API field name, a stable code and words for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        FieldProblem {
            field,
            code,
            message: message.into(),
        }
    }
}

impl RosterText {
    /// Parses every field and reports every problem, not only the first. `today` is the
    /// community's local date: nobody joined in the future.
    pub fn parse(&self, today: NaiveDate) -> Result<RosterFields, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        fn present(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let mut text = |field: &'static str, value: &Option<String>, max: usize| match optional_text(
            field,
            value.as_deref().unwrap_or(""),
            max,
        ) {
            Ok(v) => v,
            Err(message) => {
                problems.push(FieldProblem::new(field, "invalid_text", message));
                None
            }
        };
        let building = text("building", &self.building, ADDRESS_PART_CHARS_MAX);
        let unit = text("unit", &self.unit, ADDRESS_PART_CHARS_MAX);
        let room = text("room", &self.room, ADDRESS_PART_CHARS_MAX);
        let address = text("address", &self.address, ADDRESS_CHARS_MAX);
        let group = text("group", &self.group, GROUP_CHARS_MAX);
        let note = text("note", &self.note, NOTE_CHARS_MAX);
        let phone = match present(&self.phone).map(Phone::parse).transpose() {
            Ok(p) => p,
            Err(message) => {
                problems.push(FieldProblem::new("phone", "invalid_phone", message));
                None
            }
        };
        let id_last4 = match present(&self.id_card).map(IdLast4::parse).transpose() {
            Ok(id) => id,
            Err(message) => {
                problems.push(FieldProblem::new("id_card", "invalid_id_card", message));
                None
            }
        };
        let joined_on = match present(&self.joined_on).map(parse_roster_date).transpose() {
            Ok(Some(day)) if day > today => {
                problems.push(FieldProblem::new(
                    "joined_on",
                    "invalid_date",
                    format!("joined_on {day} is after today ({today})"),
                ));
                None
            }
            Ok(Some(day)) if day < JOINED_ON_MIN => {
                problems.push(FieldProblem::new(
                    "joined_on",
                    "invalid_date",
                    format!("joined_on is before {JOINED_ON_MIN}"),
                ));
                None
            }
            Ok(day) => day,
            Err(message) => {
                problems.push(FieldProblem::new("joined_on", "invalid_date", message));
                None
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RosterFields {
            phone,
            building,
            unit,
            room,
            address,
            id_last4,
            group,
            joined_on,
            note,
        })
    }
}

impl RosterFields {
    /// The address as one line, for search and display: the free text, then building, unit and
    /// room, with 栋 and 单元 added where they are not written already (`3栋2单元501`).
    pub fn address_line(&self) -> String {
        compose_address_line(
            self.address.as_deref(),
            self.building.as_deref(),
            self.unit.as_deref(),
            self.room.as_deref(),
        )
    }
}

pub fn compose_address_line(
    address: Option<&str>,
    building: Option<&str>,
    unit: Option<&str>,
    room: Option<&str>,
) -> String {
    let mut line = String::new();
    if let Some(address) = address {
        line.push_str(address);
    }
    if let Some(building) = building {
        line.push_str(building);
        if !["栋", "幢", "楼", "座", "号"]
            .iter()
            .any(|s| building.ends_with(s))
        {
            line.push('栋');
        }
    }
    if let Some(unit) = unit {
        line.push_str(unit);
        if !unit.ends_with("单元") {
            line.push_str("单元");
        }
    }
    if let Some(room) = room {
        line.push_str(room);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_and_landlines_are_normalised() {
        assert_eq!(
            Phone::parse("138 1234 5678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            Phone::parse("+86 138-1234-5678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            Phone::parse("0571 88886666").unwrap().as_str(),
            "0571-88886666"
        );
        assert_eq!(
            Phone::parse("010-12345678").unwrap().as_str(),
            "010-12345678"
        );
        assert_eq!(
            Phone::parse("(0931)8123456").unwrap().as_str(),
            "0931-8123456"
        );
        assert_eq!(
            Phone::parse("+86 571 88886666").unwrap().as_str(),
            "0571-88886666"
        );
        for bad in [
            "12812345678",
            "1381234567",
            "138123456789",
            "abc",
            "0571-123",
            "0012345678",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Phone::masked("13812345678"), "138****5678");
        assert_eq!(Phone::masked("0571-88886666"), "0571-****6666");
    }

    #[test]
    fn id_cards_keep_only_the_last_four_after_the_check_digit() {
        // 11010519491231002X is the standard's own example.
        assert_eq!(
            IdLast4::parse("11010519491231002x").unwrap().as_str(),
            "002X"
        );
        assert!(IdLast4::parse("110105194912310021").is_err());
        assert_eq!(IdLast4::parse("110105491231002").unwrap().as_str(), "1002");
        assert_eq!(IdLast4::parse("002X").unwrap().as_str(), "002X");
        assert!(IdLast4::parse("12345").is_err());
        let err = IdLast4::parse("110105194912310021").unwrap_err();
        assert!(
            !err.contains("1101051949"),
            "an error never echoes the number"
        );
    }

    #[test]
    fn address_lines_compose_without_doubling_suffixes() {
        assert_eq!(
            compose_address_line(None, Some("3"), Some("2"), Some("501")),
            "3栋2单元501"
        );
        assert_eq!(
            compose_address_line(None, Some("3栋"), Some("2单元"), Some("501")),
            "3栋2单元501"
        );
        assert_eq!(
            compose_address_line(Some("李家村二组15号"), None, None, None),
            "李家村二组15号"
        );
    }

    #[test]
    fn roster_dates_as_people_write_them() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        for text in ["2026-03-01", "2026/3/1", "2026.3.1", "2026年3月1日"] {
            assert_eq!(parse_roster_date(text).unwrap(), d, "{text}");
        }
        assert!(parse_roster_date("2026-02-30").is_err());
        assert!(parse_roster_date("26-3-1").is_err());
    }
}
