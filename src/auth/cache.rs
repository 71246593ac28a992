//! What this instance last read about a token's user, kept for a short time so that an
//! authenticated request does not read the users table every time.
//!
//! A change made through this instance (logout, password, roles, status) drops the entry at once,
//! and a read that raced with such a change is never stored. A change made through another
//! instance on the same database is seen once the entry ages out (`MORALBANK_AUTH_CACHE_MS`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::kernel::{CommunityId, MemberId, RoleSet, UserId};

/// Users remembered at most; past this the cache starts afresh (a community has far fewer
/// people logged in at once).
pub const USER_CACHE_ENTRIES_MAX: usize = 10_000;

/// The facts about a user that decide whether a token is honoured and what it may do.
#[derive(Debug, Clone)]
pub struct UserFacts {
    pub community_id: CommunityId,
    pub username: String,
    pub roles: RoleSet,
    pub member_id: Option<MemberId>,
    pub active: bool,
    pub token_version: i64,
    /// An admin reset the password: until the user sets a new one, their tokens admit only the
    /// routes that let them do so.
    pub password_change_required: bool,
}

pub struct UserCache {
    ttl: Duration,
    /// Moves on every change to any user; a read that began before a change is not stored.
    generation: AtomicU64,
    entries: Mutex<HashMap<UserId, (Instant, UserFacts)>>,
}

/// Taken before reading a user from the database; hand it back to [`UserCache::store`].
pub struct ReadTicket(u64);

impl UserCache {
    pub fn new(ttl: Duration) -> UserCache {
        UserCache {
            ttl,
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The user's facts if read within the time to live.
    pub fn get(&self, user: UserId) -> Option<UserFacts> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&user)
            .filter(|(read_at, _)| read_at.elapsed() < self.ttl)
            .map(|(_, facts)| facts.clone())
    }

    pub fn ticket(&self) -> ReadTicket {
        ReadTicket(self.generation.load(Ordering::SeqCst))
    }

    /// Remembers what was read, unless a user changed since the ticket was taken.
    pub fn store(&self, ticket: ReadTicket, user: UserId, facts: UserFacts) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock that `forget` also takes, so a change cannot slip in between.
        if self.generation.load(Ordering::SeqCst) != ticket.0 {
            return;
        }
        if entries.len() >= USER_CACHE_ENTRIES_MAX {
            entries.clear();
        }
        entries.insert(user, (Instant::now(), facts));
    }

    /// Forgets a user whose status, roles, password or token version changed (call it after the
    /// change is committed).
    pub fn forget(&self, user: UserId) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(&user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(version: i64) -> UserFacts {
        UserFacts {
            community_id: CommunityId(uuid::Uuid::nil()),
            username: "clerk".into(),
            roles: RoleSet::default(),
            member_id: None,
            active: true,
            token_version: version,
            password_change_required: false,
        }
    }

    #[test]
    fn a_stored_user_is_served_until_forgotten() {
        let cache = UserCache::new(Duration::from_secs(60));
        let user = UserId(uuid::Uuid::now_v7());
        assert!(cache.get(user).is_none());
        cache.store(cache.ticket(), user, facts(1));
        assert_eq!(cache.get(user).map(|f| f.token_version), Some(1));
        cache.forget(user);
        assert!(cache.get(user).is_none());
    }

    #[test]
    fn a_read_that_raced_with_a_change_is_not_stored() {
        let cache = UserCache::new(Duration::from_secs(60));
        let user = UserId(uuid::Uuid::now_v7());
        let ticket = cache.ticket();
        // The user changes (logout) while the old row is on its way back from the database.
        cache.forget(user);
        cache.store(ticket, user, facts(1));
        assert!(cache.get(user).is_none(), "the stale read must not be kept");
    }

    #[test]
    fn entries_age_out_and_zero_turns_the_cache_off() {
        let cache = UserCache::new(Duration::from_millis(30));
        let user = UserId(uuid::Uuid::now_v7());
        cache.store(cache.ticket(), user, facts(1));
        assert!(cache.get(user).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get(user).is_none());

        let off = UserCache::new(Duration::ZERO);
        off.store(off.ticket(), user, facts(1));
        assert!(off.get(user).is_none());
    }
}
