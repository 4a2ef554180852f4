//! The benchmark's trivial component: a host's cost per request when the component does no
//! work. `/hello` answers a constant; `/chained` calls the private `callee` component's
//! `/hello` twice, one after the other, as the public API calls the listing and user services.
//! It imports nothing but `wasi:http`, so `wasmtime serve` runs it too.

use bytes::Bytes;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, IntoResponse, Request};

/// What `/chained` calls.
const CALLEE: &str = "http://callee.spin.internal/hello";

type Response = http::Response<FullBody<Bytes>>;

fn text(status: http::StatusCode, body: impl Into<Bytes>) -> Response {
    let mut response = http::Response::new(FullBody::new(body.into()));
    *response.status_mut() = status;
    response
}

// The export exists only on wasm: natively (`cargo test --workspace`) this is a plain function.
#[cfg_attr(target_arch = "wasm32", spin_sdk::http_service)]
pub async fn handle(request: Request) -> impl IntoResponse {
    match request.uri().path() {
        "/hello" => text(http::StatusCode::OK, "hello"),
        "/chained" => chained().await,
        _ => text(http::StatusCode::NOT_FOUND, "not found"),
    }
}

/// The callee's answer, fetched twice in turn; 502 if a call fails.
async fn chained() -> Response {
    let mut body = Vec::new();
    for _ in 0..2 {
        let answer = match spin_sdk::http::get(CALLEE).await {
            Ok(response) => response.into_body().bytes().await,
            Err(error) => return text(http::StatusCode::BAD_GATEWAY, format!("{error:?}")),
        };
        match answer {
            Ok(bytes) => body.extend_from_slice(&bytes),
            Err(error) => return text(http::StatusCode::BAD_GATEWAY, format!("{error:?}")),
        }
    }
    text(http::StatusCode::OK, body)
}
