//! Settings from flags and the environment, with defaults that need no set-up. A bad value stops
//! start-up with one line that names the setting.

use std::net::SocketAddr;

use crate::communities::model::{parse_community_name, parse_utc_offset, CommunityCode};
use crate::db::{BackendKind, DatabaseUrl};
use crate::ledger::engine::BATCH_COMMANDS_MAX;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./moralbank.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// A clerk's shift: long enough not to interrupt the counter, short enough to expire overnight.
pub const DEFAULT_TOKEN_TTL_SECONDS: u64 = 8 * 3600;
pub const TOKEN_TTL_SECONDS_MIN: u64 = 60;
pub const TOKEN_TTL_SECONDS_MAX: u64 = 7 * 24 * 3600;
pub const JWT_SECRET_BYTES_MIN: usize = 32;
pub const ADMIN_PASSWORD_CHARS_MIN: usize = 8;
pub const DEFAULT_COMMUNITY_CODE: &str = "community";
pub const DEFAULT_COMMUNITY_NAME: &str = "示范社区";
pub const DEFAULT_UTC_OFFSET: &str = "+08:00";

/// Settings as text, straight from flags or the environment (flags win; clap does the merge).
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    pub database_url: Option<String>,
    pub read_database_url: Option<String>,
    pub bind: Option<String>,
    pub jwt_secret: Option<String>,
    pub token_ttl_seconds: Option<String>,
    pub community_code: Option<String>,
    pub community_name: Option<String>,
    pub community_utc_offset: Option<String>,
    pub admin_password: Option<String>,
    pub batch_max: Option<String>,
    pub workers: Option<String>,
    pub auth_cache_ms: Option<String>,
    pub console_idle_seconds: Option<String>,
    pub cookie_secure: Option<String>,
    pub head_sign_minutes: Option<String>,
}

#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    /// A streaming standby of the PostgreSQL primary for reads that may lag (statements,
    /// reports, lists, the notice board); none sends every read to the primary.
    pub read_database_url: Option<DatabaseUrl>,
    pub bind: SocketAddr,
    pub jwt_secret: Option<String>,
    pub token_ttl_seconds: u64,
    pub community_code: String,
    pub community_name: String,
    pub community_utc_offset_minutes: i32,
    pub admin_password: Option<String>,
    pub batch_max: usize,
    pub workers: usize,
    /// How long this instance trusts what it read about a token's user (status, roles, token
    /// version). Changes made through this instance apply at once; changes made through another
    /// instance on the same database apply within this time. 0 reads the user on every request.
    pub auth_cache_ms: u64,
    /// "Now" for business rules; tests move it forward.
    pub clock: crate::kernel::Clock,
    /// How often the notice sweeper looks for deeds whose public notice has ended.
    pub sweep_interval_ms: u64,
    /// A console session left alone this long ends: the counter laptop left unattended.
    pub console_idle_seconds: u64,
    /// Marks the console's cookie `Secure`: set when the service is reached over TLS (behind a
    /// proxy that terminates it), so the browser never sends the cookie in clear.
    pub cookie_secure: bool,
    /// How often the service signs a ledger head for each community whose journal grew.
    pub head_sign_interval_ms: u64,
}

pub const DEFAULT_AUTH_CACHE_MS: u64 = 1_000;

/// A console session ends after 30 minutes without a request, and at the latest when the
/// access-token lifetime (a shift) is over.
pub const DEFAULT_CONSOLE_IDLE_SECONDS: u64 = 30 * 60;
pub const CONSOLE_IDLE_SECONDS_MIN: u64 = 60;
pub const CONSOLE_IDLE_SECONDS_MAX: u64 = 24 * 3600;
pub const AUTH_CACHE_MS_MAX: u64 = 60_000;

/// A community's ledger head is signed every 10 minutes while its journal grows.
pub const DEFAULT_HEAD_SIGN_MINUTES: u64 = 10;
pub const HEAD_SIGN_MINUTES_MAX: u64 = 24 * 60;

/// How often, by default, the sweeper credits deeds whose notice ended.
pub const DEFAULT_SWEEP_INTERVAL_MS: u64 = 30_000;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are never printed, not even in debug output.
        f.debug_struct("Config")
            .field("database_url", &self.database_url)
            .field("read_database_url", &self.read_database_url)
            .field("bind", &self.bind)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("token_ttl_seconds", &self.token_ttl_seconds)
            .field("community_code", &self.community_code)
            .field("community_name", &self.community_name)
            .field(
                "community_utc_offset_minutes",
                &self.community_utc_offset_minutes,
            )
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("batch_max", &self.batch_max)
            .field("workers", &self.workers)
            .field("auth_cache_ms", &self.auth_cache_ms)
            .field("console_idle_seconds", &self.console_idle_seconds)
            .field("head_sign_interval_ms", &self.head_sign_interval_ms)
            .field("cookie_secure", &self.cookie_secure)
            .finish()
    }
}

fn invalid(name: &str, value: &str, why: impl std::fmt::Display) -> String {
    format!("invalid {name} '{value}': {why}")
}

impl Config {
    pub fn from_raw(raw: RawSettings) -> Result<Config, String> {
        let database_url = {
            let text = raw
                .database_url
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
            DatabaseUrl::parse(&text).map_err(|e| {
                invalid(
                    "MORALBANK_DATABASE_URL",
                    &DatabaseUrl::parse(&text)
                        .map(|u| u.redacted())
                        .unwrap_or_else(|_| text.chars().take(40).collect()),
                    e,
                )
            })?
        };
        let read_database_url = read_database_url(raw.read_database_url, &database_url)?;
        let bind_text = raw.bind.unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind: SocketAddr = bind_text
            .parse()
            .map_err(|e| invalid("MORALBANK_BIND", &bind_text, e))?;
        let jwt_secret = match raw.jwt_secret {
            Some(secret) if secret.len() < JWT_SECRET_BYTES_MIN => {
                return Err(format!(
                    "invalid MORALBANK_JWT_SECRET: it must be at least {JWT_SECRET_BYTES_MIN} bytes long"
                ))
            }
            other => other,
        };
        let token_ttl_seconds = number_in(
            "MORALBANK_TOKEN_TTL_SECONDS",
            raw.token_ttl_seconds,
            DEFAULT_TOKEN_TTL_SECONDS,
            TOKEN_TTL_SECONDS_MIN..=TOKEN_TTL_SECONDS_MAX,
        )?;
        let community_code = community_code(raw.community_code)?;
        let community_name = community_name(raw.community_name)?;
        let offset_text = raw
            .community_utc_offset
            .unwrap_or_else(|| DEFAULT_UTC_OFFSET.to_string());
        let community_utc_offset_minutes = parse_utc_offset(&offset_text)
            .map_err(|e| invalid("MORALBANK_COMMUNITY_UTC_OFFSET", &offset_text, e))?;
        let admin_password = match raw.admin_password {
            Some(p) if p.chars().count() < ADMIN_PASSWORD_CHARS_MIN => {
                return Err(format!(
                    "invalid MORALBANK_ADMIN_PASSWORD: it must be at least {ADMIN_PASSWORD_CHARS_MIN} characters"
                ))
            }
            other => other,
        };
        let batch_max = number_in(
            "MORALBANK_BATCH_MAX",
            raw.batch_max,
            BATCH_COMMANDS_MAX,
            1..=BATCH_COMMANDS_MAX,
        )?;
        let workers_default = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let workers = number_in("MORALBANK_WORKERS", raw.workers, workers_default, 1..=64)?;
        let auth_cache_ms = number_in(
            "MORALBANK_AUTH_CACHE_MS",
            raw.auth_cache_ms,
            DEFAULT_AUTH_CACHE_MS,
            0..=AUTH_CACHE_MS_MAX,
        )?;
        let console_idle_seconds = number_in(
            "MORALBANK_CONSOLE_IDLE_SECONDS",
            raw.console_idle_seconds,
            DEFAULT_CONSOLE_IDLE_SECONDS,
            CONSOLE_IDLE_SECONDS_MIN..=CONSOLE_IDLE_SECONDS_MAX,
        )?;
        let head_sign_minutes = number_in(
            "MORALBANK_HEAD_SIGN_MINUTES",
            raw.head_sign_minutes,
            DEFAULT_HEAD_SIGN_MINUTES,
            1..=HEAD_SIGN_MINUTES_MAX,
        )?;
        let cookie_secure = match raw.cookie_secure.as_deref().map(str::trim) {
            None | Some("") | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(invalid(
                    "MORALBANK_COOKIE_SECURE",
                    other,
                    "must be true or false",
                ))
            }
        };
        Ok(Config {
            database_url,
            read_database_url,
            bind,
            jwt_secret,
            token_ttl_seconds,
            community_code,
            community_name,
            community_utc_offset_minutes,
            admin_password,
            batch_max,
            workers,
            auth_cache_ms,
            clock: crate::kernel::Clock::default(),
            sweep_interval_ms: DEFAULT_SWEEP_INTERVAL_MS,
            console_idle_seconds,
            cookie_secure,
            head_sign_interval_ms: head_sign_minutes * 60_000,
        })
    }
}

/// The read replica: a `postgres://` URL beside a PostgreSQL primary, or nothing. SQLite has no
/// standby to stream to, so the setting with a SQLite primary is a mistake worth stopping for.
fn read_database_url(
    text: Option<String>,
    primary: &DatabaseUrl,
) -> Result<Option<DatabaseUrl>, String> {
    const NAME: &str = "MORALBANK_READ_DATABASE_URL";
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let url = match DatabaseUrl::parse(&text) {
        Ok(url) if url.kind() == BackendKind::Postgres => url,
        Ok(url) => {
            return Err(invalid(
                NAME,
                &url.redacted(),
                "a read replica must be a postgres:// URL",
            ))
        }
        Err(_) => {
            let shown: String = text.chars().take(40).collect();
            return Err(invalid(
                NAME,
                &shown,
                "a read replica must be a postgres:// URL",
            ));
        }
    };
    if primary.kind() != BackendKind::Postgres {
        return Err(format!(
            "invalid {NAME}: a read replica needs a PostgreSQL primary, and MORALBANK_DATABASE_URL is {}",
            primary.redacted()
        ));
    }
    Ok(Some(url))
}

/// A whole number setting: `default` when unset, otherwise within `range`.
fn number_in<T>(
    name: &str,
    text: Option<String>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let Some(text) = text else {
        return Ok(default);
    };
    let value: T = text.trim().parse().map_err(|e| invalid(name, &text, e))?;
    if !range.contains(&value) {
        return Err(invalid(
            name,
            &text,
            format!("must be between {} and {}", range.start(), range.end()),
        ));
    }
    Ok(value)
}

/// The first community's code (see `CommunityCode`).
fn community_code(text: Option<String>) -> Result<String, String> {
    let code = text.unwrap_or_else(|| DEFAULT_COMMUNITY_CODE.to_string());
    CommunityCode::parse(&code)
        .map(|c| c.as_str().to_string())
        .map_err(|why| invalid("MORALBANK_COMMUNITY_CODE", &code, why))
}

/// The first community's name, trimmed.
fn community_name(text: Option<String>) -> Result<String, String> {
    let name = text.unwrap_or_else(|| DEFAULT_COMMUNITY_NAME.to_string());
    parse_community_name(&name).map_err(|why| invalid("MORALBANK_COMMUNITY_NAME", &name, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_set_up() {
        let config = Config::from_raw(RawSettings::default()).unwrap();
        assert_eq!(config.bind.to_string(), DEFAULT_BIND);
        assert_eq!(config.community_utc_offset_minutes, 480);
        assert_eq!(config.token_ttl_seconds, DEFAULT_TOKEN_TTL_SECONDS);
    }

    #[test]
    fn a_read_replica_beside_a_postgres_primary_is_taken_and_its_password_hidden() {
        let config = Config::from_raw(RawSettings {
            database_url: Some("postgres://u@primary/mb".into()),
            read_database_url: Some("postgres://u:s3cret@standby/mb".into()),
            ..Default::default()
        })
        .unwrap();
        let replica = config.read_database_url.as_ref().unwrap();
        assert_eq!(replica.redacted(), "postgres://u:***@standby/mb");
        assert!(!format!("{config:?}").contains("s3cret"));
        let unset = Config::from_raw(RawSettings {
            database_url: Some("postgres://u@primary/mb".into()),
            read_database_url: Some(" ".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(unset.read_database_url.is_none());
    }

    #[test]
    fn a_bad_value_is_named_in_one_line() {
        let error = Config::from_raw(RawSettings {
            bind: Some("nowhere".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            error.starts_with("invalid MORALBANK_BIND 'nowhere'"),
            "{error}"
        );
        assert!(!error.contains('\n'));
        let error = Config::from_raw(RawSettings {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(error.contains("MORALBANK_DATABASE_URL"), "{error}");
        let error = Config::from_raw(RawSettings {
            read_database_url: Some("postgres://u@standby/mb".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            error.starts_with("invalid MORALBANK_READ_DATABASE_URL")
                && error.contains("PostgreSQL primary"),
            "{error}"
        );
        let error = Config::from_raw(RawSettings {
            database_url: Some("postgres://u@primary/mb".into()),
            read_database_url: Some("sqlite://./r.db".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(error.contains("must be a postgres:// URL"), "{error}");
        let error = Config::from_raw(RawSettings {
            token_ttl_seconds: Some("5".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(error.contains("MORALBANK_TOKEN_TTL_SECONDS"), "{error}");
        let error = Config::from_raw(RawSettings {
            jwt_secret: Some("short".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            error.contains("MORALBANK_JWT_SECRET") && !error.contains("short"),
            "{error}"
        );
    }
}
