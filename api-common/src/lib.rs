//! What the three services share and nothing more: the JSON error envelope and [`ApiError`],
//! JSON responses, request checks (method, path, Content-Type, body) and the parsing of
//! query strings, forms and JSON bodies into fields, including paging.
//!
//! Only `database` touches Spin (its SQLite API); the rest is plain Rust, tested natively.

mod database;
mod error;
mod fields;
mod request;
mod response;

pub use database::{Database, Schema};
pub use error::{ApiError, ErrorBody};
pub use fields::{FieldErrors, FieldValue, Fields, JsonObject, Page, Params};
pub use request::{FORM, JSON, MAX_BODY_BYTES, read_body, route_path};
pub use response::{JsonResponse, json, success};

/// Now, in microseconds since the Unix epoch: the unit of every timestamp of the API.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
        })
}
