//! The one error type of the services, answered as `{"result": false, "errors": [...]}`.

use std::fmt::Display;

use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::response::{JsonResponse, json};

/// The body of every error answer. Also what the public API reads back from a service
/// to pass its client errors through.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub result: bool,
    pub errors: Vec<String>,
}

/// A failed request: its HTTP status and the messages the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    errors: Vec<String>,
    /// The `Allow` header of a 405.
    allow: Option<&'static str>,
}

impl ApiError {
    /// An error with several messages, e.g. a service's errors passed through.
    pub fn new(status: StatusCode, errors: Vec<String>) -> Self {
        Self { status, errors, allow: None }
    }

    fn one(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, vec![message.into()])
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::one(StatusCode::BAD_REQUEST, message)
    }

    /// 404 naming what was not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::one(StatusCode::NOT_FOUND, message)
    }

    /// 404 for a path no endpoint answers.
    pub fn no_route() -> Self {
        Self::not_found("not found")
    }

    /// 405 with the methods the path does allow, e.g. `"GET, POST"`.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::one(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
    }

    /// 413: the body is over [`crate::MAX_BODY_BYTES`].
    pub fn payload_too_large() -> Self {
        Self::one(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body must be at most {} bytes", crate::MAX_BODY_BYTES),
        )
    }

    /// 415 naming the media type the endpoint reads.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::one(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("Content-Type must be {expected}"))
    }

    /// 422: the request is well formed but conflicts with what was stored, e.g. an
    /// idempotency key already used for a different request.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::one(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 503 for a failed database operation: the database is down, cut off, or did not answer
    /// within the deadline, and the request may be retried (with its idempotency key, a retry
    /// of a write cannot apply it twice). The cause goes to the log, never to the client (it
    /// may show SQL or file paths).
    pub fn storage(cause: impl Display) -> Self {
        eprintln!("storage unavailable: {cause}");
        Self::one(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
    }

    /// 500 for anything else that is the server's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::one(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// 502: a service behind this one failed or answered nonsense.
    pub fn bad_gateway(message: impl Into<String>) -> Self {
        Self::one(StatusCode::BAD_GATEWAY, message)
    }

    /// 503: a service behind this one is unavailable for now (it said so).
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::one(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 504: a service behind this one did not answer in time.
    pub fn gateway_timeout(message: impl Into<String>) -> Self {
        Self::one(StatusCode::GATEWAY_TIMEOUT, message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    pub fn into_response(self) -> JsonResponse {
        let mut response = json(self.status, &ErrorBody { result: false, errors: self.errors });
        if let Some(allow) = self.allow {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_error_envelope_with_its_status() {
        let response = ApiError::not_found("user 42 not found").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.body(), r#"{"result":false,"errors":["user 42 not found"]}"#);
    }

    #[test]
    fn method_not_allowed_carries_the_allow_header() {
        let response = ApiError::method_not_allowed("GET, POST").into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET, POST");
        assert_eq!(response.body(), r#"{"result":false,"errors":["method not allowed"]}"#);
    }

    #[test]
    fn storage_failures_do_not_leak_their_cause() {
        let error = ApiError::storage("near \"SELEC\": syntax error");
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.errors(), ["storage unavailable"]);
    }

    #[test]
    fn keeps_every_message() {
        let error = ApiError::new(
            StatusCode::BAD_REQUEST,
            vec!["price is required".into(), "user_id is required".into()],
        );
        assert_eq!(
            error.into_response().body(),
            r#"{"result":false,"errors":["price is required","user_id is required"]}"#
        );
    }

    #[test]
    fn error_body_reads_back() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"result": false, "errors": ["a", "b"]}"#).unwrap();
        assert_eq!(body.errors, ["a", "b"]);
    }
}
