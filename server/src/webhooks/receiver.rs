//! Where a webhook may be sent: public addresses only, unless the operator allows private ones
//! (`--webhook-allow-private`, for a receiver on the same LAN). Otherwise anyone who may add a
//! webhook could make this server post to its own loopback, the cloud's metadata address or the
//! internal network, and read each attempt's status in the delivery log: a port scanner.
//!
//! Checked twice: when a webhook is saved (IP literals and `localhost`), and when it is sent,
//! on the addresses DNS gives at that moment (a name can be made to resolve elsewhere later).

use std::error::Error;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A receiver's address that is not public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateAddress(pub String);

impl fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused: {} is a loopback, private or otherwise internal address \
             (the server's --webhook-allow-private allows such receivers)",
            self.0
        )
    }
}

impl Error for PrivateAddress {}

/// Whether `ip` is reachable on the public internet: not loopback, private (RFC 1918), shared
/// (CGNAT, 100.64/10), link-local (including 169.254.169.254, the cloud metadata address),
/// unique-local, multicast, unspecified, broadcast or reserved, also when written as an
/// IPv4-mapped or -compatible IPv6 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4() {
            // ::a.b.c.d and ::ffff:a.b.c.d reach the IPv4 address; :: and ::1 are not IPv4.
            Some(v4) if !v6.is_unspecified() && !v6.is_loopback() => is_public_v4(v4),
            _ => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80)
}

/// Why a webhook URL cannot be saved, if its host is plainly internal: an IP literal that is
/// not public, or `localhost` and its subdomains. Other names are checked when sent.
pub fn refuse_internal_host(url: &url::Url) -> Result<(), PrivateAddress> {
    match url.host() {
        Some(url::Host::Ipv4(ip)) if !is_public(ip.into()) => Err(PrivateAddress(ip.to_string())),
        Some(url::Host::Ipv6(ip)) if !is_public(ip.into()) => Err(PrivateAddress(ip.to_string())),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                Err(PrivateAddress(name))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// Resolves names as the system does, then keeps only public addresses, so the connection is
/// made to an address that was checked (no window for a DNS rebind between check and use).
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| is_public(address.ip()))
                .collect();
            if public.is_empty() {
                return Err(Box::new(PrivateAddress(host)) as Box<dyn Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
        ] {
            assert!(!is_public(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "93.184.215.14",
            "1.1.1.1",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:93.184.215.14",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn internal_hosts_are_refused_when_saved() {
        let refused = |url: &str| refuse_internal_host(&url::Url::parse(url).unwrap()).is_err();
        assert!(refused("http://127.0.0.1:8080/hook"));
        assert!(refused("http://[::1]/hook"));
        assert!(refused("http://[::ffff:7f00:1]/hook"));
        assert!(refused("http://169.254.169.254/latest/meta-data"));
        assert!(refused("http://LOCALHOST./hook"));
        assert!(refused("http://api.localhost/hook"));
        assert!(
            refused("http://2130706433/hook"),
            "the URL parser reads it as 127.0.0.1"
        );
        assert!(!refused("https://hooks.slack.com/services/x"));
        assert!(!refused("https://93.184.215.14/hook"));
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_when_sent() {
        let refused = PublicOnly
            .resolve(Name::from_str("localhost").unwrap())
            .await
            .err()
            .expect("localhost resolves only to loopback");
        assert!(
            refused.to_string().contains("refused: localhost"),
            "{refused}"
        );
    }
}
