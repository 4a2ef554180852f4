//! The service through its router, as far as a request goes without a database: routing,
//! and every request refused before the store is opened.

use futures::executor::block_on;
use http::{StatusCode, header};

use crate::route;

/// The status, `Allow` header and body the service answers.
fn answer(
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Option<String>, String) {
    let mut request = http::Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let request = request.body(body.to_owned()).unwrap();
    let response = match block_on(route(request)) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    let allow =
        response.headers().get(header::ALLOW).map(|allow| allow.to_str().unwrap().to_owned());
    (response.status(), allow, response.into_body())
}

/// The error envelope, as the client gets it byte for byte.
fn errors(messages: &[&str]) -> String {
    let messages = serde_json::to_string(messages).unwrap();
    format!(r#"{{"result":false,"errors":{messages}}}"#)
}

#[test]
fn other_methods_on_listings_are_405_with_allow() {
    for (method, uri) in
        [("DELETE", "/listings"), ("PUT", "/listings/"), ("PATCH", "/listings?page_size=1")]
    {
        assert_eq!(
            answer(method, uri, None, ""),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Some("GET, POST".to_owned()),
                errors(&["method not allowed"])
            ),
            "{method} {uri}"
        );
    }
}

#[test]
fn other_paths_are_404() {
    for uri in ["/", "/listings/1", "/listings//", "/listing", "/users"] {
        assert_eq!(
            answer("GET", uri, None, ""),
            (StatusCode::NOT_FOUND, None, errors(&["not found"])),
            "{uri}"
        );
    }
}

#[test]
fn a_bad_listings_query_is_400_with_every_message() {
    assert_eq!(
        answer("GET", "/listings?page_num=0&page_size=101&user_id=abc", None, ""),
        (
            StatusCode::BAD_REQUEST,
            None,
            errors(&[
                "page_num must be at least 1",
                "page_size must be between 1 and 100",
                "user_id must be an integer",
            ])
        )
    );
    assert_eq!(
        answer("GET", "/listings/?user_id=0", None, "").2,
        errors(&["user_id must be a positive integer"])
    );
}

#[test]
fn a_new_listing_must_be_a_form() {
    let json = r#"{"user_id": 1, "listing_type": "rent", "price": 6000}"#;
    assert_eq!(
        answer("POST", "/listings", Some("application/json"), json),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            errors(&["Content-Type must be application/x-www-form-urlencoded"])
        )
    );
}

#[test]
fn a_bad_new_listing_is_400_with_every_message() {
    let form = Some("application/x-www-form-urlencoded");
    assert_eq!(
        answer("POST", "/listings", form, "user_id=x&listing_type=flat&price=0"),
        (
            StatusCode::BAD_REQUEST,
            None,
            errors(&[
                "user_id must be an integer",
                "listing_type must be 'rent' or 'sale'",
                "price must be greater than 0",
            ])
        )
    );
    // No Content-Type is taken as a form.
    assert_eq!(
        answer("POST", "/listings", None, "").2,
        errors(&["user_id is required", "listing_type is required", "price is required",])
    );
}

#[test]
fn a_body_over_the_limit_is_413() {
    let body = format!("price={}", "1".repeat(api_http::MAX_BODY_BYTES));
    assert_eq!(
        answer("POST", "/listings", None, &body),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            errors(&["request body must be at most 65536 bytes"])
        )
    );
}
