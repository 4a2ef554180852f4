//! Outbound HTTP as Spin does it: `allowed_outbound_hosts` is checked first (a denied request
//! gets `HttpRequestDenied` and nothing leaves the host); then `http://<component>.spin.internal`
//! and requests to `self` are served in-process by the app, with no socket; anything else goes
//! out over the network.

use crate::app::App;
use http::uri::Scheme;
use std::sync::{Arc, Weak};
use wasmtime::{Result, bail};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// The host suffix that names a component of this app.
const INTERNAL_SUFFIX: &str = ".spin.internal";

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
    Exact(String),
    /// `*.example.com`: any host ending in `.example.com`.
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

impl AllowedHosts {
    /// Parses Spin's syntax: `scheme://host[:port]` where scheme, host (or its first label) and
    /// port may be `*`, and the port may be a range `8000..8010`.
    pub fn parse(entries: &[String]) -> Result<Self> {
        let patterns = entries
            .iter()
            .map(|entry| HostPattern::parse(entry))
            .collect::<Result<_>>()?;
        Ok(AllowedHosts { patterns })
    }

    fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        self.patterns
            .iter()
            .any(|pattern| pattern.matches(scheme, host, port))
    }

    fn allows_self(&self) -> bool {
        self.patterns
            .iter()
            .any(|pattern| pattern.host == HostMatch::SelfApp)
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
                Some(suffix) => HostMatch::Suffix(format!(".{}", suffix.to_ascii_lowercase())),
                None if host.contains('*') => {
                    bail!(
                        "allowed_outbound_hosts: {entry:?}: `*` may only be the whole host or its first label"
                    )
                }
                None => HostMatch::Exact(host.to_ascii_lowercase()),
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

    fn matches(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        if self.scheme.as_deref().is_some_and(|s| s != scheme) {
            return false;
        }
        let host_ok = match &self.host {
            HostMatch::Any => true,
            HostMatch::Exact(exact) => host.eq_ignore_ascii_case(exact),
            HostMatch::Suffix(suffix) => {
                host.len() > suffix.len() && host.to_ascii_lowercase().ends_with(suffix.as_str())
            }
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

/// The `wasi:http` hooks of one component instance.
pub struct OutboundHooks {
    component: Arc<str>,
    allowed: Arc<AllowedHosts>,
    app: Weak<App>,
}

impl OutboundHooks {
    pub fn new(component: Arc<str>, allowed: Arc<AllowedHosts>, app: Weak<App>) -> Self {
        OutboundHooks {
            component,
            allowed,
            app,
        }
    }
}

/// Where a permitted request goes.
enum Destination {
    Component(String),
    SelfApp,
    Network,
}

impl OutboundHooks {
    fn destination(&self, uri: &http::Uri) -> Result<Destination, Error> {
        let Some(host) = uri.host() else {
            return if self.allowed.allows_self() {
                Ok(Destination::SelfApp)
            } else {
                Err(Error::HttpRequestDenied)
            };
        };
        if host == "self" {
            return if self.allowed.allows_self() {
                Ok(Destination::SelfApp)
            } else {
                Err(Error::HttpRequestDenied)
            };
        }
        let scheme = uri.scheme().unwrap_or(&Scheme::HTTP).as_str();
        if !self.allowed.allows(scheme, host, uri.port_u16()) {
            return Err(Error::HttpRequestDenied);
        }
        Ok(match host.strip_suffix(INTERNAL_SUFFIX) {
            Some(component) => Destination::Component(component.to_string()),
            None => Destination::Network,
        })
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

fn no_io() -> Box<dyn Future<Output = Result<(), Error>> + Send> {
    Box::new(async { Ok(()) })
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_outcome: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        let destination = match self.destination(request.uri()) {
            Ok(destination) => destination,
            Err(error) => {
                tracing::warn!(
                    component = %self.component,
                    url = %request.uri(),
                    "outbound request denied: not in allowed_outbound_hosts"
                );
                return Box::new(async move { Err(error) });
            }
        };
        let app = self.app.clone();
        Box::new(async move {
            match destination {
                Destination::Component(component) => {
                    let app = app.upgrade().ok_or(Error::DestinationUnavailable)?;
                    let response = app
                        .dispatch_chained(&component, request)
                        .await
                        .ok_or(Error::DestinationNotFound)?;
                    Ok((response, no_io()))
                }
                Destination::SelfApp => {
                    let app = app.upgrade().ok_or(Error::DestinationUnavailable)?;
                    Ok((app.dispatch_public(request, None).await, no_io()))
                }
                Destination::Network => {
                    use http_body_util::BodyExt;
                    let (response, io) =
                        wasmtime_wasi_http::default_send_request(request, options).await?;
                    let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(io);
                    Ok((response.map(BodyExt::boxed_unsync), io))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn exact_host_with_scheme_default_port() {
        let hosts = allowed(&["https://api.example.com"]);
        assert!(hosts.allows("https", "api.example.com", None));
        assert!(hosts.allows("https", "API.example.com", Some(443)));
        assert!(!hosts.allows("https", "api.example.com", Some(8443)));
        assert!(!hosts.allows("http", "api.example.com", None));
        assert!(!hosts.allows("https", "other.example.com", None));
    }

    #[test]
    fn wildcards_for_scheme_host_label_and_port() {
        let hosts = allowed(&["*://*.example.com:*"]);
        assert!(hosts.allows("http", "a.example.com", Some(1234)));
        assert!(hosts.allows("https", "b.c.example.com", None));
        assert!(!hosts.allows("https", "example.com", None));
        assert!(!hosts.allows("https", "badexample.com", None));
        let any = allowed(&["http://*:8000..8010"]);
        assert!(any.allows("http", "anything", Some(8005)));
        assert!(!any.allows("http", "anything", Some(8011)));
    }

    #[test]
    fn spin_internal_patterns() {
        let all = allowed(&["http://*.spin.internal"]);
        assert!(all.allows("http", "users-fn.spin.internal", None));
        let one = allowed(&["http://users-fn.spin.internal"]);
        assert!(one.allows("http", "users-fn.spin.internal", None));
        assert!(!one.allows("http", "listings-fn.spin.internal", None));
    }

    #[test]
    fn self_is_only_for_the_app() {
        let hosts = allowed(&["http://self"]);
        assert!(hosts.allows_self());
        assert!(!hosts.allows("http", "self.example.com", None));
        assert!(!allowed(&["http://*"]).allows_self());
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
