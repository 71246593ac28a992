//! What every handler shares: the pool, the ledger writer, credentials, throttles, the clock.

use std::sync::Arc;

use crate::auth::{JwtKeys, LoginThrottle, UserCache};
use crate::commands::Engine;
use crate::db::{BackendKind, DbPool};

pub struct AppState {
    pub pool: DbPool,
    pub engine: Engine,
    pub jwt: JwtKeys,
    pub throttle: Arc<LoginThrottle>,
    /// What this instance last read about token holders; see `auth::cache`.
    pub users: UserCache,
    /// Blocking database work in flight at most: one per pooled connection.
    pub db_permits: tokio::sync::Semaphore,
    /// Password hashes computed at once at most: each takes 7 MiB (19 for a hash stored with
    /// the older parameters) and a core for a moment, so a burst of logins queues instead of
    /// exhausting memory.
    pub hashing_permits: tokio::sync::Semaphore,
    pub backend: BackendKind,
    pub clock: crate::kernel::Clock,
    pub console: ConsoleSettings,
}

/// How the web console keeps people's sessions.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSettings {
    /// A session with no request for this long ends.
    pub idle_seconds: u64,
    /// The session cookie is marked `Secure`.
    pub cookie_secure: bool,
}
