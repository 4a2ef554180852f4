//! JSON answers, serialised straight from typed values.

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// Every answer of every service: a JSON body with its status.
pub type JsonResponse = http::Response<String>;

/// `value` as the JSON body of a `status` answer.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> JsonResponse {
    let (status, body) = match serde_json::to_string(value) {
        Ok(body) => (status, body),
        // Only a broken Serialize impl gets here; still answer JSON.
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"result":false,"errors":["response could not be serialised"]}"#.to_owned(),
        ),
    };
    // A known length lets the host send the body in one piece instead of chunked.
    let length = HeaderValue::from(body.len());
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, length);
    response
}

/// 200 `{"result": true, "<key>": value}`, the services' success envelope.
pub fn success<T: Serialize + ?Sized>(key: &'static str, value: &T) -> JsonResponse {
    json(StatusCode::OK, &Success { key, value })
}

struct Success<'a, T: ?Sized> {
    key: &'static str,
    value: &'a T,
}

impl<T: Serialize + ?Sized> Serialize for Success<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("result", &true)?;
        map.serialize_entry(self.key, self.value)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_wraps_the_value_under_its_key() {
        let response = success("users", &[1, 2]);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.body(), r#"{"result":true,"users":[1,2]}"#);
        assert_eq!(response.headers()[header::CONTENT_LENGTH], "29");
    }

    #[test]
    fn json_keeps_the_status() {
        let response = json(StatusCode::CREATED, &serde_json::json!({"a": 1}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.body(), r#"{"a":1}"#);
    }
}
