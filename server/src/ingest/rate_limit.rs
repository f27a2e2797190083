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
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
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

/// A limiter keyed by `K` on the clock `C`.
type Keyed<K, C> =
    RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The limiters and the day's salt; generic over the clock so tests can move time.
pub struct RateLimits<C: Clock = DefaultClock> {
    config: RateLimitConfig,
    per_client: Keyed<[u8; 16], C>,
    per_site: Keyed<SiteId, C>,
    sign_in: Keyed<[u8; 16], C>,
    salt: Mutex<(i64, [u8; 32])>,
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> Self {
        Self::with_clock(config, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    pub fn with_clock(config: RateLimitConfig, clock: C) -> Self {
        Self {
            per_client: RateLimiter::new(
                Quota::per_minute(config.per_client_per_minute),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            per_site: RateLimiter::new(
                Quota::per_second(config.per_site_per_second),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            sign_in: RateLimiter::new(
                Quota::per_minute(SIGN_INS_PER_MINUTE),
                DefaultKeyedStateStore::default(),
                clock,
            ),
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
        // The client first: a request its own limit refuses must not use up the site's
        // allowance, or one client at the site's rate would lock every other visitor out.
        self.per_client
            .check_key(&self.client_key(client))
            .map_err(|not_until| Limited {
                scope: "client",
                retry_after: not_until.wait_time_from(clock.now()),
            })?;
        self.per_site.check_key(site).map_err(|not_until| Limited {
            scope: "site",
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

    /// Forgets clients and sites that are back to a full allowance, and gives back the room
    /// they took: the limiters then hold the clients of about the last minute, whatever the
    /// peak was.
    pub fn forget_idle(&self) {
        for limiter in [&self.per_client, &self.sign_in] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.per_site.retain_recent();
        self.per_site.shrink_to_fit();
    }

    /// Clients and sites the limiters remember.
    pub fn remembered(&self) -> usize {
        self.per_client.len() + self.sign_in.len() + self.per_site.len()
    }

    /// The address of the client: the peer, unless the peer is a trusted proxy, in which case
    /// the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries left of
    /// that one were written by the client and prove nothing; so does everything left of an
    /// entry that is not an address, which ends the chain (the hop right of it is the client).
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|value| value.to_str().unwrap_or("?").split(','))
            .collect();
        let mut client = peer;
        for entry in entries.into_iter().rev() {
            let Some(ip) = forwarded_address(entry) else {
                return client;
            };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        client
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&ip))
    }

    /// The limiters' key of a client: its [`client_network`], hashed with the day's salt.
    fn client_key(&self, client: IpAddr) -> [u8; 16] {
        let client = client_network(client);
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

/// The address that stands for one client in every limit: an IPv6 client by its /64, which one
/// subscriber usually gets whole, so that walking through its addresses does not multiply its
/// allowance; an IPv4-mapped address as the IPv4 address it is.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// An `X-Forwarded-For` entry as proxies write it: a bare address, `192.0.2.1:4711`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(bracketed) = entry.strip_prefix('[') {
        let (ip, rest) = bracketed.split_once(']')?;
        let port_ok = rest.is_empty()
            || rest
                .strip_prefix(':')
                .is_some_and(|port| port.parse::<u16>().is_ok());
        return port_ok.then(|| ip.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6))?;
    }
    entry
        .parse::<std::net::SocketAddrV4>()
        .ok()
        .map(|socket| IpAddr::V4(*socket.ip()))
}

/// A `--trusted-proxy` value: a network in CIDR notation, or a bare address.
pub fn parse_trusted_proxy(value: &str) -> Result<IpNet, String> {
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("{value:?} is neither an IP address nor a CIDR network like 10.0.0.0/8")
        })
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
    fn one_client_over_its_limit_does_not_use_up_the_site() {
        let limits = RateLimits::with_clock(
            RateLimitConfig {
                per_client_per_minute: NonZeroU32::new(2).unwrap(),
                per_site_per_second: NonZeroU32::new(10).unwrap(),
                trusted_proxies: Vec::new(),
            },
            governor::clock::FakeRelativeClock::default(),
        );
        let site = SiteId::generate();
        let flooder: IpAddr = "203.0.113.9".parse().unwrap();
        let refused = (0..100)
            .filter(|_| limits.check(flooder, &HeaderMap::new(), &site).is_err())
            .count();
        assert_eq!(refused, 98, "the flooder gets its own two");
        let visitor: IpAddr = "198.51.100.20".parse().unwrap();
        assert!(
            limits.check(visitor, &HeaderMap::new(), &site).is_ok(),
            "another visitor still gets through"
        );
    }

    #[test]
    fn idle_clients_are_forgotten_and_active_ones_kept() {
        let clock = governor::clock::FakeRelativeClock::default();
        let limits = RateLimits::with_clock(
            RateLimitConfig {
                per_client_per_minute: NonZeroU32::new(60).unwrap(),
                per_site_per_second: NonZeroU32::new(100_000).unwrap(),
                trusted_proxies: Vec::new(),
            },
            clock.clone(),
        );
        let site = SiteId::generate();
        for client in 0..1_000_u32 {
            let peer = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + client));
            limits.check(peer, &HeaderMap::new(), &site).unwrap();
        }
        assert_eq!(limits.remembered(), 1_001, "1,000 clients and the site");
        limits.forget_idle();
        assert_eq!(
            limits.remembered(),
            1_001,
            "a second is too soon to forget anyone"
        );

        // One request of a 60-a-minute allowance is given back after a second; governor
        // forgets a key one more second later.
        clock.advance(Duration::from_millis(2_500));
        let active: IpAddr = "203.0.113.9".parse().unwrap();
        limits.check(active, &HeaderMap::new(), &site).unwrap();
        limits.forget_idle();
        assert_eq!(
            limits.remembered(),
            2,
            "only the client seen since, and its site"
        );
    }

    #[test]
    fn proxies_that_append_ports_are_understood_and_garbage_ends_the_chain() {
        let limits = limits(&["10.0.0.0/8"]);
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let client = |chain: &str| limits.client_address(proxy, &forwarded(chain)).to_string();
        assert_eq!(client("198.51.100.7:51234, 10.0.0.5:80"), "198.51.100.7");
        assert_eq!(client("[2001:db8::7]:443"), "2001:db8::7");
        assert_eq!(client("[2001:db8::8]"), "2001:db8::8");
        // The client wrote "1.2.3.4, junk"; the proxy appended 10.0.0.5. The chain ends at the
        // junk, so the client is the hop right of it, never the address it made up.
        assert_eq!(client("1.2.3.4, junk, 10.0.0.5"), "10.0.0.5");
        assert_eq!(client("1.2.3.4, 198.51.100.7:99999"), "10.0.0.2");
    }

    #[test]
    fn an_ipv6_client_is_one_client_across_its_64() {
        let limits = limits(&[]);
        let site = SiteId::generate();
        let at = |ip: &str| limits.check(ip.parse().unwrap(), &HeaderMap::new(), &site);
        assert!(at("2001:db8:1:2::1").is_ok());
        assert!(at("2001:db8:1:2:ffff::9").is_ok());
        assert_eq!(at("2001:db8:1:2:abcd::1").unwrap_err().scope, "client");
        assert!(
            at("2001:db8:1:3::1").is_ok(),
            "the next /64 is another client"
        );
    }

    #[test]
    fn a_bare_address_is_a_trusted_proxy_too() {
        assert_eq!(
            parse_trusted_proxy("127.0.0.1").unwrap(),
            "127.0.0.1/32".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            parse_trusted_proxy("::1").unwrap(),
            "::1/128".parse::<IpNet>().unwrap()
        );
        assert!(parse_trusted_proxy("10.0.0.0/8").is_ok());
        assert!(parse_trusted_proxy("proxy.local")
            .unwrap_err()
            .contains("proxy.local"));
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
