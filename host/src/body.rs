//! Bodies as the host hands them around: a complete one, and one that keeps something alive
//! until it is sent (a client's turn, the app version that answered).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::WasiBody;

/// A complete body in the type every response here carries.
pub fn body_from(bytes: Bytes) -> WasiBody {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

/// A response body that keeps `T` alive until it is sent or dropped: the component may still be
/// writing it, with what it holds (a turn, its app version).
pub struct Keeping<T> {
    body: WasiBody,
    _kept: T,
}

impl<T> Keeping<T> {
    /// `body`, keeping `kept` until it ends.
    pub fn new(body: WasiBody, kept: T) -> Self {
        Keeping { body, _kept: kept }
    }
}

impl<T: Unpin> http_body::Body for Keeping<T> {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
