//! Outbound HTTP as Spin does it: the URL is checked against `allowed_outbound_hosts` first (a
//! denied request, or one with userinfo, gets `HttpRequestDenied` and nothing leaves the host);
//! then `http://<component>.spin.internal` and requests to `self` are served in-process, with no
//! socket; anything else goes out over the network.
//!
//! The app serving in-process requests is handed down as a [`LocalApp`] (as Spin's trigger hands
//! its outbound interceptor to the HTTP factor), so this capability never depends on the app.

use crate::allowed_hosts::{AllowedHosts, OutboundUrl};
use std::pin::Pin;
use std::sync::{Arc, Weak};
use wasmtime::Result;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// The host suffix that names a component of this app.
const INTERNAL_SUFFIX: &str = ".spin.internal";

/// A request or response as it crosses the app in-process.
type Request = http::Request<WasiBody>;
type Response = http::Response<WasiBody>;

/// A future a [`LocalApp`] answers with.
pub type Answer<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The app a component belongs to, as its outbound requests reach it without a socket.
pub trait LocalApp: Send + Sync {
    /// A request to `http://<component>.spin.internal/...`; `None` when the app has no such
    /// component.
    fn chain<'a>(&'a self, component: &'a str, request: Request) -> Answer<'a, Option<Response>>;

    /// A request to `self` (a relative URL): routed as a client's request would be.
    fn call_self(&self, request: Request) -> Answer<'_, Response>;
}

/// The `wasi:http` hooks of one component instance.
pub struct OutboundHooks {
    component: Arc<str>,
    allowed: Arc<AllowedHosts>,
    app: Weak<dyn LocalApp>,
}

impl OutboundHooks {
    /// The hooks of an instance of `component`; `app` is weak because the app owns the instances.
    pub fn new(component: Arc<str>, allowed: Arc<AllowedHosts>, app: Weak<dyn LocalApp>) -> Self {
        OutboundHooks { component, allowed, app }
    }

    /// Where a request may go, or why it may not.
    fn destination(&self, uri: &http::Uri) -> Result<Destination, Denied> {
        let url = OutboundUrl::parse(uri).map_err(|_| Denied::UserInfo)?;
        if !self.allowed.allows(&url) {
            return Err(Denied::NotAllowed);
        }
        Ok(match url {
            OutboundUrl::SelfApp => Destination::SelfApp,
            OutboundUrl::Host { host, .. } => match host.strip_suffix(INTERNAL_SUFFIX) {
                Some(component) => Destination::Component(component.to_string()),
                None => Destination::Network,
            },
        })
    }
}

/// Where a permitted request goes.
enum Destination {
    Component(String),
    SelfApp,
    Network,
}

/// Why a request was refused (logged; the guest sees `HttpRequestDenied` either way).
enum Denied {
    NotAllowed,
    UserInfo,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>),
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
            Err(denied) => {
                let uri = request.uri();
                match denied {
                    Denied::NotAllowed => tracing::warn!(
                        component = %self.component,
                        url = %uri,
                        "outbound request denied: not in allowed_outbound_hosts"
                    ),
                    // The URL carries credentials: they stay out of the log.
                    Denied::UserInfo => tracing::warn!(
                        component = %self.component,
                        host = uri.host().unwrap_or_default(),
                        "outbound request denied: the URL has userinfo"
                    ),
                }
                return Box::new(async { Err(Error::HttpRequestDenied) });
            }
        };
        let app = self.app.clone();
        Box::new(async move {
            match destination {
                Destination::Component(component) => {
                    let app = app.upgrade().ok_or(Error::DestinationUnavailable)?;
                    let response =
                        app.chain(&component, request).await.ok_or(Error::DestinationNotFound)?;
                    Ok((response, no_io()))
                }
                Destination::SelfApp => {
                    let app = app.upgrade().ok_or(Error::DestinationUnavailable)?;
                    Ok((app.call_self(request).await, no_io()))
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
