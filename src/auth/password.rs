//! argon2id password hashes, with the lightest-memory of OWASP's equivalent parameter sets.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const PASSWORD_CHARS_MIN: usize = 8;
pub const PASSWORD_CHARS_MAX: usize = 128;

pub fn check_password_rules(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < PASSWORD_CHARS_MIN {
        return Err(format!(
            "password must be at least {PASSWORD_CHARS_MIN} characters"
        ));
    }
    if chars > PASSWORD_CHARS_MAX {
        return Err(format!(
            "password must be at most {PASSWORD_CHARS_MAX} characters"
        ));
    }
    Ok(())
}

/// Memory per hash in KiB, passes and lanes: OWASP's "m=7168 (7 MiB), t=5, p=1", which it rates
/// as strong as the crate's default "m=19456 (19 MiB), t=2, p=1" while a login holds 7 MiB
/// instead of 19 (the service's peak memory is set by the logins in flight). Hashes stored with
/// other parameters carry them in their text and verify as they are.
const ARGON2_MEMORY_KIB: u32 = 7 * 1024;
const ARGON2_PASSES: u32 = 5;
const ARGON2_LANES: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash password: {e}"))
}

/// Verifies in constant time. An unparsable stored hash verifies as false.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same work as a real verification, for logins of unknown users, so that timing does
/// not tell which usernames exist.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("dummy-password-for-timing").unwrap_or_default());
    let _ = verify_password(password, hash);
}

/// A random password for the first admin: 20 characters from an alphabet without look-alikes.
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn new_hashes_take_seven_mebibytes_and_older_hashes_still_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.contains("$m=7168,t=5,p=1$"), "{hash}");
        // A hash made with the crate's defaults (19 MiB, 2 passes), as stored before.
        let salt = SaltString::generate(&mut OsRng);
        let older = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(older.contains("$m=19456,t=2,p=1$"), "{older}");
        assert!(verify_password("correct horse", &older));
        assert!(!verify_password("correct horsE", &older));
    }

    #[test]
    fn password_rules_bound_the_length() {
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules(&"x".repeat(129)).is_err());
        assert!(check_password_rules("long enough").is_ok());
        assert_eq!(generate_password().len(), 20);
    }
}
