//! `allowed_outbound_hosts`, Spin's grammar: `scheme://host[:port]`, where the scheme, the
//! host (or its first label) and the port may be `*`, the port may be a range `8000..8010`, and
//! `self` names the app itself. Also the other side of the comparison: the [`OutboundUrl`] of a
//! request, normalised once, so every check and the dispatch compare host names the same way.

use http::uri::Scheme;
use wasmtime::{Result, bail};

/// A component's `allowed_outbound_hosts`, parsed.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    patterns: Vec<HostPattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPattern {
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
    /// `self`: relative URLs, i.e. this app.
    SelfApp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortMatch {
    Any,
    /// Inclusive range; a single port is a range of one.
    Range(u16, u16),
    /// No port written: the scheme's default.
    SchemeDefault,
}

/// Where an outbound request is addressed, as the allow-list sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundUrl {
    /// A relative URL or the host `self`: this app.
    SelfApp,
    /// An absolute URL; `host` is lower-case without a trailing dot (`API.Example.com.` and
    /// `api.example.com` are one host, as DNS has it).
    Host {
        /// `http` or `https`.
        scheme: String,
        /// The normalised host name.
        host: String,
        /// The port written in the URL, if any.
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
    /// Reads the scheme, host and port of `uri`; URLs with userinfo are refused.
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
}

/// DNS names are case-insensitive and `name.` is the same name as `name`.
fn normalise_host(host: &str) -> String {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.to_ascii_lowercase()
}

impl AllowedHosts {
    /// Parses Spin's syntax (see the module docs); an entry it cannot read is an error naming it.
    pub fn parse(entries: &[String]) -> Result<Self> {
        let patterns = entries
            .iter()
            .map(|entry| HostPattern::parse(entry))
            .collect::<Result<_>>()?;
        Ok(AllowedHosts { patterns })
    }

    /// Whether a request to `url` may be sent.
    pub fn allows(&self, url: &OutboundUrl) -> bool {
        match url {
            OutboundUrl::SelfApp => self
                .patterns
                .iter()
                .any(|pattern| pattern.host == HostMatch::SelfApp),
            OutboundUrl::Host { scheme, host, port } => self
                .patterns
                .iter()
                .any(|pattern| pattern.matches(scheme, host, *port)),
        }
    }
}

impl HostPattern {
    fn parse(entry: &str) -> Result<Self> {
        let Some((scheme, rest)) = entry.split_once("://") else {
            bail!("allowed_outbound_hosts: {entry:?} needs a scheme, e.g. \"https://{entry}\"");
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            bail!("allowed_outbound_hosts: {entry:?} must not have a path");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let host = match host {
            "" => bail!("allowed_outbound_hosts: {entry:?} has no host"),
            "*" => HostMatch::Any,
            "self" => HostMatch::SelfApp,
            _ => match host.strip_prefix("*.") {
                Some(suffix) => HostMatch::Suffix(format!(".{}", normalise_host(suffix))),
                None if host.contains('*') => {
                    bail!(
                        "allowed_outbound_hosts: {entry:?}: `*` may only be the whole host or its first label"
                    )
                }
                None => HostMatch::Exact(normalise_host(host)),
            },
        };
        let port = match port {
            None => PortMatch::SchemeDefault,
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
        let scheme = match scheme {
            "*" => None,
            "http" | "https" => Some(scheme.to_string()),
            other => bail!("allowed_outbound_hosts: {entry:?}: unsupported scheme `{other}`"),
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
            HostMatch::SelfApp => false,
        };
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = port.unwrap_or(default_port);
        let port_ok = match self.port {
            PortMatch::Any => true,
            PortMatch::Range(low, high) => (low..=high).contains(&port),
            PortMatch::SchemeDefault => port == default_port,
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
        assert!(allows(
            &allowed(&["https://*.Example.COM"]),
            "https://a.example.com./"
        ));
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
    fn rejects_malformed_entries() {
        for bad in [
            "example.com",
            "https://exa*mple.com",
            "ftp://x",
            "https://x/path",
            "https://x:port",
        ] {
            assert!(
                AllowedHosts::parse(&[bad.to_string()]).is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
