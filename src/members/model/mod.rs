//! Member names and passbook numbers (存折号), the roster fields, and the roster as a spreadsheet.

pub mod roster;
pub mod sheet;

use std::fmt;

pub const MEMBER_NAME_CHARS_MAX: usize = 64;
pub const MEMBER_NO_CHARS_MAX: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberName(String);

impl MemberName {
    pub fn parse(text: &str) -> Result<MemberName, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("name must not be empty".into());
        }
        if trimmed.chars().count() > MEMBER_NAME_CHARS_MAX {
            return Err(format!(
                "name is longer than {MEMBER_NAME_CHARS_MAX} characters"
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err("name must not contain control characters".into());
        }
        Ok(MemberName(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A passbook number: letters, digits and '-', as printed on the paper passbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberNo(String);

impl MemberNo {
    pub fn parse(text: &str) -> Result<MemberNo, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("member_no must not be empty".into());
        }
        if trimmed.chars().count() > MEMBER_NO_CHARS_MAX {
            return Err(format!(
                "member_no is longer than {MEMBER_NO_CHARS_MAX} characters"
            ));
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err("member_no may contain only letters, digits and '-'".into());
        }
        Ok(MemberNo(trimmed.to_ascii_uppercase()))
    }

    /// The number given to a member created without one: the community's sequence, zero-padded.
    pub fn generated(sequence: i64) -> MemberNo {
        MemberNo(format!("M{sequence:06}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemberNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_chinese_and_refuse_empty_or_long() {
        assert_eq!(MemberName::parse(" 张三 ").unwrap().as_str(), "张三");
        assert!(MemberName::parse("  ").is_err());
        assert!(MemberName::parse(&"长".repeat(65)).is_err());
        assert!(MemberName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn member_numbers_are_normalised_and_checked() {
        assert_eq!(MemberNo::parse("a-12").unwrap().as_str(), "A-12");
        assert!(MemberNo::parse("a 12").is_err());
        assert_eq!(MemberNo::generated(7).as_str(), "M000007");
    }
}
