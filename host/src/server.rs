//! The HTTP/1.1 server in front of the app: keep-alive connections, the request body limit,
//! the health endpoint, and a graceful shutdown on SIGINT/SIGTERM.

use crate::app::{self, App};
use crate::routing::HEALTH_PATH;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use wasmtime::Result;

/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then drains open connections.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    max_body: usize,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
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
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |request| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(handle(&app, request, client, max_body).await) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(30))
            .serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!("connection from {client} ended: {error}");
            }
        });
    }
    tracing::info!("shutting down: finishing requests in flight");
    crate::instance::shutting_down();
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("gave up waiting for open requests"),
    }
    Ok(())
}

async fn handle(
    app: &App,
    request: http::Request<Incoming>,
    client: SocketAddr,
    max_body: usize,
) -> app::Response {
    if request.uri().path() == HEALTH_PATH {
        return http::Response::new(app::body_from(Bytes::from_static(b"OK")));
    }
    let start = Instant::now();
    let (parts, body) = request.into_parts();
    let too_large = || {
        app::log_request(
            &parts.method,
            parts.uri.path(),
            "-",
            StatusCode::PAYLOAD_TOO_LARGE,
            start,
        );
        let mut response = app::error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body is larger than {max_body} bytes"),
        );
        // The rest of the body is not read, so this connection cannot carry another request.
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        response
    };
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body as u64) {
        return too_large();
    }
    // Buffered (within the limit) so an over-long chunked body is a clean 413 as well.
    let body = match Limited::new(body, max_body).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(error) => {
            tracing::debug!("cannot read request body from {client}: {error}");
            return app::error_response(StatusCode::BAD_REQUEST, "cannot read the request body");
        }
    };
    let request = http::Request::from_parts(parts, app::body_from(body));
    app.dispatch_public(request, Some(client)).await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
