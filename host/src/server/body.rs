//! Reading a request body: within a size limit and a deadline, into one buffer.
//!
//! Why one buffer: hyper hands the body over frame by frame, and a frame's bytes are a slice of
//! the connection's read buffer. Collecting frames as they come (`BodyExt::collect`) keeps every
//! frame: a 32-byte handle per frame in a growing list, each pinning the read-buffer block that
//! also holds its chunked-encoding framing. A body sent as 1-byte chunks then cost about 46 times
//! its size. Copying each frame into one `Vec` and dropping it at once lets hyper reuse its read
//! buffer, so a body holds at most its size rounded up to the next power of two (the `Vec`'s
//! growth), whatever the chunking.

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::time::Duration;

/// Why a body was not read; each is answered with its status, and the connection is closed
/// (what is left of the body is never read, so the connection cannot carry another request).
#[derive(Debug)]
pub enum BodyError {
    /// More than the limit, declared or sent.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Not all of it arrived within the deadline.
    TooSlow {
        /// The deadline.
        deadline: Duration,
    },
    /// The client broke the framing or the connection.
    Unreadable(hyper::Error),
}

impl BodyError {
    /// The status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TooSlow { .. } => StatusCode::REQUEST_TIMEOUT,
            BodyError::Unreadable(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The message the client gets.
    pub fn message(&self) -> String {
        match self {
            BodyError::TooLarge { limit } => format!("request body must be at most {limit} bytes"),
            BodyError::TooSlow { deadline } => format!(
                "the request body did not arrive within {}",
                humantime::format_duration(*deadline)
            ),
            BodyError::Unreadable(_) => "cannot read the request body".to_string(),
        }
    }
}

/// The whole body, if it is at most `limit` bytes (as declared in `Content-Length` and as sent)
/// and arrives within `deadline` of the request head.
pub async fn read(
    body: Incoming,
    declared_length: Option<u64>,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, BodyError> {
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    match tokio::time::timeout(deadline, into_one_buffer(body, limit)).await {
        Ok(read) => read,
        Err(_elapsed) => Err(BodyError::TooSlow { deadline }),
    }
}

async fn into_one_buffer(mut body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    // Not sized from Content-Length: a client declaring a megabyte and sending nothing would
    // otherwise make the host hold a megabyte.
    let mut buffer = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Unreadable)?;
        // Trailers carry nothing a component reads.
        if let Some(data) = frame.data_ref() {
            if buffer.len() + data.len() > limit {
                return Err(BodyError::TooLarge { limit });
            }
            buffer.extend_from_slice(data);
        }
    }
    Ok(Bytes::from(buffer))
}
