//! What stands between a flood of console sign-ins and the server: every attempt, also for an
//! unknown email, costs an argon2id check (tens of milliseconds of CPU and about 19 MiB), so
//! only as many run at once as there are cores, and an account that keeps failing waits longer
//! and longer before its next check. The per-client limit is in `rate_limit.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failures an account may have before it has to wait.
pub const FREE_FAILURES: u32 = 5;

/// The longest wait: after the sixth failure 1 s, then 2, 4, 8 … up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// Accounts whose failures are remembered at most; past it, those whose wait is over go.
pub const MAX_ACCOUNTS: usize = 10_000;

/// An account's failures since its last success.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_ms: i64,
}

/// The bound on concurrent password checks and the per-account backoff.
pub struct SignInGuard {
    checks: Arc<Semaphore>,
    failures: Mutex<HashMap<[u8; 32], Failures>>,
}

impl SignInGuard {
    /// At most `concurrent` password checks at once.
    pub fn new(concurrent: usize) -> Self {
        Self {
            checks: Arc::new(Semaphore::new(concurrent.max(1))),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one password check, or `None` while all are taken: the caller answers 503
    /// rather than queueing work that a flood would pile up without end.
    pub fn permit(&self) -> Option<OwnedSemaphorePermit> {
        self.checks.clone().try_acquire_owned().ok()
    }

    /// How long `email` must still wait before its password is checked again, if at all.
    pub fn wait(&self, email: &str, now_ms: i64) -> Option<Duration> {
        let failures = *self
            .failures
            .lock()
            .expect("never poisoned")
            .get(&key(email))?;
        let until_ms = failures.last_ms + millis(backoff(failures.count));
        (until_ms > now_ms).then(|| Duration::from_millis((until_ms - now_ms).unsigned_abs()))
    }

    /// Counts a wrong password (or an unknown email) for `email`.
    pub fn failed(&self, email: &str, now_ms: i64) {
        let mut failures = self.failures.lock().expect("never poisoned");
        if failures.len() >= MAX_ACCOUNTS {
            failures.retain(|_, f| f.last_ms + millis(backoff(f.count)) > now_ms);
            failures.shrink_to_fit();
        }
        let entry = failures.entry(key(email)).or_insert(Failures {
            count: 0,
            last_ms: now_ms,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last_ms = now_ms;
    }

    /// Forgets `email`'s failures after a successful sign-in.
    pub fn succeeded(&self, email: &str) {
        self.failures
            .lock()
            .expect("never poisoned")
            .remove(&key(email));
    }

    /// Accounts with failures remembered.
    pub fn remembered(&self) -> usize {
        self.failures.lock().expect("never poisoned").len()
    }
}

/// The wait after `count` failures.
fn backoff(count: u32) -> Duration {
    if count <= FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (count - FREE_FAILURES - 1).min(20);
    Duration::from_secs(1 << doublings).min(MAX_BACKOFF)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Addresses are kept hashed: the map says nothing about who tried to sign in.
fn key(email: &str) -> [u8; 32] {
    Sha256::digest(email.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_waits_longer_after_each_failure_past_five_and_success_forgets() {
        let guard = SignInGuard::new(2);
        let email = "mari@shop.example";
        for _ in 0..FREE_FAILURES {
            guard.failed(email, 0);
            assert_eq!(guard.wait(email, 0), None, "five failures are free");
        }
        guard.failed(email, 0);
        assert_eq!(guard.wait(email, 0), Some(Duration::from_secs(1)));
        assert_eq!(
            guard.wait(email, 1_000),
            None,
            "the wait is over after a second"
        );
        guard.failed(email, 1_000);
        assert_eq!(guard.wait(email, 1_000), Some(Duration::from_secs(2)));
        for _ in 0..40 {
            guard.failed(email, 10_000);
        }
        assert_eq!(guard.wait(email, 10_000), Some(MAX_BACKOFF));
        assert_eq!(guard.wait("ann@shop.example", 10_000), None, "per account");
        guard.succeeded(email);
        assert_eq!(guard.wait(email, 10_000), None);
    }

    #[test]
    fn only_as_many_checks_run_as_there_are_places() {
        let guard = SignInGuard::new(2);
        let first = guard.permit().unwrap();
        let _second = guard.permit().unwrap();
        assert!(guard.permit().is_none(), "the third waits for a place");
        drop(first);
        assert!(guard.permit().is_some());
    }

    #[test]
    fn remembered_accounts_stay_within_the_cap() {
        let guard = SignInGuard::new(1);
        for n in 0..MAX_ACCOUNTS + 100 {
            guard.failed(&format!("{n}@example.com"), 1_000 + n as i64);
        }
        assert!(guard.remembered() <= MAX_ACCOUNTS, "{}", guard.remembered());
    }
}
