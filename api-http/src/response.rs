//! JSON answers, serialised straight from typed values.

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// Every answer of every service: a JSON body with its status.
pub type JsonResponse = http::Response<String>;

/// `value` as the JSON body of a `status` answer.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> JsonResponse {
    match serde_json::to_string(value) {
        Ok(body) => json_text(status, body),
        // Only a failing Serialize impl (or an answer that is not an object, under
        // `success`) gets here; still answer JSON.
        Err(_) => json_text(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"result":false,"errors":["response could not be serialised"]}"#.to_owned(),
        ),
    }
}

/// A `status` answer whose body is JSON text already (a document kept as a file).
pub fn json_text(status: StatusCode, body: String) -> JsonResponse {
    // A known length lets the host send the body in one piece instead of chunked.
    let length = HeaderValue::from(body.len());
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CONTENT_LENGTH, length);
    response
}

/// 200 with the success envelope, `{"result": true, ...}` followed by the answer's own
/// fields (an answer is a struct such as `{"listing": ...}`).
pub fn success<T: Serialize>(answer: &T) -> JsonResponse {
    json(StatusCode::OK, &Success { result: true, answer })
}

/// The envelope of every success answer of the services; [`crate::ErrorBody`] is its
/// `"result": false` counterpart.
#[derive(Serialize)]
struct Success<'a, T> {
    result: bool,
    #[serde(flatten)]
    answer: &'a T,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Users {
        users: [i64; 2],
    }

    #[test]
    fn success_puts_the_result_flag_before_the_answer() {
        let response = success(&Users { users: [1, 2] });
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.body(), r#"{"result":true,"users":[1,2]}"#);
        assert_eq!(response.headers()[header::CONTENT_LENGTH], "29");
    }

    #[test]
    fn an_answer_that_is_not_an_object_is_a_json_500() {
        let response = success(&[1, 2]);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.body(),
            r#"{"result":false,"errors":["response could not be serialised"]}"#
        );
    }

    #[test]
    fn json_keeps_the_status() {
        let response = json(StatusCode::CREATED, &serde_json::json!({"a": 1}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.body(), r#"{"a":1}"#);
    }
}
