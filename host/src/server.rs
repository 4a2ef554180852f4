//! The HTTP/1.1 server in front of the app: the connection limit ([`connections`]), keep-alive
//! with an idle timeout, request bodies read within a size limit and a deadline ([`body`]), the
//! health endpoint, a graceful shutdown on SIGINT/SIGTERM, and new versions of the app swapped
//! in while it serves ([`CurrentApp`]).

pub mod body;
pub mod connections;

use crate::app::{App, Response};
use crate::body::{Keeping, body_from};
use crate::routing::{HEALTH_PATH, WELL_KNOWN_PREFIX};
use arc_swap::ArcSwap;
use bytes::Bytes;
use connections::{Admission, Connections, HEALTH_ONLY_HEAD_TIMEOUT, Slot};
use http::{HeaderValue, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, watch};
use wasmtime::Result;

/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What the server allows its clients; the flags of `fn-host up`.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Largest request body accepted (larger gets 413).
    pub max_request_body_bytes: usize,
    /// How long a client may take to send a request body once its head has arrived (then 408).
    pub request_body_timeout: Duration,
    /// Connections served at once (see [`connections`] for what happens past it).
    pub max_connections: u32,
    /// How long a connection may wait for its next request head: idle keep-alive time, and the
    /// time to send a head.
    pub keep_alive_timeout: Duration,
}

impl Default for ServerLimits {
    /// 1 MiB bodies within 30 s; connections from the open files limit as it is; 75 s keep-alive.
    fn default() -> Self {
        let open_files = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        ServerLimits {
            max_request_body_bytes: 1024 * 1024,
            request_body_timeout: Duration::from_secs(30),
            max_connections: connections::default_max_connections(open_files),
            // Longer than the 60 s idle timeout most load balancers and proxies default to
            // (nginx upstream keep-alive, AWS ALB), so the proxy closes an idle connection
            // first and never sends a request on one this host has just closed.
            keep_alive_timeout: Duration::from_secs(75),
        }
    }
}

/// Connections the kernel queues for `accept` (it caps this at `net.core.somaxconn`). The usual
/// 128 overflows under a burst of connections, and a connection dropped from a full queue is
/// retried by its client only after a second.
const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `address`, with a queue for bursts of new connections.
pub fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    // As `TcpListener::bind` does: a restarted host can listen on the same port at once.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The version of the app the server answers with; `fn-host watch` swaps in new ones. A request
/// takes the version current when its head arrives and keeps it until its response is sent,
/// its chained requests included: a swap fails no request.
pub struct CurrentApp(ArcSwap<App>);

impl CurrentApp {
    /// Serving `app` until [`CurrentApp::replace`].
    pub fn new(app: Arc<App>) -> Arc<Self> {
        Arc::new(CurrentApp(ArcSwap::new(app)))
    }

    /// The version new requests go to.
    pub fn get(&self) -> Arc<App> {
        self.0.load_full()
    }

    /// Sends new requests to `app`; requests in progress finish on the version they started on.
    pub fn replace(&self, app: Arc<App>) {
        self.0.store(app);
    }
}

/// What `spin up` prints once it serves: the address, then each public route.
pub fn announce(app: &App, address: SocketAddr) {
    println!("Serving http://{address}");
    print_routes(app, address);
}

/// Each public route of `app` as a URL on `address`, with the component it reaches.
pub fn print_routes(app: &App, address: SocketAddr) {
    println!("Available Routes:");
    for (route, component) in app.routes.public_routes() {
        let (path, wildcard) = match route.strip_suffix("/...") {
            Some(prefix) => (prefix, " (wildcard)"),
            None => (route, ""),
        };
        println!("  {component}: http://{address}{path}{wildcard}");
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains open connections.
pub async fn serve(
    app: Arc<CurrentApp>,
    listener: TcpListener,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let limits = Arc::new(limits);
    let connections = Connections::new(limits.max_connections);
    let (closing, closing_watch) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: keep serving the open connections.
                    tracing::warn!("accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let admission = tokio::select! {
            admission = connections.admit() => admission,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        match admission {
            Admission::Full(slot) => {
                let connection =
                    AppConnection { app: app.clone(), limits: limits.clone(), client, slot };
                tokio::spawn(connection.serve(stream, closing_watch.clone()));
            }
            Admission::HealthOnly(reserve) => {
                tokio::spawn(serve_health_only(app.get(), stream, client, reserve));
            }
        }
    }
    tracing::info!("shutting down: finishing requests in flight");
    app.get().begin_shutdown();
    let _ = closing.send(true);
    tokio::select! {
        () = connections.all_closed() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("gave up waiting for open requests"),
    }
    Ok(())
}

/// A connection with a full slot.
struct AppConnection {
    app: Arc<CurrentApp>,
    limits: Arc<ServerLimits>,
    client: SocketAddr,
    slot: Slot,
}

impl AppConnection {
    /// Serves requests until the client leaves, the connection idles out, it is asked to make
    /// room, or the server shuts down; the last two let a request in progress finish.
    async fn serve(self, stream: TcpStream, mut closing: watch::Receiver<bool>) {
        let AppConnection { app, limits, client, slot } = self;
        let keep_alive_timeout = limits.keep_alive_timeout;
        let requests = slot.requests();
        let service = service_fn(move |request| {
            let in_progress = requests.start();
            let app = app.get();
            let limits = limits.clone();
            async move {
                let response = handle(&app, request, client, &limits).await;
                // The app version that answered stays alive until the body is sent: a component
                // may still be writing it, and calling its app's other components.
                Ok::<_, Infallible>(response.map(|body| in_progress.wrap(Keeping::new(body, app))))
            }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            // hyper starts this timer whenever it waits for a request head, from the connection's
            // start and again after each response: it is the keep-alive idle timeout.
            .header_read_timeout(keep_alive_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            ended = connection.as_mut() => return report(ended, client),
            () = slot.asked_to_make_room() => {
                tracing::debug!("closing the idle connection from {client} to make room");
            }
            _ = closing.wait_for(|closing| *closing) => {}
        }
        // No request in progress (none can start while the connection is not polled): close now,
        // even in the middle of a request head, which must not hold a slot for long.
        if slot.is_idle() {
            return;
        }
        // A request in progress finishes first; the connection closes after its response.
        connection.as_mut().graceful_shutdown();
        report(connection.await, client);
    }
}

fn report(ended: hyper::Result<()>, client: SocketAddr) {
    if let Err(error) = ended {
        tracing::debug!("connection from {client} ended: {error}");
    }
}

/// A connection from the health-only reserve: one request, health or 503.
async fn serve_health_only(
    app: Arc<App>,
    stream: TcpStream,
    client: SocketAddr,
    _reserve: OwnedSemaphorePermit,
) {
    let service = service_fn(move |request: http::Request<Incoming>| {
        let response = if request.uri().path() == HEALTH_PATH {
            health()
        } else {
            app.busy_response("the server is at its connection limit; try again shortly")
        };
        async { Ok::<_, Infallible>(response) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEALTH_ONLY_HEAD_TIMEOUT)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    report(connection.await, client);
}

/// `/.well-known/spin/health`, as Spin answers it.
fn health() -> Response {
    http::Response::new(body_from(Bytes::from_static(b"OK")))
}

/// What the host answers below `/.well-known/spin/`, as Spin does: health, the app's name and
/// version (`info`), and 404 for anything else there.
fn well_known(app: &App, path: &str) -> Option<Response> {
    Some(match path.strip_prefix(WELL_KNOWN_PREFIX)? {
        "health" => health(),
        "info" => {
            let mut info = serde_json::json!({ "name": app.name });
            if let Some(version) = &app.version {
                info["version"] = version.as_str().into();
            }
            let body = serde_json::to_vec_pretty(&info).unwrap_or_default();
            let mut response = http::Response::new(body_from(Bytes::from(body)));
            response
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        _ => app.error_response(StatusCode::NOT_FOUND, &format!("no route for {path}")),
    })
}

async fn handle(
    app: &App,
    request: http::Request<Incoming>,
    client: SocketAddr,
    limits: &ServerLimits,
) -> Response {
    if let Some(response) = well_known(app, request.uri().path()) {
        return response;
    }
    let start = Instant::now();
    let (parts, body) = request.into_parts();
    let declared_length = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let read = body::read(
        body,
        declared_length,
        limits.max_request_body_bytes,
        limits.request_body_timeout,
    )
    .await;
    let body = match read {
        Ok(body) => body,
        Err(error) => {
            let status = error.status();
            app.record_request(&parts.method, parts.uri.path(), "-", "-", status, start);
            if let body::BodyError::Unreadable(cause) = &error {
                tracing::debug!("cannot read the request body from {client}: {cause}");
            }
            let mut response = app.error_response(status, &error.message());
            // The rest of the body is not read, so this connection cannot carry another request.
            response
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    let request = http::Request::from_parts(parts, body_from(body));
    app.dispatch_public(request, Some(client)).await
}

/// A future that resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed now, not
/// when the future is first polled: a signal that arrives as soon as the host says it serves
/// must already shut it down gracefully, not kill it.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
