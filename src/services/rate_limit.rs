//! Rate limits (api.md §3): sign-in and registration attempts per (client IP,
//! email) and action, all such attempts per client IP (so spraying many
//! emails from one address is limited too), and API requests per user. All
//! answer 429 with `Retry-After`.
//!
//! The counters live in this process: with several instances behind a load
//! balancer each one enforces the limit on what it sees.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;

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

pub struct RateLimits {
    auth: DefaultKeyedRateLimiter<(AuthAction, IpAddr, String)>,
    auth_ip: DefaultKeyedRateLimiter<IpAddr>,
    api: DefaultKeyedRateLimiter<Uuid>,
    clock: DefaultClock,
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
            clock: DefaultClock::default(),
        }
    }

    /// Counts one sign-in or registration attempt; every attempt counts, whatever
    /// its outcome: against the (action, IP, email) limit and the IP's own.
    pub fn check_auth(&self, action: AuthAction, ip: Option<IpAddr>, email: &str) -> Result<(), AppError> {
        let ip = ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let key = (action, ip, email.trim().to_lowercase());
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

    fn limited(&self, wait: std::time::Duration) -> AppError {
        AppError::rate_limited(wait.as_secs_f64().ceil() as u64)
    }

    /// Forgets keys whose limits are back to full, so memory stays bounded.
    pub fn retain_recent(&self) {
        self.auth.retain_recent();
        self.auth_ip.retain_recent();
        self.api.retain_recent();
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}
