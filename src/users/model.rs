//! What a username may be, and rules about passwords that need no storage: how long a temporary
//! password from a reset lasts, whether it still works, and who may reset whose.

use chrono::NaiveDateTime;

use crate::kernel::UserId;

/// How long a temporary password from an admin's reset works. Long enough for a resident to be
/// told over a weekend and come by; short enough that a slip of paper left lying about goes
/// stale. Past it the login is refused (`temporary_password_expired`) and an admin resets again.
pub const TEMPORARY_PASSWORD_TTL_HOURS: i64 = 72;

/// When a temporary password given out at `now` stops working.
pub fn temporary_password_expiry(now: NaiveDateTime) -> NaiveDateTime {
    now + chrono::Duration::hours(TEMPORARY_PASSWORD_TTL_HOURS)
}

/// True when the user's password is a temporary one whose time has passed. A password the user
/// chose (no change required) never expires here.
pub fn temporary_password_expired(
    change_required: bool,
    expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> bool {
    change_required && expires_at.is_some_and(|expires_at| now >= expires_at)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRefusal {
    /// An admin changes their own password with the current one (`POST /me/password`): a reset
    /// of one's own password would let a stolen admin token lock the admin out and take over.
    OwnPassword,
}

/// Whether `actor` may reset the password of `target` (both of one community, the actor an admin).
pub fn check_reset(actor: UserId, target: UserId) -> Result<(), ResetRefusal> {
    if actor == target {
        return Err(ResetRefusal::OwnPassword);
    }
    Ok(())
}

/// Longest username accepted anywhere.
pub const USERNAME_CHARS_MAX: usize = 64;

/// A username: 2-64 characters, no spaces, commas or control characters.
pub fn check_username(username: &str) -> Result<(), String> {
    let count = username.chars().count();
    if !(2..=USERNAME_CHARS_MAX).contains(&count) {
        return Err(format!(
            "username must be 2-{USERNAME_CHARS_MAX} characters"
        ));
    }
    if username
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ',')
    {
        return Err("username must not contain spaces, commas or control characters".into());
    }
    Ok(())
}

/// Longest display name (姓名) of a user, in characters.
pub const DISPLAY_NAME_CHARS_MAX: usize = 40;

/// A user's display name (姓名), as staff are shown on passbooks: 1-40 characters once trimmed,
/// no control characters. Returns the trimmed name.
pub fn check_display_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    let count = trimmed.chars().count();
    if !(1..=DISPLAY_NAME_CHARS_MAX).contains(&count) {
        return Err(format!(
            "display_name must be 1-{DISPLAY_NAME_CHARS_MAX} characters once trimmed"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("display_name must not contain control characters".into());
    }
    Ok(trimmed.to_string())
}

/// How a staff member is named where people read it (the passbook's 经办人): their display name,
/// else the name of the member they are, else their username.
pub fn person_name(
    display_name: Option<&str>,
    member_name: Option<&str>,
    username: &str,
) -> String {
    display_name.or(member_name).unwrap_or(username).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn a_display_name_is_trimmed_and_between_one_and_forty_characters() {
        assert_eq!(check_display_name("  王秀英 ").unwrap(), "王秀英");
        assert!(check_display_name("   ").is_err());
        assert!(check_display_name(&"名".repeat(40)).is_ok());
        assert!(check_display_name(&"名".repeat(41)).is_err());
        assert!(check_display_name("王\u{7}").is_err());
    }

    #[test]
    fn a_person_is_named_by_display_name_then_member_name_then_username() {
        assert_eq!(person_name(Some("王秀英"), Some("王二"), "wang"), "王秀英");
        assert_eq!(person_name(None, Some("王二"), "wang"), "王二");
        assert_eq!(person_name(None, None, "wang"), "wang");
    }

    #[test]
    fn a_temporary_password_works_until_its_expiry_and_not_at_it() {
        let given = at("2026-12-02 08:00:00");
        let expiry = temporary_password_expiry(given);
        assert_eq!(expiry, at("2026-12-05 08:00:00"));
        assert!(!temporary_password_expired(
            true,
            Some(expiry),
            at("2026-12-05 07:59:59")
        ));
        assert!(temporary_password_expired(true, Some(expiry), expiry));
        // A chosen password, or one without an expiry, never expires here.
        assert!(!temporary_password_expired(
            false,
            Some(expiry),
            at("2027-01-01 00:00:00")
        ));
        assert!(!temporary_password_expired(
            true,
            None,
            at("2027-01-01 00:00:00")
        ));
    }

    #[test]
    fn nobody_resets_their_own_password() {
        let admin = UserId(uuid::Uuid::now_v7());
        let other = UserId(uuid::Uuid::now_v7());
        assert_eq!(check_reset(admin, admin), Err(ResetRefusal::OwnPassword));
        assert_eq!(check_reset(admin, other), Ok(()));
    }
}
