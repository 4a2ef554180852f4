//! spin-sdk 5.2: `wasi:http@0.2`, `spin:sqlite@3.0.0`, `fermyon:spin/variables@2.0.0`. Its
//! calls are synchronous except outbound HTTP, which runs on spin-sdk's event loop, as the
//! deadline timer here does.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, Stream};
use http::header::CONTENT_LENGTH;
use http_body::{Frame, SizeHint};
use spin_executor::CancelOnDropToken;
use spin_sdk_p2 as spin_sdk;
use spin_sdk_p2::http::conversions::TryIntoOutgoingRequest;
use wasi::clocks::monotonic_clock;

use crate::Answer;

/// What the entry point receives: wasi:http 0.2's request resource.
pub type Incoming = spin_sdk::http::IncomingRequest;

/// The request as the handlers read it: its body streams from the host as they read it.
pub fn request(incoming: Incoming) -> http::Request<Body> {
    let mut request = http::Request::new(Body::default());
    if let Ok(method) = http::Method::from_bytes(incoming.method().to_string().as_bytes()) {
        *request.method_mut() = method;
    }
    if let Some(uri) = incoming.path_with_query().and_then(|path| path.parse::<http::Uri>().ok()) {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    for (name, value) in incoming.headers().entries() {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_bytes(&value))
        {
            headers.append(name, value);
        }
    }
    let length = headers.get(CONTENT_LENGTH).and_then(|length| length.to_str().ok()?.parse().ok());
    *request.body_mut() = Body { chunks: Some(Box::pin(incoming.into_body_stream())), length };
    request
}

type Chunks = Pin<Box<dyn Stream<Item = Result<Vec<u8>, wasi::io::streams::Error>>>>;

/// A request body read from the host chunk by chunk.
#[derive(Default)]
pub struct Body {
    chunks: Option<Chunks>,
    /// The declared `Content-Length`, so an oversized body is refused before it is read.
    length: Option<u64>,
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = String;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, String>>> {
        let Some(chunks) = self.chunks.as_mut() else {
            return Poll::Ready(None);
        };
        chunks.as_mut().poll_next(cx).map(|chunk| {
            chunk.map(|chunk| {
                chunk
                    .map(|bytes| Frame::data(Bytes::from(bytes)))
                    .map_err(|error| error.to_debug_string())
            })
        })
    }

    fn size_hint(&self) -> SizeHint {
        self.length.map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

/// Sends `request` and reads the whole answer; `Err` says why there is none. The body is
/// written while the response is awaited; when both fail, the response's error is the one
/// that says why (a refused connection also closes the body's stream).
pub async fn send(request: http::Request<String>) -> Result<Answer, String> {
    let (outgoing, body) =
        request.try_into_outgoing_request().map_err(|error| error.to_string())?;
    let mut sink = outgoing.take_body();
    let response = spin_sdk::http::send::<_, spin_sdk::http::Response>(outgoing);
    let written = async move {
        if let Some(body) = body {
            sink.send(body).await?;
        }
        sink.close().await
    };
    let (response, written) = futures::join!(response, written);
    let response = response.map_err(|error| error.to_string())?;
    written.map_err(|error| error.to_string())?;
    let status = http::StatusCode::from_u16(*response.status())
        .map_err(|_| format!("answered status {}", response.status()))?;
    Ok(Answer { status, body: response.into_body() })
}

/// Resolves after `duration`, waking spin-sdk's event loop when it is due.
pub async fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let due = monotonic_clock::now().saturating_add(nanos);
    let mut registered: Option<CancelOnDropToken> = None;
    std::future::poll_fn(|cx| {
        if monotonic_clock::now() >= due {
            return Poll::Ready(());
        }
        let pollable = monotonic_clock::subscribe_instant(due);
        let token = spin_executor::push_waker_and_get_token(pollable, cx.waker().clone());
        registered = Some(token.into());
        Poll::Pending
    })
    .await;
}

/// The component variable `name`.
pub async fn variable(name: &str) -> Result<String, String> {
    spin_sdk::variables::get(name).map_err(|error| error.to_string())
}

pub mod sqlite {
    use anyhow::Result;
    use spin_sdk_p2::sqlite3;
    pub use spin_sdk_p2::sqlite3::{RowResult, Value};

    /// An open connection.
    pub struct Connection(sqlite3::Connection);

    impl Connection {
        pub async fn open(label: &str) -> Result<Self> {
            Ok(Self(sqlite3::Connection::open(label)?))
        }

        /// Runs `statement` and collects its rows.
        pub async fn rows(
            &self,
            statement: &str,
            parameters: impl IntoIterator<Item = Value>,
        ) -> Result<Vec<RowResult>> {
            let parameters: Vec<Value> = parameters.into_iter().collect();
            Ok(self.0.execute(statement, &parameters)?.rows)
        }
    }
}
