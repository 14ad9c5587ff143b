//! Rate limits (api.md §3): sign-in and registration attempts per (client IP,
//! email) and action, all such attempts per client IP (so spraying many
//! emails from one address is limited too), and API requests per user. All
//! answer 429 with `Retry-After`.
//!
//! The counters live in this process: with several instances behind a load
//! balancer each one enforces the limit on what it sees.
//!
//! Memory stays bounded however many clients an attacker makes up: a key is
//! fixed-size (the email is kept as a 64-bit keyed hash, not as sent), keys
//! whose limit is back to full are forgotten every few seconds
//! (`startup::housekeeping`), and at once when the maps grow past
//! [`PRUNE_ABOVE`]. A key is forgotten once its limit is back to full
//! (governor keeps it for two of its intervals: 24 s at 5 per minute), so
//! what is held is about the last half minute's keys, ~100 bytes each.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::error::AppError;

/// The attempts counted separately from each other (accepting an invitation
/// counts as a login).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthAction {
    Login,
    Register,
}

/// Keys held before a check prunes the maps itself instead of waiting for
/// the next housekeeping round.
pub const PRUNE_ABOVE: usize = 100_000;

/// Submissions of one public form from one address, per minute (leads.md).
pub const FORM_SUBMISSIONS_PER_MINUTE: u32 = 10;

pub struct RateLimits {
    /// (action, IP, keyed hash of the normalized email).
    auth: DefaultKeyedRateLimiter<(AuthAction, IpAddr, u64)>,
    auth_ip: DefaultKeyedRateLimiter<IpAddr>,
    api: DefaultKeyedRateLimiter<Uuid>,
    /// Public form submissions per (form, client IP): 10 a minute.
    forms: DefaultKeyedRateLimiter<(Uuid, IpAddr)>,
    clock: DefaultClock,
    /// Hashes emails with a key of this process's own (no chosen collisions).
    email_hasher: std::collections::hash_map::RandomState,
    started: std::time::Instant,
    /// Seconds since `started` of the last pruning a check did.
    last_pruned: AtomicU64,
}

impl RateLimits {
    pub fn new(auth_per_minute: u32, auth_ip_per_minute: u32, api_per_second: u32) -> Self {
        let auth_quota = Quota::per_minute(nonzero(auth_per_minute));
        let auth_ip_quota = Quota::per_minute(nonzero(auth_ip_per_minute));
        let api_quota =
            Quota::per_second(nonzero(api_per_second)).allow_burst(nonzero(api_per_second.saturating_mul(2)));
        Self {
            auth: DefaultKeyedRateLimiter::keyed(auth_quota),
            auth_ip: DefaultKeyedRateLimiter::keyed(auth_ip_quota),
            api: DefaultKeyedRateLimiter::keyed(api_quota),
            forms: DefaultKeyedRateLimiter::keyed(Quota::per_minute(nonzero(FORM_SUBMISSIONS_PER_MINUTE))),
            clock: DefaultClock::default(),
            email_hasher: Default::default(),
            started: std::time::Instant::now(),
            last_pruned: AtomicU64::new(0),
        }
    }

    /// Counts one sign-in or registration attempt; every attempt counts, whatever
    /// its outcome: against the (action, IP, email) limit and the IP's own.
    pub fn check_auth(&self, action: AuthAction, ip: Option<IpAddr>, email: &str) -> Result<(), AppError> {
        let ip = ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let key = (action, ip, self.email_hasher.hash_one(email.trim().to_lowercase()));
        self.prune_if_large();
        self.auth_ip
            .check_key(&ip)
            .and_then(|()| self.auth.check_key(&key))
            .map_err(|not_until| self.limited(not_until.wait_time_from(self.clock.now())))
    }

    /// Counts one API request of `user`.
    pub fn check_user(&self, user: Uuid) -> Result<(), AppError> {
        self.api
            .check_key(&user)
            .map_err(|not_until| self.limited(not_until.wait_time_from(self.clock.now())))
    }

    /// Counts one submission of a public form from `ip`.
    pub fn check_form(&self, form: Uuid, ip: Option<IpAddr>) -> Result<(), AppError> {
        let ip = ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        self.prune_if_large();
        self.forms
            .check_key(&(form, ip))
            .map_err(|not_until| self.limited(not_until.wait_time_from(self.clock.now())))
    }

    fn limited(&self, wait: std::time::Duration) -> AppError {
        AppError::rate_limited(wait.as_secs_f64().ceil() as u64)
    }

    /// Forgets keys whose limits are back to full, so memory stays bounded.
    pub fn retain_recent(&self) {
        self.auth.retain_recent();
        self.auth_ip.retain_recent();
        self.api.retain_recent();
        self.forms.retain_recent();
    }

    /// Keys held now, in all three maps.
    pub fn keys(&self) -> usize {
        self.auth.len() + self.auth_ip.len() + self.api.len() + self.forms.len()
    }

    /// Prunes at once when a flood of new keys outgrows [`PRUNE_ABOVE`],
    /// at most once a second (pruning walks every key).
    fn prune_if_large(&self) {
        if self.auth.len() + self.auth_ip.len() + self.forms.len() <= PRUNE_ABOVE {
            return;
        }
        let now = self.started.elapsed().as_secs() + 1;
        let last = self.last_pruned.load(Ordering::Relaxed);
        if now > last
            && self
                .last_pruned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.retain_recent();
        }
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}
