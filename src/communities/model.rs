//! What names a community: its code (typed at login and in URLs), its name, and its UTC offset.

/// Longest community code; codes are typed at login, so they stay short.
pub const COMMUNITY_CODE_CHARS_MAX: usize = 32;
/// Longest community name, as printed on passbooks and notices.
pub const COMMUNITY_NAME_CHARS_MAX: usize = 64;

/// A community's code: 1-32 letters, digits, '-' or '_', kept in lower case so `West` and `west`
/// are one community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunityCode(String);

impl CommunityCode {
    pub fn parse(text: &str) -> Result<CommunityCode, String> {
        let code = text.trim();
        if code.is_empty()
            || code.len() > COMMUNITY_CODE_CHARS_MAX
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "a community code is 1-{COMMUNITY_CODE_CHARS_MAX} letters, digits, '-' or '_'"
            ));
        }
        Ok(CommunityCode(code.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A community's name, trimmed: 1-64 characters, no control characters.
pub fn parse_community_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > COMMUNITY_NAME_CHARS_MAX {
        return Err(format!(
            "a community name is 1-{COMMUNITY_NAME_CHARS_MAX} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("a community name must not contain control characters".into());
    }
    Ok(name.to_string())
}

/// Parses "+08:00", "-05:30" or "Z" into minutes east of UTC.
pub fn parse_utc_offset(text: &str) -> Result<i32, String> {
    let text = text.trim();
    if text == "Z" || text == "+00:00" || text == "-00:00" {
        return Ok(0);
    }
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err("expected an offset like +08:00".into()),
    };
    let (hours, minutes) = rest
        .split_once(':')
        .ok_or_else(|| "expected an offset like +08:00".to_string())?;
    let hours: i32 = hours.parse().map_err(|_| "bad hours".to_string())?;
    let minutes: i32 = minutes.parse().map_err(|_| "bad minutes".to_string())?;
    if hours > 14 || minutes > 59 || rest.len() != 5 {
        return Err("offset out of range".into());
    }
    Ok(sign * (hours * 60 + minutes))
}

/// Minutes east of UTC as "+08:00".
pub fn format_utc_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let minutes = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_plain_and_case_blind() {
        assert_eq!(CommunityCode::parse(" West ").unwrap().as_str(), "west");
        assert!(CommunityCode::parse("").is_err());
        assert!(CommunityCode::parse("东区").is_err());
        assert!(CommunityCode::parse("a b").is_err());
        assert!(CommunityCode::parse(&"x".repeat(33)).is_err());
    }

    #[test]
    fn offsets_read_and_print_alike() {
        assert_eq!(parse_utc_offset("+08:00"), Ok(480));
        assert_eq!(parse_utc_offset("-05:30"), Ok(-330));
        assert_eq!(parse_utc_offset("Z"), Ok(0));
        assert!(parse_utc_offset("8").is_err());
        assert!(parse_utc_offset("+15:00").is_err());
        for minutes in [480, -330, 0, 840, -840] {
            assert_eq!(parse_utc_offset(&format_utc_offset(minutes)), Ok(minutes));
        }
    }
}
