//! What every handler shares: the pool, the read replica, the ledger writer, credentials,
//! throttles, the clock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// The streaming standby that serves reads which may lag; none when
    /// `MORALBANK_READ_DATABASE_URL` is unset (every read then uses `pool`).
    pub replica: Option<ReadReplica>,
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

/// After the read replica failed, reads go to the primary for this long before one read tries
/// the replica again.
pub const REPLICA_RETRY_MS: u64 = 5_000;

/// The read replica: its own pool of read-only connections, its own permits (a slow standby
/// must not take the primary's), and whether it answered last time.
pub struct ReadReplica {
    pub pool: DbPool,
    /// Blocking reads on the replica in flight at most: one per pooled connection.
    pub permits: tokio::sync::Semaphore,
    /// The replica failed and has not answered since; reads go to the primary.
    down: AtomicBool,
    /// While down, when (milliseconds after `epoch`) one read may try the replica again.
    next_try_ms: AtomicU64,
    epoch: Instant,
}

impl ReadReplica {
    pub fn new(pool: DbPool) -> ReadReplica {
        let permits = tokio::sync::Semaphore::new(pool.max_size() as usize);
        ReadReplica {
            pool,
            permits,
            down: AtomicBool::new(false),
            next_try_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Whether this read should go to the replica: always while it answers; while it is down,
    /// one read per `REPLICA_RETRY_MS` tries it again and the rest go straight to the primary.
    pub fn should_try(&self) -> bool {
        if !self.down.load(Ordering::Acquire) {
            return true;
        }
        let now = self.now_ms();
        let next = self.next_try_ms.load(Ordering::Acquire);
        now >= next
            && self
                .next_try_ms
                .compare_exchange(
                    next,
                    now + REPLICA_RETRY_MS,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    /// The replica failed: reads go to the primary for a while. Logged once, when it goes down.
    pub fn mark_down(&self, why: &str) {
        self.next_try_ms
            .store(self.now_ms() + REPLICA_RETRY_MS, Ordering::Release);
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                error = %why,
                "the read replica does not answer; reads that may lag go to the primary until it does"
            );
        }
    }

    /// The replica answered. Logged once, when it comes back.
    pub fn mark_up(&self) {
        // Every read that the replica answered lands here: a plain load keeps the shared flag's
        // cache line clean while nothing changes.
        if self.down.load(Ordering::Acquire) && self.down.swap(false, Ordering::AcqRel) {
            tracing::info!("the read replica answers again; reads that may lag go to it");
        }
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// How long a probe of the replica may wait for a connection.
    pub fn checkout_timeout(&self) -> Duration {
        self.pool.connection_timeout()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica() -> ReadReplica {
        // Nothing listens on port 1: the pool never connects, and need not for these tests.
        let url = crate::db::DatabaseUrl::parse("postgres://nobody@127.0.0.1:1/none").unwrap();
        ReadReplica::new(crate::db::build_read_pool(&url).unwrap())
    }

    #[test]
    fn a_replica_that_failed_is_tried_again_by_one_read_at_a_time() {
        let replica = replica();
        assert!(
            replica.should_try() && replica.should_try(),
            "an answering replica takes every read"
        );
        replica.mark_down("gone");
        assert!(replica.is_down());
        assert!(
            !replica.should_try(),
            "right after a failure reads go to the primary"
        );
        // Once the wait is over exactly one read tries it again.
        replica.next_try_ms.store(0, Ordering::Release);
        assert!(replica.should_try());
        assert!(
            !replica.should_try(),
            "the next read waits for the probe's outcome"
        );
        replica.mark_up();
        assert!(!replica.is_down() && replica.should_try());
    }
}
