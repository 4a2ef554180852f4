//! `allowed_outbound_hosts`, Spin's grammar: `scheme://host[:port]`, where the scheme, the
//! host (or its first label) and the port may be `*`, the port may be a range `8000..8010`, the
//! host may be an IP address or a CIDR range (`127.0.0.0/24`), and `self` names the app itself.
//! Any scheme may be named (`http`, `redis`, `tcp`, ...); without a port, the scheme's well-known
//! one is meant. Also the other side of the comparison: the [`OutboundUrl`] of a request, an
//! address or a socket, normalised once, so every check and the dispatch compare hosts the
//! same way.

use http::uri::Scheme;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use wasmtime::{Result, bail};

/// A component's `allowed_outbound_hosts`, parsed.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    patterns: Vec<HostPattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPattern {
    /// `None` for `*`.
    scheme: Option<String>,
    host: HostMatch,
    port: PortMatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Any,
    /// Lower-case, without a trailing dot.
    Exact(String),
    /// `*.example.com`: any host ending in `.example.com` (kept lower-case, with its dot).
    Suffix(String),
    /// An IP address (a range of one) or a CIDR range: matches hosts written as addresses.
    Ip(IpNet),
    /// `self`: relative URLs, i.e. this app.
    SelfApp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortMatch {
    Any,
    /// Inclusive range; a single port is a range of one.
    Range(u16, u16),
    /// No port written: the scheme's well-known one.
    SchemeDefault,
}

/// The port a URL of `scheme` goes to when it names none, for the schemes that have one.
fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "mysql" => Some(3306),
        "postgres" => Some(5432),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        _ => None,
    }
}

/// Where an outbound request or connection is addressed, as the allow-list sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundUrl {
    /// A relative URL or the host `self`: this app.
    SelfApp,
    /// An absolute address; `host` is lower-case without a trailing dot (`API.Example.com.` and
    /// `api.example.com` are one host, as DNS has it).
    Host {
        /// `http`, `https`, `redis`, `tcp`...
        scheme: String,
        /// The normalised host name, or an IP address (IPv6 in brackets or not).
        host: String,
        /// The port written in the address, if any.
        port: Option<u16>,
    },
}

/// Why a URL cannot be sent at all, whatever the allow-list says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsendableUrl {
    /// `http://user:password@host`: credentials in a URL end up in logs and in whatever the
    /// request reaches, and no component of this app needs them.
    UserInfo,
}

impl OutboundUrl {
    /// Reads the scheme, host and port of an HTTP request's `uri`; URLs with userinfo are
    /// refused.
    pub fn parse(uri: &http::Uri) -> Result<Self, UnsendableUrl> {
        let Some(authority) = uri.authority() else {
            return Ok(OutboundUrl::SelfApp);
        };
        if authority.as_str().contains('@') {
            return Err(UnsendableUrl::UserInfo);
        }
        let host = normalise_host(authority.host());
        if host == "self" {
            return Ok(OutboundUrl::SelfApp);
        }
        Ok(OutboundUrl::Host {
            scheme: uri.scheme().unwrap_or(&Scheme::HTTP).as_str().to_string(),
            host,
            port: authority.port_u16(),
        })
    }

    /// Reads a service address such as `redis://:secret@cache:6379` or `localhost:1883`, as
    /// Spin does: an address without a scheme is read as `scheme://address`. Credentials in it
    /// are the service's, not looked at. `None` when it has no host.
    pub fn from_address(address: &str, scheme: &str) -> Option<Self> {
        let parsed = url::Url::parse(address)
            .ok()
            .filter(url::Url::has_host)
            .or_else(|| url::Url::parse(&format!("{scheme}://{address}")).ok())?;
        Some(OutboundUrl::Host {
            scheme: parsed.scheme().to_string(),
            host: normalise_host(parsed.host_str()?),
            port: parsed.port(),
        })
    }

    /// A socket connection to `address`, as `scheme` (`tcp`).
    pub fn socket(address: SocketAddr, scheme: &str) -> Self {
        OutboundUrl::Host {
            scheme: scheme.to_string(),
            host: address.ip().to_string(),
            port: Some(address.port()),
        }
    }
}

/// DNS names are case-insensitive and `name.` is the same name as `name`.
fn normalise_host(host: &str) -> String {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.to_ascii_lowercase()
}

/// An IP address, IPv6 with or without brackets.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')).unwrap_or(text);
    text.parse().ok()
}

/// A CIDR range, or an IP address as a range of one.
fn parse_ip(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>().ok().or_else(|| parse_address(text).map(IpNet::from))
}

impl AllowedHosts {
    /// Parses Spin's syntax (see the module docs); an entry it cannot read is an error naming it.
    pub fn parse(entries: &[String]) -> Result<Self> {
        let patterns =
            entries.iter().map(|entry| HostPattern::parse(entry)).collect::<Result<_>>()?;
        Ok(AllowedHosts { patterns })
    }

    /// Whether a request or connection to `url` may be made.
    pub fn allows(&self, url: &OutboundUrl) -> bool {
        match url {
            OutboundUrl::SelfApp => {
                self.patterns.iter().any(|pattern| pattern.host == HostMatch::SelfApp)
            }
            OutboundUrl::Host { scheme, host, port } => {
                self.patterns.iter().any(|pattern| pattern.matches(scheme, host, *port))
            }
        }
    }

    /// Whether a connection to the service at `address` (see [`OutboundUrl::from_address`])
    /// may be made; an address without a host may not.
    pub fn allows_address(&self, address: &str, scheme: &str) -> bool {
        OutboundUrl::from_address(address, scheme).is_some_and(|url| self.allows(&url))
    }
}

impl HostPattern {
    fn parse(entry: &str) -> Result<Self> {
        let Some((scheme, rest)) = entry.split_once("://") else {
            bail!("allowed_outbound_hosts: {entry:?} needs a scheme, e.g. \"https://{entry}\"");
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        // A bare IPv6 address or range is full of colons, none of which starts a port.
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if parse_ip(rest).is_none() => (host, Some(port)),
            _ => (rest, None),
        };
        let host = match host {
            "" => bail!("allowed_outbound_hosts: {entry:?} has no host"),
            "*" => HostMatch::Any,
            "self" => HostMatch::SelfApp,
            _ => match (parse_ip(host), host.strip_prefix("*.")) {
                (Some(ip), _) => HostMatch::Ip(ip),
                (None, Some(suffix)) => HostMatch::Suffix(format!(".{}", normalise_host(suffix))),
                (None, None) if host.contains('*') => bail!(
                    "allowed_outbound_hosts: {entry:?}: `*` may only be the whole host or its first label"
                ),
                (None, None) if host.contains('/') => {
                    bail!("allowed_outbound_hosts: {entry:?} must not have a path")
                }
                (None, None) => HostMatch::Exact(normalise_host(host)),
            },
        };
        let scheme = match scheme {
            "*" => None,
            _ if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic()) => {
                Some(scheme.to_ascii_lowercase())
            }
            other => bail!("allowed_outbound_hosts: {entry:?}: bad scheme `{other}`"),
        };
        let port = match port {
            None => match &scheme {
                Some(scheme) if well_known_port(scheme).is_none() => bail!(
                    "allowed_outbound_hosts: {entry:?}: `{scheme}` has no well-known port; give one"
                ),
                _ => PortMatch::SchemeDefault,
            },
            Some("*") => PortMatch::Any,
            Some(port) => {
                let parse = |p: &str| {
                    p.parse::<u16>().map_err(|_| {
                        wasmtime::format_err!("allowed_outbound_hosts: {entry:?}: bad port {p:?}")
                    })
                };
                match port.split_once("..") {
                    Some((low, high)) => PortMatch::Range(parse(low)?, parse(high)?),
                    None => {
                        let port = parse(port)?;
                        PortMatch::Range(port, port)
                    }
                }
            }
        };
        Ok(HostPattern { scheme, host, port })
    }

    /// `host` is normalised (lower-case, no trailing dot), as the patterns are.
    fn matches(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        if self.scheme.as_deref().is_some_and(|s| s != scheme) {
            return false;
        }
        let host_ok = match &self.host {
            HostMatch::Any => true,
            HostMatch::Exact(exact) => host == exact,
            HostMatch::Suffix(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
            HostMatch::Ip(range) => parse_address(host).is_some_and(|ip| range.contains(&ip)),
            HostMatch::SelfApp => false,
        };
        let default_port = well_known_port(scheme);
        let port_ok = match (self.port, port.or(default_port)) {
            (PortMatch::Any, _) => true,
            (PortMatch::Range(low, high), Some(port)) => (low..=high).contains(&port),
            (PortMatch::SchemeDefault, Some(port)) => Some(port) == default_port,
            (_, None) => false,
        };
        host_ok && port_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn url(text: &str) -> OutboundUrl {
        OutboundUrl::parse(&text.parse().unwrap()).unwrap()
    }

    fn allows(hosts: &AllowedHosts, text: &str) -> bool {
        hosts.allows(&url(text))
    }

    #[test]
    fn exact_host_with_scheme_default_port() {
        let hosts = allowed(&["https://api.example.com"]);
        assert!(allows(&hosts, "https://api.example.com/x"));
        assert!(allows(&hosts, "https://API.example.com:443/x"));
        assert!(!allows(&hosts, "https://api.example.com:8443/x"));
        assert!(!allows(&hosts, "http://api.example.com/x"));
        assert!(!allows(&hosts, "https://other.example.com/x"));
    }

    #[test]
    fn wildcards_for_scheme_host_label_and_port() {
        let hosts = allowed(&["*://*.example.com:*"]);
        assert!(allows(&hosts, "http://a.example.com:1234/"));
        assert!(allows(&hosts, "https://b.c.example.com/"));
        assert!(!allows(&hosts, "https://example.com/"));
        assert!(!allows(&hosts, "https://badexample.com/"));
        let any = allowed(&["http://*:8000..8010"]);
        assert!(allows(&any, "http://anything:8005/"));
        assert!(!allows(&any, "http://anything:8011/"));
    }

    #[test]
    fn spin_internal_patterns() {
        let all = allowed(&["http://*.spin.internal"]);
        assert!(allows(&all, "http://users-fn.spin.internal/users"));
        let one = allowed(&["http://users-fn.spin.internal"]);
        assert!(allows(&one, "http://users-fn.spin.internal/users"));
        assert!(!allows(&one, "http://listings-fn.spin.internal/listings"));
    }

    #[test]
    fn host_names_compare_without_case_or_trailing_dot() {
        let hosts = allowed(&["http://Users-FN.spin.internal."]);
        for written in [
            "http://users-fn.spin.internal/",
            "http://USERS-FN.SPIN.INTERNAL/",
            "http://users-fn.spin.internal./",
        ] {
            assert!(allows(&hosts, written), "{written}");
            assert_eq!(
                url(written),
                OutboundUrl::Host {
                    scheme: "http".into(),
                    host: "users-fn.spin.internal".into(),
                    port: None
                }
            );
        }
        assert!(allows(&allowed(&["https://*.Example.COM"]), "https://a.example.com./"));
    }

    #[test]
    fn self_is_only_for_the_app() {
        let hosts = allowed(&["http://self"]);
        assert!(allows(&hosts, "/relative"));
        assert!(allows(&hosts, "http://SELF/x"));
        assert!(!allows(&hosts, "http://self.example.com/"));
        assert!(!allows(&allowed(&["http://*"]), "/relative"));
    }

    #[test]
    fn urls_with_userinfo_are_unsendable() {
        for written in [
            "http://user@users-fn.spin.internal/",
            "http://user:secret@example.com/",
            "http://@example.com/",
        ] {
            assert_eq!(
                OutboundUrl::parse(&written.parse().unwrap()),
                Err(UnsendableUrl::UserInfo),
                "{written}"
            );
        }
    }

    #[test]
    fn any_scheme_with_its_well_known_port() {
        let hosts = allowed(&["redis://cache", "mqtt://broker:1884", "tcp://db:5000"]);
        assert!(hosts.allows_address("redis://cache", "redis"));
        assert!(hosts.allows_address("redis://:secret@cache:6379/0", "redis"));
        assert!(hosts.allows_address("cache", "redis"));
        assert!(!hosts.allows_address("redis://cache:6380", "redis"));
        assert!(!hosts.allows_address("rediss://cache", "redis"));
        assert!(hosts.allows_address("mqtt://broker:1884?client_id=a", "mqtt"));
        assert!(!hosts.allows_address("mqtt://broker?client_id=a", "mqtt"));
        assert!(hosts.allows_address("db:5000", "tcp"));
        assert!(!hosts.allows_address("not an address", "tcp"));
    }

    #[test]
    fn ip_addresses_and_cidr_ranges_match_sockets() {
        let socket = |text: &str| OutboundUrl::socket(text.parse().unwrap(), "tcp");
        let exact = allowed(&["*://127.0.0.1:7"]);
        assert!(exact.allows(&socket("127.0.0.1:7")));
        assert!(!exact.allows(&socket("127.0.0.1:8")));
        assert!(!exact.allows(&socket("127.0.0.2:7")));
        let range = allowed(&["*://127.0.0.0/24:7", "tcp://[::1]:8000..8010"]);
        assert!(range.allows(&socket("127.0.0.255:7")));
        assert!(!range.allows(&socket("127.0.1.1:7")));
        assert!(range.allows(&socket("[::1]:8005")));
        assert!(!range.allows(&socket("[::2]:8005")));
        assert!(range.allows(&url("http://127.0.0.9:7/")));
        assert!(!range.allows(&url("http://localhost:7/")));
        let v6 = allowed(&["*://fe80::/10:*", "https://::1"]);
        assert!(v6.allows(&socket("[fe80::1]:1")));
        assert!(v6.allows(&url("https://[::1]/")));
        assert!(!allowed(&["*://localhost:7"]).allows(&socket("127.0.0.1:7")));
    }

    #[test]
    fn rejects_malformed_entries() {
        for bad in [
            "example.com",
            "https://exa*mple.com",
            "ftp://x",
            "tcp://127.0.0.1",
            "h2c+x://x",
            "https://x/path",
            "https://x:port",
        ] {
            assert!(AllowedHosts::parse(&[bad.to_string()]).is_err(), "{bad} should be rejected");
        }
    }
}
