//! Failed-login throttling per username and per client address. In memory: each instance throttles
//! what it sees, which bounds guessing to a small multiple of the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins per username within the window before further attempts are refused.
pub const LOGIN_FAILURES_PER_USER_MAX: u32 = 5;
/// Failed logins per client address within the window.
pub const LOGIN_FAILURES_PER_ADDRESS_MAX: u32 = 20;
pub const LOGIN_WINDOW_SECONDS: u64 = 300;
/// Entries kept at most, so a flood of random usernames cannot grow memory without limit.
const THROTTLE_ENTRIES_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    users: Mutex<HashMap<String, Window>>,
    addresses: Mutex<HashMap<String, Window>>,
}

fn window() -> Duration {
    Duration::from_secs(LOGIN_WINDOW_SECONDS)
}

fn blocked_for(map: &Mutex<HashMap<String, Window>>, key: &str, max: u32) -> Option<u64> {
    let map = map.lock().unwrap_or_else(|p| p.into_inner());
    let entry = map.get(key)?;
    let elapsed = entry.started.elapsed();
    if elapsed >= window() || entry.failures < max {
        return None;
    }
    Some((window() - elapsed).as_secs().max(1))
}

fn record(map: &Mutex<HashMap<String, Window>>, key: &str) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= THROTTLE_ENTRIES_MAX {
        map.retain(|_, w| w.started.elapsed() < window());
        if map.len() >= THROTTLE_ENTRIES_MAX {
            // Still full of live entries: drop the oldest half rather than grow.
            let mut starts: Vec<Instant> = map.values().map(|w| w.started).collect();
            starts.sort();
            let cut = starts[starts.len() / 2];
            map.retain(|_, w| w.started > cut);
        }
    }
    let entry = map.entry(key.to_string()).or_insert(Window {
        started: Instant::now(),
        failures: 0,
    });
    if entry.started.elapsed() >= window() {
        *entry = Window {
            started: Instant::now(),
            failures: 0,
        };
    }
    entry.failures += 1;
}

impl LoginThrottle {
    /// `Some(seconds)` when the username or the address must wait before trying again.
    pub fn retry_after(&self, username: &str, address: &str) -> Option<u64> {
        let user = blocked_for(
            &self.users,
            &username.to_lowercase(),
            LOGIN_FAILURES_PER_USER_MAX,
        );
        let addr = blocked_for(&self.addresses, address, LOGIN_FAILURES_PER_ADDRESS_MAX);
        user.max(addr)
    }

    pub fn record_failure(&self, username: &str, address: &str) {
        record(&self.users, &username.to_lowercase());
        record(&self.addresses, address);
    }

    pub fn record_success(&self, username: &str) {
        let mut map = self.users.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&username.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_is_blocked_after_the_limit_and_success_resets_it() {
        let throttle = LoginThrottle::default();
        for _ in 0..LOGIN_FAILURES_PER_USER_MAX {
            assert!(throttle.retry_after("zhang", "1.2.3.4").is_none());
            throttle.record_failure("zhang", "1.2.3.4");
        }
        assert!(throttle.retry_after("Zhang", "5.6.7.8").is_some());
        assert!(throttle.retry_after("li", "5.6.7.8").is_none());
        throttle.record_success("zhang");
        assert!(throttle.retry_after("zhang", "5.6.7.8").is_none());
    }

    #[test]
    fn an_address_is_blocked_after_its_limit() {
        let throttle = LoginThrottle::default();
        for i in 0..LOGIN_FAILURES_PER_ADDRESS_MAX {
            throttle.record_failure(&format!("user{i}"), "9.9.9.9");
        }
        assert!(throttle.retry_after("someone-else", "9.9.9.9").is_some());
    }
}
