//! Requests to the app's components: a client's, routed over the public routes after waiting
//! for its turn, or a component's chained one; the host's own answers for what no component
//! answers; and each request's log line and metrics.

use super::{App, Request, Response};
use crate::body::{Keeping, body_from};
use crate::outbound::{Answer, LocalApp};
use crate::routing::RouteMatch;
use http::StatusCode;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::time::Instant;
use wasmtime_wasi_http::handler::{ExpirationError, InstantiationError};

impl App {
    /// A request from a client: it waits for its turn (at most `--max-concurrent-requests` are
    /// in progress, each until its response body is sent), then is routed by its path over the
    /// public routes. Past the request timeout in the queue it gets 503. The bound keeps an
    /// overload from exhausting the engine's instances and fiber stacks, which each request
    /// and its chained requests hold while they run: more requests would only queue inside
    /// the engine, using memory, or fail to start an instance.
    pub async fn dispatch_public(&self, request: Request, client: Option<SocketAddr>) -> Response {
        let start = Instant::now();
        let turn = tokio::time::timeout(self.request_timeout, self.turns.clone().acquire_owned());
        let Ok(Ok(turn)) = turn.await else {
            let status = StatusCode::SERVICE_UNAVAILABLE;
            self.record_request(request.method(), request.uri().path(), "-", "-", status, start);
            return self.busy_response(
                "the server is at its limit of requests in progress; try again shortly",
            );
        };
        let response = self.route_public(request, client).await;
        response.map(|body| Keeping::new(body, turn).boxed_unsync())
    }

    /// A request routed by its path over the public routes, with no turn to wait for: a
    /// component's request to `self` runs within its caller's turn.
    async fn route_public(&self, request: Request, client: Option<SocketAddr>) -> Response {
        let path = request.uri().path().to_string();
        let Some(route) = self.routes.find(&path) else {
            self.record_request(
                request.method(),
                &path,
                "-",
                "-",
                StatusCode::NOT_FOUND,
                Instant::now(),
            );
            return self.error_response(StatusCode::NOT_FOUND, &format!("no route for {path}"));
        };
        self.call(route, request, client).await
    }

    /// A request a component sent to `http://<component>.spin.internal`; `None` when the app has
    /// no such component.
    pub async fn dispatch_chained(&self, component: &str, request: Request) -> Option<Response> {
        let path = request.uri().path().to_string();
        let route = self.routes.find_for_component(component, &path)?;
        Some(self.call(route, request, None).await)
    }

    /// An answer of the host's own, in the shape the app asked for.
    pub fn error_response(&self, status: StatusCode, message: &str) -> Response {
        self.errors.response(status, message).map(body_from)
    }

    /// 503, with a hint to try again in a second.
    pub fn busy_response(&self, message: &str) -> Response {
        let mut response = self.error_response(StatusCode::SERVICE_UNAVAILABLE, message);
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        response
    }

    async fn call(
        &self,
        route: RouteMatch<'_>,
        mut request: Request,
        client: Option<SocketAddr>,
    ) -> Response {
        let start = Instant::now();
        let component = &*route.target.component;
        let Some(handler) = self.components.get(component) else {
            return self.error_response(StatusCode::NOT_FOUND, "no such component");
        };
        let full_url = full_url(&request);
        route.set_headers(request.headers_mut(), &full_url, client);
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        // The instance enforces the deadline too (and is dropped for it); this bound makes the
        // answer a 504 however the expiry surfaces.
        let response =
            match tokio::time::timeout(self.request_timeout, handler.handle((), request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(error)) => self.failure_response(component, error),
                Err(_elapsed) => self.timeout_response(component),
            };
        let route = route.target.route();
        self.record_request(&method, &path, component, route, response.status(), start);
        response
    }

    fn timeout_response(&self, component: &str) -> Response {
        tracing::warn!(component, "request cut off after {:?}", self.request_timeout);
        self.error_response(
            StatusCode::GATEWAY_TIMEOUT,
            &format!("the component did not answer within {:?}", self.request_timeout),
        )
    }

    fn failure_response(&self, component: &str, error: wasmtime::Error) -> Response {
        if error.is::<ExpirationError>() {
            self.timeout_response(component)
        } else if error.is::<InstantiationError<()>>() {
            tracing::error!(component, "cannot start an instance: {error:#}");
            self.error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the component could not be started",
            )
        } else {
            tracing::error!(component, "component failed: {error:#}");
            self.error_response(StatusCode::INTERNAL_SERVER_ERROR, "the component failed")
        }
    }
}

/// Chained requests and requests to `self` reach the app through this, handed down to every
/// instance's outbound hooks.
impl LocalApp for App {
    fn chain<'a>(&'a self, component: &'a str, request: Request) -> Answer<'a, Option<Response>> {
        Box::pin(self.dispatch_chained(component, request))
    }

    fn call_self(&self, request: Request) -> Answer<'_, Response> {
        Box::pin(self.route_public(request, None))
    }
}

/// The one log line of a request: method, path, component, status, duration.
impl App {
    /// The log line of a request and its metrics: method, path, component (`-` for none) and
    /// its route as written, status, duration.
    pub fn record_request(
        &self,
        method: &http::Method,
        path: &str,
        component: &str,
        route: &str,
        status: StatusCode,
        start: Instant,
    ) {
        let took = start.elapsed();
        tracing::info!(
            target: "request",
            "{method} {path} {component} {} {took:.2?}",
            status.as_u16(),
        );
        self.metrics.request(component, route, status.as_u16(), took);
    }
}

/// `spin-full-url`: the URL as the client addressed it.
fn full_url(request: &Request) -> String {
    let uri = request.uri();
    if uri.authority().is_some() {
        return uri.to_string();
    }
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    format!("http://{host}{path}")
}
