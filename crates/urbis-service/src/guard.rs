//! Abuse guards: bounded password hashing, per-client rate limits and per-account back-off.
//!
//! - Password hashing (argon2id) runs on the blocking pool behind a semaphore with one permit per
//!   core (at most [`HASH_SLOTS_MAX`]), each permit owning one reusable argon2 memory buffer, so
//!   concurrent logins and registrations never hold more than `permits × m_cost` of hashing
//!   memory however many arrive; callers beyond a short queue get `too_many_attempts`.
//! - Per-client limits (registration, anonymous appeals, wrong logins) are GCRA buckets from the
//!   `governor` crate keyed by the client's address; the error carries the wait (`Retry-After`).
//!   Only a wrong login draws from the login bucket, so the operators of a call centre behind one
//!   address all log in at the start of a shift, while password spraying from it is still slowed.
//! - Per-account back-off: after [`SecurityLimits::free_failures`] wrong passwords for one
//!   username (known or not, so the answer reveals nothing), each further attempt waits twice as
//!   long as the last, up to [`SecurityLimits::max_backoff`]; a success clears it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use argon2::Block;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::{ErrorKind, Result, ServiceError};

/// Most concurrent password hashes, whatever the machine.
pub const HASH_SLOTS_MAX: usize = 8;

/// A token bucket: `burst` requests at once, then one every `every`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: u32,
    pub every: Duration,
}

impl Rate {
    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(self.every.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

/// Limits against abuse; see the module header.
#[derive(Debug, Clone)]
pub struct SecurityLimits {
    /// Concurrent password hashes; 0 = one per core (at most [`HASH_SLOTS_MAX`]).
    pub hash_concurrency: usize,
    /// Wrong logins per client address.
    pub login_per_client: Rate,
    /// Registrations per client address.
    pub register_per_client: Rate,
    /// Appeals per anonymous client address.
    pub anonymous_appeals_per_client: Rate,
    /// Wrong passwords for one username before back-off starts.
    pub free_failures: u32,
    /// Longest wait imposed on one username.
    pub max_backoff: Duration,
    /// Photo bytes one user may upload per day (city-local day).
    pub photo_bytes_per_user_day: i64,
    /// Anonymous repeat reports that raise a case's priority (more are counted, not scored).
    pub anonymous_repeat_cap: u32,
}

impl Default for SecurityLimits {
    fn default() -> Self {
        SecurityLimits {
            hash_concurrency: 0,
            login_per_client: Rate {
                burst: 20,
                every: Duration::from_secs(3),
            },
            register_per_client: Rate {
                burst: 5,
                every: Duration::from_secs(60),
            },
            anonymous_appeals_per_client: Rate {
                burst: 10,
                every: Duration::from_secs(60),
            },
            free_failures: 5,
            max_backoff: Duration::from_secs(15 * 60),
            photo_bytes_per_user_day: 50 * 1024 * 1024,
            anonymous_repeat_cap: 3,
        }
    }
}

impl SecurityLimits {
    /// Limits loose enough for tests that make many calls from one address.
    pub fn relaxed() -> SecurityLimits {
        let many = Rate {
            burst: 100_000,
            every: Duration::from_millis(1),
        };
        SecurityLimits {
            login_per_client: many,
            register_per_client: many,
            anonymous_appeals_per_client: many,
            free_failures: 1_000,
            ..SecurityLimits::default()
        }
    }
}

/// The error of every throttle: 429 with the wait in whole seconds.
pub fn throttled(code: &'static str, wait: Duration) -> ServiceError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    ServiceError::new(
        ErrorKind::TooManyRequests {
            retry_after_secs: secs,
        },
        code,
        format!("too many requests; try again in {secs} s"),
    )
}

struct Backoff {
    failures: u32,
    until: Option<Instant>,
}

/// Which per-client bucket a request draws from.
#[derive(Debug, Clone, Copy)]
pub enum Bucket {
    Register,
    AnonymousAppeal,
}

/// The guards of one running service.
pub(crate) struct Guards {
    limits: SecurityLimits,
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    buffers: Mutex<Vec<Vec<Block>>>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Wrong logins per client: a bucket drawn from by each failure, and the clients whose bucket
    /// ran dry, refused until it refills. Successful logins draw nothing, so a call centre's
    /// operators behind one address all log in at the start of a shift.
    login: DefaultKeyedRateLimiter<String>,
    login_blocked: Mutex<HashMap<String, Instant>>,
    register: DefaultKeyedRateLimiter<String>,
    anonymous: DefaultKeyedRateLimiter<String>,
    accounts: Mutex<HashMap<String, Backoff>>,
    checks: AtomicU64,
}

/// Most usernames with failures remembered at once.
const ACCOUNTS_MAX: usize = 100_000;

impl Guards {
    pub(crate) fn new(limits: SecurityLimits) -> Guards {
        let permits = if limits.hash_concurrency == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            limits.hash_concurrency
        }
        .clamp(1, HASH_SLOTS_MAX);
        Guards {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(permits)),
            buffers: Mutex::new(Vec::new()),
            waiting: AtomicUsize::new(0),
            max_waiting: permits * 32,
            login: RateLimiter::keyed(limits.login_per_client.quota()),
            login_blocked: Mutex::new(HashMap::new()),
            register: RateLimiter::keyed(limits.register_per_client.quota()),
            anonymous: RateLimiter::keyed(limits.anonymous_appeals_per_client.quota()),
            accounts: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
            limits,
        }
    }

    /// Fails while the client's wrong logins have used up its bucket.
    pub(crate) fn login_ready(&self, client: &str) -> Result<()> {
        let blocked = self.login_blocked.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = blocked.get(client) {
            let now = Instant::now();
            if *until > now {
                return Err(throttled("too_many_attempts", *until - now));
            }
        }
        Ok(())
    }

    /// Records a wrong login from the client: once its bucket is dry, it waits for the refill.
    pub(crate) fn login_failed(&self, client: &str) {
        if let Err(not_until) = self.login.check_key(&client.to_owned()) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut blocked = self.login_blocked.lock().unwrap_or_else(|p| p.into_inner());
            if blocked.len() >= ACCOUNTS_MAX {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
                if blocked.len() >= ACCOUNTS_MAX {
                    blocked.clear();
                }
            }
            blocked.insert(client.to_owned(), Instant::now() + wait);
        }
    }

    /// Draws one request from the client's bucket.
    pub(crate) fn check(&self, bucket: Bucket, client: &str) -> Result<()> {
        let (limiter, code) = match bucket {
            Bucket::Register => (&self.register, "too_many_attempts"),
            Bucket::AnonymousAppeal => (&self.anonymous, "too_many_appeals"),
        };
        // Forget idle clients now and then so the maps stay small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            for limiter in [&self.login, &self.register, &self.anonymous] {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
        limiter.check_key(&client.to_owned()).map_err(|not_until| {
            throttled(
                code,
                not_until.wait_time_from(DefaultClock::default().now()),
            )
        })
    }

    /// Fails while the username is backing off.
    pub(crate) fn account_ready(&self, username: &str) -> Result<()> {
        let accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = accounts.get(username).and_then(|b| b.until) {
            let now = Instant::now();
            if until > now {
                return Err(throttled("too_many_attempts", until - now));
            }
        }
        Ok(())
    }

    /// Records a wrong password for the username.
    pub(crate) fn account_failed(&self, username: &str) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if accounts.len() >= ACCOUNTS_MAX && !accounts.contains_key(username) {
            let now = Instant::now();
            accounts.retain(|_, b| b.until.is_some_and(|u| u > now));
            if accounts.len() >= ACCOUNTS_MAX {
                accounts.clear();
            }
        }
        let entry = accounts.entry(username.to_owned()).or_insert(Backoff {
            failures: 0,
            until: None,
        });
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures >= self.limits.free_failures {
            let step = (entry.failures - self.limits.free_failures).min(20);
            let wait = Duration::from_secs(1u64 << step).min(self.limits.max_backoff);
            entry.until = Some(Instant::now() + wait);
        }
    }

    /// Clears the username's failures after a successful login.
    pub(crate) fn account_succeeded(&self, username: &str) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        accounts.remove(username);
    }

    /// Runs `work` on the blocking pool with one hashing slot and its memory buffer of at least
    /// `blocks` blocks. The slot and the buffer stay taken until `work` ends, even when the
    /// caller gives up waiting.
    pub(crate) async fn hash<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        blocks: usize,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(throttled("too_many_attempts", Duration::from_secs(1)));
        }
        let permit = self.slots.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit.map_err(|_| ServiceError::internal())?;
        let guards = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut buffer = guards
                .buffers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop()
                .unwrap_or_default();
            if buffer.len() < blocks {
                buffer.resize(blocks, Block::default());
            }
            let out = work(&mut buffer[..blocks]);
            guards
                .buffers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(buffer);
            out
        })
        .await;
        result.map_err(|_| ServiceError::internal())
    }
}
