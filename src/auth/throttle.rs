//! Password-guessing limits per username and per client address, for every place a password is
//! checked (login and password change), and the same limits on admins' password resets.
//!
//! An attempt takes its slot *before* the password is hashed, under the same lock as the check,
//! so a burst of concurrent guesses is held to the limit exactly like guesses one after another:
//! once a username or address has as many failures plus attempts in progress as its limit allows,
//! further attempts are refused until the window ends. A wrong password keeps its slot as a
//! failure; a right one gives its slot back and clears the username's failures (not the
//! address's: one correct password does not vouch for the other guesses from that address). An
//! attempt abandoned before its outcome is known (a database error, a dropped request) gives its
//! slot back, since nobody learnt anything from it.
//!
//! The counts live in memory: each instance throttles what it sees, which bounds guessing to the
//! limit times the number of instances.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed password checks per username within the window before further attempts are refused.
pub const LOGIN_FAILURES_PER_USER_MAX: u32 = 5;
/// Failed password checks per client address within the window.
pub const LOGIN_FAILURES_PER_ADDRESS_MAX: u32 = 20;
pub const LOGIN_WINDOW_SECONDS: u64 = 300;
/// Entries kept per table at most, so a flood of random usernames cannot grow memory without limit.
const THROTTLE_ENTRIES_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    /// Wrong passwords within the window.
    failures: u32,
    /// Attempts holding a slot whose password is still being checked.
    in_flight: u32,
}

impl Window {
    fn new(now: Instant) -> Window {
        Window {
            started: now,
            failures: 0,
            in_flight: 0,
        }
    }

    /// Starts a new window once the old one has passed. Attempts in flight keep their slots: they
    /// were taken in the old window and are settled in whichever window they end in.
    fn roll(&mut self, now: Instant) {
        if now.duration_since(self.started) >= window() {
            self.started = now;
            self.failures = 0;
        }
    }

    /// Seconds to wait before another attempt may take a slot, or `None` when one is free.
    fn wait_seconds(&self, max: u32, now: Instant) -> Option<u64> {
        if self.failures + self.in_flight < max {
            return None;
        }
        if self.failures < max {
            // Only attempts in progress fill the window; their slots may come back in a moment.
            return Some(1);
        }
        let left = window().saturating_sub(now.duration_since(self.started));
        Some(left.as_secs().max(1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Succeeded,
    Abandoned,
}

#[derive(Debug, Default)]
struct Tables {
    users: HashMap<String, Window>,
    addresses: HashMap<String, Window>,
}

/// Both tables behind one lock, so an attempt checks and takes its slots in the user's and the
/// address's windows in one step.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    tables: Mutex<Tables>,
}

fn window() -> Duration {
    Duration::from_secs(LOGIN_WINDOW_SECONDS)
}

/// Makes room for one more entry: forgets windows that have passed, and if the table is still
/// full of live ones, the older half of those not in flight.
fn make_room(map: &mut HashMap<String, Window>, now: Instant) {
    if map.len() < THROTTLE_ENTRIES_MAX {
        return;
    }
    map.retain(|_, w| w.in_flight > 0 || now.duration_since(w.started) < window());
    if map.len() < THROTTLE_ENTRIES_MAX {
        return;
    }
    let mut starts: Vec<Instant> = map.values().map(|w| w.started).collect();
    starts.sort();
    if let Some(&cut) = starts.get(starts.len() / 2) {
        map.retain(|_, w| w.in_flight > 0 || w.started > cut);
    }
}

fn entry<'m>(map: &'m mut HashMap<String, Window>, key: &str, now: Instant) -> &'m mut Window {
    if !map.contains_key(key) {
        make_room(map, now);
    }
    let window = map
        .entry(key.to_string())
        .or_insert_with(|| Window::new(now));
    window.roll(now);
    window
}

fn wait_seconds(
    map: &mut HashMap<String, Window>,
    key: &str,
    max: u32,
    now: Instant,
) -> Option<u64> {
    let window = map.get_mut(key)?;
    window.roll(now);
    window.wait_seconds(max, now)
}

fn settle(map: &mut HashMap<String, Window>, key: &str, outcome: Outcome, clears: bool) {
    let now = Instant::now();
    let window = entry(map, key, now);
    window.in_flight = window.in_flight.saturating_sub(1);
    match outcome {
        Outcome::Failed => window.failures += 1,
        Outcome::Succeeded if clears => window.failures = 0,
        Outcome::Succeeded | Outcome::Abandoned => {}
    }
    if window.failures == 0 && window.in_flight == 0 {
        map.remove(key);
    }
}

impl LoginThrottle {
    /// Takes a slot for one password check by `username` from `address`, or refuses with the
    /// seconds to wait (`Retry-After`) when either has used up its window.
    pub fn begin_attempt(&self, username: &str, address: &str) -> Result<Attempt<'_>, u64> {
        let user = username.to_lowercase();
        let now = Instant::now();
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let user_wait = wait_seconds(&mut tables.users, &user, LOGIN_FAILURES_PER_USER_MAX, now);
        let address_wait = wait_seconds(
            &mut tables.addresses,
            address,
            LOGIN_FAILURES_PER_ADDRESS_MAX,
            now,
        );
        if let Some(seconds) = user_wait.max(address_wait) {
            return Err(seconds);
        }
        entry(&mut tables.users, &user, now).in_flight += 1;
        entry(&mut tables.addresses, address, now).in_flight += 1;
        Ok(Attempt {
            throttle: self,
            user,
            address: address.to_string(),
            settled: false,
        })
    }

    /// Takes a slot for one password reset by the admin `actor` of the user `target`: an admin may
    /// make as many resets within the window as a username may fail logins, and a user's password
    /// may be reset as often as an address may fail. Settle it with [`Attempt::spent`] once the
    /// reset is done. The keys hold a space, which no username or address does, so resets never
    /// share a window with logins.
    pub fn begin_password_reset(&self, actor: &str, target: &str) -> Result<Attempt<'_>, u64> {
        self.begin_attempt(
            &format!("password reset by {actor}"),
            &format!("password reset of {target}"),
        )
    }

    fn settle(&self, user: &str, address: &str, outcome: Outcome) {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        settle(&mut tables.users, user, outcome, true);
        settle(&mut tables.addresses, address, outcome, false);
    }
}

/// One password check holding its slots. Say how it ended with [`Attempt::failed`] or
/// [`Attempt::succeeded`]; dropped unsaid, it gives its slots back.
#[derive(Debug)]
#[must_use = "an attempt that is never settled gives its slot back"]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    user: String,
    address: String,
    settled: bool,
}

impl Attempt<'_> {
    /// The password was wrong: the slot stays taken until the window ends.
    pub fn failed(mut self) {
        self.finish(Outcome::Failed);
    }

    /// The thing throttled was done (a password reset): like a wrong password, it keeps its slot
    /// until the window ends.
    pub fn spent(mut self) {
        self.finish(Outcome::Failed);
    }

    /// The password was right: the slot is given back and the username's failures are cleared.
    pub fn succeeded(mut self) {
        self.finish(Outcome::Succeeded);
    }

    fn finish(&mut self, outcome: Outcome) {
        if !self.settled {
            self.settled = true;
            self.throttle.settle(&self.user, &self.address, outcome);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.finish(Outcome::Abandoned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_is_blocked_after_the_limit_and_a_success_clears_it() {
        let throttle = LoginThrottle::default();
        for _ in 0..LOGIN_FAILURES_PER_USER_MAX - 1 {
            throttle.begin_attempt("zhang", "1.2.3.4").unwrap().failed();
        }
        throttle
            .begin_attempt("zhang", "1.2.3.4")
            .unwrap()
            .succeeded();
        for _ in 0..LOGIN_FAILURES_PER_USER_MAX {
            throttle.begin_attempt("zhang", "1.2.3.4").unwrap().failed();
        }
        assert!(throttle.begin_attempt("Zhang", "5.6.7.8").is_err());
        assert!(throttle.begin_attempt("li", "5.6.7.8").is_ok());
    }

    #[test]
    fn attempts_in_progress_hold_their_slots() {
        let throttle = LoginThrottle::default();
        let held: Vec<Attempt<'_>> = (0..LOGIN_FAILURES_PER_USER_MAX)
            .map(|_| throttle.begin_attempt("wang", "1.2.3.4").unwrap())
            .collect();
        assert_eq!(throttle.begin_attempt("wang", "1.2.3.4").err(), Some(1));
        // Abandoned attempts give their slots back; a success gives its own back.
        let mut held = held.into_iter();
        drop(held.next());
        held.next().unwrap().succeeded();
        let again = throttle.begin_attempt("wang", "1.2.3.4").unwrap();
        for attempt in held {
            attempt.failed();
        }
        again.failed();
        // Four failures so far; the fifth fills the window for its whole length.
        throttle.begin_attempt("wang", "1.2.3.4").unwrap().failed();
        let wait = throttle.begin_attempt("wang", "1.2.3.4").err().unwrap();
        assert!(wait > 1 && wait <= LOGIN_WINDOW_SECONDS, "{wait}");
    }

    #[test]
    fn password_resets_are_counted_apart_from_logins() {
        let throttle = LoginThrottle::default();
        for _ in 0..LOGIN_FAILURES_PER_USER_MAX {
            throttle
                .begin_password_reset("admin-1", "user-1")
                .unwrap()
                .spent();
        }
        let wait = throttle.begin_password_reset("admin-1", "user-2").err();
        assert!(wait.is_some_and(|w| w > 1), "{wait:?}");
        // Another admin, and logins of the admin's own username, are not held back by it.
        throttle
            .begin_password_reset("admin-2", "user-1")
            .unwrap()
            .spent();
        assert!(throttle.begin_attempt("admin-1", "1.2.3.4").is_ok());
        // A reset abandoned before it was done (an unknown user) gives its slot back.
        drop(throttle.begin_password_reset("admin-3", "nobody").unwrap());
        for _ in 0..LOGIN_FAILURES_PER_USER_MAX {
            throttle
                .begin_password_reset("admin-3", "user-3")
                .unwrap()
                .spent();
        }
    }

    #[test]
    fn an_address_is_blocked_after_its_limit_and_successes_do_not_count() {
        let throttle = LoginThrottle::default();
        for i in 0..2 * LOGIN_FAILURES_PER_ADDRESS_MAX {
            throttle
                .begin_attempt(&format!("ok{i}"), "9.9.9.9")
                .unwrap()
                .succeeded();
        }
        for i in 0..LOGIN_FAILURES_PER_ADDRESS_MAX {
            throttle
                .begin_attempt(&format!("user{i}"), "9.9.9.9")
                .unwrap()
                .failed();
        }
        assert!(throttle.begin_attempt("someone-else", "9.9.9.9").is_err());
        assert!(throttle.begin_attempt("someone-else", "8.8.8.8").is_ok());
    }
}
