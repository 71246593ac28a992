//! What a username may be.

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
