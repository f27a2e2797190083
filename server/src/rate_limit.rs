//! Per-client and per-site limits on the ingest endpoint, with the client's address taken from
//! `X-Forwarded-For` only when the connection comes from a proxy the operator trusts.
//!
//! Clients are keyed by a hash of the address and a salt that is random and replaced every UTC
//! day, so the limiter never holds a raw IP address, and yesterday's keys cannot be linked to
//! today's (as Plausible does for its visitor ids).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::HeaderMap;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::domain::SiteId;

/// The limits, from the command line.
#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// Answers one client address may post per minute (also its burst).
    pub per_client_per_minute: NonZeroU32,
    /// Answers one site may receive per second (also its burst).
    pub per_site_per_second: NonZeroU32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_client_per_minute: NonZeroU32::new(120).expect("not zero"),
            per_site_per_second: NonZeroU32::new(500).expect("not zero"),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Console sign-in attempts one client address may make per minute (also its burst).
pub const SIGN_INS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(10).expect("not zero");

/// Which limit a request ran into, and when to come back.
#[derive(Debug, Clone, Copy)]
pub struct Limited {
    /// `client` or `site`.
    pub scope: &'static str,
    /// How long until one more request would be allowed.
    pub retry_after: Duration,
}

/// The limiters and the day's salt.
pub struct RateLimits {
    config: RateLimitConfig,
    per_client: DefaultKeyedRateLimiter<[u8; 16]>,
    per_site: DefaultKeyedRateLimiter<SiteId>,
    sign_in: DefaultKeyedRateLimiter<[u8; 16]>,
    salt: Mutex<(i64, [u8; 32])>,
}

impl RateLimits {
    /// Empty limiters for `config`.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            per_client: DefaultKeyedRateLimiter::keyed(Quota::per_minute(
                config.per_client_per_minute,
            )),
            per_site: DefaultKeyedRateLimiter::keyed(Quota::per_second(config.per_site_per_second)),
            sign_in: DefaultKeyedRateLimiter::keyed(Quota::per_minute(SIGN_INS_PER_MINUTE)),
            salt: Mutex::new((i64::MIN, [0; 32])),
            config,
        }
    }

    /// Counts one answer from `peer` (the TCP peer) for `site`; `Err` once a limit is reached.
    pub fn check(&self, peer: IpAddr, headers: &HeaderMap, site: &SiteId) -> Result<(), Limited> {
        let client = self.client_address(peer, headers);
        // The limiter's own clock: `DefaultClock::default()` calibrates a new clock (CPUID and
        // all) each time, which showed up in ingest profiles.
        let clock = self.per_site.clock();
        self.per_site.check_key(site).map_err(|not_until| Limited {
            scope: "site",
            retry_after: not_until.wait_time_from(clock.now()),
        })?;
        self.per_client
            .check_key(&self.client_key(client))
            .map_err(|not_until| Limited {
                scope: "client",
                retry_after: not_until.wait_time_from(clock.now()),
            })
    }

    /// Counts one console sign-in attempt from `peer`; `Err` once the client has made
    /// [`SIGN_INS_PER_MINUTE`] in a minute, which makes guessing passwords slow.
    pub fn check_sign_in(&self, peer: IpAddr, headers: &HeaderMap) -> Result<(), Limited> {
        let client = self.client_key(self.client_address(peer, headers));
        let clock = self.sign_in.clock();
        self.sign_in
            .check_key(&client)
            .map_err(|not_until| Limited {
                scope: "sign_in",
                retry_after: not_until.wait_time_from(clock.now()),
            })
    }

    /// Whether the browser reached us over TLS: said by a trusted proxy's `X-Forwarded-Proto`,
    /// since this server itself speaks plain HTTP.
    pub fn is_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        self.is_trusted(peer)
            && headers
                .get("x-forwarded-proto")
                .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"))
    }

    /// Forgets clients and sites that are back to a full allowance, to bound memory.
    pub fn forget_idle(&self) {
        self.per_client.retain_recent();
        self.per_site.retain_recent();
        self.sign_in.retain_recent();
    }

    /// The address of the client: the peer, unless the peer is a trusted proxy, in which case
    /// the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries left of
    /// that one were written by the client and prove nothing.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.is_trusted(*ip))
            .unwrap_or(peer)
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&ip))
    }

    fn client_key(&self, client: IpAddr) -> [u8; 16] {
        let today = crate::clock::now_ms().div_euclid(86_400_000);
        let salt = {
            let mut salt = self.salt.lock().expect("never poisoned");
            if salt.0 != today {
                *salt = (today, rand::random());
            }
            salt.1
        };
        let digest = Sha256::new()
            .chain_update(salt)
            .chain_update(client.to_string())
            .finalize();
        digest[..16]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(trusted: &[&str]) -> RateLimits {
        RateLimits::new(RateLimitConfig {
            per_client_per_minute: NonZeroU32::new(2).unwrap(),
            per_site_per_second: NonZeroU32::new(100).unwrap(),
            trusted_proxies: trusted.iter().map(|net| net.parse().unwrap()).collect(),
        })
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let untrusted = limits(&[]);
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            untrusted.client_address(peer, &forwarded("198.51.100.1")),
            peer
        );

        let behind_proxies = limits(&["10.0.0.0/8"]);
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        // The client wrote the first entry itself; the proxies appended the rest.
        let chain = forwarded("1.2.3.4, 198.51.100.7, 10.0.0.5");
        assert_eq!(
            behind_proxies.client_address(proxy, &chain),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            behind_proxies.client_address(proxy, &HeaderMap::new()),
            proxy
        );
    }

    #[test]
    fn a_client_over_its_allowance_is_told_when_to_come_back() {
        let limits = limits(&[]);
        let site = SiteId::generate();
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(limits.check(peer, &HeaderMap::new(), &site).is_ok());
        assert!(limits.check(peer, &HeaderMap::new(), &site).is_ok());
        let limited = limits.check(peer, &HeaderMap::new(), &site).unwrap_err();
        assert_eq!(limited.scope, "client");
        assert!(limited.retry_after > Duration::from_secs(10), "{limited:?}");
        let other: IpAddr = "203.0.113.10".parse().unwrap();
        assert!(
            limits.check(other, &HeaderMap::new(), &site).is_ok(),
            "limits are per client"
        );
    }
}
