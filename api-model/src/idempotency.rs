//! Safe retries: the `Idempotency-Key` header of every POST. A client that does not know
//! whether its request was acted on (a timeout, a dropped connection, a 503) sends it again
//! with the same key: if the first one stored something, the retry gets the same answer and
//! stores nothing. The public API passes the key on to the service it writes to, so a retry
//! through another host is as safe.

use api_http::ApiError;
use http::HeaderMap;

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// How long a key is honoured after its first request, in microseconds (24 hours): long
/// enough for any client's retries, after which the same key starts a new request.
pub const KEY_KEPT_MICROS: i64 = 24 * 60 * 60 * 1_000_000;

/// A client's name for one request: 1 to [`IdempotencyKey::MAX_LEN`] visible ASCII characters
/// (a UUID is the usual choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    /// The key of a request, if it names one.
    pub fn of(headers: &HeaderMap) -> Result<Option<Self>, ApiError> {
        let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(ApiError::bad_request("Idempotency-Key must be given once"));
        }
        Self::parse(value.as_bytes()).map(Some)
    }

    fn parse(value: &[u8]) -> Result<Self, ApiError> {
        let visible = |byte: &u8| byte.is_ascii_graphic();
        match std::str::from_utf8(value) {
            Ok(key) if (1..=Self::MAX_LEN).contains(&key.len()) && value.iter().all(visible) => {
                Ok(Self(key.to_owned()))
            }
            _ => Err(ApiError::bad_request(format!(
                "Idempotency-Key must be 1 to {} visible ASCII characters",
                Self::MAX_LEN
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 422: this key's first request was a different one (another body, or another user's).
    pub fn reused(&self) -> ApiError {
        ApiError::unprocessable("Idempotency-Key was already used for a different request")
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http::StatusCode;

    use super::*;

    fn key_of(values: &[&[u8]]) -> Result<Option<String>, (StatusCode, Vec<String>)> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(IDEMPOTENCY_KEY, HeaderValue::from_bytes(value).unwrap());
        }
        IdempotencyKey::of(&headers)
            .map(|key| key.map(|key| key.as_str().to_owned()))
            .map_err(|error| (error.status(), error.errors().to_vec()))
    }

    #[test]
    fn a_key_is_optional_and_taken_as_sent() {
        assert_eq!(key_of(&[]), Ok(None));
        let uuid = "0b6f1f6c-3f7e-4c51-9b0e-8f1d9d1f6a2e";
        assert_eq!(key_of(&[uuid.as_bytes()]), Ok(Some(uuid.to_owned())));
        let longest = "k".repeat(IdempotencyKey::MAX_LEN);
        assert_eq!(key_of(&[longest.as_bytes()]), Ok(Some(longest)));
    }

    #[test]
    fn a_bad_key_is_a_400() {
        let bad = Err((
            StatusCode::BAD_REQUEST,
            vec!["Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned()],
        ));
        let too_long = "k".repeat(IdempotencyKey::MAX_LEN + 1);
        for value in [&b""[..], b"a b", b"caf\xc3\xa9", b"\xe9", too_long.as_bytes()] {
            assert_eq!(key_of(&[value]), bad, "{value:?}");
        }
        assert_eq!(
            key_of(&[b"a", b"b"]),
            Err((StatusCode::BAD_REQUEST, vec!["Idempotency-Key must be given once".to_owned()]))
        );
    }

    #[test]
    fn a_reused_key_is_a_422() {
        let error = IdempotencyKey("k".into()).reused();
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
