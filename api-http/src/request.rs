//! Request checks shared by every endpoint: the path, the Content-Type and the body.

use std::future::poll_fn;
use std::pin::Pin;

use http::{HeaderMap, header};
use http_body::Body;

use crate::ApiError;

/// The media type of the services' POST bodies.
pub const FORM: &str = "application/x-www-form-urlencoded";
/// The media type of the public API's POST bodies.
pub const JSON: &str = "application/json";
/// Bodies here are a few fields; anything bigger is refused before it fills memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The path as routed: one trailing slash is ignored, so `/users/` is `/users`.
pub fn route_path(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    }
}

/// A request body an endpoint can read: any body of byte chunks (Spin's incoming body in
/// the component, a `String` in native tests).
pub trait RequestBody: Body<Data: AsRef<[u8]>> + Unpin {}

impl<B: Body<Data: AsRef<[u8]>> + Unpin> RequestBody for B {}

/// The body of a request that must be of `media_type` (parameters such as `charset`
/// allowed; a missing Content-Type is taken as `media_type`), at most [`MAX_BODY_BYTES`].
pub async fn read_body<B: RequestBody>(
    request: http::Request<B>,
    media_type: &'static str,
) -> Result<Vec<u8>, ApiError> {
    let (parts, mut body) = request.into_parts();
    check_content_type(&parts.headers, media_type)?;
    // A declared Content-Length over the limit is refused without reading anything.
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        return Err(ApiError::payload_too_large());
    }
    let mut bytes = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| ApiError::bad_request("request body could not be read"))?;
        if let Ok(data) = frame.into_data() {
            let chunk = data.as_ref();
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::payload_too_large());
            }
            bytes.extend_from_slice(chunk);
        }
    }
    Ok(bytes)
}

fn check_content_type(headers: &HeaderMap, media_type: &'static str) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value.to_str().ok().and_then(|value| value.split(';').next()).map(str::trim);
    match essence {
        Some(essence) if essence.eq_ignore_ascii_case(media_type) => Ok(()),
        _ => Err(ApiError::unsupported_media_type(media_type)),
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use http::StatusCode;

    use super::*;

    fn request(content_type: Option<&str>, body: &str) -> http::Request<String> {
        let mut builder = http::Request::post("/users");
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        builder.body(body.to_owned()).unwrap()
    }

    #[test]
    fn reads_a_body_of_the_expected_type() {
        let body = block_on(read_body(request(Some(FORM), "name=Ann"), FORM)).unwrap();
        assert_eq!(body, b"name=Ann");
    }

    #[test]
    fn allows_parameters_and_any_case_in_the_content_type() {
        let content_type = Some("Application/JSON ; charset=utf-8");
        assert!(block_on(read_body(request(content_type, "{}"), JSON)).is_ok());
    }

    #[test]
    fn takes_a_missing_content_type_as_the_expected_one() {
        assert!(block_on(read_body(request(None, "name=Ann"), FORM)).is_ok());
    }

    #[test]
    fn refuses_another_content_type_with_415() {
        for content_type in ["text/plain", "application/json", "multipart/form-data", ""] {
            let error = block_on(read_body(request(Some(content_type), ""), FORM)).unwrap_err();
            assert_eq!(error.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
            assert_eq!(error.errors(), ["Content-Type must be application/x-www-form-urlencoded"]);
        }
    }

    #[test]
    fn refuses_a_body_over_the_limit_with_413() {
        let at_limit = "a".repeat(MAX_BODY_BYTES);
        assert!(block_on(read_body(request(None, &at_limit), FORM)).is_ok());
        let over = "a".repeat(MAX_BODY_BYTES + 1);
        let error = block_on(read_body(request(None, &over), FORM)).unwrap_err();
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn route_path_ignores_one_trailing_slash() {
        assert_eq!(route_path("/listings/"), "/listings");
        assert_eq!(route_path("/listings"), "/listings");
        assert_eq!(route_path("/users/7/"), "/users/7");
        assert_eq!(route_path("/listings//"), "/listings/");
        assert_eq!(route_path("/"), "/");
    }
}
